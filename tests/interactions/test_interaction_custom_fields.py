"""Custom fields on interactions (customers/custom_fields/, registered by interactions/apps.py):
written by the service, the customer page's form, the API and an import; shown in the timeline
masked as the reader must see them, a sensitive one revealed by an audited POST; carried by the
API and the webhook payload; kept by the archive; in the data subject's copy and gone after an
erasure or the retention of old interactions; converted with the field's type, archive
included."""

import datetime
import json

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.templatetags.staff import staff_name
from customers.custom_fields import conversion
from customers.custom_fields.conversion import CONVERSIONS, active_conversion
from customers.custom_fields.models import FieldConversion, FieldType, Sensitivity
from customers.custom_fields.records import is_sealed
from interactions import services
from interactions.archive import archive_interactions
from interactions.events import InteractionEventSerializer, mask_interaction
from interactions.models import ArchivedInteraction, Interaction
from privacy import roles
from privacy.models import AuditEvent, RequestKind, RetentionKind
from privacy.registry import RETENTION_TARGETS
from privacy.subjects import copy as subject_copy
from privacy.subjects import services as requests
from tests.customers.test_custom_fields import (
    change_settings,
    define_field,
    redefine,
    refused_conversion,
)
from tests.factories import CustomerFactory, InteractionFactory, UserFactory
from tests.interactions.test_imports import _counts, _import
from tests.privacy.test_subject_requests import _read_zip, _verified

pytestmark = pytest.mark.django_db

SYMPTOM = "Quixby rash after use"


@pytest.fixture
def fields(admin_user_role):
    """On interactions: a choice with a default, a personal text and a sensitive text."""
    admin = admin_user_role
    return {
        "outcome": define_field(
            admin,
            FieldType.CHOICE,
            label="Outcome",
            label_zh="结果",
            target="interaction",
            default="Silver",
        ),
        "caller_wechat": define_field(
            admin,
            FieldType.TEXT,
            label="Caller WeChat",
            target="interaction",
            sensitivity=Sensitivity.PERSONAL,
        ),
        "symptom": define_field(
            admin,
            FieldType.TEXT,
            label="Symptom",
            target="interaction",
            sensitivity=Sensitivity.SENSITIVE,
        ),
    }


def _logged(actor, customer, **custom):
    return services.record_interaction(
        actor=actor, customer=customer, kind="call", subject="Called back", custom=custom
    )


def test_the_service_cleans_seals_defaults_and_audits_values(service_user, fields):
    customer = CustomerFactory()
    interaction = _logged(service_user, customer, caller_wechat=" qx_wx ", symptom=SYMPTOM)
    interaction.refresh_from_db()
    assert interaction.custom["outcome"] == "silver"
    assert interaction.custom["caller_wechat"] == "qx_wx"
    assert is_sealed(interaction.custom["symptom"])
    assert SYMPTOM not in json.dumps(interaction.custom)
    logged = AuditEvent.objects.get(action="interaction.create", target_id=str(customer.pk))
    assert logged.changes["custom.outcome"] == [None, "silver"]
    assert logged.changes["custom.symptom"] == ["", "…"]
    assert "qx_wx" not in json.dumps(logged.changes)

    with pytest.raises(ValidationError) as refused:
        _logged(service_user, customer, outcome="Platinum")
    assert list(refused.value.message_dict) == ["custom.outcome"]
    assert Interaction.objects.filter(customer=customer).count() == 1


def test_the_customer_pages_form_takes_values_and_shows_a_refusal_on_its_input(
    client, sales_user, fields
):
    customer = CustomerFactory(owner=sales_user)
    client.force_login(sales_user)
    url = reverse("interactions:log_interaction", args=[customer.pk])
    form = client.get(url, HTTP_HX_REQUEST="true").context["form"]
    assert [bound.name for bound in form.custom_inputs()] == [
        "custom__outcome",
        "custom__caller_wechat",
        "custom__symptom",
    ]
    post = {
        "kind": "call",
        "occurred_at": "2026-05-01T10:00",
        "subject": "Called back",
        "custom__outcome": "gold",
        "custom__caller_wechat": "qx_wx",
    }
    assert client.post(url, post).status_code == 302
    interaction = Interaction.objects.get(customer=customer)
    assert (interaction.custom["outcome"], interaction.custom["caller_wechat"]) == (
        "gold",
        "qx_wx",
    )
    refused = client.post(url, {**post, "custom__caller_wechat": "x" * 300})
    assert refused.status_code == 200
    assert refused.context["form"].errors["custom__caller_wechat"]


def test_the_timeline_masks_what_the_reader_may_not_see_and_reveals_audited(
    client, service_user, admin_user_role, fields
):
    customer = CustomerFactory()
    interaction = _logged(
        service_user, customer, outcome="gold", caller_wechat="qx_wx", symptom=SYMPTOM
    )
    reveal = reverse("interactions:reveal_custom", args=[customer.pk, interaction.pk, "symptom"])
    detail = reverse("customers:detail", args=[customer.pk])

    client.force_login(service_user)  # sees personal data, may not reveal
    html = client.get(detail).content.decode()
    assert "Gold" in html
    assert "qx_wx" in html
    assert SYMPTOM not in html
    assert reveal not in html
    assert client.post(reveal).status_code == 403

    blind = UserFactory(role=roles.ANALYST)  # sees every customer, no one's personal data
    client.force_login(blind)
    html = client.get(detail).content.decode()
    assert "Gold" in html
    assert "qx_wx" not in html

    client.force_login(admin_user_role)
    assert reveal in client.get(detail).content.decode()
    revealed = client.post(reveal)
    assert revealed.status_code == 200
    assert SYMPTOM in revealed.content.decode()
    event = AuditEvent.objects.get(action="interaction.reveal_custom")
    # Against the customer: the person's copy lists who saw what of theirs.
    assert (event.target_id, event.changes) == (
        str(customer.pk),
        {"field": "symptom", "interaction": interaction.pk},
    )


def test_the_archive_keeps_values_and_they_are_still_shown_and_converted(
    client, service_user, admin_user_role, fields
):
    size = define_field(admin_user_role, FieldType.TEXT, label="Size", target="interaction")
    customer = CustomerFactory()
    old = InteractionFactory(
        customer=customer,
        occurred_at=timezone.now() - datetime.timedelta(days=5 * 365),
        custom={"outcome": "gold", "size": "42"},
    )
    archive_interactions(older_than=datetime.timedelta(days=3 * 365))
    archived = ArchivedInteraction.objects.get(pk=old.pk)
    assert archived.custom == {"outcome": "gold", "size": "42"}
    client.force_login(service_user)
    assert "Gold" in client.get(reverse("customers:detail", args=[customer.pk])).content.decode()

    ArchivedInteraction.objects.filter(pk=old.pk).update(custom={"size": "large"})
    refused = refused_conversion(admin_user_role, size, type=FieldType.NUMBER)
    assert f"#{old.pk}" in refused.failure
    ArchivedInteraction.objects.filter(pk=old.pk).update(custom={"size": "43"})
    redefine(admin_user_role, size, type=FieldType.NUMBER)


def test_the_webhook_payload_is_masked_for_a_subscriber_who_may_not_see_personal_data(
    service_user, fields
):
    customer = CustomerFactory()
    interaction = _logged(service_user, customer, caller_wechat="qx_wx")
    payload = dict(InteractionEventSerializer(interaction).data)
    assert payload["custom"]["caller_wechat"] == "qx_wx"
    sees = mask_interaction(service_user, payload)
    assert sees["custom"]["caller_wechat"] == "qx_wx"
    blind = mask_interaction(UserFactory(role=roles.ANALYST), payload)
    assert blind["custom"]["caller_wechat"] not in ("qx_wx", None)
    assert blind["custom"]["outcome"] == "silver"


def test_an_import_fills_values_by_their_chinese_label(admin_user_role, fields):
    CustomerFactory(name="王丽娟", phone="13800138000")
    rows = [
        ["工单号", "手机", "类型", "时间", "结果", "Caller WeChat"],
        ["T1", "13800138000", "来电", "2024-06-01 09:00", "金卡", "qx_wx"],
        ["T2", "13800138000", "来电", "2024-06-02 09:00", "", ""],
        ["T3", "13800138000", "来电", "2024-06-03 09:00", "钻石卡", ""],
    ]
    job = _import(admin_user_role, "interactions", rows)
    assert _counts(job) == (2, 0, 0, 1)
    first = Interaction.objects.get(external_ref="T1")
    assert first.custom == {"outcome": "gold", "caller_wechat": "qx_wx"}
    assert Interaction.objects.get(external_ref="T2").custom == {"outcome": "silver"}
    [issue] = job.issues.all()
    assert issue.value == "钻石卡"


def test_the_copy_holds_the_values_and_an_erasure_or_retention_clears_them(
    privacy_user, service_user, fields, tmp_path
):
    customer = CustomerFactory()
    interaction = _logged(
        service_user, customer, outcome="gold", caller_wechat="qx_wx", symptom=SYMPTOM
    )
    request = _verified(privacy_user, customer, RequestKind.ACCESS)
    path = tmp_path / "copy.zip"
    subject_copy.write_copy(customer, path, request=request)
    [row] = json.loads(_read_zip(path)["json/interactions.json"])
    assert (row["custom.outcome"], row["custom.caller_wechat"], row["custom.symptom"]) == (
        "Gold",
        "qx_wx",
        SYMPTOM,
    )
    assert row["subject"] == "Called back"  # a field's own key never takes a built-in's place

    other = CustomerFactory()
    old = InteractionFactory(
        customer=other,
        occurred_at=timezone.now() - datetime.timedelta(days=10 * 365),
        subject="",
        body="",
        custom={"outcome": "gold"},
    )
    target = RETENTION_TARGETS[RetentionKind.OLD_INTERACTIONS]
    cutoff = timezone.now() - datetime.timedelta(days=5 * 365)
    due = [pk for (pk,) in target.rows(cutoff)]
    assert due == [old.pk]
    target.apply(due, None)
    old.refresh_from_db()
    assert old.custom == {}

    erasure = _verified(privacy_user, customer, RequestKind.ERASURE)
    requests.erase_for_request(actor=privacy_user, request=erasure, resolution="Erased.")
    interaction.refresh_from_db()
    assert interaction.custom == {}


def test_the_timeline_names_colleagues_in_a_bounded_number_of_queries(
    client, service_user, admin_user_role, fields, django_assert_max_num_queries
):
    define_field(admin_user_role, FieldType.USER, label="Handled by", target="interaction")
    customer = CustomerFactory()
    url = reverse("interactions:timeline", args=[customer.pk])
    client.force_login(service_user)
    for _ in range(2):
        _logged(service_user, customer, handled_by=str(service_user.pk))
    client.get(url)  # sessions and permissions
    with django_assert_max_num_queries(50) as few:
        client.get(url)
    for _ in range(10):
        _logged(service_user, customer, handled_by=service_user.username)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert response.content.decode().count(staff_name(service_user)) >= 12


def test_a_conversion_resumed_after_the_live_table_goes_on_in_the_archive(
    admin_user_role, monkeypatch
):
    """Interactions' values live in two tables (Target.holders): a worker lost after the live
    one leaves the cursor on the archive, where the resumed job goes on."""
    monkeypatch.setattr(conversion, "CONVERSION_BATCH", 1)
    size = define_field(admin_user_role, FieldType.TEXT, label="Size", target="interaction")
    live = InteractionFactory(custom={"size": "41"})
    old = InteractionFactory(
        occurred_at=timezone.now() - datetime.timedelta(days=5 * 365), custom={"size": "42"}
    )
    archive_interactions(older_than=datetime.timedelta(days=3 * 365))
    job = CONVERSIONS.run_here(
        active_conversion(change_settings(admin_user_role, size, type=FieldType.NUMBER, decimals=1))
    )
    assert (job.status, job.values_converted, job.rows_done) == ("done", 2, 2)
    # As a worker lost after the live table leaves it; the live value written back meanwhile
    # is not the archive's business (interactions are not swept: they carry no updated time).
    Interaction.objects.filter(pk=live.pk).update(custom={"size": "41"})
    ArchivedInteraction.objects.filter(pk=old.pk).update(custom={"size": "42"})
    FieldConversion.objects.filter(pk=job.pk).update(
        status="running",
        finished_at=None,
        heartbeat_at=None,
        started_at=job.started_at.replace(year=2020),
        holder_done=1,
        last_pk=0,
        rows_done=1,
        values_converted=1,
    )
    job = CONVERSIONS.run_here(FieldConversion.objects.get(pk=job.pk))
    assert (job.status, job.values_converted, job.rows_done) == ("done", 2, 2)
    assert ArchivedInteraction.objects.get(pk=old.pk).custom == {"size": "42.0"}
    assert Interaction.objects.get(pk=live.pk).custom == {"size": "41"}
