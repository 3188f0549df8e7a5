"""Custom fields in imports (customers/imports/mapping.py custom_import_fields, customer_rows.py):
columns matched by the field's label in either language, values cleaned as the form cleans them,
a bad value reported on its cell (a sensitive one never quoted), defaults for new customers, the
update policies, personal values left alone for an importer who may not see them, and an export
imported again unchanged."""

import pytest

from analytics.exports.columns import DEFAULT_COLUMNS
from customers import services
from customers.custom_fields.models import FieldType, Sensitivity
from customers.custom_fields.records import unseal
from customers.imports.jobs import known_fields
from customers.models import Customer, ImportIssue
from tests.analytics.test_exports import _csv, _export
from tests.customers.importfiles import csv_bytes, xlsx_bytes
from tests.customers.test_custom_fields import define_field
from tests.customers.test_imports import _import

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


# Field -> (type, English label, Chinese label, other settings).
FIELDS = {
    "level": (FieldType.CHOICE, "Membership level", "会员等级", {"default": "Silver"}),
    "points": (FieldType.NUMBER, "Points", "积分", {}),
    "joined": (FieldType.DATE, "Member since", "入会日期", {}),
    "wechat": (FieldType.TEXT, "WeChat id", "微信号", {"sensitivity": Sensitivity.PERSONAL}),
    "health": (FieldType.TEXT, "Health notes", "健康备注", {"sensitivity": Sensitivity.SENSITIVE}),
}


@pytest.fixture
def fields(admin_user_role):
    return {
        name: define_field(admin_user_role, kind, label=label, label_zh=label_zh, **settings)
        for name, (kind, label, label_zh, settings) in FIELDS.items()
    }


HEADERS = ["姓名", "手机", "会员等级（必填）", "积分", "入会日期", "微信号", "健康备注"]


def test_columns_are_matched_by_the_labels_in_either_language(admin_user_role, fields):
    job = _import(
        admin_user_role,
        xlsx_bytes([["Name", "Mobile", "Membership Level", "POINTS", "member_since"]]),
        name="members.xlsx",
        start=False,
    )
    assert job.mapping == [
        "name",
        "phone",
        "custom.membership_level",
        "custom.points",
        "custom.member_since",
    ]
    job = _import(admin_user_role, csv_bytes([HEADERS]), start=False)
    assert job.mapping[2:] == [
        "custom.membership_level",
        "custom.points",
        "custom.member_since",
        "custom.wechat_id",
        "custom.health_notes",
    ]


def test_values_are_cleaned_and_a_bad_one_fails_its_row_on_its_cell(admin_user_role, fields):
    rows = [
        HEADERS,
        ["王丽娟", "13800138000", "金卡", "１,２００", "2021年3月5日", "wlj_88", "青霉素过敏"],
        ["李雷", "13900139000", "钻石卡", "12", "", "", ""],
        ["韩梅梅", "13700137000", "", "", "", "", "糖尿病"],
    ]
    job = _import(admin_user_role, csv_bytes(rows))
    assert (job.rows_created, job.rows_failed) == (2, 1)
    wang = Customer.objects.get(name="王丽娟")
    assert {key: value for key, value in wang.custom.items() if key != "health_notes"} == {
        "membership_level": "gold",
        "points": "1200",
        "member_since": "2021-03-05",
        "wechat_id": "wlj_88",
    }
    assert unseal(fields["health"], wang.custom["health_notes"]) == "青霉素过敏"
    # A new customer takes the default of what the file leaves empty.
    assert Customer.objects.get(name="韩梅梅").custom["membership_level"] == "silver"
    issue = ImportIssue.objects.get(job=job, row=3)
    assert (issue.column, issue.value) == ("会员等级（必填）", "钻石卡")


def test_a_sensitive_value_is_never_quoted_in_the_report(admin_user_role):
    define_field(
        admin_user_role,
        FieldType.DATE,
        label="Diagnosed on",
        label_zh="确诊日期",
        sensitivity=Sensitivity.SENSITIVE,
    )
    job = _import(admin_user_role, csv_bytes([["姓名", "确诊日期"], ["王伟", "2024-02-30"]]))
    issue = ImportIssue.objects.get(job=job)
    assert issue.column == "确诊日期"
    assert "2024" not in issue.value


def test_the_fill_policy_fills_only_empty_custom_values(admin_user_role, fields):
    customer = services.create_customer(
        actor=admin_user_role,
        name="王丽娟",
        phone="13800138000",
        custom={"membership_level": "Gold"},
    )
    rows = [["手机", "会员等级", "积分"], ["13800138000", "Silver", "30"]]
    _import(admin_user_role, csv_bytes(rows), policy="fill")
    customer.refresh_from_db()
    assert (customer.custom["membership_level"], customer.custom["points"]) == ("gold", "30")
    _import(admin_user_role, csv_bytes(rows), policy="overwrite")
    customer.refresh_from_db()
    assert customer.custom["membership_level"] == "silver"


def test_personal_values_are_left_alone_for_an_importer_who_may_not_see_them(
    admin_user_role, sales_user, fields
):
    """Sales see an unassigned customer's personal data masked: a row that finds the customer
    by the source system's id changes its ordinary values, never its personal ones."""
    unassigned = services.create_customer(
        actor=admin_user_role,
        name="王丽娟",
        external_ids=[("shop", "C9")],
        custom={"wechat_id": "old_id"},
    )
    rows = [["客户编号", "微信号", "积分"], ["C9", "new_id", "5"]]
    job = _import(sales_user, csv_bytes(rows), source_name="shop", policy="overwrite")
    unassigned.refresh_from_db()
    assert unassigned.custom["wechat_id"] == "old_id"
    assert unassigned.custom["points"] == "5"
    assert "hidden from you" in ImportIssue.objects.get(job=job).message


def test_an_export_imports_again_unchanged(admin_user_role, fields, sales_user):
    services.create_customer(
        actor=admin_user_role,
        name="王丽娟",
        phone="13800138000",
        custom={
            "membership_level": "Gold",
            "points": "1200",
            "member_since": "2021-03-05",
            "wechat_id": "wlj_88",
        },
    )
    columns = [
        *DEFAULT_COLUMNS,
        "custom.membership_level",
        "custom.points",
        "custom.member_since",
        "custom.wechat_id",
    ]
    exported = _csv(_export(admin_user_role, columns=columns))
    before = Customer.objects.get().custom
    Customer.objects.all().delete()
    job = _import(admin_user_role, csv_bytes(exported))
    assert known_fields("customers", job.mapping)[-4:] == [
        "custom.membership_level",
        "custom.points",
        "custom.member_since",
        "custom.wechat_id",
    ]
    assert job.rows_created == 1
    assert Customer.objects.get().custom == before
