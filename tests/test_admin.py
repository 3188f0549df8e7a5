import pytest
from django.contrib.auth.models import Permission

from customers.models import Customer, Tag
from customers.services import save_contact
from interactions.models import Product
from privacy.models import AuditEvent
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_administrator_manages_customers_users_and_reads_audit_log(client, admin_user_role):
    customer = CustomerFactory(phone="13800138000")
    client.force_login(admin_user_role)
    for path in [
        "/admin/",
        "/admin/customers/customer/",
        f"/admin/customers/customer/{customer.pk}/change/",
        "/admin/customers/customer/add/",
        "/admin/auth/user/",
        "/admin/privacy/auditevent/",
        "/admin/interactions/transaction/",
    ]:
        assert client.get(path).status_code == 200, path
    assert "13800138000" in client.get("/admin/customers/customer/").content.decode()


def test_admin_edit_goes_through_the_service_and_is_audited(client, admin_user_role):
    customer = CustomerFactory(name="Old Name", phone="13800138000")
    client.force_login(admin_user_role)
    page = client.get(f"/admin/customers/customer/{customer.pk}/change/")
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k != "tags"}
    data.update(
        {
            "name": "New Name",
            "phone": "139-1234-5678",
            "contacts-TOTAL_FORMS": 0,
            "contacts-INITIAL_FORMS": 0,
            "external_ids-TOTAL_FORMS": 0,
            "external_ids-INITIAL_FORMS": 0,
        }
    )
    data = {k: v for k, v in data.items() if not isinstance(v, bool) or v}
    response = client.post(f"/admin/customers/customer/{customer.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    customer.refresh_from_db()
    assert (customer.name, customer.phone) == ("New Name", "+8613912345678")
    event = AuditEvent.objects.get(action="customer.update")
    assert event.via == "admin"
    assert event.actor == admin_user_role


def test_staff_without_personal_data_permission_sees_masks_in_admin(client, make_user):
    clerk = make_user(None, is_staff=True)
    clerk.user_permissions.add(
        *Permission.objects.filter(
            codename__in=[
                "view_customer",
                "change_customer",
                "view_contact",
                "view_all_customers",
            ]
        )
    )
    customer = CustomerFactory(phone="13800138000", email="zhangwei@qq.com", kind="company")
    save_contact(actor=None, customer=customer, name="王芳", phone="13800138000")
    client.force_login(clerk)
    listing = client.get("/admin/customers/customer/").content.decode()
    change = client.get(f"/admin/customers/customer/{customer.pk}/change/").content.decode()
    contacts = client.get("/admin/customers/contact/").content.decode()
    assert "王芳" in contacts
    for page in (listing, change, contacts):
        assert "138****8000" in page
        assert "13800138000" not in page
        assert "zhangwei@qq.com" not in page


def test_admin_search_matches_phone_and_email_only_for_whoever_sees_them(
    client, make_user, admin_user_role
):
    """Admin's list masks phones for staff without the permission; its search box must not
    confirm the hidden digits either."""
    clerk = make_user(None, is_staff=True)
    clerk.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["view_customer", "view_contact", "view_all_customers"]
        )
    )
    customer = CustomerFactory(name="林", phone="13800138000", email="lin@qq.com")
    save_contact(actor=None, customer=customer, name="王芳", phone="13900139000")
    for user, finds in ((clerk, False), (admin_user_role, True)):
        client.force_login(user)
        for path, query, expected in (
            ("/admin/customers/customer/", "+8613800138000", customer.pk),
            ("/admin/customers/customer/", "lin@qq.com", customer.pk),
            ("/admin/customers/contact/", "+8613900139000", customer.contacts.get().pk),
        ):
            found = [row.pk for row in client.get(path, {"q": query}).context["cl"].result_list]
            assert found == ([expected] if finds else []), (user, query)


def test_audit_log_cannot_be_edited_in_admin(client, admin_user_role):
    client.force_login(admin_user_role)
    event = AuditEvent.objects.create(action="test.event")
    response = client.post(f"/admin/privacy/auditevent/{event.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_products_and_tags_saved_in_admin_are_audited(client, admin_user_role):
    client.force_login(admin_user_role)
    client.post(
        "/admin/interactions/product/add/",
        {
            "sku": "TEA-01",
            "name": "龙井茶",
            "category": "Tea",
            "price": "88.00",
            "currency": "CNY",
            "is_active": "on",
        },
    )
    client.post("/admin/customers/tag/add/", {"name": "VIP", "colour": "#ffc107", "group": ""})
    product = Product.objects.get(sku="TEA-01")
    client.post(
        f"/admin/interactions/product/{product.pk}/change/",
        {
            "sku": "TEA-01",
            "name": "龙井茶 250g",
            "category": "Tea",
            "price": "98.00",
            "currency": "CNY",
            "is_active": "on",
        },
    )
    actions = list(
        AuditEvent.objects.exclude(action__startswith="auth.")
        .exclude(action__startswith="user.")
        .order_by("pk")
        .values_list("action", "changes")
    )
    assert [action for action, _ in actions] == ["product.create", "tag.create", "product.update"]
    assert actions[-1][1] == {
        "name": ["龙井茶", "龙井茶 250g"],
        "price": ["88.00", "98.00"],
        "version": [1, 2],
    }
    assert Tag.objects.get().name == "VIP"


def _admin_browser(make_user):
    from privacy import roles
    from tests.conftest import StaffClient

    user = make_user(roles.ADMINISTRATOR, is_staff=True)
    browser = StaffClient()
    browser.force_login(user)
    return user, browser


def test_a_stale_admin_change_form_is_refused_and_saving_again_keeps_both(make_user):
    from tests.factories import form_data

    (first, first_browser), (_second, second_browser) = (
        _admin_browser(make_user),
        _admin_browser(make_user),
    )
    customer = CustomerFactory(notes="Met at the fair", city="北京")
    url = f"/admin/customers/customer/{customer.pk}/change/"
    inlines = {
        "contacts-TOTAL_FORMS": 0,
        "contacts-INITIAL_FORMS": 0,
        "external_ids-TOTAL_FORMS": 0,
        "external_ids-INITIAL_FORMS": 0,
    }
    first_form = first_browser.get(url).context["adminform"].form
    second_form = second_browser.get(url).context["adminform"].form
    saved = first_browser.post(url, {**form_data(first_form, notes="Call after 6 pm"), **inlines})
    assert saved.status_code == 302

    refused = second_browser.post(url, {**form_data(second_form, city="上海"), **inlines})
    assert refused.status_code == 200
    form = refused.context["adminform"].form
    assert ("Call after 6 pm", "Met at the fair") in [
        (now, started) for _label, now, started, _ in form.conflict_rows
    ]
    page = refused.content.decode()
    assert first.username in page
    assert "Call after 6 pm" in page
    assert Customer.objects.get(pk=customer.pk).city == "北京市"

    again = second_browser.post(url, {**form_data(form), **inlines})
    assert again.status_code == 302
    stored = Customer.objects.get(pk=customer.pk)
    assert (stored.notes, stored.city) == ("Call after 6 pm", "上海市")


def test_a_stale_tag_or_product_change_in_admin_is_refused(make_user):
    from tests.factories import form_data

    (_first, first_browser), (_second, second_browser) = (
        _admin_browser(make_user),
        _admin_browser(make_user),
    )
    tag = Tag.objects.create(name="VIP")
    product = Product.objects.create(sku="TEA-01", name="龙井茶", price="88.00")
    for url, change, stale in [
        (f"/admin/customers/tag/{tag.pk}/change/", {"colour": "#ffc107"}, {"group": "Value"}),
        (
            f"/admin/interactions/product/{product.pk}/change/",
            {"price": "98.00"},
            {"category": "Tea"},
        ),
    ]:
        first_form = first_browser.get(url).context["adminform"].form
        second_form = second_browser.get(url).context["adminform"].form
        assert first_browser.post(url, form_data(first_form, **change)).status_code == 302
        refused = second_browser.post(url, form_data(second_form, **stale))
        assert refused.status_code == 200, url
        assert refused.context["adminform"].form.conflict is not None
    assert Tag.objects.get(pk=tag.pk).group == ""
    assert Product.objects.get(pk=product.pk).category == ""
