"""Django admin's import and export buttons (django-import-export) use the same services,
normalisation, masking and audit as the app."""

import pytest
import tablib
from django.contrib.auth.models import Permission

from customers.models import Customer
from customers.resources import CustomerResource
from interactions.models import Product
from interactions.resources import ProductResource
from privacy.models import AuditEvent
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_admin_import_normalises_through_the_services(admin_user_role):
    data = tablib.Dataset(headers=["id", "name", "phone", "email", "birth_date"])
    data.append(["", "王丽娟", "138 0013 8000", "WLJ@Example.com", "1990/1/5"])
    data.append(["", "张伟", "1.38001E+10", "", ""])
    result = CustomerResource(actor=admin_user_role).import_data(data, dry_run=False)
    assert result.totals["new"] == 1
    assert result.totals["invalid"] == 1
    wang = Customer.objects.get()
    assert (wang.phone, wang.email, wang.birth_date.isoformat()) == (
        "+8613800138000",
        "wlj@example.com",
        "1990-01-05",
    )
    assert AuditEvent.objects.filter(action="customer.create", target_id=str(wang.pk)).exists()
    assert AuditEvent.objects.filter(action="customer.admin_import").exists()


def test_admin_import_updates_by_id_and_skips_unchanged_rows(admin_user_role):
    wang = CustomerFactory(name="王丽娟", phone="13800138000", city="上海")
    data = tablib.Dataset(headers=["id", "name", "city"])
    data.append([wang.pk, "王丽娟", "杭州"])
    data.append([wang.pk, "王丽娟", "杭州"])
    result = CustomerResource(actor=admin_user_role).import_data(data, dry_run=False)
    assert (result.totals["update"], result.totals["skip"]) == (1, 1)
    wang.refresh_from_db()
    assert wang.city == "杭州市"  # the official form (customers/places.py)


def test_admin_export_masks_without_the_permission_and_is_formula_safe(
    analyst_user, admin_user_role
):
    CustomerFactory(name="=cmd|' /C calc'!A0", phone="13800138000", email="wlj@example.com")
    masked = CustomerResource(actor=analyst_user).export()
    assert masked.dict[0]["phone"] == "138****8000"
    assert masked.dict[0]["email"] == "w***@example.com"
    assert masked.dict[0]["name"].startswith("'=")
    unmasked = CustomerResource(actor=admin_user_role).export()
    assert unmasked.dict[0]["phone"] == "'+8613800138000"
    assert AuditEvent.objects.filter(action="customer.admin_export").count() == 2


def test_products_import_through_the_service(admin_user_role):
    data = tablib.Dataset(headers=["sku", "name", "price", "currency", "category", "is_active"])
    data.append(["TEA-1", "龙井 250g", "88.00", "CNY", "茶叶", "1"])
    ProductResource(actor=admin_user_role).import_data(data, dry_run=False)
    assert Product.objects.get().name == "龙井 250g"
    assert AuditEvent.objects.filter(action="product.create").exists()


def test_import_and_export_buttons_follow_the_products_permissions(
    client, admin_user_role, make_user
):
    client.force_login(admin_user_role)
    assert client.get("/admin/customers/customer/import/").status_code == 200
    assert client.get("/admin/customers/customer/export/").status_code == 200
    staff_without_import = make_user(None, is_staff=True)
    staff_without_import.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_customer", "view_all_customers"])
    )
    client.force_login(staff_without_import)
    assert client.get("/admin/customers/customer/import/").status_code == 403
    assert client.get("/admin/customers/customer/export/").status_code == 403
