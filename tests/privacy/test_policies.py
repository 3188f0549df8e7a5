"""Privacy policy versions in the product: the privacy officer publishes a version ahead of its
day and corrects it only until then; a version in force or past is the evidence behind the
consents recorded under it and never changes."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from privacy import consent, policies, roles
from privacy.models import AuditEvent, ConsentSource, PrivacyPolicy
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _days(n: int) -> datetime.date:
    # Today when the test runs, not when the module was imported: a suite may cross midnight.
    return timezone.localdate() + datetime.timedelta(days=n)


@pytest.fixture
def versions():
    return {
        "old": PrivacyPolicy.objects.create(version="2025-01", effective_from=_days(-400)),
        "current": PrivacyPolicy.objects.create(
            version="2026-06", effective_from=_days(-30), text="We keep your data safe."
        ),
        "next": PrivacyPolicy.objects.create(
            version="2027-01", effective_from=_days(30), text="Draft wording."
        ),
    }


def _form(version="2027-03", effective_from=None, text="We keep your data for five years."):
    return {
        "version": version,
        "effective_from": (effective_from or _days(10)).isoformat(),
        "summary": "Retention shortened.",
        "text": text,
    }


def _consent(actor, *, granted=True, policy=None):
    """A consent given (or withdrawn) by a new customer, under `policy` or the one in force."""
    return consent.record_consent(
        actor=actor,
        customer=CustomerFactory(),
        purpose="marketing_sms",
        granted=granted,
        source=ConsentSource.STAFF,
        evidence="Said so on the phone",
        policy=policy,
    )


def test_the_officer_publishes_a_version_from_the_product(client, privacy_user, versions):
    client.force_login(privacy_user)
    assert client.get("/privacy/policies/new/").status_code == 200
    response = client.post("/privacy/policies/new/", _form())
    published = PrivacyPolicy.objects.get(version="2027-03")
    assert response["Location"] == f"/privacy/policies/{published.pk}/"
    assert published.effective_from == _days(10)
    assert published.text == "We keep your data for five years."
    event = AuditEvent.objects.get(action="privacypolicy.create", target_id=str(published.pk))
    assert event.actor == privacy_user
    assert event.changes["version"] == ["", "2027-03"]
    page = client.get(response["Location"]).content.decode()
    assert "We keep your data for five years." in page
    assert "Retention shortened." in page
    assert "Published" in page  # its history, from the audit log


def test_a_version_cannot_take_effect_in_the_past(client, privacy_user):
    client.force_login(privacy_user)
    response = client.post("/privacy/policies/new/", _form(effective_from=_days(-1)))
    assert response.status_code == 200
    assert response.context["form"].errors["effective_from"] == [
        "A new version takes effect today or later, not in the past."
    ]
    assert not PrivacyPolicy.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="privacypolicy.").exists()


def test_a_version_published_for_today_is_in_force_at_once(privacy_user, service_user, versions):
    published = policies.publish_policy(
        actor=privacy_user, version="2026-12", effective_from=_days(0), text="New wording."
    )
    assert _consent(service_user).policy == published


def test_two_versions_cannot_take_effect_on_the_same_day(privacy_user, versions):
    with pytest.raises(ValidationError) as refused:
        policies.publish_policy(
            actor=privacy_user,
            version="2027-01b",
            effective_from=versions["next"].effective_from,
            text="Other wording.",
        )
    assert "2027-01 already takes effect on that day" in str(refused.value)


def test_a_version_needs_its_text_and_a_label_not_used_before(client, privacy_user, versions):
    client.force_login(privacy_user)
    response = client.post("/privacy/policies/new/", _form(version="2026-06", text="  "))
    errors = response.context["form"].errors
    assert set(errors) == {"version", "text"}
    assert PrivacyPolicy.objects.count() == 3


def test_a_scheduled_version_is_corrected_and_the_correction_audited(
    client, privacy_user, versions
):
    upcoming = versions["next"]
    client.force_login(privacy_user)
    correct = f"/privacy/policies/{upcoming.pk}/correct/"
    assert client.get(correct).status_code == 200
    # As a browser sends a text area: lines ending in CRLF.
    corrected = _form(version="2027-01", effective_from=_days(45), text="Final\r\nwording.")
    response = client.post(correct, corrected)
    assert response["Location"] == f"/privacy/policies/{upcoming.pk}/"
    upcoming.refresh_from_db()
    assert (upcoming.effective_from, upcoming.text) == (_days(45), "Final\nwording.")
    event = AuditEvent.objects.get(action="privacypolicy.update")
    assert event.changes["text"] == ["Draft wording.", "Final\nwording."]
    assert "version" not in event.changes
    # The same text sent again is no change.
    client.post(correct, corrected)
    assert AuditEvent.objects.filter(action="privacypolicy.update").count() == 1


def test_a_correction_from_a_stale_form_is_refused_with_the_colleagues_change(
    client, make_user, privacy_user, versions
):
    """Two officers correct the same scheduled version: the later save, from the form opened
    before the first was saved, does not put the old wording back."""
    upcoming = versions["next"]
    colleague = make_user(roles.PRIVACY_OFFICER)
    correct = f"/privacy/policies/{upcoming.pk}/correct/"
    client.force_login(privacy_user)
    opened = client.get(correct).context["form"]
    stale = {
        **_form(version="2027-01", effective_from=_days(30), text="Draft wording."),
        **{name: opened[name].value() for name in ("row_version", "started_from")},
    }
    policies.correct_policy(
        actor=colleague,
        policy=upcoming,
        version="2027-01",
        effective_from=_days(30),
        text="Reviewed by legal.",
        expected_version=1,
    )
    stale["summary"] = "Mine."
    response = client.post(correct, stale)
    assert response.status_code == 200
    assert colleague.username in response.content.decode()
    [(_label, _now, started, taken_over)] = [
        row for row in response.context["form"].conflict_rows if row[1] == "Reviewed by legal."
    ]
    assert (started, taken_over) == ("Draft wording.", True)
    upcoming.refresh_from_db()
    assert (upcoming.text, upcoming.summary) == ("Reviewed by legal.", "")
    # Saved again from the page shown, both changes stand.
    again = {
        name: response.context["form"][name].value() for name in response.context["form"].fields
    }
    again["effective_from"] = _days(30).isoformat()
    assert client.post(correct, again).status_code == 302
    upcoming.refresh_from_db()
    assert (upcoming.text, upcoming.summary) == ("Reviewed by legal.", "Mine.")


@pytest.mark.parametrize("which", ["current", "old"])
def test_a_version_in_force_or_past_cannot_be_changed(client, privacy_user, versions, which):
    policy = versions[which]
    client.force_login(privacy_user)
    correct = f"/privacy/policies/{policy.pk}/correct/"
    for response in (client.get(correct), client.post(correct, _form(version="x"))):
        assert response["Location"] == f"/privacy/policies/{policy.pk}/"
    policy.refresh_from_db()
    assert policy.version == versions[which].version
    page = client.get(f"/privacy/policies/{policy.pk}/").content.decode()
    assert "cannot be changed" in page
    assert f'href="{correct}"' not in page
    with pytest.raises(ValidationError):
        policies.correct_policy(
            actor=privacy_user,
            policy=policy,
            version=policy.version,
            effective_from=_days(5),
            text="Rewritten",
        )
    assert not AuditEvent.objects.filter(action="privacypolicy.update").exists()


def test_a_scheduled_version_with_consents_under_it_cannot_be_changed(
    privacy_user, service_user, versions
):
    upcoming = versions["next"]
    _consent(service_user, policy=upcoming)
    assert "Consents were already recorded" in policies.correction_refused(upcoming)
    with pytest.raises(ValidationError):
        policies.correct_policy(
            actor=privacy_user,
            policy=upcoming,
            version="2027-01",
            effective_from=_days(31),
            text="Changed",
        )


def test_the_list_shows_the_version_in_force_and_the_consents_under_each(
    client, privacy_user, service_user, versions, django_assert_max_num_queries
):
    for granted in (True, True, False):
        _consent(service_user, granted=granted)
    listed = {item.policy.version: item for item in policies.policy_versions()}
    assert {version: item.status for version, item in listed.items()} == {
        "2027-01": "scheduled",
        "2026-06": "in_force",
        "2025-01": "superseded",
    }
    assert (listed["2026-06"].given, listed["2026-06"].withdrawn) == (2, 1)
    assert (listed["2027-01"].given, listed["2025-01"].given) == (0, 0)
    client.force_login(privacy_user)
    with django_assert_max_num_queries(12):
        page = client.get("/privacy/policies/").content.decode()
    assert page.index("2027-01") < page.index("2026-06") < page.index("2025-01")
    assert "in force" in page


def test_administrators_read_versions_but_only_the_officer_writes(
    client, admin_user_role, versions
):
    client.force_login(admin_user_role)
    assert client.get("/privacy/policies/").status_code == 200
    page = client.get(f"/privacy/policies/{versions['next'].pk}/").content.decode()
    assert "Draft wording." in page
    assert "/correct/" not in page
    assert client.post("/privacy/policies/new/", _form()).status_code == 403
    correct = f"/privacy/policies/{versions['next'].pk}/correct/"
    assert client.post(correct, _form()).status_code == 403
    assert not PrivacyPolicy.objects.filter(version="2027-03").exists()
    with pytest.raises(PermissionDenied):
        policies.publish_policy(
            actor=admin_user_role, version="2027-03", effective_from=_days(10), text="x"
        )


def test_policy_versions_are_read_only_in_django_admin(client, admin_user_role, versions):
    client.force_login(admin_user_role)
    change = client.get(f"/admin/privacy/privacypolicy/{versions['next'].pk}/change/")
    assert change.status_code == 200
    assert 'name="version"' not in change.content.decode()  # shown read-only
    assert client.get("/admin/privacy/privacypolicy/add/").status_code == 403
