"""Reads of customers, always scoped to what the asking user may see."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable

from django.conf import settings
from django.core.cache import cache
from django.db import models
from django.db.models import Count, F, Q, QuerySet, Value
from django.db.models.functions import Replace
from django.db.models.lookups import In
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from accounts.teams import owned_by_user_or_team, works_on_behalf_of
from customers.custom_fields.indexes import identifying_conditions
from customers.custom_fields.models import FieldTarget
from customers.models import Contact, Customer, ExternalId, SavedView
from customers.normalize import (
    NormalizationError,
    city_province,
    normalize_city,
    normalize_name,
    normalize_phone,
    normalize_province,
    place_pinyin,
)
from customers.places import latin_keys
from kernel.actors import Actor


def customers_visible_to(user: Actor) -> QuerySet[Customer]:
    """Active (not merged) customers the user may see: all of them with `view_all_customers`,
    otherwise the user's own, their team's when they manage one (accounts/teams.py) and
    unassigned ones. Without `view_customer`, none."""
    live = Customer.objects.filter(merged_into__isnull=True)
    if not user.has_perm("customers.view_customer"):
        return live.none()
    if user.has_perm("customers.view_all_customers"):
        return live
    return live.filter(owned_by_user_or_team(user) | Q(owner__isnull=True))


def get_customer_for(user: Actor, pk: int) -> Customer:
    """The customer if the user may see it; Http404 otherwise, so existence is not leaked."""
    try:
        return customers_visible_to(user).select_related("owner").get(pk=pk)
    except Customer.DoesNotExist as missing:
        raise Http404 from missing


def contacts_visible_to(user: Actor) -> QuerySet[Contact]:
    """The contact people of the customers `user` may see (`customers_visible_to`), with their
    customer loaded: their phone and email are masked by the customer's rules."""
    return Contact.objects.filter(customer__in=customers_visible_to(user)).select_related(
        "customer"
    )


def external_ids_visible_to(user: Actor) -> QuerySet[ExternalId]:
    """The ids other systems use for the customers `user` may see."""
    return ExternalId.objects.filter(customer__in=customers_visible_to(user))


def can_edit_customer(user: Actor, customer: Customer) -> bool:
    """Editing needs `change_customer` and the customer in the user's scope; an erased
    customer, or one whose processing is restricted, is edited by no one."""
    if not user.has_perm("customers.change_customer") or customer.erased_at:
        return False
    if customer.restricted_at:
        return False
    if user.has_perm("customers.view_all_customers") or customer.owner_id is None:
        return True
    return works_on_behalf_of(user, customer.owner_id)


def customers_editable_by(user: Actor) -> QuerySet[Customer]:
    """The customers `user` may edit, as a queryset (`can_edit_customer` for many rows at
    once)."""
    if not user.has_perm("customers.change_customer"):
        return Customer.objects.none()
    editable = Customer.objects.filter(erased_at__isnull=True, restricted_at__isnull=True)
    if user.has_perm("customers.view_all_customers"):
        return editable
    return editable.filter(owned_by_user_or_team(user) | Q(owner__isnull=True))


def can_merge_customers(user: Actor, customers: Iterable[Customer]) -> bool:
    """Whether `user` may merge these customers, undo their merge or decide they are not
    duplicates: `merge_customers` and the right to edit each of them. Checked by the pages
    and commands that do it (the merge services assume an authorised caller)."""
    return user.has_perm("customers.merge_customers") and all(
        can_edit_customer(user, customer) for customer in customers
    )


def can_view_personal_data(user: Actor, customer: Customer) -> bool:
    """Unmasked phone, email and address: the permission, and for users scoped to their own
    customers only on customers they own or, as a team's manager, their members own."""
    if not user.has_perm("customers.view_personal_data"):
        return False
    if user.has_perm("customers.view_all_customers"):
        return True
    return works_on_behalf_of(user, customer.owner_id)


def personal_data_scope(user: Actor) -> Q | None:
    """The condition picking, among the customers `user` may see, those whose phone, email and
    address they may see unmasked (the queryset form of `can_view_personal_data`): an empty Q
    for all of them, None for none.

    Matching on a masked field happens only inside this scope: whoever could look a customer up
    by a phone number they are shown as 138****8000 could confirm the hidden digits by guessing
    (search, the duplicate panel, an import's preview)."""
    if not user.has_perm("customers.view_personal_data"):
        return None
    if user.has_perm("customers.view_all_customers"):
        return Q()
    return owned_by_user_or_team(user)


def id_number_scope(user: Actor) -> Q | None:
    """Like `personal_data_scope`, for the identity number, which is shown masked to everyone
    and revealed only to holders of `reveal_national_id`: no one else matches by it."""
    if not user.has_perm("customers.reveal_national_id"):
        return None
    return personal_data_scope(user)


def sees_all_personal_data(user: Actor) -> bool:
    """Whether every customer `user` may see is shown to them unmasked."""
    return personal_data_scope(user) == Q()


def within_personal_data_scope(user: Actor, condition: Q) -> Q:
    """`condition` (a match on masked fields) limited to the customers whose personal data
    `user` may see; a condition that matches no one when that is nobody's."""
    return _within(personal_data_scope(user), condition)


def within_id_number_scope(user: Actor, condition: Q) -> Q:
    """`condition` (a match on the identity number) limited to `id_number_scope`."""
    return _within(id_number_scope(user), condition)


def _within(scope: Q | None, condition: Q) -> Q:
    return Q(pk__in=[]) if scope is None else condition & scope


# Name queries this short match the start of the name or a whole given name: a substring
# search of one or two characters cannot use trigrams and would scan every customer.
SHORT_NAME_QUERY = 2
PHONE_SUFFIX_DIGITS = 4
_PHONE_PUNCTUATION = re.compile(r"[\s\-().]")
# A query of this many characters that could be part of an email ("gmail", "zhang.wei") also
# matches emails: three, so that PostgreSQL answers it from the trigram index on email (0003).
EMAIL_FRAGMENT_LENGTH = 3
_EMAIL_FRAGMENT = re.compile(r"[a-z0-9._%+-]+")
# A whole name in Latin letters ("Yu Jiawei", "yujiawei", "O'Neil Sean").
_LATIN_NAME = re.compile(r"[A-Za-z]+(?:[\s'-]+[A-Za-z]+)*")


def search_customers(*, user: Actor, query: str = "") -> QuerySet[Customer]:
    """Customers visible to the user matching the search box: a phone number in any format or
    its last 4+ digits, an email or part of one (with or without "@": "gmail" finds both the
    names and the emails that contain it), an id from another system, part of a name or
    company (the start of it for one or two characters), or a whole name spelt in Latin
    letters in either order ("Yu Jiawei", "jiawei yu" find 于家伟), or the value of a custom
    field marked identifying. Phones, emails and personal or sensitive identifying values
    match only customers whose personal data the user may see. Empty matches everything."""
    customers = customers_visible_to(user)
    try:
        text = normalize_name(query)
    except NormalizationError:
        # Characters nobody typed (kernel.free_text) are refused in every stored value, so no
        # customer can match them; PostgreSQL would not even take a NUL in the query.
        return customers.none()
    if not text:
        return customers
    return customers.filter(_search_conditions(user, text))


def is_personal_data_query(query: str) -> bool:
    """Whether the search box reads `query` as a phone number or an email (which match only
    customers whose personal data the user may see)."""
    try:
        text = normalize_name(query)
    except NormalizationError:
        return False
    return "@" in text or _PHONE_PUNCTUATION.sub("", text).lstrip("+").isdigit()


def _search_conditions(user: Actor, text: str) -> Q:
    linked = list(
        ExternalId.objects.filter(external_id=text).values_list("customer_id", flat=True)[:50]
    )
    # An identifying custom value (a member number, a WeChat id) is an id as well.
    by_custom_id, personal = identifying_conditions(FieldTarget.CUSTOMER, text)
    conditions = (Q(pk__in=linked) if linked else Q()) | by_custom_id
    if not is_personal_data_query(text):
        fragment = text.lower()
        if len(fragment) >= EMAIL_FRAGMENT_LENGTH and _EMAIL_FRAGMENT.fullmatch(fragment):
            personal |= Q(email__contains=fragment)
        conditions = _name_conditions(conditions, text) | _name_spelling_condition(text)
    elif "@" in text:
        # Emails are stored lower-cased; a part of one ("zhang.wei@") is enough.
        personal |= Q(email__contains=text.lower())
    else:
        digits = _PHONE_PUNCTUATION.sub("", text).lstrip("+")
        with contextlib.suppress(NormalizationError):
            personal |= Q(phone=normalize_phone(text, region=settings.DEFAULT_PHONE_REGION))
        if len(digits) >= PHONE_SUFFIX_DIGITS:
            personal |= Q(phone__endswith=digits)
    return conditions | within_personal_data_scope(user, personal)


def _name_spelling_condition(text: str) -> Q:
    """A whole name spelt in Latin letters, family name first or last, with any spacing and
    case: "yujiawei", "Yu Jiawei" and "jiawei yu" find 于家伟 (name_pinyin "yu jia wei").
    Looked up by the letters' key (customer_name_key_idx), then confirmed on the pinyin so that
    names made of the same letters in another order (an anagram) do not match."""
    if not _LATIN_NAME.fullmatch(text):
        return Q(pk__in=[])
    words = re.findall("[a-z]+", text.lower())
    spellings = {"".join(words), "".join(words[-1:] + words[:-1])}
    compact = Replace(F("name_pinyin"), Value(" "), Value(""), output_field=models.TextField())
    return Q(name_key="".join(sorted("".join(words)))) & Q(In(compact, sorted(spellings)))


def _name_conditions(conditions: Q, text: str) -> Q:
    if len(text) <= SHORT_NAME_QUERY:
        return (
            conditions
            | Q(name__istartswith=text)
            | Q(given_name=text)
            | Q(company_name__istartswith=text)
        )
    return conditions | Q(name__icontains=text) | Q(company_name__icontains=text)


SEARCH_RESULT_LIMIT = 500
# How many of the newest customer ids a search reads first, and at most, before going through
# the indexes (reading 25,000 rows along the primary key costs about what 5,000 matches read
# through the indexes do).
RECENT_WINDOW = 25_000
WIDEST_WINDOW = 100_000


def newest_matches(customers: QuerySet[Customer], *, limit: int = SEARCH_RESULT_LIMIT) -> list[int]:
    """Ids of the newest `limit` customers of a searched queryset, by the cheaper of two ways.

    A broad search ("Ltd.", a common surname) matches densely, so the customers among the
    newest RECENT_WINDOW ids already hold `limit` matches: reading just those, newest first,
    answers it (and it answers any search of a table with no more ids than that). When they
    hold fewer, how many they hold tells how far back `limit` matches reach, and the window
    widens to there, up to WIDEST_WINDOW ids: a search matching one customer in seventy
    ("sales", an email's part) would otherwise read all its matches through the indexes. The
    window starts below the newest id, a lookup at the end of the primary key; ids lost to
    deleted customers only make it hold fewer.
    A narrow one is answered through the search indexes, ordered by `id + 0` rather than `id`
    so that PostgreSQL cannot choose to walk the whole primary key backwards (it misjudges
    how many names start with two Chinese characters and would read hundreds of thousands of
    rows), and the matches are sorted afterwards. Either way the capped id list then pages in
    any order at no cost."""
    newest_id = Customer.objects.order_by("-pk").values_list("pk", flat=True).first()
    if newest_id is None:
        return []
    matches: list[int] = []
    top, width = newest_id, RECENT_WINDOW
    while True:
        floor = top - width
        matches += (
            customers.filter(pk__gt=floor, pk__lte=top)
            .order_by("-pk")
            .values_list("pk", flat=True)[: limit - len(matches)]
        )
        if len(matches) == limit or floor <= 0:
            return matches
        read = newest_id - floor
        # A quarter more than the density so far says `limit` matches need.
        reach = read * limit // len(matches) * 5 // 4 if matches else WIDEST_WINDOW + 1
        if reach > WIDEST_WINDOW:
            break
        top, width = floor, reach - read
    return list(customers.order_by((F("pk") + 0).desc()).values_list("pk", flat=True)[:limit])


class CustomerOrder(models.TextChoices):
    NEWEST = "newest", _("Newest first")
    NAME = "name", _("Name")
    LAST_ACTIVITY = "last_activity", _("Last activity")


_ORDERINGS = {
    CustomerOrder.NEWEST: ("-pk",),
    CustomerOrder.NAME: ("name", "pk"),
    CustomerOrder.LAST_ACTIVITY: (F("last_activity_at").desc(nulls_last=True), "-pk"),
}


def _after(order: CustomerOrder, anchor: Customer) -> Q:
    """The rows after `anchor` in `order` (keyset pagination)."""
    if order == CustomerOrder.NAME:
        return Q(name__gt=anchor.name) | Q(name=anchor.name, pk__gt=anchor.pk)
    if order == CustomerOrder.LAST_ACTIVITY:
        if anchor.last_activity_at is None:
            return Q(last_activity_at__isnull=True, pk__lt=anchor.pk)
        return (
            Q(last_activity_at__lt=anchor.last_activity_at)
            | Q(last_activity_at=anchor.last_activity_at, pk__lt=anchor.pk)
            | Q(last_activity_at__isnull=True)
        )
    return Q(pk__lt=anchor.pk)


def customer_page(
    customers: QuerySet[Customer], *, order: CustomerOrder, after: int | None, size: int
) -> tuple[list[Customer], int | None]:
    """One page of `customers` in `order`, starting after the customer with id `after`, and
    the id to continue from (None on the last page). Keyset pagination: no count, no offset,
    and the cursor is an id, so no name or date ever travels in the URL."""
    if after is not None:
        anchor = Customer.objects.filter(pk=after).only("pk", "name", "last_activity_at").first()
        if anchor is not None:
            customers = customers.filter(_after(order, anchor))
    rows = list(customers.order_by(*_ORDERINGS[order])[: size + 1])
    return rows[:size], rows[size - 1].pk if len(rows) > size else None


def possible_duplicates(
    *,
    user: Actor,
    phone: str = "",
    email: str = "",
    id_blind_index: str = "",
    exclude_pk: int | None = None,
    limit: int = 5,
) -> list[Customer]:
    """Customers the user may see that share an already normalised phone, email or identity
    number blind index with the record being written or shown (at most `limit`). Only
    customers whose personal data (identity number: whose revealed number) the user may see
    are matched: a match would confirm a masked value."""
    keys = Q()
    if phone:
        keys |= within_personal_data_scope(user, Q(phone=phone))
    if email:
        keys |= within_personal_data_scope(user, Q(email=email))
    if id_blind_index:
        keys |= within_id_number_scope(user, Q(id_number_blind_index=id_blind_index))
    if not keys:
        return []
    matches = customers_visible_to(user).filter(keys)
    if exclude_pk is not None:
        matches = matches.exclude(pk=exclude_pk)
    return list(matches[:limit])


def external_id_holders(*, user: Actor, external_ids: Iterable[tuple[str, str]]) -> list[Customer]:
    """The customers `user` may see that hold one of these (system, id) pairs."""
    held = Q(pk__in=[])
    for system, number in external_ids:
        held |= Q(external_ids__system=system, external_ids__external_id=number)
    return list(customers_visible_to(user).filter(held).distinct())


def saved_views_for(user: Actor) -> QuerySet[SavedView]:
    """The user's own saved list views and those colleagues shared."""
    return SavedView.objects.filter(Q(owner=user) | Q(is_shared=True)).select_related("owner")


# How many places the segment builder suggests, and for how long they are reused.
PLACE_SUGGESTIONS = 300
PLACE_SUGGESTIONS_SECONDS = 300


def place_condition(field: str, value: str) -> Q:
    """Customers whose `field` ("province" or "city") is the place `value` names, however it
    is written: the value is normalised as every write stores it, so "上海", "Shanghai" and
    "上海市" select the same customers. A city the gazetteer does not know is also found by
    its pinyin ("kunshan" or 昆山 find 昆山市), and an ambiguous spelling ("Suzhou") finds
    every city spelt so. Through the city / province indexes (migration 0016)."""
    try:
        if field == "province":
            return Q(province=normalize_province(value))
        city = normalize_city(value)
    except NormalizationError:
        return Q(pk__in=[])
    if not city or city_province(city):
        return Q(city=city)
    pinyin = place_pinyin(city)
    spellings = [pinyin] if pinyin else latin_keys(city)
    return Q(city=city) | Q(city_pinyin__in=spellings)


def common_places(field: str) -> list[str]:
    """The PLACE_SUGGESTIONS most common values of `field` ("province" or "city") among all
    customers, most common first, for the segment builder to suggest. Places are not
    personal data on their own (the dashboards count customers by city for every analyst).
    One GROUP BY over the field's partial index, cached for PLACE_SUGGESTIONS_SECONDS."""
    key = f"customers:common_places:{field}"
    places: list[str] | None = cache.get(key)
    if places is None:
        places = list(
            Customer.objects.exclude(**{field: ""})
            .values(field)
            .annotate(customers=Count("*"))
            .order_by("-customers", field)
            .values_list(field, flat=True)[:PLACE_SUGGESTIONS]
        )
        cache.set(key, places, PLACE_SUGGESTIONS_SECONDS)
    return places
