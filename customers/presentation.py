"""How a customer's personal data is shown to a given user: the one place that decides between
the real value and its mask, used by pages, admin and exports."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser

from customers.models import Customer
from customers.selectors import can_view_personal_data
from privacy.masking import mask

# Field -> masking kind. Everything personal that pages show goes through display_personal.
PERSONAL_FIELDS = {
    "phone": "phone",
    "phone_raw": "text",
    "email": "email",
    "email_raw": "email",
    "street": "street",
    "postcode": "postcode",
}


def display_personal(
    user: AbstractBaseUser, customer: Customer, field: str, *, record: object = None
) -> str:
    """The value of a personal field as this user may see it (masked without permission).
    `record` is another object of the customer's (a contact person) to read the field from.
    The identity number is never shown here: it has its own audited reveal."""
    return personal_value(
        customer, field, record=record, visible=can_view_personal_data(user, customer)
    )


def personal_value(customer: Customer, field: str, *, record: object = None, visible: bool) -> str:
    """`display_personal` for a caller that has asked can_view_personal_data already."""
    value = getattr(record if record is not None else customer, field) or ""
    return value if visible else mask(PERSONAL_FIELDS[field], value)


def personal_masks(user: AbstractBaseUser, customer: Customer) -> dict[str, str]:
    """The personal fields a form about this customer must mask for this user (field ->
    masking kind): none when the user may see the customer's personal data."""
    return {} if can_view_personal_data(user, customer) else dict(PERSONAL_FIELDS)
