"""Security alerts: raised once per burst, shown to administrators until acknowledged, mailed."""

import pytest
from django.contrib.auth.signals import user_login_failed
from django.core import mail
from django.db import connection
from django.urls import reverse

from analytics.exports.jobs import EXPORT_JOBS
from analytics.exports.services import start_export
from customers import services
from privacy import tasks
from privacy.actions import KeyAction
from privacy.alerts import describe_alert
from privacy.audit.recording import audit_context, record_event
from privacy.models import AlertKind, AuditChannel, AuditEvent, SecurityAlert
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _mail_without_a_broker(monkeypatch):
    """The alert mail is a Celery task; here it runs at once when the transaction commits."""
    monkeypatch.setattr(tasks.mail_security_alert, "delay", tasks.mail_security_alert)


def _failed_login(username: str, ip: str = "203.0.113.9") -> None:
    with audit_context(via=AuditChannel.WEB, ip_address=ip):
        user_login_failed.send(sender=__name__, credentials={"username": username})


def test_a_burst_of_failed_logins_raises_one_alert_per_user_name_and_address(settings):
    settings.ALERT_FAILED_LOGINS = 3
    for _ in range(6):
        _failed_login("boss")
    alerts = list(SecurityAlert.objects.order_by("pk"))
    assert [(a.kind, a.subject, a.params["by"]) for a in alerts] == [
        (AlertKind.FAILED_LOGINS, "boss", "user"),
        (AlertKind.FAILED_LOGINS, "203.0.113.9", "ip"),
    ]
    assert alerts[0].params == {"by": "user", "count": 3, "minutes": settings.ALERT_WINDOW_MINUTES}


def test_many_user_names_from_one_address_raise_an_alert(settings):
    settings.ALERT_FAILED_LOGINS = 3
    for name in ("a", "b", "c", "d"):
        _failed_login(name, ip="198.51.100.7")
    [alert] = SecurityAlert.objects.all()
    assert (alert.subject, alert.params["by"]) == ("198.51.100.7", "ip")


def test_failed_logins_below_the_threshold_raise_nothing(settings):
    settings.ALERT_FAILED_LOGINS = 5
    for name in ("a", "a", "b", "b"):
        _failed_login(name)
    assert not SecurityAlert.objects.exists()


def test_the_alert_is_mailed_to_admins_and_user_managers_after_commit(
    settings, make_user, django_capture_on_commit_callbacks
):
    settings.ALERT_FAILED_LOGINS = 2
    settings.ADMINS = [("", "security@example.com")]
    make_user("Administrator", email="admin@example.com")
    make_user("Sales", email="sales@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            _failed_login("boss")
    assert len(mail.outbox) == 2  # one per alert: the user name, the address
    message = mail.outbox[0]
    assert sorted(message.to) == ["admin@example.com", "security@example.com"]
    assert "Burst of failed logins" in message.subject
    assert "boss" in message.body
    assert SecurityAlert.objects.filter(mailed_at__isnull=True).count() == 0
    tasks.mail_security_alert(SecurityAlert.objects.first().pk)  # a redelivered task
    assert len(mail.outbox) == 2


def test_mail_waits_for_the_commit(settings, django_capture_on_commit_callbacks):
    settings.ALERT_FAILED_LOGINS = 1
    settings.ADMINS = [("", "security@example.com")]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        _failed_login("boss")
    assert mail.outbox == []
    assert len(callbacks) == 2


def test_an_export_above_the_threshold_raises_an_alert(settings, admin_user_role, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.ALERT_EXPORT_ROWS = 2
    for _ in range(3):
        CustomerFactory()
    job = start_export(
        actor=admin_user_role, params={}, columns=["name"], format="csv", queue=False
    )
    EXPORT_JOBS.run(job.pk)
    [alert] = SecurityAlert.objects.all()
    assert alert.kind == AlertKind.LARGE_EXPORT
    assert alert.subject == admin_user_role.username
    assert alert.params["rows"] == 3
    assert (
        describe_alert(alert) == f"{admin_user_role.username} exported 3 rows (alert threshold: 2)."
    )


def test_exports_at_or_below_the_threshold_and_unfinished_ones_raise_nothing(settings):
    settings.ALERT_EXPORT_ROWS = 100
    record_event(actor=None, action="export.done", changes={"rows": 100})
    record_event(actor=None, action="export.cancelled", changes={"rows": 5000})
    record_event(actor=None, action="customer.admin_export", changes={"rows": 101})
    assert [alert.params["rows"] for alert in SecurityAlert.objects.all()] == [101]


def test_many_id_reveals_by_one_user_raise_one_alert(settings, privacy_user):
    settings.ALERT_ID_REVEALS = 3
    customers = [
        CustomerFactory(id_document_kind="passport", id_number=f"E1234567{n}") for n in range(5)
    ]
    for customer in customers:
        services.reveal_id_number(actor=privacy_user, customer=customer)
    [alert] = SecurityAlert.objects.all()
    assert (alert.kind, alert.subject, alert.params["count"]) == (
        AlertKind.ID_REVEALS,
        privacy_user.username,
        3,
    )
    # No customer data: only the staff member's user name and counts.
    assert set(alert.params) == {"count", "minutes"}


def test_alerts_show_on_admin_index_and_home_until_acknowledged(client, admin_user_role):
    alert = SecurityAlert.objects.create(
        kind=AlertKind.ID_REVEALS, subject="nosy", params={"count": 30, "minutes": 60}
    )
    client.force_login(admin_user_role)
    for url in ("/admin/", "/"):
        page = client.get(url).content.decode()
        assert "nosy revealed 30 identity numbers within 60 minutes." in page, url
    response = client.post(reverse("audit:acknowledge_alert", args=[alert.pk]), {"next": "/admin/"})
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    alert.refresh_from_db()
    assert alert.acknowledged_by == admin_user_role
    assert alert.acknowledged_at is not None
    assert AuditEvent.objects.filter(action="alert.acknowledge", target_id=str(alert.pk)).exists()
    assert "nosy revealed" not in client.get("/").content.decode()
    client.post(reverse("audit:acknowledge_alert", args=[alert.pk]))
    assert AuditEvent.objects.filter(action="alert.acknowledge").count() == 1


def test_staff_without_the_permission_neither_see_nor_acknowledge_alerts(client, service_user):
    alert = SecurityAlert.objects.create(kind=AlertKind.FAILED_LOGINS, subject="boss")
    client.force_login(service_user)
    assert "Security alerts" not in client.get("/").content.decode()
    response = client.post(reverse("audit:acknowledge_alert", args=[alert.pk]))
    assert response.status_code == 403
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


def test_the_nightly_check_raises_an_alert_when_the_chain_is_broken(settings):
    settings.ADMINS = [("", "security@example.com")]
    events = [record_event(actor=None, action=KeyAction.ROTATE, changes={"n": n}) for n in range(4)]
    assert tasks.verify_audit_chain() is True
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "ALTER TABLE privacy_auditevent DISABLE TRIGGER privacy_auditevent_append_only"
            )
        cursor.execute(
            "UPDATE privacy_auditevent SET target_id = 'x' WHERE id = %s", [events[1].pk]
        )
        if connection.vendor == "postgresql":
            cursor.execute(
                "ALTER TABLE privacy_auditevent ENABLE TRIGGER privacy_auditevent_append_only"
            )
    assert tasks.verify_audit_chain() is False
    [alert] = SecurityAlert.objects.all()
    assert alert.kind == AlertKind.AUDIT_CHAIN
    assert alert.params["sequence"] == events[1].sequence
    assert f"event {events[1].sequence} (id {events[1].pk}) was changed" in describe_alert(alert)
