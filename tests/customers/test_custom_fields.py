"""Custom fields' definitions (customers/custom_fields/): cleaning a value of every type, the
services that define, change and archive fields, and the administrators' page."""

import pytest
from django.core.exceptions import ValidationError

from accounts.api_keys import create_api_key, create_service_account
from customers.custom_fields import services
from customers.custom_fields.conversion import CONVERSIONS, active_conversion
from customers.custom_fields.models import (
    FieldConversion,
    FieldDefinition,
    FieldType,
    Sensitivity,
)
from customers.custom_fields.services import ChoiceSpec
from customers.custom_fields.values import clean_value, clean_values
from customers.models import Customer
from kernel.models import JobStatus
from privacy.models import AuditEvent
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

LEVELS = [ChoiceSpec("Gold", "金卡"), ChoiceSpec("Silver", "银卡")]


def define_field(admin, type, label="Membership level", target="customer", **settings):
    return services.save_field(
        actor=admin,
        target=target,
        label_en=label,
        type=type,
        choices=LEVELS if type in (FieldType.CHOICE, FieldType.CHOICES) else (),
        **settings,
    )


def change_settings(admin, field, **settings):
    """Save `field`'s settings as its page would, keeping its label, type and choices unless
    given: the field as saved (as it was, when the change waits for a conversion)."""
    kept_choices = [
        ChoiceSpec(choice.label_en, choice.label_zh, choice.key, choice.archived)
        for choice in field.choices.all()
    ]
    return services.save_field(
        actor=admin,
        target=field.target,
        field=field,
        label_en=settings.pop("label_en", field.label_en),
        type=settings.pop("type", field.type),
        choices=settings.pop("choices", kept_choices),
        **settings,
    )


def redefine(admin, field, **settings):
    """change_settings, with the conversion of its values the change needs run here as a
    worker would, which must end done."""
    field = change_settings(admin, field, **settings)
    job = active_conversion(field)
    if job is not None:
        job = CONVERSIONS.run_here(job)
        assert job.status == JobStatus.DONE, job.failure
        field.refresh_from_db()
    return field


def refused_conversion(admin, field, **settings) -> FieldConversion:
    """The conversion of `field`'s values to `settings` (as change_settings asks for it), run
    here and refused: the job as it ended, the field as it was."""
    before = services.settings_of(field)
    job = CONVERSIONS.run_here(active_conversion(change_settings(admin, field, **settings)))
    assert job.status == JobStatus.FAILED
    field.refresh_from_db()
    assert services.settings_of(field) == before
    return job


@pytest.mark.parametrize(
    ("type", "options", "raw", "stored"),
    [
        (FieldType.TEXT, {}, "  WeChat: lin_xy ", "WeChat: lin_xy"),
        (FieldType.LONG_TEXT, {}, "line one\nline two", "line one\nline two"),
        (FieldType.NUMBER, {"decimals": 1}, "４２.５", "42.5"),
        (FieldType.NUMBER, {}, "1,200", "1200"),
        (FieldType.MONEY, {}, "¥1,200.5", "1200.50"),
        (FieldType.MONEY, {}, "300元", "300.00"),
        (FieldType.DATE, {}, "2024年3月5日", "2024-03-05"),
        (FieldType.YES_NO, {}, "是", True),
        (FieldType.YES_NO, {}, "No", False),
        (FieldType.CHOICE, {}, "金卡", "gold"),
        (FieldType.CHOICE, {}, "silver", "silver"),
        (FieldType.CHOICES, {}, "Silver、金卡", ["gold", "silver"]),
        (FieldType.URL, {}, "Example.com/shop", "https://example.com/shop"),
        (FieldType.EMAIL, {}, "Lin.XY＠Example.com", "lin.xy@example.com"),
        (FieldType.PHONE, {}, "138 0013 8000", "+8613800138000"),
        (FieldType.TEXT, {}, "   ", None),
    ],
)
def test_every_type_cleans_what_people_type_into_its_stored_form(
    admin_user_role, type, options, raw, stored
):
    field = define_field(admin_user_role, type, **options)
    assert clean_value(field, raw) == stored


@pytest.mark.parametrize(
    ("type", "raw", "code"),
    [
        (FieldType.TEXT, "x" * 256, "max_length"),
        (FieldType.NUMBER, "12.5", "decimals"),
        (FieldType.NUMBER, "twelve", "invalid_number"),
        (FieldType.NUMBER, "1e30", "too_large"),
        (FieldType.MONEY, "1.005", "decimals"),
        (FieldType.DATE, "2024-02-30", "date_invalid"),
        (FieldType.YES_NO, "maybe", "invalid_yes_no"),
        (FieldType.CHOICE, "Platinum", "invalid_choice"),
        (FieldType.CHOICES, "Gold, Bronze", "invalid_choice"),
        (FieldType.URL, "ftp://example.com", "website_invalid"),
        (FieldType.EMAIL, "lin.example.com", "email_invalid"),
        (FieldType.PHONE, "12345", "phone_invalid"),
        (FieldType.USER, "nobody-here", "invalid_user"),
    ],
)
def test_a_value_that_is_not_of_the_type_is_refused_with_a_message(
    admin_user_role, type, raw, code
):
    field = define_field(admin_user_role, type)
    with pytest.raises(ValidationError) as refused:
        clean_value(field, raw)
    assert refused.value.code == code
    assert str(raw) not in " ".join(refused.value.messages)


def test_a_staff_member_is_stored_by_id_and_a_service_account_is_refused(
    admin_user_role, sales_user
):
    field = define_field(admin_user_role, FieldType.USER, label="Referred by")
    assert clean_value(field, sales_user.username) == sales_user.pk
    assert clean_value(field, str(sales_user.pk)) == sales_user.pk
    shop = create_service_account(actor=admin_user_role, username="shop", groups=[])
    create_api_key(actor=admin_user_role, account=shop, name="shop")
    sales_user.is_active = False
    sales_user.save()
    for refused in (sales_user.username, "shop"):
        with pytest.raises(ValidationError):
            clean_value(field, refused)


def test_several_choices_take_a_list_or_a_text_unless_the_text_is_one_choice(admin_user_role):
    channels = services.save_field(
        actor=admin_user_role,
        target="customer",
        label_en="Channels",
        type=FieldType.CHOICES,
        choices=[ChoiceSpec("B2B/B2C", "混合"), ChoiceSpec("Retail", "零售")],
    )
    assert clean_value(channels, "B2B/B2C") == ["b2bb2c"]
    assert clean_value(channels, ["零售", "b2bb2c"]) == ["b2bb2c", "retail"]
    assert clean_value(channels, "零售；混合") == ["b2bb2c", "retail"]
    with pytest.raises(ValidationError) as refused:
        clean_value(channels, "Retail\ufffd")
    assert refused.value.code == "unreadable_text"


def test_a_type_change_keeps_the_choices_for_a_way_back(admin_user_role):
    level = define_field(admin_user_role, FieldType.CHOICE)
    services.save_field(
        actor=admin_user_role, target="customer", field=level, label_en="Level", type="text"
    )
    assert level.choices.count() == len(LEVELS)


def test_required_fields_are_reported_together_and_a_partial_change_may_leave_them_out(
    admin_user_role,
):
    size = define_field(admin_user_role, FieldType.NUMBER, label="Shoe size", required=True)
    level = define_field(admin_user_role, FieldType.CHOICE, required=True)
    with pytest.raises(ValidationError) as refused:
        clean_values([size, level], {"membership_level": "Platinum"})
    assert set(refused.value.message_dict) == {"shoe_size", "membership_level"}
    assert clean_values([size, level], {"shoe_size": "42"}, partial=True) == {"shoe_size": "42"}


def test_a_new_field_gets_a_key_from_its_english_label_and_an_audit_event(admin_user_role):
    first = define_field(admin_user_role, FieldType.TEXT, label="WeChat ID", label_zh="微信号")
    second = define_field(admin_user_role, FieldType.TEXT, label="WeChat ID")
    assert (first.key, second.key) == ("wechat_id", "wechat_id_2")
    event = AuditEvent.objects.filter(action="custom_field.create", target_id=str(first.pk)).get()
    assert event.changes["key"] == "wechat_id"
    assert event.changes["label_zh"] == ["", "微信号"]


def test_choices_keep_their_keys_and_one_left_out_is_archived_not_deleted(admin_user_role):
    level = define_field(admin_user_role, FieldType.CHOICE)
    services.save_field(
        actor=admin_user_role,
        target="customer",
        field=level,
        label_en=level.label_en,
        type=level.type,
        choices=[ChoiceSpec("Gold card", "金卡", key="gold"), ChoiceSpec("Platinum", "白金卡")],
    )
    choices = {choice.key: choice for choice in level.choices.all()}
    assert set(choices) == {"gold", "silver", "platinum"}
    assert choices["gold"].label_en == "Gold card"
    assert choices["silver"].archived
    with pytest.raises(ValidationError):
        clean_value(level, "Silver")  # no longer offered


def test_a_type_change_is_refused_naming_the_records_whose_values_would_not_convert(
    admin_user_role,
):
    size = define_field(admin_user_role, FieldType.TEXT, label="Shoe size")
    fits, does_not = CustomerFactory(), CustomerFactory()
    Customer.objects.filter(pk=fits.pk).update(custom={"shoe_size": "42"})
    Customer.objects.filter(pk=does_not.pk).update(custom={"shoe_size": "large"})
    refused = refused_conversion(admin_user_role, size, type=FieldType.NUMBER)
    assert f"#{does_not.pk}" in refused.failure
    assert f"#{fits.pk}" not in refused.failure
    assert (refused.unconverted, refused.unconverted_count) == ([does_not.pk], 1)
    assert Customer.objects.get(pk=fits.pk).custom == {"shoe_size": "42"}  # nothing rewritten
    Customer.objects.filter(pk=does_not.pk).update(custom={"shoe_size": "43"})
    assert redefine(admin_user_role, size, type=FieldType.NUMBER).type == FieldType.NUMBER


def test_money_is_in_the_default_currency_unless_one_is_given(admin_user_role, settings):
    settings.DEFAULT_CURRENCY = "CNY"
    assert define_field(admin_user_role, FieldType.MONEY, label="Deposit").currency == "CNY"
    assert (
        define_field(admin_user_role, FieldType.MONEY, label="Fee", currency="usd").currency
        == "USD"
    )
    assert (
        define_field(admin_user_role, FieldType.TEXT, label="Code", currency="USD").currency == ""
    )


def test_a_default_is_cleaned_as_a_value_of_the_field(admin_user_role):
    level = define_field(admin_user_role, FieldType.CHOICE, default="银卡")
    assert level.default == "silver"
    with pytest.raises(ValidationError) as refused:
        define_field(admin_user_role, FieldType.DATE, label="Joined", default="soon")
    assert "default" in refused.value.message_dict


def test_administrators_define_a_choice_field_on_the_page_and_others_may_not(
    client, admin_user_role, sales_user
):
    client.force_login(sales_user)
    assert client.get("/custom-fields/").status_code == 403
    client.force_login(admin_user_role)
    page = client.get("/custom-fields/customer/new/")
    assert page.status_code == 200
    response = client.post(
        "/custom-fields/customer/new/",
        {
            "label_en": "Membership level",
            "label_zh": "会员等级",
            "type": "choice",
            "decimals": 0,
            "position": 1,
            "sensitivity": Sensitivity.ORDINARY,
            "choices_text": "Gold | 金卡\nSilver | 银卡",
            "default_text": "Silver",
        },
    )
    field = FieldDefinition.objects.get(key="membership_level")
    assert response.status_code == 302
    assert [c.label_zh for c in field.choices.all()] == ["金卡", "银卡"]
    assert field.default == "silver"
    edit = client.get(f"/custom-fields/customer/{field.pk}/").content.decode()
    assert 'value="Silver"' in edit  # the default by its label, not its key
    assert 'data-shown-for="id_type:choice,choices"' in edit  # the choices box
    listing = client.get("/custom-fields/").content.decode()
    assert "Membership level" in listing
    assert "Gold · Silver" in listing
    client.post(f"/custom-fields/customer/{field.pk}/", {"action": "archive"})
    field.refresh_from_db()
    assert field.archived_at is not None


def test_the_page_shows_the_services_refusals_on_the_fields(client, admin_user_role):
    client.force_login(admin_user_role)
    response = client.post(
        "/custom-fields/customer/new/",
        {
            "label_en": "Level",
            "type": "choice",
            "decimals": 0,
            "position": 0,
            "sensitivity": Sensitivity.ORDINARY,
            "choices_text": "",
        },
    )
    assert response.status_code == 400
    assert "at least one choice" in response.content.decode()
    assert not FieldDefinition.objects.exists()
