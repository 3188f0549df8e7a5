"""Versions on edited rows (kernel/versioning.py): a write from an older version is refused with
who changed the row, when and what; two writers from the same version cannot both pass."""

import threading

import pytest
from django.db import connection

from customers import services
from customers.models import Customer
from kernel.versioning import EditConflictError
from privacy import consent
from tests.factories import CustomerFactory


@pytest.mark.django_db
def test_a_write_from_an_older_version_is_refused_with_who_changed_what(sales_user, service_user):
    customer = CustomerFactory(notes="Met at the fair", owner=sales_user)
    assert customer.version == 1
    services.update_customer(
        actor=service_user, customer=customer, expected_version=1, notes="Call after 6 pm"
    )
    assert Customer.objects.get(pk=customer.pk).version == 2
    stale = Customer.objects.get(pk=customer.pk)
    stale.notes = "Met at the fair"
    with pytest.raises(EditConflictError) as refused:
        services.update_customer(
            actor=sales_user, customer=stale, expected_version=1, notes="Met at the fair"
        )
    conflict = refused.value
    assert conflict.changed_by == service_user.username
    assert conflict.changed_at is not None
    assert conflict.changed_fields == ["notes"]
    assert conflict.current.notes == "Call after 6 pm"
    assert conflict.current.version == 2
    assert service_user.username in conflict.messages[0]
    assert Customer.objects.get(pk=customer.pk).notes == "Call after 6 pm"


@pytest.mark.django_db
def test_without_an_expected_version_nothing_is_checked_but_the_version_moves_on(service_user):
    customer = CustomerFactory()
    services.update_customer(actor=service_user, customer=customer, city="上海")
    services.update_customer(actor=service_user, customer=customer, city="上海")  # no change
    services.set_customer_tags(actor=service_user, customer=customer, tags=[])  # no change
    assert Customer.objects.get(pk=customer.pk).version == 2


@pytest.mark.django_db(transaction=True)
def test_two_saves_from_the_same_version_at_once_cannot_both_pass(sales_user, service_user):
    customer = CustomerFactory(notes="Met at the fair")
    start = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def save(actor, notes: str) -> None:
        try:
            mine = Customer.objects.get(pk=customer.pk)
            start.wait(timeout=10)
            services.update_customer(actor=actor, customer=mine, expected_version=1, notes=notes)
            outcomes[notes] = "saved"
        except EditConflictError:
            outcomes[notes] = "refused"
        finally:
            connection.close()

    writers = [
        threading.Thread(target=save, args=(sales_user, "first")),
        threading.Thread(target=save, args=(service_user, "second")),
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=30)
    assert sorted(outcomes.values()) == ["refused", "saved"]
    saved = next(notes for notes, outcome in outcomes.items() if outcome == "saved")
    stored = Customer.objects.get(pk=customer.pk)
    assert (stored.notes, stored.version) == (saved, 2)


@pytest.mark.django_db
def test_a_consent_recorded_meanwhile_makes_an_older_profile_form_stale(service_user, sales_user):
    """The profile form shows the marketing consents: saved from before a withdrawal was
    recorded, it would grant the consent again."""
    customer = CustomerFactory(consent_email=True, owner=sales_user)
    consent.record_consent(
        actor=service_user,
        customer=customer,
        purpose="marketing_email",
        granted=False,
        source="staff",
        evidence="Asked by phone to stop the newsletter",
    )
    stale = Customer.objects.get(pk=customer.pk)
    with pytest.raises(EditConflictError) as conflict:
        services.update_customer(
            actor=sales_user, customer=stale, expected_version=1, consent_email=True
        )
    assert conflict.value.changed_by == service_user.username
    assert Customer.objects.get(pk=customer.pk).consent_email is False
