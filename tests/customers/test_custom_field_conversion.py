"""Converting a field's stored values in a background job (customers/custom_fields/conversion.py):
the check that refuses without changing anything, the switch, the rewrite in batches that goes
on after a lost worker and never writes twice, a value written in the old form meanwhile, the
pages that read values of either form, and the field's page that follows the job."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from customers import services as customer_services
from customers.custom_fields import conversion, services
from customers.custom_fields.conversion import CONVERSIONS, active_conversion
from customers.custom_fields.models import (
    ConversionPhase,
    FieldConversion,
    FieldType,
    Sensitivity,
)
from customers.custom_fields.records import (
    api_values,
    is_sealed,
    merged_values,
    portable_text,
    sealed_contexts,
    shown_value,
    unseal,
)
from customers.models import Customer
from kernel.models import JobStatus
from privacy.models import AuditEvent
from tests.customers.test_custom_fields import change_settings, define_field, redefine
from tests.factories import CustomerFactory, form_data

pytestmark = pytest.mark.django_db


def _ask(admin, field, **settings) -> FieldConversion:
    """The conversion queued by changing `field`'s settings as its page would."""
    job = active_conversion(change_settings(admin, field, **settings))
    assert job is not None
    return job


def _sizes(*values: str) -> list[Customer]:
    customers = [CustomerFactory() for _value in values]
    for customer, value in zip(customers, values, strict=True):
        Customer.objects.filter(pk=customer.pk).update(custom={"shoe_size": value})
    return customers


def test_the_field_keeps_every_setting_until_its_values_are_checked(admin_user_role):
    size = define_field(admin_user_role, FieldType.TEXT, label="Shoe size")
    (customer,) = _sizes("42")
    job = _ask(admin_user_role, size, type=FieldType.NUMBER, decimals=1, label_en="Size (EU)")
    size.refresh_from_db()
    assert (size.type, size.label_en) == (FieldType.TEXT, "Shoe size")
    assert job.requested["label_en"] == "Size (EU)"
    (asked,) = AuditEvent.objects.filter(action="custom_field.update")
    assert asked.changes == {"key": "shoe_size", "choices": [], "conversion": job.pk}
    with pytest.raises(ValidationError) as refused:
        redefine(admin_user_role, size, label_en="Size")
    assert refused.value.code == "converting"

    job = CONVERSIONS.run_here(job)
    assert (job.status, job.phase, job.values_converted) == (JobStatus.DONE, "converting", 1)
    size.refresh_from_db()
    assert (size.type, size.decimals, size.label_en) == (FieldType.NUMBER, 1, "Size (EU)")
    assert Customer.objects.get(pk=customer.pk).custom == {"shoe_size": "42.0"}
    change = AuditEvent.objects.filter(action="custom_field.update").latest("pk")
    assert change.actor_id == admin_user_role.pk
    assert change.changes["type"] == ["text", "number"]
    assert change.changes["conversion"] == job.pk


def test_only_one_conversion_of_a_field_is_under_way(admin_user_role):
    size = define_field(admin_user_role, FieldType.TEXT, label="Shoe size")
    job = _ask(admin_user_role, size, type=FieldType.NUMBER)
    with pytest.raises(IntegrityError), transaction.atomic():
        FieldConversion.objects.create(
            field=size, created_by=admin_user_role, status=JobStatus.QUEUED
        )
    CONVERSIONS.run_here(job)
    assert redefine(admin_user_role, size, type=FieldType.TEXT).type == FieldType.TEXT


def test_a_refused_check_names_records_and_links_them_on_the_fields_page(client, admin_user_role):
    size = define_field(admin_user_role, FieldType.TEXT, label="Shoe size")
    fits, large, huge = _sizes("42", "large", "huge")
    job = CONVERSIONS.run_here(_ask(admin_user_role, size, type=FieldType.NUMBER))
    assert job.status == JobStatus.FAILED
    assert not job.resumable
    assert job.unconverted == [large.pk, huge.pk]
    assert "2 records hold values that are not valid number" in job.failure
    failed = AuditEvent.objects.get(action="custom_field_conversion.failed")
    assert failed.changes == {
        "field": size.pk,
        "type": ["text", "number"],
        "values_converted": 0,
        "values_not_converted": 2,
    }
    client.force_login(admin_user_role)
    page = client.get(reverse("custom_fields:edit", args=["customer", size.pk])).content.decode()
    assert "The change was refused: the field kept its settings." in page
    assert "2 records hold values that are not valid number:" in page
    assert f'href="{reverse("customers:detail", args=[large.pk])}"' in page
    assert f"#{fits.pk}<" not in page
    assert "<fieldset disabled" not in page


def test_a_value_written_in_the_old_form_during_the_check_is_kept_and_named(
    admin_user_role, monkeypatch
):
    """A salesperson saves "large" between the check and the switch: it stays as written,
    shown as typed, and the page names it; every other value is converted."""
    size = define_field(admin_user_role, FieldType.TEXT, label="Shoe size")
    fits, late = _sizes("42", "41")
    switch = conversion.FieldConversionKind._switch

    def write_then_switch(kind, run):
        customer_services.update_customer(
            actor=admin_user_role,
            customer=Customer.objects.get(pk=late.pk),
            custom={"shoe_size": "large"},
        )
        switch(kind, run)

    monkeypatch.setattr(conversion.FieldConversionKind, "_switch", write_then_switch)
    job = CONVERSIONS.run_here(_ask(admin_user_role, size, type=FieldType.NUMBER, decimals=1))
    assert job.status == JobStatus.DONE
    assert (job.unconverted, job.unconverted_count, job.values_converted) == ([late.pk], 1, 1)
    assert Customer.objects.get(pk=fits.pk).custom == {"shoe_size": "42.0"}
    kept = Customer.objects.get(pk=late.pk).custom["shoe_size"]
    assert kept == "large"
    size.refresh_from_db()
    shown = shown_value(size, kept, sees_personal=True, may_reveal=False)
    assert shown.text == "large"


def test_a_batch_done_again_after_a_lost_worker_changes_nothing(admin_user_role, monkeypatch):
    monkeypatch.setattr(conversion, "CONVERSION_BATCH", 2)
    wechat = define_field(admin_user_role, FieldType.TEXT, label="WeChat id")
    customers = [
        customer_services.create_customer(
            actor=admin_user_role, name=f"甲{n}", custom={"wechat_id": f"wx_{n}"}
        )
        for n in range(5)
    ]
    job = CONVERSIONS.run_here(_ask(admin_user_role, wechat, sensitivity=Sensitivity.SENSITIVE))
    assert (job.status, job.values_converted, job.rows_done) == (JobStatus.DONE, 5, 5)
    sealed = {c.pk: Customer.objects.get(pk=c.pk).custom["wechat_id"] for c in customers}
    assert all(is_sealed(entry) for entry in sealed.values())

    # Running and silent, its cursor after the first batch: its worker died, and the batches
    # after are done again.
    FieldConversion.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING,
        finished_at=None,
        heartbeat_at=None,
        started_at=job.started_at.replace(year=2020),
        rows_done=2,
        holder_done=0,
        last_pk=customers[1].pk,
        values_converted=2,
    )
    job = CONVERSIONS.run_here(FieldConversion.objects.get(pk=job.pk))
    assert (job.status, job.values_converted, job.rows_done) == (JobStatus.DONE, 2, 5)
    assert {c.pk: Customer.objects.get(pk=c.pk).custom["wechat_id"] for c in customers} == sealed
    wechat.refresh_from_db()
    assert unseal(wechat, sealed[customers[0].pk]) == "wx_0"


def test_stop_while_checking_changes_nothing_and_is_refused_once_rewriting(admin_user_role):
    size = define_field(admin_user_role, FieldType.TEXT, label="Shoe size")
    _sizes("42")
    job = conversion.stop_conversion(
        actor=admin_user_role, job=_ask(admin_user_role, size, type=FieldType.NUMBER)
    )
    assert job.status == JobStatus.CANCELLED
    size.refresh_from_db()
    assert size.type == FieldType.TEXT

    job = _ask(admin_user_role, size, type=FieldType.NUMBER)
    FieldConversion.objects.filter(pk=job.pk).update(phase=ConversionPhase.CONVERTING)
    with pytest.raises(ValidationError):
        conversion.stop_conversion(actor=admin_user_role, job=job)


def test_a_plain_value_under_a_field_made_sensitive_is_masked_until_it_is_sealed(
    client, admin_user_role, sales_user
):
    wechat = define_field(
        admin_user_role, FieldType.TEXT, label="WeChat id", sensitivity=Sensitivity.SENSITIVE
    )
    customer = CustomerFactory(owner=sales_user)
    # As the rewrite leaves a record it has not reached yet.
    Customer.objects.filter(pk=customer.pk).update(custom={"wechat_id": "lin_xiaoyan88"})
    shown = shown_value(wechat, "lin_xiaoyan88", sees_personal=True, may_reveal=True)
    assert (shown.visible, shown.revealable) == (False, True)
    assert "lin_xiaoyan88" not in shown.text
    assert "lin_xiaoyan88" not in api_values([wechat], {"wechat_id": "lin_xiaoyan88"})["wechat_id"]
    exported = portable_text(wechat, "lin_xiaoyan88", unmasked=True, usernames={})
    assert "lin_xiaoyan88" not in exported
    client.force_login(sales_user)
    for page in ("customers:detail", "customers:edit"):
        html = client.get(reverse(page, args=[customer.pk])).content.decode()
        assert "lin_xiaoyan88" not in html


def test_key_rotation_reaches_a_field_whose_values_a_conversion_unseals(admin_user_role):
    note = define_field(
        admin_user_role, FieldType.TEXT, label="Health note", sensitivity=Sensitivity.SENSITIVE
    )
    assert "health_note" in sealed_contexts("customer")
    job = _ask(admin_user_role, note, sensitivity=Sensitivity.PERSONAL)
    assert job.reseals
    CONVERSIONS.run_here(job)
    assert "health_note" in sealed_contexts("customer")


def test_the_page_queues_the_conversion_and_its_panel_follows_it(client, admin_user_role):
    size = define_field(admin_user_role, FieldType.TEXT, label="Shoe size")
    _sizes("42", "43")
    client.force_login(admin_user_role)
    edit = reverse("custom_fields:edit", args=["customer", size.pk])
    form = {
        "label_en": "Shoe size",
        "type": "number",
        "decimals": 1,
        "position": 0,
        "sensitivity": Sensitivity.ORDINARY,
    }
    response = client.post(edit, form, follow=True)
    page = response.content.decode()
    assert "they are being checked and converted" in page
    assert "Checking the stored values" in page
    assert "<fieldset disabled" in page
    assert 'value="stop_conversion"' in page
    panel = reverse("custom_fields:conversion", args=["customer", size.pk])
    assert f'hx-get="{panel}"' in page
    assert "HX-Refresh" not in client.get(panel)
    listing = client.get(reverse("custom_fields:list")).content.decode()
    assert "Converting its values" in listing

    CONVERSIONS.run_here(active_conversion(size))
    polled = client.get(panel)
    assert polled["HX-Refresh"] == "true"
    assert "2 values converted" in polled.content.decode()
    assert "<fieldset disabled" not in client.get(edit).content.decode()


def test_the_conversion_panel_is_for_administrators_only(client, admin_user_role, sales_user):
    size = define_field(admin_user_role, FieldType.TEXT, label="Shoe size")
    _ask(admin_user_role, size, type=FieldType.NUMBER)
    client.force_login(sales_user)
    panel = reverse("custom_fields:conversion", args=["customer", size.pk])
    assert client.get(panel).status_code == 403
    edit = reverse("custom_fields:edit", args=["customer", size.pk])
    assert client.post(edit, {"action": "stop_conversion"}).status_code == 403
    assert active_conversion(size).status == JobStatus.QUEUED


def _mid_conversion(field, **settings):
    """`field` as a conversion leaves it between its switch and the rewrite reaching a record:
    the new settings, the record's value still in the old form."""
    type(field).objects.filter(pk=field.pk).update(**settings)
    field.refresh_from_db()
    return field


def test_forms_pages_and_merges_read_values_not_yet_rewritten(client, admin_user_role, sales_user):
    tags = define_field(admin_user_role, FieldType.CHOICES, label="Tier")
    vip = CustomerFactory(owner=sales_user, name="林晓燕")
    other = CustomerFactory(owner=sales_user, name="林晓燕")
    Customer.objects.filter(pk=vip.pk).update(custom={"tier": ["gold"]})
    # Several choices made one: ["gold"] is "gold" now.
    _mid_conversion(tags, type=FieldType.CHOICE)
    client.force_login(sales_user)
    edit = reverse("customers:edit", args=[vip.pk])
    form = client.get(edit).context["form"]
    assert form.initial["custom__tier"] == "gold"
    response = client.post(edit, form_data(form, city="杭州"))
    assert response.status_code == 302
    assert Customer.objects.get(pk=vip.pk).custom == {"tier": ["gold"]}  # not emptied

    # One choice made several: "gold" and ["silver"] are united, not cut into letters.
    _mid_conversion(tags, type=FieldType.CHOICES)
    Customer.objects.filter(pk=vip.pk).update(custom={"tier": "gold"})
    Customer.objects.filter(pk=other.pk).update(custom={"tier": ["silver"]})
    records = list(Customer.objects.filter(pk__in=[vip.pk, other.pk]))
    assert merged_values([tags], records, {}) == {"tier": ["gold", "silver"]}

    answer = define_field(admin_user_role, FieldType.TEXT, label="Married")
    Customer.objects.filter(pk=vip.pk).update(custom={"married": "no"})
    _mid_conversion(answer, type=FieldType.YES_NO)
    page = client.get(reverse("customers:detail", args=[vip.pk])).content.decode()
    assert page.count(">No<") + page.count("No</") >= 1
    assert shown_value(answer, "no", sees_personal=True, may_reveal=False).text == "No"

    referrer = define_field(admin_user_role, FieldType.TEXT, label="Referred by")
    Customer.objects.filter(pk=vip.pk).update(custom={"referred_by": "somebody"})
    _mid_conversion(referrer, type=FieldType.USER)
    assert client.get(edit).status_code == 200  # no colleague is named "somebody"


def test_the_sweep_rewrites_a_value_put_back_in_the_old_form_behind_the_rewrite(
    admin_user_role,
):
    size = define_field(admin_user_role, FieldType.TEXT, label="Shoe size")
    (early,) = _sizes("42")
    job = CONVERSIONS.run_here(_ask(admin_user_role, size, type=FieldType.NUMBER, decimals=1))
    assert Customer.objects.get(pk=early.pk).custom == {"shoe_size": "42.0"}
    # An edit prepared before the switch and saved after the rewrite passed the record.
    late = CustomerFactory()
    Customer.objects.filter(pk=late.pk).update(custom={"shoe_size": "43"})
    FieldConversion.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING,
        finished_at=None,
        heartbeat_at=None,
        started_at=job.started_at.replace(year=2020),
    )
    job = CONVERSIONS.run_here(FieldConversion.objects.get(pk=job.pk))
    assert job.status == JobStatus.DONE
    assert Customer.objects.get(pk=late.pk).custom == {"shoe_size": "43.0"}


def test_sealing_keeps_an_archived_choice_and_a_colleague_who_left(admin_user_role, sales_user):
    level = define_field(admin_user_role, FieldType.CHOICE)
    mentor = define_field(admin_user_role, FieldType.USER, label="Mentor")
    customer = CustomerFactory()
    Customer.objects.filter(pk=customer.pk).update(
        custom={"membership_level": "gold", "mentor": sales_user.pk}
    )
    redefine(admin_user_role, level, choices=[services.ChoiceSpec("Silver", "银卡", key="silver")])
    type(sales_user).objects.filter(pk=sales_user.pk).update(is_active=False)
    for field in (level, mentor):
        job = CONVERSIONS.run_here(_ask(admin_user_role, field, sensitivity=Sensitivity.SENSITIVE))
        assert (job.status, job.values_converted, job.unconverted_count) == ("done", 1, 0)
    stored = Customer.objects.get(pk=customer.pk).custom
    level.refresh_from_db()
    mentor.refresh_from_db()
    assert unseal(level, stored["membership_level"]) == "gold"
    assert unseal(mentor, stored["mentor"]) == sales_user.pk


def test_a_save_after_a_stopped_check_is_not_undone_by_resuming_it(admin_user_role):
    size = define_field(admin_user_role, FieldType.TEXT, label="Shoe size")
    job = _ask(admin_user_role, size, type=FieldType.NUMBER)
    # Its worker lost for good while checking: failed, left to resume.
    FieldConversion.objects.filter(pk=job.pk).update(status=JobStatus.FAILED, resumable=True)
    redefine(admin_user_role, size, label_en="Size")
    job.refresh_from_db()
    assert not job.resumable
    with pytest.raises(ValidationError):
        CONVERSIONS.resume(actor=admin_user_role, job=job)


def test_a_conversion_given_up_after_its_switch_can_still_be_resumed(admin_user_role):
    """Queued again after losing its worker, its message never taken up: given up after an
    hour, it stays resumable, since the field's values are in two forms until it ends."""
    size = define_field(admin_user_role, FieldType.TEXT, label="Shoe size")
    job = _ask(admin_user_role, size, type=FieldType.NUMBER)
    long_ago = timezone.now() - datetime.timedelta(hours=2)
    FieldConversion.objects.filter(pk=job.pk).update(
        phase=ConversionPhase.CONVERTING, started_at=long_ago, heartbeat_at=long_ago
    )
    assert CONVERSIONS.give_up_silent() == 1
    job.refresh_from_db()
    assert (job.status, job.resumable) == (JobStatus.FAILED, True)
    assert CONVERSIONS.resume(actor=admin_user_role, job=job).status == JobStatus.QUEUED
