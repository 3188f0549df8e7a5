"""The customer import's rows: clean each row exactly as the forms do (customers.services
.normalise_profile), match a batch against the database and against itself, and write it with
bulk operations. This module is the import's write service for customers."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.teams import works_on_behalf_of
from customers.bulk_writes import CustomerWrite, record_customer_writes
from customers.custom_fields import records as custom_values
from customers.custom_fields.models import NAME_PREFIX, FieldTarget, Sensitivity
from customers.custom_fields.selectors import defined_fields
from customers.imports.earlier_rows import EarlierRow, EarlierRows
from customers.imports.fields import (
    NO_BATCH,
    SHOP_CHANNEL_SYNONYMS,
    TOO_LONG,
    BatchOptions,
    BatchValues,
    PreparedRow,
    boolean_value,
    choice_value,
    first_valid,
    report_invalid,
    row_custom_values,
)
from customers.imports.mapping import (
    CUSTOMER_FIELDS,
    ImportField,
    custom_import_fields,
)
from customers.models import (
    Contact,
    Customer,
    CustomerKind,
    ExternalId,
    Gender,
    IdDocumentKind,
    InvalidValues,
    LifecycleStage,
    LifecycleStageChange,
    SourceChannel,
    Tag,
    UpdatePolicy,
    ValueGrade,
)
from customers.normalize import (
    NormalizationError,
    name_sound,
    split_person_name,
)
from customers.selectors import (
    can_view_personal_data,
    id_number_scope,
    within_personal_data_scope,
)
from customers.services import (
    CONFIRMATIONS,
    DERIVED_FIELDS,
    ID_NUMBER_CONTEXT,
    NAME_SOUND_FIELDS,
    apply_id_number,
    follow_changes,
    normalise_profile,
)
from kernel.bulk import Blueprint, insert_new
from kernel.person_names import join_person_name
from kernel.table_statistics import planned_as_index_lookups
from privacy import consent, crypto
from privacy.models import ConsentRecord, ConsentSource


def fields() -> tuple[ImportField, ...]:
    """The built-in fields, then the custom fields of customers (read from the database)."""
    return (*CUSTOMER_FIELDS, *custom_import_fields(FieldTarget.CUSTOMER))


# What write_batch writes in bulk (customers.imports.jobs analyses them).
TABLES_WRITTEN = (
    Customer,
    Customer.tags.through,
    LifecycleStageChange,
    ExternalId,
    ConsentRecord,
)

_CHOICES = {
    "kind": (
        CustomerKind,
        (
            ("个人", "person"),
            ("individual", "person"),
            ("b2c", "person"),
            ("企业", "company"),
            ("公司", "company"),
            ("business", "company"),
            ("b2b", "company"),
        ),
    ),
    "gender": (
        Gender,
        (
            ("男", "male"),
            ("男性", "male"),
            ("先生", "male"),
            ("m", "male"),
            ("man", "male"),
            ("女", "female"),
            ("女性", "female"),
            ("女士", "female"),
            ("小姐", "female"),
            ("f", "female"),
            ("woman", "female"),
            ("未知", ""),
            ("保密", ""),
            ("unknown", ""),
        ),
    ),
    "id_document_kind": (
        IdDocumentKind,
        (
            ("身份证", "cn_resident"),
            ("居民身份证", "cn_resident"),
            ("id card", "cn_resident"),
            ("护照", "passport"),
        ),
    ),
    "lifecycle_stage": (LifecycleStage, (("潜在客户", "lead"), ("老客户", "repeat"))),
    "value_grade": (ValueGrade, ()),
    "source_channel": (
        SourceChannel,
        (
            *SHOP_CHANNEL_SYNONYMS,
            ("微信", "wechat"),
            ("公众号", "wechat"),
            ("小程序", "wechat"),
            ("转介绍", "referral"),
            ("推荐", "referral"),
            ("展会", "trade_fair"),
            ("表单", "web_form"),
            ("导入", "import"),
        ),
    ),
}
_BOOLEANS = frozenset({"consent_email", "consent_sms", "consent_phone"})
_NOT_PROFILE = frozenset({"external_id", "tags"})
_TAG_SEPARATORS = re.compile(r"[,;，；、|]+")
_REQUIRED = frozenset({"name"})
# The id number is checked by its own rules (and stored encrypted, longer than typed).
_MAX_LENGTHS = {
    field.name: field.max_length
    for field in Customer._meta.concrete_fields
    if field.max_length and not field.name.startswith("id_number")
}
_MAX_EXTERNAL_ID = ExternalId._meta.get_field("external_id").max_length
_MAX_TAG = Tag._meta.get_field("name").max_length
_EMPTY = ("", None)

_NAME_MISSING = _("A new customer needs a name.")
_OUT_OF_SCOPE = _(
    "You cannot import this row: its customer id is in use. Ask a colleague who manages all "
    "customers to import it."
)
_HIDDEN_LEFT_ALONE = _(
    "This customer's details that are hidden from you (phone, email, address, identity number) "
    "were left as they are."
)
# A row's valid phones beyond the customer's own (Shopify's Default Address Phone beside its
# Phone): (column, E.164, as written), kept as contacts of the customer named after the column.
OTHER_PHONES = "other_phones"
_OTHER_PHONE_KEPT = _(
    "Another phone of this customer: it is kept as a contact on the customer's page, named "
    "after this column."
)
_MAX_CONTACT_TITLE = Contact._meta.get_field("title").max_length
_MAX_CONTACT_NAME = Contact._meta.get_field("name").max_length
_MAX_CONTACT_PHONE_RAW = Contact._meta.get_field("phone_raw").max_length
_PERSONAL_KEYS = frozenset(
    {"phone", "phone_raw", "email", "email_raw", "street", "postcode", OTHER_PHONES}
)
_ID_NUMBER_KEYS = frozenset({"id_number", "id_document_kind"})
_RESTRICTED = _(
    "This row matches a customer whose processing is restricted: it was not applied. "
    "Ask the privacy officer."
)
_DUPLICATE_ROW = _("The same customer as row %(row)d (same %(key)s); the rows were combined.")
_KEY_LABELS = {
    "external_id": _("customer id"),
    "phone": _("mobile phone"),
    "email": _("email"),
    "id_number": _("identity number"),
    "profile": _("name and details"),
}


def mapping_errors(fields: set[str], *, source_name: str) -> list[Any]:
    """What a column mapping lacks to import customers."""
    errors = []
    if not fields & {
        "name",
        "family_name",
        "given_name",
        "external_id",
        "phone",
        "email",
        "id_number",
    }:
        errors.append(
            _(
                "Choose the column with the name, or one with a phone, email or id to update "
                "existing customers."
            )
        )
    if "external_id" in fields and not source_name:
        errors.append(_("Name the source system: customer ids are unique only within it."))
    return errors


def prepare(
    row: PreparedRow, *, invalid_values: str, date_order: str, batch: BatchValues = NO_BATCH
) -> PreparedRow:
    """Fill `row.values` with clean values and `row.issues` with what is wrong, without touching
    the database; `batch` holds what the batch path already cleaned."""
    drop = invalid_values == InvalidValues.DROP_VALUE
    profile: dict[str, Any] = {}
    other_phones = first_valid(row, "phone", batch.phone)[1:]

    def problem(key: str, message: Any) -> None:
        report_invalid(row, key, message, drop=drop and key not in _REQUIRED)

    for key, text in row.raw.items():
        if key.startswith(NAME_PREFIX):
            continue  # below, each by its field's own rules
        try:
            if key in _CHOICES:
                choices, synonyms = _CHOICES[key]
                try:
                    profile[key] = choice_value(choices, text, synonyms)
                except NormalizationError:
                    if key != "source_channel":
                        raise
                    # An unknown source ("朋友圈") is still worth keeping, as the source detail.
                    profile[key] = SourceChannel.OTHER
                    row.raw.setdefault("source_detail", text)
                    profile.setdefault("source_detail", text)
            elif key in _BOOLEANS:
                profile[key] = boolean_value(text)
            elif key == "birth_date":
                profile[key] = batch.date(text, date_order=date_order)
            elif key not in _NOT_PROFILE:
                profile[key] = text
        except NormalizationError as error:
            problem(key, error.message)
    if "id_number" in profile and "id_document_kind" not in profile:
        profile["id_document_kind"] = IdDocumentKind.CN_RESIDENT

    clean = _normalised(profile, problem, {"phone": batch.phones, "email": batch.emails})
    for key, value in list(clean.items()):
        limit = _MAX_LENGTHS.get(key)
        if limit and isinstance(value, str) and len(value) > limit:
            problem(key, TOO_LONG % {"limit": limit})
            del clean[key]
    if not clean.get("name") and (clean.get("family_name") or clean.get("given_name")):
        clean["name"] = join_person_name(clean.get("family_name", ""), clean.get("given_name", ""))
    if not clean.get("name"):
        clean.pop("name", None)
    # The name may have been dropped (too long) or built from its parts after normalisation:
    # its sound follows the name that will be stored.
    for sound_field in NAME_SOUND_FIELDS:
        clean.pop(sound_field, None)
    if clean.get("name"):
        clean["name_pinyin"], clean["name_key"] = name_sound(clean["name"])

    external_id = row.raw.get("external_id", "")
    if len(external_id) > _MAX_EXTERNAL_ID:
        problem("external_id", TOO_LONG % {"limit": _MAX_EXTERNAL_ID})
    elif external_id:
        clean["external_id"] = external_id
    if "tags" in row.raw:
        names = {name.strip() for name in _TAG_SEPARATORS.split(row.raw["tags"]) if name.strip()}
        if any(len(name) > _MAX_TAG for name in names):
            problem("tags", TOO_LONG % {"limit": _MAX_TAG})
        else:
            clean["tags"] = sorted(names)
    custom = row_custom_values(row, problem)
    if custom:
        clean["custom"] = custom
    if other_phones and clean.get("phone"):
        clean[OTHER_PHONES] = tuple(other_phones)
        for header, text, _phone_number in other_phones:
            row.add_issue("phone", _OTHER_PHONE_KEPT, warning=True, value=text, column=header)
    row.values = clean
    return row


def _normalised(
    profile: dict[str, Any], problem, settled: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    try:
        return normalise_profile(profile, settled=settled)
    except ValidationError as error:
        failed = set()
        for key, messages in error.message_dict.items():
            source = "id_number" if key == "id_document_kind" and "id_number" in profile else key
            for message in messages:
                problem(source, message)
            failed.update({key, source})
    remaining = {key: value for key, value in profile.items() if key not in failed}
    if "id_number" in failed:
        remaining.pop("id_document_kind", None)
    try:
        return normalise_profile(remaining, settled=settled)
    except ValidationError:
        return {}


@dataclass
class _Group:
    """The rows of one batch that are the same new customer."""

    rows: list[PreparedRow] = field(default_factory=list)


_KEY_ORDER = ("external_id", "phone", "email", "id_number", "profile")


def _keys(row: PreparedRow, source_name: str) -> dict[str, str]:
    values = row.values
    keys = {
        "external_id": values.get("external_id", "") if source_name else "",
        "phone": values.get("phone", ""),
        "email": values.get("email", ""),
        "id_number": crypto.blind_index(values["id_number"], context=ID_NUMBER_CONTEXT)
        if values.get("id_number")
        else "",
    }
    keys = {kind: value for kind, value in keys.items() if value}
    if not keys and values.get("name"):
        # No identifier at all: the same name with the same details is the same customer, so
        # importing the file again does not duplicate it.
        keys["profile"] = _profile_key(
            values["name"],
            values.get("birth_date"),
            values.get("city", ""),
            values.get("company_name", ""),
        )
    return keys


def _profile_key(name: str, birth_date: Any, city: str, company_name: str) -> str:
    return "\x1f".join((name, birth_date.isoformat() if birth_date else "", city, company_name))


def existing_matches(
    keyed: Sequence[dict[str, str]], source_name: str, *, actor: Any
) -> dict[str, dict]:
    """For each kind of key, which live customer holds each value the rows carry (the oldest
    one when several do).

    Phone, email and the name-with-details key match only customers whose personal data
    `actor` may see, the identity number only for those who may reveal it: for anyone else a
    row's outcome (updated, refused) would confirm a value they are shown masked, and an
    import would hand them a customer they cannot otherwise open. Their rows make new
    customers instead, which the duplicate scan then puts before a reviewer. The source
    system's customer id matches every customer: it is unique, and it is not a masked value
    (what the importer may not see of the customer it finds is left alone:
    `_leave_hidden_values`)."""
    wanted = {kind: {keys[kind] for keys in keyed if kind in keys} for kind in _KEY_ORDER}
    found: dict[str, dict] = {kind: {} for kind in _KEY_ORDER}
    # Each kind is looked up in two steps, each with one index that fits: the holders of the
    # values through the column's btree index, then which of them are live and in the
    # importer's scope through the primary key. Asked at once, a table the import is filling
    # (its statistics lag behind it: kernel/table_statistics.py) was planned as a walk through
    # every live customer, by the index on merged_into or on the primary key, for each batch.
    held: dict[str, list[tuple[int, str]]] = {kind: [] for kind in _KEY_ORDER}
    with planned_as_index_lookups():
        if wanted["external_id"]:
            held["external_id"] = [
                (customer_id, value)
                for value, customer_id in ExternalId.objects.filter(
                    system=source_name, external_id__any=wanted["external_id"]
                ).values_list("external_id", "customer_id")
            ]
        for kind, column in (
            ("phone", "phone"),
            ("email", "email"),
            ("id_number", "id_number_blind_index"),
        ):
            if kind == "id_number" and id_number_scope(actor) is None:
                continue  # matched only by those who may reveal identity numbers
            if wanted[kind]:
                # "<> ''" lets PostgreSQL use the partial btree index on the column.
                holding = Customer.objects.filter(**{f"{column}__any": wanted[kind]}).exclude(
                    **{column: ""}
                )
                held[kind] = [(pk, value) for value, pk in holding.values_list(column, "pk")]
        if wanted["profile"]:
            names = {key.split("\x1f", 1)[0] for key in wanted["profile"]}
            for customer_id, *details in Customer.objects.filter(name__any=names).values_list(
                "pk", "name", "birth_date", "city", "company_name"
            ):
                key = _profile_key(*details)
                if key in wanted["profile"]:
                    held["profile"].append((customer_id, key))
        live = Customer.objects.filter(merged_into__isnull=True)
        # The source system's id matches every customer; the other keys only those whose
        # personal data the importer may see.
        in_scope = live.filter(within_personal_data_scope(actor, Q()))
        for kind, holders in held.items():
            if not holders:
                continue
            customers = live if kind == "external_id" else in_scope
            kept = set(
                customers.filter(pk__any={pk for pk, _value in holders}).values_list(
                    "pk", flat=True
                )
            )
            for customer_id, value in sorted(holders):  # the oldest customer holding it wins
                if customer_id in kept:
                    found[kind].setdefault(value, customer_id)
    return found


def write_batch(rows: Sequence[PreparedRow], options: BatchOptions) -> dict[int, str]:
    """Match and write one batch of prepared rows; returns each row's outcome ("created",
    "updated", "unchanged" or "failed"), adding issues to rows that fail here. Call inside a
    transaction."""
    outcomes: dict[int, str] = {row.number: "failed" for row in rows if row.failed}
    good = [row for row in rows if not row.failed]
    keyed = [_keys(row, options.source_name) for row in good]
    in_database = existing_matches(keyed, options.source_name, actor=options.actor)
    in_batch: dict[tuple[str, str], tuple[int | _Group | EarlierRow, int]] = {}
    targets: list[int | _Group | EarlierRow] = []
    # Every key is looked up (an external id held by a customer is never linked to another),
    # but only those in `match_on` pick the customer a row writes to.
    matching = [kind for kind in _KEY_ORDER if kind in options.match_on or kind == "profile"]
    earlier = options.earlier_rows
    in_earlier_batches = (
        earlier.find({(kind, keys[kind]) for keys in keyed for kind in matching if kind in keys})
        if earlier
        else {}
    )
    for row, keys in zip(good, keyed, strict=True):
        target = None
        for kind in matching:
            if kind not in keys:
                continue
            # A customer an earlier batch of this pass would have created is, for the import
            # itself, in the database by now.
            target = in_database[kind].get(keys[kind]) or _earlier_target(
                in_earlier_batches.get((kind, keys[kind])), kind
            )
            if target is None and (kind, keys[kind]) in in_batch:
                target, first_row = in_batch[(kind, keys[kind])]
                row.add_issue(
                    kind,
                    _DUPLICATE_ROW % {"row": first_row, "key": _KEY_LABELS[kind]},
                    warning=True,
                )
            if target is not None:
                break
        if target is None:
            target = _Group()
        for kind, value in keys.items():
            in_batch.setdefault((kind, value), (target, row.number))
        if isinstance(target, _Group):
            target.rows.append(row)
        targets.append(target)
        if isinstance(target, EarlierRow):
            outcomes[row.number] = _repeat_outcome(earlier, row, target, options)

    # Locked for the batch: bulk_update writes whole fields, so no edit may slip in between.
    existing = {
        customer.pk: customer
        for customer in Customer.objects.select_for_update()
        .filter(pk__any={t for t in targets if isinstance(t, int)})
        .order_by("pk")
    }
    writer = _Writer(
        options,
        _current_tags(existing),
        linked=set(in_database["external_id"]),
        contact_phones=_contact_phones(existing),
    )
    groups: dict[int, _Group] = {}
    for row, target in zip(good, targets, strict=True):
        if isinstance(target, _Group):
            groups.setdefault(id(target), target)
        elif isinstance(target, int):
            outcomes[row.number] = writer.update_existing(existing[target], row)
            writer.stored[row.number] = existing[target]
    for group in groups.values():
        outcomes.update(writer.create(group))
    writer.save()
    for row in good:
        if row.failed:
            outcomes[row.number] = "failed"
        elif row.number in writer.stored:
            row.stored_id = writer.stored[row.number].pk
    if earlier:
        _remember_customers(earlier, good, keyed, targets, outcomes, writer.stored, options.actor)
    return outcomes


def _repeat_outcome(
    earlier: EarlierRows, row: PreparedRow, first: EarlierRow, options: BatchOptions
) -> str:
    """A row repeating a customer that an earlier batch of a pass writing nothing would have
    created: the import finds that customer and updates it, unless the row says nothing new
    (or the policy leaves matched customers alone)."""
    if options.policy == UpdatePolicy.SKIP or _said(earlier, row) == first.values:
        return "unchanged"
    return "updated"


def _said(earlier: EarlierRows, row: PreparedRow) -> bytes:
    """A digest of what a row says of its customer: its clean values, without the forms as
    typed and what follows from the others, which no update compares (`_Writer._merge`)."""
    return earlier.values_digest(
        {
            key: value
            for key, value in row.values.items()
            if not key.endswith("_raw") and key not in DERIVED_FIELDS
        }
    )


def _earlier_target(earlier: EarlierRow | None, kind: str) -> int | EarlierRow | None:
    """What a key found among the customers of earlier batches stands for, as the import
    would find it in the database by then (`existing_matches`'s rules): a customer already
    there, or one an earlier row would have created."""
    if earlier is None or not (earlier.in_scope or kind == "external_id"):
        return None
    return earlier.customer_id or earlier


def _remember_customers(
    earlier: EarlierRows,
    rows: list[PreparedRow],
    keyed: list[dict[str, str]],
    targets: list[int | _Group | EarlierRow],
    outcomes: dict[int, str],
    stored: dict[int, Customer],
    actor: Any,
) -> None:
    """Every key of this batch's rows that make a new customer, repeat one of an earlier
    batch or give one in the database a value, for the batches after this one: the import
    itself would find them in the database by then."""
    in_scope = set(
        Customer.objects.filter(pk__any={customer.pk for customer in stored.values()})
        .filter(within_personal_data_scope(actor, Q()))
        .values_list("pk", flat=True)
    )
    reveals_id_numbers = id_number_scope(actor) is not None
    remembered: list[tuple[str, str, EarlierRow]] = []
    founders: dict[int, EarlierRow | None] = {}
    for row, keys, target in zip(rows, keyed, targets, strict=True):
        first: EarlierRow | None = None
        if isinstance(target, EarlierRow):
            first = target
        elif isinstance(target, _Group):
            if id(target) not in founders:
                founder = next(
                    (member for member in target.rows if outcomes[member.number] == "created"),
                    None,
                )
                founders[id(target)] = (
                    EarlierRow(
                        founder.number,
                        _said(earlier, founder),
                        in_scope=stored[founder.number].pk in in_scope,
                    )
                    if founder
                    else None
                )
            first = founders[id(target)]
        elif outcomes[row.number] != "failed":
            first = EarlierRow(row.number, b"", customer_id=target, in_scope=target in in_scope)
        if first is not None:
            remembered.extend(
                (kind, value, first)
                for kind, value in keys.items()
                if kind != "id_number" or reveals_id_numbers
            )
    earlier.add(remembered)


def _contact_phones(existing: dict[int, Customer]) -> dict[int, set[str]]:
    """The phones each customer's contacts already hold, so a file imported again adds none."""
    phones: dict[int, set[str]] = {pk: set() for pk in existing}
    for customer_id, phone in (
        Contact.objects.filter(customer_id__in=existing)
        .exclude(phone="")
        .values_list("customer_id", "phone")
    ):
        phones[customer_id].add(phone)
    return phones


def _current_tags(existing: dict[int, Customer]) -> dict[int, set[str]]:
    tags: dict[int, set[str]] = {pk: set() for pk in existing}
    for customer_id, name in Customer.tags.through.objects.filter(
        customer_id__in=existing
    ).values_list("customer_id", "tag__name"):
        tags[customer_id].add(name)
    return tags


class _Writer:
    """Collects a batch's changes in memory and writes them with a few bulk statements."""

    def __init__(
        self,
        options: BatchOptions,
        current_tags: dict[int, set[str]],
        *,
        linked: set[str],
        contact_phones: dict[int, set[str]],
    ) -> None:
        self.options = options
        self.now = timezone.now()
        self.tags = current_tags
        self.new: list[Customer] = []
        self.new_tags: dict[int, set[str]] = {}  # by id() of a new customer
        self.new_links: list[tuple[Customer, str]] = []
        # Each updated customer by pk, with its stage moves and consents before this batch.
        self.changed: dict[int, CustomerWrite] = {}
        self.changed_fields: set[str] = set()
        self.add_tags: list[tuple[Customer, set[str]]] = []
        # Each matched customer's consents before this batch, for the consent ledger.
        self.consents_before: dict[int, dict[str, bool]] = {}
        # External ids already held (found in the database, or linked earlier in this batch).
        self.linked = linked
        # Phones held by each customer's contacts: by pk, or by id() of a new customer.
        self.contact_phones = contact_phones
        self.new_contacts: list[Contact] = []
        # The customer each row created, changed or left as it was, by row number.
        self.stored: dict[int, Customer] = {}
        # The custom fields as they stand while this batch is written (one read per batch).
        self.custom_fields = custom_values.fields_by_key(defined_fields(FieldTarget.CUSTOMER))
        self.new_customer = Blueprint(Customer)

    def create(self, group: _Group) -> dict[int, str]:
        """One new customer from a group of rows: the first row with a name founds it, the
        others are merged into it under the update policy."""
        founder = next((row for row in group.rows if row.values.get("name")), None)
        if founder is None:
            for row in group.rows:
                row.add_issue("name", _NAME_MISSING)
            return {row.number: "failed" for row in group.rows}
        customer = self._build(founder.values)
        self._keep_other_phones(customer, founder.values)
        self.stored.update(dict.fromkeys((row.number for row in group.rows), customer))
        outcomes = {founder.number: "created"}
        for row in group.rows:
            if row is not founder:
                outcomes[row.number] = "updated" if self._merge(customer, row) else "unchanged"
        return outcomes

    def _build(self, values: dict[str, Any]) -> Customer:
        customer = self.new_customer(
            **{
                key: value
                for key, value in values.items()
                if key not in ("external_id", "tags", "id_number", "custom", OTHER_PHONES)
            },
        )
        self._write_custom(customer, values.get("custom", {}), creating=True)
        customer.source_channel = values.get("source_channel") or self.options.source_channel
        customer.source_detail = values.get("source_detail") or self.options.source_name
        customer.owner = self.options.owner
        customer.import_job = self.options.job
        if customer.kind == CustomerKind.PERSON and not (
            customer.family_name or customer.given_name
        ):
            customer.family_name, customer.given_name = split_person_name(customer.name)
        apply_id_number(customer, values.get("id_number", ""))
        self.new.append(customer)
        self.new_tags[id(customer)] = set(values.get("tags", ()))
        self._link(customer, values)
        return customer

    def _link(self, customer: Customer, values: dict[str, Any]) -> bool:
        external_id = values.get("external_id")
        if not external_id or not self.options.source_name or external_id in self.linked:
            return False
        self.linked.add(external_id)
        self.new_links.append((customer, external_id))
        return True

    def update_existing(self, customer: Customer, row: PreparedRow) -> str:
        actor = self.options.actor
        if (
            not actor.has_perm("customers.view_all_customers")
            and customer.owner_id is not None
            and not works_on_behalf_of(actor, customer.owner_id)
        ):
            row.add_issue("", _OUT_OF_SCOPE)
            return "failed"
        if customer.restricted_at or customer.erased_at:
            row.add_issue("", _RESTRICTED, warning=True)
            return "unchanged"
        if self.options.policy == UpdatePolicy.SKIP:
            return "unchanged"
        before_stage = customer.lifecycle_stage
        self.consents_before.setdefault(customer.pk, consent.statuses(customer))
        self._leave_hidden_values(customer, row)
        changed = self._merge(customer, row)
        if (
            self.options.owner is not None
            and customer.owner_id is None
            and actor.has_perm("customers.view_all_customers")
        ):
            # Whoever may assign customers hands the unassigned ones this file matches to the
            # chosen owner; staff scoped to their own customers never take one over by import.
            customer.owner = self.options.owner
            changed.add("owner")
        if not changed:
            return "unchanged"
        if not customer.source_channel:
            # Where the customer came from, when nobody knew yet: this file's channel.
            customer.source_channel = self.options.source_channel
            customer.source_detail = customer.source_detail or self.options.source_name
            changed |= {"source_channel", "source_detail"}
        written = self.changed.setdefault(
            customer.pk,
            CustomerWrite(customer, consents_before=self.consents_before[customer.pk]),
        )
        written.moved_stage(before_stage)
        customer.import_job = self.options.job
        customer.updated_at = self.now
        self.changed_fields |= changed - {"tags", "external_id", "contacts"}
        return "updated"

    def _leave_hidden_values(self, customer: Customer, row: PreparedRow) -> None:
        """Take out of the row the values the importer is shown masked on this customer (the
        source system's id matched it): comparing them would make the row's outcome, updated
        or unchanged, confirm a guessed phone or identity number."""
        actor = self.options.actor
        hidden = set() if can_view_personal_data(actor, customer) else _PERSONAL_KEYS
        if id_number_scope(actor) is None:
            hidden = hidden | _ID_NUMBER_KEYS
        custom = row.values.get("custom", {})
        hidden_custom = set()
        if not can_view_personal_data(actor, customer):
            hidden_custom = {
                key
                for key in custom
                if key in self.custom_fields
                and self.custom_fields[key].sensitivity == Sensitivity.PERSONAL
            }
        if hidden_custom or any(row.values.get(key) not in _EMPTY for key in hidden):
            row.values = {key: value for key, value in row.values.items() if key not in hidden}
            if hidden_custom:
                row.values["custom"] = {
                    key: value for key, value in custom.items() if key not in hidden_custom
                }
            row.add_issue("", _HIDDEN_LEFT_ALONE, warning=True)

    def _merge(self, customer: Customer, row: PreparedRow) -> set[str]:
        """Apply a row's values to a customer under the update policy; the fields changed."""
        policy = self.options.policy
        if policy == UpdatePolicy.SKIP:
            return set()
        fill = policy == UpdatePolicy.FILL
        changed: set[str] = set()
        values = row.values
        for key, value in values.items():
            if key in (
                "external_id",
                "tags",
                "id_number",
                "id_document_kind",
                "custom",
                OTHER_PHONES,
                *DERIVED_FIELDS,
            ) or key.endswith("_raw"):
                continue
            current = getattr(customer, key)
            if fill and key in _BOOLEANS:
                # A consent the customer does not hold (never given, or withdrawn) is not an
                # empty field: only an explicit overwrite import changes it.
                continue
            if (fill and current not in _EMPTY) or current == value:
                continue
            setattr(customer, key, value)
            changed.add(key)
            if key in CONFIRMATIONS:
                setattr(customer, f"{key}_raw", values[f"{key}_raw"])
                changed.add(f"{key}_raw")
        changed.update(follow_changes(customer, changed))
        if self._write_custom(customer, values.get("custom", {}), creating=False, fill=fill):
            changed.add("custom")
        number = values.get("id_number")
        if number and not (fill and customer.id_number_encrypted):
            index = crypto.blind_index(number, context=ID_NUMBER_CONTEXT)
            if index != customer.id_number_blind_index:
                customer.id_document_kind = values["id_document_kind"]
                apply_id_number(customer, number)
                changed |= {
                    "id_document_kind",
                    "id_number_encrypted",
                    "id_number_blind_index",
                    "id_number_masked",
                    "birth_date",
                    "gender",
                }
        tags = set(values.get("tags", ()))
        have = (
            self.new_tags.get(id(customer)) if customer.pk is None else self.tags.get(customer.pk)
        )
        if have is not None and tags - have:
            if customer.pk is not None:
                self.add_tags.append((customer, tags - have))
            have |= tags
            changed.add("tags")
        if self._link(customer, values):
            changed.add("external_id")
        if self._keep_other_phones(customer, values):
            changed.add("contacts")
        return changed

    def _write_custom(
        self, customer: Customer, clean: dict[str, Any], *, creating: bool, fill: bool = False
    ) -> bool:
        """A row's custom values onto the customer (sealed when sensitive): a new customer's
        with the fields' defaults for what the row leaves out; under the fill policy only
        where the customer has no value. Whether any value changed."""
        wanted = {key: value for key, value in clean.items() if key in self.custom_fields}
        if creating:
            for key, definition in self.custom_fields.items():
                if key not in wanted and definition.default is not None:
                    wanted[key] = definition.default
        if fill:
            held = customer.custom or {}
            wanted = {key: value for key, value in wanted.items() if held.get(key) is None}
        fields = [self.custom_fields[key] for key in wanted]
        return bool(custom_values.store_values(customer, fields, wanted))

    def _keep_other_phones(self, customer: Customer, values: dict[str, Any]) -> bool:
        """A contact for each of the row's other phones that neither the customer nor one of
        its contacts holds yet (the customer named after the column the phone came from)."""
        held = self.contact_phones.setdefault(
            id(customer) if customer.pk is None else customer.pk, set()
        )
        added = False
        for header, text, phone in values.get(OTHER_PHONES, ()):
            if phone in held or phone == customer.phone:
                continue
            held.add(phone)
            self.new_contacts.append(
                Contact(
                    customer=customer,
                    name=customer.name[:_MAX_CONTACT_NAME],
                    title=header[:_MAX_CONTACT_TITLE],
                    phone=phone,
                    phone_raw=text[:_MAX_CONTACT_PHONE_RAW],
                )
            )
            added = True
        return added

    def save(self) -> None:
        if self.new:
            insert_new(Customer, self.new)
        if self.changed:
            customers = [written.customer for written in self.changed.values()]
            # Locked since they were read: a form opened before the import is now stale.
            for customer in customers:
                customer.version += 1
            Customer.objects.bulk_update(
                customers,
                [*sorted(self.changed_fields), "import_job", "version", "updated_at"],
            )
        if self.new_contacts:
            for contact in self.new_contacts:
                contact.customer_id = contact.customer.pk  # new customers have their ids now
            Contact.objects.bulk_create(self.new_contacts)
        record_customer_writes(
            self._writes(),
            actor=self.options.actor,
            consent_source=ConsentSource.IMPORT,
            evidence=f"import #{self.options.job.pk}" if self.options.job else "import",
            at=self.now,
        )

    def _writes(self) -> list[CustomerWrite]:
        """The batch's new and updated customers, with the tags and external ids it gives
        them (customers/bulk_writes.py writes what follows)."""
        writes = {id(customer): CustomerWrite(customer, created=True) for customer in self.new}
        writes.update({id(written.customer): written for written in self.changed.values()})
        tagging = [(customer, self.new_tags[id(customer)]) for customer in self.new]
        tagging += self.add_tags
        tag_ids = _tags_named(set().union(*(names for _customer, names in tagging)))
        for customer, names in tagging:
            writes[id(customer)].tag_ids.update(tag_ids[name] for name in names)
        for customer, external_id in self.new_links:
            writes[id(customer)].external_ids.append((self.options.source_name, external_id))
        return list(writes.values())


def _tags_named(names: set[str]) -> dict[str, int]:
    """The id of the tag of each name, creating the tags a file names first."""
    if not names:
        return {}
    Tag.objects.bulk_create([Tag(name=name) for name in names], ignore_conflicts=True)
    return dict(Tag.objects.filter(name__in=names).values_list("name", "pk"))
