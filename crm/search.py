"""Search everywhere: the top bar's box finds customers, contacts and tasks (and whatever other
groups register below) with the customer list's matching, each group a provider
`(SearchRequest) -> list[SearchHit]` scoped to what the user may see. The customers matching the
query are read once per request and shared by the groups that need them.

Personal data in a hit's sublabel is masked as on the customer list; `tel` and `mailto` carry a
phone or email only when the user may see it unmasked. Matching on a phone or email happens only
within the user's personal-data scope (customers.selectors.personal_data_scope), so a masked value
cannot be confirmed by guessing."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from django.conf import settings
from django.db.models import Case, F, Q, QuerySet, Value, When
from django.db.models.functions import Replace
from django.db.models.lookups import IContains, IStartsWith
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from customers.models import Contact, Customer
from customers.normalize import NormalizationError, normalize_name, normalize_phone
from customers.presentation import display_personal
from customers.selectors import (
    PHONE_SUFFIX_DIGITS,
    can_view_personal_data,
    contacts_visible_to,
    is_personal_data_query,
    newest_matches,
    personal_data_scope,
    search_customers,
)
from interactions.models import FollowUp
from interactions.selectors import follow_ups_visible_to
from kernel.actors import Actor
from sales.deals.selectors import SEARCH_CANDIDATES as DEAL_SEARCH_CANDIDATES
from sales.deals.selectors import search_deals

# Queries shorter than this find nothing: one character would match a good part of every table.
MIN_QUERY_LENGTH = 2
# Hits per group in the top bar's dropdown, and on the full results page.
SUGGESTION_LIMIT = 5
PAGE_LIMIT = 20
# How many matching ids the contacts and tasks groups read, without an order, before the few
# they show are picked from them: ORDER BY ... LIMIT over a condition few rows meet has
# PostgreSQL walk the whole table along the order's index (sales.deals.selectors does the same).
SEARCH_CANDIDATES = 200
# A name or title query shorter than this matches the start of a word of the name or title:
# the trigram indexes answer a substring from three characters on and a word's start from one,
# a shorter substring would read every row.
SUBSTRING_QUERY_MIN_LENGTH = 3
# Besides spaces, what separates the words of a contact's name or a task's title ("回访：王芳",
# "报价-王芳", "约翰·史密斯"). Names and titles are compared with each of them read as a space
# (words_of), on both sides, so that one index probe finds a word's start after any of them:
# the trigram indexes of customers' 0021 and interactions' 0012 are built on words_of.
WORD_SEPARATORS = ("：", ":", "，", ",", "-", "/", "·")
_PHONE_PUNCTUATION = re.compile(r"[\s\-().]")


@dataclass(frozen=True)
class SearchHit:
    label: str
    sublabel: str  # masked as the user must see it
    url: str
    kind: str
    tel: str = ""  # unmasked phone for a tel: link, only when the user may see it
    mailto: str = ""  # unmasked email for a mailto: link, likewise


@dataclass
class SearchRequest:
    user: Actor
    query: str  # normalised (customers.normalize.normalize_name), at least MIN_QUERY_LENGTH
    limit: int  # hits per group

    @cached_property
    def matching_customer_ids(self) -> list[int]:
        """The newest customers the user may see that match the query as the customer list's
        search does (customers.selectors.search_customers), newest first: enough for the
        customers group's hits and for the deals group's candidates."""
        return newest_matches(
            search_customers(user=self.user, query=self.query),
            limit=max(self.limit, DEAL_SEARCH_CANDIDATES),
        )


Provider = Callable[[SearchRequest], list[SearchHit]]


@dataclass(frozen=True)
class SearchGroup:
    kind: str
    title: str | Promise
    provider: Provider


@dataclass(frozen=True)
class GroupResult:
    group: SearchGroup
    hits: list[SearchHit]


def _contact_details(user: Actor, customer: Customer, record: object = None) -> dict[str, str]:
    if not can_view_personal_data(user, customer):
        return {}
    source = record if record is not None else customer
    return {"tel": getattr(source, "phone", ""), "mailto": getattr(source, "email", "")}


def _joined(*parts: str) -> str:
    return " · ".join(part for part in parts if part)


def customer_hits(request: SearchRequest) -> list[SearchHit]:
    """The customer list's search, newest first."""
    user = request.user
    ids = request.matching_customer_ids[: request.limit]
    customers = Customer.objects.filter(pk__in=ids).order_by("-pk")
    return [
        SearchHit(
            label=customer.name,
            sublabel=_joined(
                display_personal(user, customer, "phone"),
                display_personal(user, customer, "email"),
                customer.company_name,
            ),
            url=reverse("customers:detail", args=[customer.pk]),
            kind="customer",
            **_contact_details(user, customer),
        )
        for customer in customers
    ]


def _contact_personal_condition(user: Actor, text: str) -> Q:
    """A phone or email match on contacts, limited to customers whose personal data the user
    may see (personal_data_scope, which is written on customers)."""
    scope = personal_data_scope(user)
    if scope is None:
        return Q(pk__in=[])
    if "@" in text:
        condition = Q(email__contains=text.lower())
    else:
        condition = Q(pk__in=[])
        with contextlib.suppress(NormalizationError):
            condition |= Q(phone=normalize_phone(text, region=settings.DEFAULT_PHONE_REGION))
        digits = _PHONE_PUNCTUATION.sub("", text).lstrip("+")
        if len(digits) >= PHONE_SUFFIX_DIGITS:
            condition |= Q(phone__endswith=digits)
    return condition if scope == Q() else condition & Q(customer__owner=user)


def words_of(field: str) -> Replace | F:
    """`field` with every WORD_SEPARATORS character read as a space. Changing this expression
    means rebuilding the indexes made on it (customers' 0021, interactions' 0012)."""
    expression: Replace | F = F(field)
    for separator in WORD_SEPARATORS:
        expression = Replace(expression, Value(separator), Value(" "))
    return expression


def _as_words(text: str) -> str:
    for separator in WORD_SEPARATORS:
        text = text.replace(separator, " ")
    return text


def _text_condition(field: str, text: str) -> Q:
    """`field` contains `text` or, when it is too short for a trigram index, has a word that
    starts with it ("王芳" finds the tasks "回访 王芳" and "回访：王芳", "Li" the contact
    "Bo Li"); separators match one another ("回访:王" finds "回访：王芳")."""
    words, text = words_of(field), _as_words(text)
    if len(text) >= SUBSTRING_QUERY_MIN_LENGTH:
        return Q(IContains(words, text))
    return Q(IStartsWith(words, text)) | Q(IContains(words, f" {text}"))


def _candidates(rows: QuerySet) -> list[int]:
    return list(rows.order_by().values_list("pk", flat=True)[:SEARCH_CANDIDATES])


def contact_hits(request: SearchRequest) -> list[SearchHit]:
    """Contact people of the customers the user may see, by name (a word's start below
    SUBSTRING_QUERY_MIN_LENGTH characters), or by phone or email (the customer list's
    normalisation) within the user's personal-data scope: the newest of at most
    SEARCH_CANDIDATES matches."""
    user, text = request.user, request.query
    if is_personal_data_query(text):
        condition = _contact_personal_condition(user, text)
    else:
        condition = _text_condition("name", text)
    newest = sorted(_candidates(contacts_visible_to(user).filter(condition)), reverse=True)
    contacts = Contact.objects.filter(pk__in=newest[: request.limit]).select_related("customer")
    return [
        SearchHit(
            label=contact.name,
            sublabel=_joined(
                contact.customer.name,
                display_personal(user, contact.customer, "phone", record=contact),
                display_personal(user, contact.customer, "email", record=contact),
            ),
            url=reverse("customers:detail", args=[contact.customer_id]),
            kind="contact",
            **_contact_details(user, contact.customer, contact),
        )
        for contact in contacts.order_by("-pk")
    ]


def task_hits(request: SearchRequest) -> list[SearchHit]:
    """Follow-ups on customers the user may see, by title (a word's start below
    SUBSTRING_QUERY_MIN_LENGTH characters): open ones first, then done ones, each by due date,
    picked from at most SEARCH_CANDIDATES open matches and, when those are fewer than `limit`,
    as many done ones. Open ones are read apart because most follow-ups are done: a sample of
    all matches would often hold none of the open ones."""
    if is_personal_data_query(request.query):
        return []
    matching = follow_ups_visible_to(request.user).filter(_text_condition("title", request.query))
    candidates = _candidates(matching.filter(done_at__isnull=True))
    if len(candidates) < request.limit:
        candidates += _candidates(matching.filter(done_at__isnull=False))
    follow_ups = (
        FollowUp.objects.filter(pk__in=candidates)
        .select_related("customer")
        .order_by(
            Case(When(done_at__isnull=True, then=Value(0)), default=Value(1)),
            "due_at",
            "-pk",
        )[: request.limit]
    )
    return [
        SearchHit(
            label=follow_up.title,
            sublabel=_joined(follow_up.customer.name, _due_label(follow_up)),
            url=reverse("customers:detail", args=[follow_up.customer_id]),
            kind="task",
        )
        for follow_up in follow_ups
    ]


def _due_label(follow_up: FollowUp) -> str:
    if follow_up.done_at:
        return str(_("done"))
    return formats.date_format(timezone.localtime(follow_up.due_at), "SHORT_DATE_FORMAT")


def deal_hits(request: SearchRequest) -> list[SearchHit]:
    """Deals the user may see by title, or whose customer matches as the customer search does."""
    return [
        SearchHit(
            label=deal.title,
            sublabel=_joined(deal.customer.name, deal.stage.display_name),
            url=reverse("deals:detail", args=[deal.pk]),
            kind="deal",
        )
        for deal in search_deals(
            user=request.user,
            query=request.query,
            limit=request.limit,
            matching_customer_ids=request.matching_customer_ids,
        )
    ]


# The groups in the order they are shown.
SEARCH_GROUPS: list[SearchGroup] = [
    SearchGroup("customer", _("Customers"), customer_hits),
    SearchGroup("deal", _("Deals"), deal_hits),
    SearchGroup("contact", _("Contacts"), contact_hits),
    SearchGroup("task", _("Tasks"), task_hits),
]


def search_everywhere(*, user: Actor, query: str, limit: int) -> list[GroupResult]:
    """Every group's hits for `query` (at most `limit` each), groups without hits left out.
    A query shorter than MIN_QUERY_LENGTH, or one of characters no stored value holds, finds
    nothing."""
    try:
        text = normalize_name(query)
    except NormalizationError:
        return []
    if len(text) < MIN_QUERY_LENGTH:
        return []
    request = SearchRequest(user=user, query=text, limit=limit)
    results = [GroupResult(group, group.provider(request)) for group in SEARCH_GROUPS]
    return [result for result in results if result.hits]
