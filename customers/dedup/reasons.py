"""Reason codes (the linkage model's comparison levels) as sentences a person can read."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.utils.translation import gettext_lazy as _

REASONS = {
    "same_name": _("same name"),
    "same_name_sound": _("names sound the same"),
    "name_order_swapped": _("same name, family and given name swapped"),
    "name_one_letter_off": _("names differ by one character"),
    "similar_name": _("similar names"),
    "given_name_typo": _("same family name, given names nearly the same"),
    "family_name_typo": _("same given name, family names nearly the same"),
    "given_and_family_name_swapped": _("given and family name swapped"),
    "different_name": _("different names"),
    "same_birth_date": _("same birth date"),
    "birth_date_one_digit_off": _("birth dates differ by one digit"),
    "birth_day_and_month_swapped": _("birth dates with day and month swapped"),
    "same_birth_year": _("born in the same year"),
    "different_birth_date": _("different birth dates"),
    "same_email": _("same email"),
    "same_email_user": _("same email name at another provider"),
    "same_id_number": _("same identity number"),
    "different_id_number": _("different identity numbers"),
    "different_unchecked_id_number": _("different identity numbers (no check digit)"),
    "same_phone_and_email": _("same phone and email"),
    "same_phone_and_address": _("same phone and address"),
    "same_email_and_address": _("same email and address"),
    "same_phone": _("same phone"),
    "same_address": _("same address"),
    "similar_address": _("similar address"),
    "same_house_in_street": _("same house number in a similar street"),
    "same_street_and_postcode": _("same postcode, similar street or house number"),
    "same_postcode": _("same postcode"),
    "postcode_one_digit_off": _("postcodes differ by one digit, similar street"),
    "same_city": _("same city"),
    "different_city": _("different cities"),
    "different_contact": _("different phone, email and address"),
    "same_company": _("same company"),
    "similar_company": _("similar company names"),
    "different_company": _("different companies"),
    "same_external_id": _("same id in another system"),
    "other_external_id": _("different ids in other systems"),
}
# Reasons weaker than this (in bits, either way) are noise to a reader.
NOTABLE_WEIGHT = 1.0


def notable(reasons: Iterable[Sequence]) -> list[tuple[str, float]]:
    """The reasons worth showing, strongest first, as (code, weight)."""
    return [(code, weight) for code, weight in reasons if abs(weight) >= NOTABLE_WEIGHT]


def describe(reasons: Iterable[Sequence]) -> str:
    """ "same phone; names differ by one character; same birth date"."""
    return "; ".join(str(REASONS.get(code, code)) for code, _ in notable(reasons))
