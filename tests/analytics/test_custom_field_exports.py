"""Custom fields in exports (analytics/exports/columns.py, rows.py): a column per field, headed
by its label in the export's language, written as an import takes it back; personal values
masked unless the file may hold them, sensitive ones always."""

import pytest
from django.utils import translation
from rest_framework.test import APIClient

from analytics.exports.jobs import EXPORT_JOBS
from analytics.exports.services import start_export
from customers import services
from customers.custom_fields import services as field_services
from customers.custom_fields.models import FieldDefinition, FieldType, Sensitivity
from tests.analytics.test_exports import _csv, _export
from tests.customers.test_custom_fields import define_field

pytestmark = pytest.mark.django_db

COLUMNS = [
    "name",
    "custom.membership_level",
    "custom.interests",
    "custom.club_member",
    "custom.deposit",
    "custom.referred_by",
    "custom.wechat_id",
    "custom.health_notes",
]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def customer(admin_user_role, sales_user):
    admin = admin_user_role
    define_field(admin, FieldType.CHOICE, label="Membership level", label_zh="会员等级")
    define_field(admin, FieldType.CHOICES, label="Interests")
    define_field(admin, FieldType.YES_NO, label="Club member")
    define_field(admin, FieldType.MONEY, label="Deposit")
    define_field(admin, FieldType.USER, label="Referred by")
    define_field(admin, FieldType.TEXT, label="WeChat id", sensitivity=Sensitivity.PERSONAL)
    define_field(admin, FieldType.TEXT, label="Health notes", sensitivity=Sensitivity.SENSITIVE)
    return services.create_customer(
        actor=admin,
        name="林晓燕",
        custom={
            "membership_level": "金卡",
            "interests": "Gold, Silver",
            "club_member": "是",
            "deposit": "¥1,200.5",
            "referred_by": sales_user.username,
            "wechat_id": "lin_xy",
            "health_notes": "asthma",
        },
    )


def test_custom_columns_are_written_as_an_import_takes_them_back(
    admin_user_role, sales_user, customer
):
    rows = _csv(_export(admin_user_role, columns=COLUMNS))
    assert rows[0][1:] == [
        "Membership level",
        "Interests",
        "Club member",
        "Deposit",
        "Referred by",
        "WeChat id",
        "Health notes",
    ]
    assert rows[1][1:] == [
        "Gold",
        "Gold, Silver",
        "yes",
        "1200.50",
        sales_user.username,
        "lin_xy",  # the administrator may export personal data unmasked
        "a***",  # sealed: never in a file
    ]


def test_without_the_permission_personal_custom_values_are_masked(analyst_user, customer):
    rows = _csv(_export(analyst_user, columns=COLUMNS))
    assert rows[1][6:] == ["l***", "a***"]


def test_headers_follow_the_exports_language(admin_user_role, customer):
    with translation.override("zh-hans"):
        job = _export(admin_user_role, columns=["custom.membership_level"])
    assert job.language.startswith("zh")
    assert _csv(job)[0] == ["会员等级"]
    assert _csv(job)[1] == ["金卡"]


def test_the_api_takes_custom_columns_and_refuses_unknown_ones(admin_user_role, customer):
    api = APIClient()
    api.force_authenticate(admin_user_role)
    refused = api.post("/api/v1/exports/", {"columns": ["custom.no_such_field"]}, format="json")
    assert refused.status_code == 400
    taken = api.post(
        "/api/v1/exports/", {"columns": ["name", "custom.membership_level"]}, format="json"
    )
    assert taken.status_code in (201, 202), taken.content
    assert taken.json()["columns"] == ["name", "custom.membership_level"]


def test_a_queued_export_still_writes_a_field_archived_since(admin_user_role, customer):
    job = start_export(
        actor=admin_user_role,
        params={},
        columns=["name", "custom.membership_level"],
        format="csv",
        queue=False,
    )
    level = FieldDefinition.objects.get(key="membership_level")
    field_services.archive_field(actor=admin_user_role, field=level)
    EXPORT_JOBS.run(job.pk)
    job.refresh_from_db()
    assert job.status == "done"
    assert _csv(job)[1] == ["林晓燕", "Gold"]
