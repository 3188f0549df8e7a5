import datetime

import pytest
from django.utils import timezone

from interactions import services
from kernel.models import WorkerHeartbeat
from tests.factories import CustomerFactory, InteractionFactory

pytestmark = pytest.mark.django_db


def test_home_lists_my_overdue_and_today_follow_ups_and_my_recent_interactions(
    client, sales_user, other_sales_user
):
    mine = CustomerFactory(name="王芳", owner=sales_user)
    theirs = CustomerFactory(name="Hidden", owner=other_sales_user)
    now = timezone.localtime()
    overdue = services.schedule_follow_up(
        actor=sales_user,
        customer=mine,
        title="Call back about the invoice",
        due_at=now - datetime.timedelta(days=2),
        assignee=sales_user,
    )
    today = services.schedule_follow_up(
        actor=sales_user,
        customer=mine,
        title="Send the catalogue",
        due_at=now.replace(hour=23, minute=0),
        assignee=sales_user,
    )
    services.schedule_follow_up(
        actor=other_sales_user,
        customer=theirs,
        title="Not mine",
        due_at=now,
        assignee=other_sales_user,
    )
    InteractionFactory(customer=mine, subject="Asked for a discount")
    client.force_login(sales_user)
    response = client.get("/")
    assert list(response.context["overdue"]) == [overdue]
    assert list(response.context["due_today"]) == [today]
    assert [c.pk for c in response.context["my_customers"]] == [mine.pk]
    page = response.content.decode()
    assert "Asked for a discount" in page
    assert "Not mine" not in page


def test_administrators_see_table_sizes_and_whether_the_worker_runs(
    client, admin_user_role, sales_user
):
    CustomerFactory()
    client.force_login(admin_user_role)
    operations = client.get("/").context["operations"]
    assert operations["customers"] == 1
    assert operations["worker_ok"] is False
    assert "No worker is running" in client.get("/").content.decode()
    WorkerHeartbeat.objects.create(hostname="celery@test", seen_at=timezone.now())
    assert client.get("/").context["operations"]["worker_ok"] is True
    client.force_login(sales_user)
    assert "operations" not in client.get("/").context
