"""Follow-ups changed in place from the customer page, from the version their form started
from; completing one a colleague completed says so (issue 17)."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.templatetags.staff import staff_name
from interactions import services
from interactions.models import FollowUp
from privacy import roles
from privacy.models import AuditEvent
from tests.conftest import StaffClient
from tests.factories import CustomerFactory, form_data

pytestmark = pytest.mark.django_db


def _browser(make_user):
    user = make_user(roles.SERVICE)
    browser = StaffClient()
    browser.force_login(user)
    return user, browser


@pytest.fixture
def follow_up(service_user):
    return services.schedule_follow_up(
        actor=service_user,
        customer=CustomerFactory(),
        title="Send the quote",
        due_at=timezone.now() + datetime.timedelta(days=1),
        assignee=service_user,
    )


def test_a_follow_up_is_rescheduled_in_place_and_audited(make_user, follow_up):
    user, browser = _browser(make_user)
    customer = follow_up.customer
    url = reverse("interactions:edit_follow_up", args=[customer.pk, follow_up.pk])
    page = browser.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert f'hx-get="{url}"' in page
    form = browser.get(url, headers={"HX-Request": "true"}).context["form"]
    response = browser.post(url, form_data(form, due_at="2031-03-02T09:30", assignee=str(user.pk)))
    assert response.status_code == 302
    follow_up.refresh_from_db()
    assert timezone.localtime(follow_up.due_at).strftime("%Y-%m-%d %H:%M") == "2031-03-02 09:30"
    assert (follow_up.assignee, follow_up.version) == (user, 2)
    event = AuditEvent.objects.get(action="follow_up.update")
    assert set(event.changes) == {"follow_up", "due_at", "assignee", "follow_up_version"}


def test_a_stale_follow_up_form_is_refused_and_saving_again_keeps_both(make_user, follow_up):
    first, first_browser = _browser(make_user)
    _second, second_browser = _browser(make_user)
    customer = follow_up.customer
    url = reverse("interactions:edit_follow_up", args=[customer.pk, follow_up.pk])
    first_form = first_browser.get(url).context["form"]
    second_form = second_browser.get(url).context["form"]
    rescheduled = first_browser.post(url, form_data(first_form, due_at="2031-03-02T09:30"))
    assert rescheduled.status_code == 302

    refused = second_browser.post(url, form_data(second_form, notes="Quote v2 attached"))
    assert refused.status_code == 200
    form = refused.context["form"]
    assert [taken_over for *_values, taken_over in form.conflict_rows] == [True]
    assert first.username in refused.content.decode()
    follow_up.refresh_from_db()
    assert (follow_up.notes, follow_up.version) == ("", 2)

    assert second_browser.post(url, form_data(form)).status_code == 302
    follow_up.refresh_from_db()
    assert follow_up.notes == "Quote v2 attached"
    assert timezone.localtime(follow_up.due_at).strftime("%Y-%m-%d %H:%M") == "2031-03-02 09:30"


def test_completing_a_follow_up_a_colleague_completed_says_so(make_user, follow_up):
    first, first_browser = _browser(make_user)
    _second, second_browser = _browser(make_user)
    customer = follow_up.customer
    url = reverse("interactions:complete_follow_up", args=[customer.pk, follow_up.pk])
    first_browser.post(url)
    response = second_browser.post(url, follow=True)
    page = response.content.decode()
    assert "already completed" in page
    assert staff_name(first) in page
    follow_up.refresh_from_db()
    assert follow_up.done_by == first
    assert AuditEvent.objects.filter(action="follow_up.done").count() == 1


def test_a_follow_up_done_meanwhile_cannot_be_rescheduled(make_user, follow_up):
    user, browser = _browser(make_user)
    url = reverse("interactions:edit_follow_up", args=[follow_up.customer.pk, follow_up.pk])
    form = browser.get(url).context["form"]
    services.complete_follow_up(actor=user, follow_up=FollowUp.objects.get(pk=follow_up.pk))
    response = browser.post(url, form_data(form, due_at="2031-03-02T09:30"))
    assert response.status_code == 200
    assert "done already" in response.content.decode()
