"""kernel.bulk: COPY on PostgreSQL, bulk_create elsewhere, the same result on both; blueprints
that build what the model builds."""

import pytest
from django.contrib.auth import get_user_model
from django.db.models.signals import post_init
from django.utils import timezone

from customers.models import Customer, ExternalId
from kernel.bulk import Blueprint, insert_new, insert_values

pytestmark = pytest.mark.django_db


def test_new_objects_get_their_primary_keys_and_timestamps():
    before = timezone.now()
    customers = [
        Customer(name=f"王{index}", phone=f"+86138001380{index:02d}") for index in range(3)
    ]
    insert_new(Customer, customers)
    assert all(customer.pk for customer in customers)
    stored = Customer.objects.get(pk=customers[1].pk)
    assert (stored.name, stored.phone) == ("王1", "+8613800138001")
    assert stored.updated_at >= before  # auto_now is filled in, as save() would
    assert not customers[0]._state.adding


def test_rows_as_tuples_are_inserted():
    customer = Customer.objects.create(name="王")
    insert_values(
        ExternalId,
        ("customer_id", "system", "external_id", "created_at"),
        [(customer.pk, "pos", "A1", timezone.now()), (customer.pk, "pos", "A2", timezone.now())],
    )
    assert sorted(customer.external_ids.values_list("external_id", flat=True)) == ["A1", "A2"]


def _field_values(instance):
    return {field.attname: getattr(instance, field.attname) for field in Customer._meta.fields}


def test_a_blueprint_builds_what_the_model_builds():
    owner = get_user_model().objects.create_user("owner")
    values = {"name": "王芳", "phone": "+8613800138000", "owner": owner, "birth_date": None}
    expected, built = Customer(**values), Blueprint(Customer)(**values)
    before = _field_values(expected)
    after = _field_values(built)
    # created_at is each instance's own now(); everything else is the same value.
    assert before.pop("created_at") <= after.pop("created_at")
    assert after == before
    assert built.owner == owner
    assert built.owner_id == owner.pk
    assert built._state.adding
    assert built.pk is None
    insert_new(Customer, [built])
    assert Customer.objects.get(pk=built.pk).name == "王芳"


def test_a_blueprint_calls_callable_defaults_for_each_instance():
    blueprint = Blueprint(Customer)
    first, second = blueprint(name="甲"), blueprint(name="乙")
    assert first.custom == {}
    assert first.custom is not second.custom


def test_a_blueprint_refuses_a_name_that_is_no_field():
    with pytest.raises(TypeError, match="nickname"):
        Blueprint(Customer)(name="王", nickname="小王")


def test_a_model_with_init_receivers_is_built_by_init():
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append(instance.name)

    post_init.connect(receiver, sender=Customer)
    try:
        Blueprint(Customer)(name="王")
    finally:
        post_init.disconnect(receiver, sender=Customer)
    assert seen == ["王"]
