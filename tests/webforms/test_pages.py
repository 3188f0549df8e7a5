"""The staff's web form pages and the form settings' service: who may, what a form may ask,
the embed code, the submissions' log (masked for whoever may not see personal data), the
operations page's row."""

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation

from customers.models import Customer
from kernel.versioning import EditConflictError
from privacy import roles
from privacy.models import AuditEvent
from tests.factories import UserFactory
from tests.webforms.conftest import post
from webforms import services
from webforms.models import WebForm

pytestmark = pytest.mark.django_db


def _settings_data(**changes) -> dict:
    data = {
        "name": "Trade fair leads",
        "min_seconds": "3",
        "allowed_origins": "https://www.example.com/\nhttps://www.example.com",
        "field_name_shown": "on",
        "field_name_required": "on",
        "field_email_shown": "on",
        "field_email_required": "on",
        "field_company_name_shown": "on",
        "field_company_name_label_zh": "公司名称",
        "consent_marketing_email_asked": "on",
        "consent_marketing_email_text_en": "Send me your newsletter.",
        "thank_you_en": "See you at the fair.",
    }
    data.update(changes)
    return data


def test_an_administrator_builds_a_form_with_its_own_service_account(client, admin):
    client.force_login(admin)
    assert client.get("/forms/new/").status_code == 200
    answer = client.post("/forms/new/", _settings_data())
    form = WebForm.objects.get()
    assert answer["Location"] == f"/forms/{form.pk}/"
    assert [f["key"] for f in form.fields] == ["name", "email", "company_name"]
    assert form.fields[2]["label_zh"] == "公司名称"
    assert form.allowed_origins == ["https://www.example.com"]
    account = form.service_account
    assert not account.has_usable_password()
    assert account.has_perm("customers.import_customers")
    assert not account.has_perm("customers.export_customers")
    assert AuditEvent.objects.filter(action="webform.create", target_id=str(form.pk)).exists()
    page = client.get(answer["Location"]).content.decode()
    assert f"/f/{form.public_key}/" in page
    assert "&lt;iframe" in page
    assert "name=&quot;homepage&quot;" in page


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"field_name_shown": ""}, "Ask for the name"),
        ({"field_email_shown": ""}, "ask for the email address"),
        ({"allowed_origins": "www.example.com/shop"}, "is not a site"),
        ({"consent_marketing_email_text_en": ""}, "Write the wording"),
    ],
)
def test_a_form_that_could_not_work_is_refused_with_the_reason(client, admin, changes, message):
    client.force_login(admin)
    answer = client.post("/forms/new/", _settings_data(**changes))
    assert answer.status_code == 200
    assert message in answer.content.decode()
    assert not WebForm.objects.exists()


def test_an_edit_moves_the_version_and_a_stale_edit_is_refused(make_form, admin):
    form = make_form()
    services.update_form(actor=admin, form=form, expected_version=1, name="Autumn")
    form.refresh_from_db()
    assert (form.name, form.version) == ("Autumn", 2)
    event = AuditEvent.objects.get(action="webform.update")
    assert event.changes["name"] == ["Spring newsletter", "Autumn"]
    with pytest.raises(EditConflictError):
        services.update_form(actor=admin, form=form, expected_version=1, name="Winter")


def test_consent_wording_keeps_the_policy_it_was_written_under(make_form, admin, policy):
    form = make_form()
    assert form.consents[0]["policy"] == "2026-01"
    policy.version = "2026-01b"  # as if a newer version had come into force
    policy.save()
    services.update_form(actor=admin, form=form, min_seconds=4, consents=form.consents)
    form.refresh_from_db()
    assert form.consents[0]["policy"] == "2026-01"


def test_only_who_manages_forms_sees_the_pages(client, make_form):
    form = make_form()
    for role in (roles.SALES, roles.SERVICE, roles.ANALYST, roles.PRIVACY_OFFICER):
        client.force_login(UserFactory(role=role))
        assert client.get("/forms/").status_code == 403
        assert client.get(f"/forms/{form.pk}/").status_code == 403


def test_the_log_masks_personal_data_for_a_viewer_who_may_not_see_it(
    client, make_form, visitor, admin
):
    form = make_form()
    post(visitor, form, {"name": "王丽娟", "email": "lijuan@example.com", "phone": "13800138000"})
    client.force_login(admin)
    page = client.get(f"/forms/{form.pk}/").content.decode()
    assert "lijuan@example.com" in page
    assert "王丽娟" in page
    viewer = UserFactory()
    viewer.user_permissions.add(
        Permission.objects.get(codename="manage_forms"),
        Permission.objects.get(codename="view_customer"),
    )
    client.force_login(viewer)
    page = client.get(f"/forms/{form.pk}/").content.decode()
    assert "lijuan@example.com" not in page
    assert "13800138000" not in page
    assert "138****8000" in page


def test_the_list_counts_submissions_and_refusals(client, make_form, visitor, admin):
    form = make_form()
    post(visitor, form, {"name": "A", "email": "a@example.com"})
    post(visitor, form, {"name": "B", "email": "b@example.com", "homepage": "spam"})
    client.force_login(admin)
    [listed] = client.get("/forms/").context["forms"]
    assert (listed.recent_submissions, listed.recent_rejections) == (1, 1)


def test_switching_off_is_audited_and_shown(client, make_form, admin):
    form = make_form()
    client.force_login(admin)
    client.post(f"/forms/{form.pk}/switch-off/")
    form.refresh_from_db()
    assert form.is_active is False
    assert AuditEvent.objects.filter(action="webform.deactivate").exists()
    client.post(f"/forms/{form.pk}/switch-on/")
    form.refresh_from_db()
    assert form.is_active is True


def test_who_cannot_grant_the_intake_permissions_cannot_make_a_form(db):
    staff = UserFactory()
    staff.user_permissions.add(Permission.objects.get(codename="manage_forms"))
    with pytest.raises(PermissionDenied):
        services.create_form(
            actor=staff, name="X", fields=[{"key": "name", "required": True}], consents=[]
        )
    assert not WebForm.objects.exists()


def test_a_form_cannot_ask_for_the_identity_number(admin):
    with pytest.raises(ValidationError):
        services.create_form(
            actor=admin,
            name="X",
            fields=[{"key": "name", "required": True}, {"key": "id_number"}],
            consents=[],
        )


def test_the_operations_page_shows_each_active_form(client, make_form, visitor, admin):
    form = make_form()
    post(visitor, form, {"name": "A", "email": "a@example.com", "consent_marketing_email": "on"})
    post(visitor, form, {"name": "B", "email": "b@example.com", "phone": "12"})
    client.force_login(admin)
    page = client.get("/operations/").content.decode()
    section = page.split('id="connections"', 1)[1].split("</table>", 1)[0]
    assert "Spring newsletter" in section
    assert "Web form" in section
    assert f"/forms/{form.pk}/" in section
    row = section.split("Spring newsletter", 1)[1].split("</tr>", 1)[0]
    # One refused for invalid values in the last day, one opt-in waiting (not mailed yet:
    # no worker runs here, so the row also says since when the mail waits).
    assert 'fw-semibold">1<' in row
    assert "oldest" in row
    assert Customer.objects.count() == 1


def test_the_form_page_names_fields_consents_and_faults_in_the_readers_words(
    client, make_form, visitor, admin
):
    form = make_form()
    post(visitor, form, {"name": "王丽娟", "email": "lijuan at example.com"})
    client.force_login(admin)
    with translation.override("zh-hans"):  # put back after the request
        page = client.get(f"/forms/{form.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    details = page.split('id="embed"', 1)[0]
    assert "电子邮件营销" in details
    assert "用户画像" in details
    assert "marketing_email" not in details
    assert "<code" not in details  # no stored key shown
    log = page.split('id="submissions"', 1)[1]
    assert "已拒绝：填写无效" in log
    assert "电子邮件" in log.split("已拒绝：填写无效", 1)[1].split("</td>", 1)[0]


def test_the_settings_name_each_language_in_words(client, make_form, admin):
    form = make_form()
    client.force_login(admin)
    with translation.override("zh-hans"):  # put back after the request
        page = client.get(
            f"/forms/{form.pk}/edit/", HTTP_ACCEPT_LANGUAGE="zh-hans"
        ).content.decode()
    assert "英文说明" in page
    assert "中文说明" in page
    assert "（zh）" not in page


def test_the_embed_snippet_links_the_privacy_policy(client, make_form, admin, settings):
    form = make_form()
    client.force_login(admin)
    page = client.get(f"/forms/{form.pk}/").context
    snippet = dict(page["snippets"])["en"]
    assert f'href="{settings.SITE_URL}/privacy/policy/"' in snippet
    assert "Read our privacy policy" in snippet
