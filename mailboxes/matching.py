"""Which customers a message is about: those whose own email, or whose contact person's
email, is one of its addresses, read the way customers/normalize.py stores them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from customers.models import Contact, Customer
from customers.normalize import NormalizationError, normalize_email


@dataclass(frozen=True)
class Party:
    customer: Customer
    contact: Contact | None = None


def normalised_addresses(addresses: Iterable[str]) -> set[str]:
    found = set()
    for address in addresses:
        try:
            normalised = normalize_email(address)
        except NormalizationError:
            continue
        if normalised:
            found.add(normalised)
    return found


def known_parties(addresses: Iterable[str]) -> list[Party]:
    """One party per customer holding one of the addresses (their own address before a
    contact person's), erased customers and those merged into another left out: the survivor
    of a merge holds the address it kept. Two queries, on the email indexes."""
    wanted = normalised_addresses(addresses)
    if not wanted:
        return []
    live = {"erased_at__isnull": True, "merged_into__isnull": True}
    parties: dict[int, Party] = {
        customer.pk: Party(customer)
        for customer in Customer.objects.filter(email__in=wanted, **live).order_by("pk")
    }
    contacts = (
        Contact.objects.filter(
            email__in=wanted, **{f"customer__{key}": value for key, value in live.items()}
        )
        .select_related("customer")
        .order_by("pk")
    )
    for contact in contacts:
        parties.setdefault(contact.customer_id, Party(contact.customer, contact))
    return list(parties.values())
