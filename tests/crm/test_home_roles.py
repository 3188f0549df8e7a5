"""The home page per role, decided by permissions: analysts see key figures and segments,
reviewers of duplicates (service) the queue's size and recent complaints, the privacy officer
open requests and security alerts, sales their follow-ups and customers; each in a bounded
number of queries."""

import datetime

import pytest
from django.utils import timezone

from analytics.segments.services import save_segment
from customers.models import DuplicateCandidate
from privacy import roles
from privacy.models import DataSubjectRequest
from tests.factories import CustomerFactory, InteractionFactory

pytestmark = pytest.mark.django_db


def _home(client, user, django_assert_max_num_queries, limit=25):
    client.force_login(user)
    with django_assert_max_num_queries(limit):
        response = client.get("/")
    assert response.status_code == 200
    return response.content.decode()


def test_analysts_see_key_figures_and_segments(client, analyst_user, django_assert_max_num_queries):
    CustomerFactory(name="Figures Ltd")
    save_segment(actor=None, name="Fair leads", kind="static")
    page = _home(client, analyst_user, django_assert_max_num_queries)
    assert 'id="home-figures"' in page
    assert "Customers by lifecycle stage" in page
    assert "Fair leads" in page
    assert 'id="home-complaints"' not in page


def test_service_sees_the_duplicate_queue_and_recent_complaints(
    client, service_user, django_assert_max_num_queries
):
    first, second = CustomerFactory(name="张伟"), CustomerFactory(name="张 伟")
    DuplicateCandidate.objects.create(
        customer_a=first, customer_b=second, probability=0.9, group=first.pk
    )
    InteractionFactory(customer=first, kind="complaint", subject="Parcel arrived broken")
    InteractionFactory(customer=first, kind="call", subject="Asked about delivery")
    page = _home(client, service_user, django_assert_max_num_queries)
    assert 'id="home-duplicates"' in page
    assert "Parcel arrived broken" in page
    assert "Asked about delivery" not in page.split('id="home-complaints"')[1].split("</ul>")[0]
    assert 'id="home-figures"' not in page


def test_the_privacy_officer_sees_requests_due_and_no_service_panels(
    client, privacy_user, django_assert_max_num_queries
):
    DataSubjectRequest.objects.create(
        kind="access",
        customer=CustomerFactory(),
        channel="email",
        due_on=timezone.localdate() + datetime.timedelta(days=1),
    )
    page = _home(client, privacy_user, django_assert_max_num_queries)
    assert 'id="requests-due"' in page
    assert 'id="home-duplicates"' not in page
    assert 'id="home-figures"' not in page


def test_sales_see_their_own_work_only(client, make_user, django_assert_max_num_queries):
    user = make_user(roles.SALES)
    CustomerFactory(name="Mine Ltd", owner=user)
    page = _home(client, user, django_assert_max_num_queries)
    assert "Mine Ltd" in page
    for panel in ("home-figures", "home-duplicates", "requests-due"):
        assert f'id="{panel}"' not in page
