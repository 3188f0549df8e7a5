"""Deny by default: every URL pattern, anonymous and per role."""

import datetime
import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from analytics.segments.services import save_segment
from customers.services import save_contact
from interactions.services import schedule_follow_up
from privacy import roles
from privacy.models import AuditEvent, PrivacyPolicy
from sales.deals.services import create_deal
from tests.factories import CustomerFactory, form_data

pytestmark = pytest.mark.django_db

# The only pages an anonymous visitor may reach (everything else redirects to the login page).
PUBLIC_URL_NAMES = {
    "login",
    "health",
    "set_language",
    "password_reset",
    "password_reset_done",
    "password_reset_confirm",
    "password_reset_complete",
    # The API's schema and reference page: documentation, no data.
    "schema",
    "reference",
    # Any other address under /api/: a 404 problem, whoever asks.
    "no_such_resource",
    # A customer's own privacy page (reached through a signed link), unsubscribing, the policy.
    "privacy-page",
    "privacy-page-self",
    "privacy-unsubscribe",
    "privacy-policy",
    "privacy-policy-version",
    # A web form's page, its token for other sites' scripts, and the consent confirmation.
    "public_form",
    "public_form_token",
    "public_form_confirm",
    # What shops post their webhooks to: the signature is the authentication.
    "connectors_inbound",
}


def _walk(patterns, prefix="", namespace=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), namespace + (entry.name or "")


# Values for the path converters and regex groups of every pattern, so each route is requested.
SAMPLE_VALUES = {
    "pk": "1",
    "object_id": "1",
    "content_type_id": "1",
    "id": "1",
    "uidb64": "MQ",
    "token": "set-password",
    "app_label": "customers",
    "path": "css/crm.css",
    "url": "customers/customer/1/",
    "follow_up_pk": "1",
    "interaction_pk": "1",
    "user_pk": "1",
    "record_pk": "1",
    "public_key": "no-such-key",
    "view_pk": "1",
    "merge": "1",
    "group": "1",
    "chart": "stages",
    "customer_pk": "1",
    "kind": "stale_leads",
    "key": "no-such-form",
    "file_format": "csv",
}


def _concrete(route: str) -> str:
    """A requestable path for a route, converters and regex groups filled from SAMPLE_VALUES."""
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: SAMPLE_VALUES[m.group(1)], route)
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: SAMPLE_VALUES[m.group(1)], path)
    return "/" + path.replace("^", "").replace("$", "").replace("\\Z", "")


ALL_ROUTES = sorted(set(_walk(get_resolver().url_patterns)))


@pytest.mark.parametrize(("route", "name"), ALL_ROUTES)
def test_anonymous_visitors_are_sent_to_login_except_public_pages(client, route, name):
    path = _concrete(route)
    response = client.get(path)
    short_name = name.rsplit(":", 1)[-1]
    if name.startswith("api:"):
        # The API answers a call without credentials with a problem, not the login page.
        assert response.status_code == 401, (path, response.status_code)
        assert response["Content-Type"] == "application/problem+json"
    elif short_name in PUBLIC_URL_NAMES or path.startswith("/static/"):
        assert response.status_code != 302 or "/accounts/login/" not in response["Location"]
    else:
        assert response.status_code in (302, 301), (path, response.status_code)
        assert "login" in response["Location"], (path, response["Location"])


ALL_ROLES = (
    roles.ADMINISTRATOR,
    roles.SALES,
    roles.SERVICE,
    roles.ANALYST,
    roles.PRIVACY_OFFICER,
    None,  # a staff account without any role
)


def _statuses(allowed: set, *, denied: int = 403) -> dict:
    """role -> expected status: 200 for the allowed roles, `denied` for every other one."""
    return {role: 200 if role in allowed else denied for role in ALL_ROLES}


EVERY_ROLE = set(ALL_ROLES) - {None}
WORKS_ON_CUSTOMERS = {roles.ADMINISTRATOR, roles.SALES, roles.SERVICE}
VIEWS_DEALS = WORKS_ON_CUSTOMERS | {roles.ANALYST}
# page -> (path, expected status per role); the customer is unassigned, so Sales may see it,
# and the policy version takes effect tomorrow, so it may still be corrected.
PAGE_MATRIX = {
    "home": ("/", _statuses(EVERY_ROLE)),
    "jobs": ("/jobs/", _statuses(EVERY_ROLE)),
    "search": ("/search/", _statuses(EVERY_ROLE)),
    "list": ("/customers/", _statuses(EVERY_ROLE)),
    "detail": ("/customers/{pk}/", _statuses(EVERY_ROLE)),
    "timeline": ("/customers/{pk}/timeline/", _statuses(EVERY_ROLE)),
    "create": ("/customers/new/", _statuses(WORKS_ON_CUSTOMERS)),
    "edit": ("/customers/{pk}/edit/", _statuses(WORKS_ON_CUSTOMERS)),
    "log interaction": ("/customers/{pk}/interactions/new/", _statuses(WORKS_ON_CUSTOMERS)),
    "record purchase": ("/customers/{pk}/purchases/new/", _statuses(WORKS_ON_CUSTOMERS)),
    "schedule follow-up": ("/customers/{pk}/follow-ups/new/", _statuses(WORKS_ON_CUSTOMERS)),
    "edit contact": ("/customers/{pk}/contacts/{contact}/edit/", _statuses(WORKS_ON_CUSTOMERS)),
    "change follow-up": (
        "/customers/{pk}/follow-ups/{follow_up}/edit/",
        _statuses(WORKS_ON_CUSTOMERS),
    ),
    "my work": ("/work/", _statuses(EVERY_ROLE)),
    "calendar": ("/work/calendar/", _statuses(EVERY_ROLE)),
    "notifications": ("/notifications/", _statuses(EVERY_ROLE)),
    "bell": ("/notifications/bell/", _statuses(EVERY_ROLE)),
    "imports": ("/imports/", _statuses({roles.ADMINISTRATOR, roles.SALES})),
    "duplicates": ("/duplicates/", _statuses({roles.ADMINISTRATOR, roles.SERVICE})),
    "export": (
        "/exports/new/",
        _statuses({roles.ADMINISTRATOR, roles.ANALYST, roles.PRIVACY_OFFICER}),
    ),
    "segments": ("/segments/", _statuses(EVERY_ROLE)),
    "new segment": ("/segments/new/", _statuses({roles.ADMINISTRATOR, roles.ANALYST})),
    "edit segment": (
        "/segments/{segment}/edit/",
        _statuses({roles.ADMINISTRATOR, roles.ANALYST}),
    ),
    "dashboards": ("/dashboards/", _statuses({roles.ADMINISTRATOR, roles.ANALYST})),
    # Django admin sends non-staff to its login page.
    "admin": ("/admin/", _statuses({roles.ADMINISTRATOR}, denied=302)),
    "audit log": ("/admin/privacy/auditevent/", _statuses({roles.ADMINISTRATOR}, denied=302)),
    "audit log pages": (
        "/privacy/audit/",
        _statuses({roles.ADMINISTRATOR, roles.PRIVACY_OFFICER}),
    ),
    "audit log export": (
        "/privacy/audit/export/?action=none",
        _statuses({roles.ADMINISTRATOR, roles.PRIVACY_OFFICER}),
    ),
    "data-subject requests": (
        "/privacy/requests/",
        _statuses({roles.ADMINISTRATOR, roles.PRIVACY_OFFICER}),
    ),
    "log a request": ("/privacy/requests/new/{pk}/", _statuses({roles.PRIVACY_OFFICER})),
    "retention": ("/privacy/retention/", _statuses({roles.ADMINISTRATOR, roles.PRIVACY_OFFICER})),
    "privacy policy versions": (
        "/privacy/policies/",
        _statuses({roles.ADMINISTRATOR, roles.PRIVACY_OFFICER}),
    ),
    "privacy policy version": (
        "/privacy/policies/{policy}/",
        _statuses({roles.ADMINISTRATOR, roles.PRIVACY_OFFICER}),
    ),
    "publish a policy version": ("/privacy/policies/new/", _statuses({roles.PRIVACY_OFFICER})),
    "correct a policy version": (
        "/privacy/policies/{policy}/correct/",
        _statuses({roles.PRIVACY_OFFICER}),
    ),
    "operations": ("/operations/", _statuses({roles.ADMINISTRATOR})),
    "webhooks": ("/webhooks/", _statuses({roles.ADMINISTRATOR})),
    "new webhook": ("/webhooks/new/", _statuses({roles.ADMINISTRATOR})),
    "web forms": ("/forms/", _statuses({roles.ADMINISTRATOR})),
    "new web form": ("/forms/new/", _statuses({roles.ADMINISTRATOR})),
    "drop folders": ("/drop-folders/", _statuses({roles.ADMINISTRATOR})),
    "new drop folder": ("/drop-folders/new/", _statuses({roles.ADMINISTRATOR})),
    "mailboxes": ("/mailboxes/", _statuses({roles.ADMINISTRATOR})),
    "new mailbox": ("/mailboxes/new/", _statuses({roles.ADMINISTRATOR})),
    "shops": ("/connectors/", _statuses({roles.ADMINISTRATOR})),
    "connect a shop": ("/connectors/new/", _statuses({roles.ADMINISTRATOR})),
    "add a generic webhook": ("/connectors/new/generic/", _statuses({roles.ADMINISTRATOR})),
    "deal board": ("/deals/", _statuses(VIEWS_DEALS)),
    "deal list": ("/deals/list/", _statuses(VIEWS_DEALS)),
    "deal": ("/deals/{deal}/", _statuses(VIEWS_DEALS)),
    "new deal": ("/deals/new/?customer={pk}", _statuses(WORKS_ON_CUSTOMERS)),
    "edit deal": ("/deals/{deal}/edit/", _statuses(WORKS_ON_CUSTOMERS)),
    "win deal": ("/deals/{deal}/win/", _statuses(WORKS_ON_CUSTOMERS)),
    "deal export": ("/deals/export/csv/", _statuses({roles.ADMINISTRATOR, roles.ANALYST})),
    "pipelines": ("/deals/pipelines/", _statuses({roles.ADMINISTRATOR})),
    "api keys": ("/accounts/api-keys/", _statuses({roles.ADMINISTRATOR})),
    "new api key": ("/accounts/api-keys/new/", _statuses({roles.ADMINISTRATOR})),
    "shared pool": ("/pool/", _statuses({roles.ADMINISTRATOR, roles.SALES})),
    "pool rules": ("/pool/rules/", _statuses({roles.ADMINISTRATOR})),
    "users": ("/accounts/users/", _statuses({roles.ADMINISTRATOR})),
    "invite a colleague": ("/accounts/users/invite/", _statuses({roles.ADMINISTRATOR})),
    "teams": ("/accounts/teams/", _statuses({roles.ADMINISTRATOR})),
}
MATRIX_CASES = [
    (page, role, status)
    for page, (_, expected) in PAGE_MATRIX.items()
    for role, status in expected.items()
]


@pytest.mark.parametrize(("page", "role", "status"), MATRIX_CASES)
def test_role_page_matrix(client, make_user, page, role, status):
    customer = CustomerFactory()
    policy = PrivacyPolicy.objects.create(
        version="next", effective_from=timezone.localdate() + datetime.timedelta(days=1)
    )
    user = make_user(role, is_staff=role == roles.ADMINISTRATOR)
    client.force_login(user)
    path = PAGE_MATRIX[page][0].format(**_records_of(customer, user), policy=policy.pk)
    assert client.get(path).status_code == status


def _records_of(customer, user) -> dict:
    """The ids the matrix's paths name: the customer, a contact person and a follow-up of
    theirs, and a segment."""
    return {
        "pk": customer.pk,
        "contact": save_contact(actor=None, customer=customer, name="王芳").pk,
        "follow_up": schedule_follow_up(
            actor=None,
            customer=customer,
            title="Call back",
            due_at=timezone.now() + datetime.timedelta(days=1),
            assignee=user,
        ).pk,
        "segment": save_segment(actor=None, name="Fair leads", kind="static").pk,
        "deal": create_deal(actor=None, customer=customer, title="Chairs", owner=user).pk,
    }


@pytest.mark.parametrize(
    "path",
    [
        "/customers/{pk}/",
        "/customers/{pk}/edit/",
        "/customers/{pk}/contacts/{contact}/edit/",
        "/customers/{pk}/follow-ups/{follow_up}/edit/",
        "/deals/{deal}/",
        "/deals/{deal}/edit/",
        "/deals/{deal}/win/",
        "/deals/new/?customer={pk}",
    ],
)
def test_customer_of_another_sales_rep_answers_404(client, sales_user, other_sales_user, path):
    customer = CustomerFactory(owner=other_sales_user)
    client.force_login(sales_user)
    path = path.format(**_records_of(customer, other_sales_user))
    assert client.get(path).status_code == 404
    assert client.post(f"/customers/{customer.pk}/archive/").status_code == 404


def test_pool_claim_and_release_of_another_reps_customer_answer_404(
    client, sales_user, other_sales_user
):
    customer = CustomerFactory(owner=other_sales_user)
    client.force_login(sales_user)
    assert client.post(f"/pool/{customer.pk}/claim/").status_code == 404
    assert client.post(f"/pool/{customer.pk}/release/", {"reason": "mine"}).status_code == 404
    customer.refresh_from_db()
    assert customer.owner == other_sales_user


def test_pool_release_of_an_unowned_customer_is_refused(client, sales_user):
    customer = CustomerFactory()
    client.force_login(sales_user)
    assert client.post(f"/pool/{customer.pk}/release/", {"reason": "x"}).status_code == 403


def test_sales_sees_own_and_unassigned_customers_only(client, sales_user, other_sales_user):
    mine = CustomerFactory(name="Mine", owner=sales_user)
    unassigned = CustomerFactory(name="Nobody's")
    CustomerFactory(name="Theirs", owner=other_sales_user)
    client.force_login(sales_user)
    shown = {c.pk for c in client.get("/customers/").context["customers"]}
    assert shown == {mine.pk, unassigned.pk}


def test_reveal_id_needs_post_and_permission(client, analyst_user, privacy_user):
    customer = CustomerFactory(id_document_kind="passport", id_number="E12345678")
    client.force_login(analyst_user)
    assert client.post(f"/customers/{customer.pk}/reveal-id/").status_code == 403
    client.force_login(privacy_user)
    assert client.get(f"/customers/{customer.pk}/reveal-id/").status_code == 405
    response = client.post(f"/customers/{customer.pk}/reveal-id/")
    assert response.status_code == 200
    assert "E12345678" in response.content.decode()
    assert response["Cache-Control"] == "no-store"


def test_password_reset_sends_a_link_that_sets_a_new_password(client, sales_user, mailoutbox):
    sales_user.email = "sales@example.com"
    sales_user.save()
    response = client.post("/accounts/password_reset/", {"email": "sales@example.com"})
    assert response["Location"] == "/accounts/password_reset/done/"
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", mailoutbox[0].body).group(1)
    form_page = client.get(link, follow=True)
    assert "Choose a new password" in form_page.content.decode()
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a-new-Passw0rd-2026", "new_password2": "a-new-Passw0rd-2026"},
    )
    assert done["Location"] == "/accounts/reset/done/"
    assert client.login(username=sales_user.username, password="a-new-Passw0rd-2026")


# --- Masked values: who sees a customer's phone, email and address unmasked, by role and by
# whose customer it is. Every form that shows those values and every way of matching a customer
# by one (the search box, the form's duplicate panel, imports) follows this one table: whoever
# is shown 136****0409 must not be able to confirm the hidden digits by guessing.

UNASSIGNED, OWN = "unassigned", "own"
SEES_PERSONAL_DATA = {
    roles.ADMINISTRATOR: {UNASSIGNED: True, OWN: True},
    roles.SALES: {UNASSIGNED: False, OWN: True},
    roles.SERVICE: {UNASSIGNED: True, OWN: True},
    roles.ANALYST: {UNASSIGNED: False, OWN: False},
    roles.PRIVACY_OFFICER: {UNASSIGNED: True, OWN: True},
}
MASKING_CASES = [
    (role, whose, sees)
    for role, by_whose in SEES_PERSONAL_DATA.items()
    for whose, sees in by_whose.items()
]
PHONE, EMAIL, STREET = "13600000409", "lin.xiaoyu@example.com", "建国路88号"


def _customer_for(user, whose):
    return CustomerFactory(
        name="林晓雨",
        phone=PHONE,
        email=EMAIL,
        street=STREET,
        owner=user if whose == OWN else None,
    )


def _signed_in(client, make_user, role, whose):
    """A user in `role`, signed in, and a customer that is theirs or unassigned."""
    user = make_user(role)
    client.force_login(user)
    return user, _customer_for(user, whose)


def _search(client, query):
    """The search box as a browser submits it; the customers it finds (one match opens it)."""
    response = client.post("/customers/", {"q": query})
    if "/customers/?" not in response["Location"]:
        return [int(response["Location"].strip("/").rsplit("/", 1)[-1])]
    return [c.pk for c in client.get(response["Location"]).context["customers"]]


@pytest.mark.parametrize(("role", "whose", "sees"), MASKING_CASES)
def test_search_matches_masked_values_only_for_whoever_sees_them(
    client, make_user, role, whose, sees
):
    _user, customer = _signed_in(client, make_user, role, whose)
    queries = (PHONE, "136 0000 0409", "+86 136-0000-0409", "00409", EMAIL, "lin.xiaoyu@")
    for query in (*queries, "lin.xiaoyu", "example"):
        assert _search(client, query) == ([customer.pk] if sees else []), query
    # The name is shown to everyone who sees the customer, so it finds them for everyone.
    assert _search(client, "林晓雨") == [customer.pk]
    assert _search(client, "Xiaoyu Lin") == [customer.pk]


@pytest.mark.parametrize(("role", "whose", "sees"), MASKING_CASES)
def test_top_bar_search_matches_masked_values_only_for_whoever_sees_them(
    client, make_user, role, whose, sees
):
    _user, customer = _signed_in(client, make_user, role, whose)
    for query in (PHONE, "0000 0409", EMAIL, "lin.xiaoyu@"):
        page = client.post("/search/suggestions/", {"q": query}).content.decode()
        assert (f'href="/customers/{customer.pk}/"' in page) == sees, query
    page = client.post("/search/suggestions/", {"q": "林晓雨"}).content.decode()
    assert f'href="/customers/{customer.pk}/"' in page
    assert (PHONE in page) == sees


@pytest.mark.parametrize(("role", "whose", "sees"), MASKING_CASES)
def test_duplicate_panel_matches_masked_values_only_for_whoever_sees_them(
    client, make_user, role, whose, sees
):
    user, customer = _signed_in(client, make_user, role, whose)
    response = client.post("/customers/possible-duplicates/", {"phone": PHONE})
    if not user.has_perm("customers.add_customer"):
        assert response.status_code == 403
        return
    shown = [c.pk for c in response.context["duplicates"]]
    shown += [match.customer.pk for match in response.context["likely"]]
    assert shown == ([customer.pk] if sees else [])


EDITORS = {roles.ADMINISTRATOR, roles.SALES, roles.SERVICE}


@pytest.mark.parametrize(
    ("role", "whose", "sees"), [case for case in MASKING_CASES if case[0] in EDITORS]
)
def test_edit_form_shows_personal_data_only_to_whoever_sees_it(
    client, make_user, role, whose, sees
):
    """The edit form (page and in-place panel) shows phone, email and street as the customer
    page does, audits an unmasked showing as a view of personal data, and a masked value
    sent back unchanged keeps the stored one."""
    user, customer = _signed_in(client, make_user, role, whose)
    for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
        html = client.get(f"/customers/{customer.pk}/edit/", **headers).content.decode()
        for value, masked in ((PHONE, "136****0409"), (EMAIL, "l***@example.com")):
            assert (value in html) is sees
            assert (masked in html) is not sees
        assert (STREET in html) is sees
    views = AuditEvent.objects.filter(
        action="customer.view_personal", actor_id=user.pk, target_id=str(customer.pk)
    )
    assert views.count() == (2 if sees else 0)
    response = client.get(f"/customers/{customer.pk}/edit/")
    data = form_data(response.context["form"], notes="回访过")
    assert client.post(f"/customers/{customer.pk}/edit/", data).status_code == 302
    customer.refresh_from_db()
    assert (customer.phone, customer.email, customer.street) == ("+86" + PHONE, EMAIL, STREET)
    assert customer.notes == "回访过"


def test_a_masked_field_typed_over_takes_the_new_value(client, sales_user):
    _user, customer = _signed_in(client, lambda role: sales_user, roles.SALES, UNASSIGNED)
    data = form_data(
        client.get(f"/customers/{customer.pk}/edit/").context["form"], phone="139 0000 1111"
    )
    assert client.post(f"/customers/{customer.pk}/edit/", data).status_code == 302
    customer.refresh_from_db()
    assert (customer.phone, customer.email) == ("+8613900001111", EMAIL)


@pytest.mark.parametrize(
    ("role", "whose", "sees"), [case for case in MASKING_CASES if case[0] in EDITORS]
)
def test_contact_edit_form_shows_personal_data_only_to_whoever_sees_it(
    client, make_user, role, whose, sees
):
    user, customer = _signed_in(client, make_user, role, whose)
    contact = save_contact(
        actor=None, customer=customer, name="王芳", phone="13900001111", email="wang.fang@qq.com"
    )
    edit = f"/customers/{customer.pk}/contacts/{contact.pk}/edit/"
    response = client.get(edit)
    html = response.content.decode()
    for value, masked in (("13900001111", "139****1111"), ("wang.fang@qq.com", "w***@qq.com")):
        assert (value in html) is sees
        assert (masked in html) is not sees
    views = AuditEvent.objects.filter(action="customer.view_personal", actor_id=user.pk)
    assert views.count() == (1 if sees else 0)
    data = form_data(response.context["form"], title="采购经理")
    assert client.post(edit, data).status_code == 302
    contact.refresh_from_db()
    assert (contact.phone, contact.email, contact.title) == (
        "+8613900001111",
        "wang.fang@qq.com",
        "采购经理",
    )
