"""Every write to customers, contacts, tags and external ids.

Each service normalises its input with customers.normalize (so forms, admin, imports and tasks
store the same clean values), runs in one transaction and records one audit event whose changes
are masked for personal data.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import F, Q
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers import events
from customers.audit import ContactAction, CustomerAction, SavedViewAction, TagAction
from customers.bulk_writes import CustomerWrite, record_customer_writes
from customers.custom_fields import records as custom_values
from customers.custom_fields.models import FieldDefinition, FieldTarget
from customers.custom_fields.selectors import defined_fields
from customers.models import (
    Contact,
    Customer,
    CustomerKind,
    ExternalId,
    IdDocumentKind,
    LifecycleStage,
    SavedView,
    Tag,
)
from customers.normalize import (
    NormalizationError,
    birth_date_from_cn_id,
    gender_from_cn_id,
    name_sound,
    normalize_country,
    normalize_email,
    normalize_id_number,
    normalize_name,
    normalize_phone,
    normalize_places,
    normalize_postcode,
    normalize_province,
    normalize_website,
    parse_date,
    place_pinyin,
    split_person_name,
)
from kernel.actors import Actor
from kernel.versioning import AuditTrail, lock_version, next_version
from privacy import consent, crypto
from privacy.audit.recording import record_event, save_reference_record
from privacy.masking import mask, mask_id_number
from privacy.models import ConsentSource

ID_NUMBER_CONTEXT = "customers.Customer.id_number"

# Fields a caller may set directly (after normalisation); everything else has its own service.
# In the order the customer form shows them (customers/forms.py).
PROFILE_FIELDS = (
    "kind",
    "name",
    "family_name",
    "given_name",
    "gender",
    "birth_date",
    "phone",
    "phone_verified",
    "email",
    "email_verified",
    "country",
    "province",
    "city",
    "district",
    "street",
    "postcode",
    "company_name",
    "industry",
    "company_size",
    "website",
    "lifecycle_stage",
    "value_grade",
    "source_channel",
    "source_detail",
    "owner",
    "notes",
    "consent_email",
    "consent_sms",
    "consent_phone",
)
# A contact field and the flag saying the customer confirmed it.
CONFIRMATIONS = {"phone": "phone_verified", "email": "email_verified"}
# Kept with the name by normalise_profile; never set, shown or audited on their own.
NAME_SOUND_FIELDS = ("name_pinyin", "name_key")
# Kept with the city likewise; with the name's sound, the fields no one sets or audits.
DERIVED_FIELDS = (*NAME_SOUND_FIELDS, "city_pinyin")
# How each personal field appears in the audit log: masked the way pages mask it. Audit rows
# are never changed (not even by an erasure), so they must not hold a value that identifies
# the person: names, contact details and places keep only what a mask shows.
_AUDIT_MASK = {
    "name": "text",
    "family_name": "text",
    "given_name": "text",
    "phone": "phone",
    "phone_raw": "text",
    "email": "email",
    "email_raw": "text",
    "city": "text",
    "district": "text",
    "street": "street",
    "postcode": "postcode",
    "company_name": "text",
    "website": "text",
}
# Free text, dates of birth and secrets: the audit log says that they changed, not to what.
_AUDIT_CHANGED_ONLY = frozenset(
    {"notes", "id_number_encrypted", "birth_date", "source_detail", "restriction_reason"}
)
_AUDIT_SKIP = frozenset({"id_number_blind_index", "id_number_masked"})


def _plain(value: Any) -> Any:
    if isinstance(value, datetime.date):
        return value.isoformat()
    if hasattr(value, "pk"):
        return value.pk
    return value


def audit_diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    diff: dict[str, list[Any]] = {}
    for field, new in after.items():
        old = before.get(field)
        if field in _AUDIT_SKIP or _plain(old) == _plain(new):
            continue
        if field == "custom":
            fields = defined_fields(FieldTarget.CUSTOMER, archived=True)
            diff.update(custom_values.audit_diff(fields, old or {}, new or {}))
        elif field in _AUDIT_CHANGED_ONLY:
            diff[field] = ["…" if old else "", "…" if new else ""]
        elif field in _AUDIT_MASK:
            diff[field] = [mask(_AUDIT_MASK[field], old), mask(_AUDIT_MASK[field], new)]
        else:
            diff[field] = [_plain(old), _plain(new)]
    return diff


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _country_or_none(raw: Any) -> str | None:
    try:
        return normalize_country(raw) or None
    except NormalizationError:
        return None  # reported on the country field itself


def normalise_profile(
    values: Mapping[str, Any],
    *,
    country: str | None = None,
    province: str = "",
    settled: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Turn raw input into model field values, raising ValidationError with every field's
    message at once. Only the keys present in `values` are returned (plus the raw companions
    of phone and email, the city's pinyin, and the province a known city fills in when it is
    empty: in `values`, or else the customer's current `province`). `country` is the
    customer's current country, for values that depend on it. `settled` holds phones and
    emails, by field and text, that an import already cleaned a batch at a time
    (customers/normalize_batch.py): taken as they are, so only values cleaned by these very
    rules may be put there. Pure apart from reading settings."""
    unknown = set(values).difference(PROFILE_FIELDS, ("id_document_kind", "id_number"))
    if unknown:
        raise TypeError(f"Not profile fields: {sorted(unknown)}")
    errors: dict[str, list[Any]] = {}
    clean: dict[str, Any] = {}
    address_country = _country_or_none(values.get("country")) or country
    address_country = address_country or settings.DEFAULT_COUNTRY

    def attempt(field: str, convert: Callable[..., Any], raw: Any = None) -> None:
        answered = (settled or {}).get(field, {})
        if isinstance(raw, str) and raw in answered:
            clean[field] = answered[raw]
            return
        try:
            clean[field] = convert()
        except NormalizationError as error:
            errors.setdefault(field, []).append(ValidationError(error.message, code=error.code))

    for field, raw in values.items():
        if field == "name":
            attempt("name", lambda raw=raw: normalize_name(raw))
            if "name" in clean and not clean["name"]:
                errors.setdefault("name", []).append(
                    ValidationError(Customer._meta.get_field("name").error_messages["blank"])
                )
        elif field in ("family_name", "given_name"):
            attempt(field, lambda raw=raw: normalize_name(raw))
        elif field == "phone":
            clean["phone_raw"] = _text(raw)[:64]
            attempt(
                "phone",
                lambda raw=raw: normalize_phone(raw, region=settings.DEFAULT_PHONE_REGION),
                raw,
            )
        elif field == "email":
            clean["email_raw"] = _text(raw)[:320]
            attempt("email", lambda raw=raw: normalize_email(raw), raw)
        elif field == "birth_date":
            attempt("birth_date", lambda raw=raw: parse_date(raw))
        elif field == "postcode":
            attempt("postcode", lambda raw=raw: normalize_postcode(raw, country=address_country))
        elif field == "province":
            attempt("province", lambda raw=raw: normalize_province(raw, country=address_country))
        elif field == "website":
            attempt("website", lambda raw=raw: normalize_website(raw))
        elif field == "country":
            attempt("country", lambda raw=raw: normalize_country(raw) or settings.DEFAULT_COUNTRY)
        elif field in (
            "owner",
            *CONFIRMATIONS.values(),
            "consent_email",
            "consent_sms",
            "consent_phone",
        ):
            clean[field] = raw if field == "owner" else bool(raw)
        elif field not in ("id_document_kind", "id_number", "city"):
            clean[field] = _text(raw)

    if "id_number" in values or "id_document_kind" in values:
        kind = _text(values.get("id_document_kind"))
        number = _text(values.get("id_number"))
        if number and not kind:
            errors.setdefault("id_document_kind", []).append(
                ValidationError(
                    Customer._meta.get_field("id_document_kind").error_messages["blank"]
                )
            )
        elif number:
            attempt("id_number", lambda: normalize_id_number(kind, number))
        clean["id_document_kind"] = kind
        clean.setdefault("id_number", "")

    if "city" in values and "province" not in errors:
        attempt("city", lambda: _normalise_city(values["city"], address_country, province, clean))

    if errors:
        raise ValidationError(errors)
    if "name" in clean:
        clean["name_pinyin"], clean["name_key"] = name_sound(clean["name"])
    return clean


def _normalise_input(
    profile: Callable[[], dict[str, Any]],
    fields: list[FieldDefinition],
    custom: Mapping[str, Any],
    *,
    creating: bool,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The clean profile (`profile()`, normalise_profile) and clean custom values, raising one
    ValidationError with the problems of both, so a form shows every one at once."""
    errors: dict[str, list[ValidationError]] = {}
    clean: dict[str, Any] = {}
    custom_clean: dict[str, Any] = {}
    try:
        clean = profile()
    except ValidationError as error:
        errors.update(error.error_dict)
    try:
        custom_clean = custom_values.prepare_values(fields, custom, creating=creating)
    except ValidationError as error:
        errors.update(error.error_dict)
    if errors:
        raise ValidationError(errors)
    return clean, custom_clean


def _normalise_city(raw: Any, country: str, current_province: str, clean: dict[str, Any]) -> str:
    """The city of normalise_profile, with its pinyin and the province it fills in."""
    given_province = clean.get("province", current_province)
    province, city, clean["city_pinyin"] = normalize_places(
        country=country, province=given_province, city=raw
    )
    if province != given_province:
        clean["province"] = province
    return city


def follow_changes(customer: Customer, changed: Collection[str]) -> list[str]:
    """Set what follows from changing `changed` on the customer, for every write path: a
    changed name keeps its sound; a changed phone or email is unconfirmed unless this very
    change confirms it (a tick left over from the old value does not). Returns the fields
    that follow."""
    following: list[str] = []
    if "name" in changed:
        customer.name_pinyin, customer.name_key = name_sound(customer.name)
        following.extend(NAME_SOUND_FIELDS)
    if "city" in changed:
        customer.city_pinyin = place_pinyin(customer.city)
        following.append("city_pinyin")
    for field, flag in CONFIRMATIONS.items():
        if field in changed and getattr(customer, flag) and flag not in changed:
            setattr(customer, flag, False)
            following.append(flag)
    return following


def apply_id_number(customer: Customer, number: str) -> None:
    """Encrypt a normalised identity number onto the customer, or clear it."""
    if not number:
        customer.id_number_encrypted = ""
        customer.id_number_blind_index = ""
        customer.id_number_masked = ""
        return
    customer.id_number_encrypted = crypto.encrypt(number, context=ID_NUMBER_CONTEXT)
    customer.id_number_blind_index = crypto.blind_index(number, context=ID_NUMBER_CONTEXT)
    customer.id_number_masked = mask_id_number(number)
    if customer.id_document_kind == IdDocumentKind.CN_RESIDENT:
        # The ID card states the birth date and sex; fill them when staff left them empty.
        customer.birth_date = customer.birth_date or birth_date_from_cn_id(number)
        customer.gender = customer.gender or gender_from_cn_id(number)


def id_number_blind_index(kind: str, raw: str) -> str:
    """The blind index for exact lookup of an identity number as typed (ValidationError if
    it is not a valid number of that kind)."""
    try:
        number = normalize_id_number(kind, raw)
    except NormalizationError as error:
        raise ValidationError(error.message, code=error.code) from error
    return crypto.blind_index(number, context=ID_NUMBER_CONTEXT)


def reveal_id_number(*, actor: Actor, customer: Customer) -> str:
    """Decrypt a customer's identity number for a user holding `reveal_national_id`.

    Every reveal is audited (`customer.reveal_id`) before the number is returned; without the
    permission PermissionDenied is raised and nothing is decrypted."""
    if not actor.has_perm("customers.reveal_national_id"):
        raise PermissionDenied
    if not customer.id_number_encrypted:
        return ""
    record_event(actor=actor, action=CustomerAction.REVEAL_ID, target=customer)
    return crypto.decrypt(customer.id_number_encrypted, context=ID_NUMBER_CONTEXT)


def reveal_custom_value(*, actor: Actor, customer: Customer, field: FieldDefinition) -> str:
    """A sensitive custom value of the customer as a person reads it, for a user holding
    `reveal_national_id`; audited (`customer.reveal_custom`, naming the field) before anything
    is decrypted. "" when the customer holds no value."""
    return custom_values.reveal_value(
        actor=actor,
        record=customer,
        field=field,
        action=CustomerAction.REVEAL_CUSTOM,
        customer=customer,
    )


def record_personal_data_view(*, actor: Actor, customer: Customer) -> None:
    """Audit that `actor` was shown the customer's personal data unmasked (the customer page
    of someone allowed to see it): `customer.view_personal`, one insert."""
    record_event(actor=actor, action=CustomerAction.VIEW_PERSONAL, target=customer)


def profile_snapshot(customer: Customer) -> dict[str, Any]:
    return {
        field.attname if field.is_relation else field.name: getattr(customer, field.attname)
        for field in Customer._meta.concrete_fields
        if field.name
        not in ("id", "created_at", "updated_at", "version", "owner_active_at", *DERIVED_FIELDS)
    }


@transaction.atomic
def create_customer(
    *,
    actor: Actor,
    name: str,
    tags: Iterable[Tag] = (),
    external_ids: Iterable[tuple[str, str]] = (),
    consent_source: str = ConsentSource.STAFF,
    custom: Mapping[str, Any] | None = None,
    **profile: Any,
) -> Customer:
    """Create a customer from raw values (normalised here), with `custom` values (custom
    field key -> value as typed; the fields left out take their defaults).

    Raises ValidationError (per field, `custom.<key>` for a custom value) for invalid values;
    records `customer.create`, and the consents given in the ledger (through
    `consent_source`). Persons without explicit family/given names get them split from `name`.
    """
    fields = defined_fields(FieldTarget.CUSTOMER)
    clean, custom_clean = _normalise_input(
        lambda: normalise_profile({"name": name, **profile}), fields, custom or {}, creating=True
    )
    external_ids = list(
        dict.fromkeys((_text(system), _text(number)) for system, number in external_ids)
    )
    refuse_held_external_ids(external_ids)
    id_number = clean.pop("id_number", "")
    customer = Customer(**clean)
    if customer.kind == CustomerKind.PERSON and not (customer.family_name or customer.given_name):
        customer.family_name, customer.given_name = split_person_name(customer.name)
    apply_id_number(customer, id_number)
    custom_values.store_values(customer, fields, custom_clean)
    customer.full_clean(exclude=["owner", "merged_into"])
    customer.save()
    written = CustomerWrite(
        customer,
        created=True,
        tag_ids={tag.pk for tag in tags},
        external_ids=external_ids,
    )
    record_customer_writes([written], actor=actor, consent_source=consent_source)
    record_event(
        actor=actor,
        action=CustomerAction.CREATE,
        target=customer,
        changes=audit_diff({}, profile_snapshot(customer)),
    )
    return customer


@transaction.atomic
def update_customer(
    *,
    actor: Actor,
    customer: Customer,
    consent_source: str = ConsentSource.STAFF,
    correcting_restricted: bool = False,
    expected_version: int | None = None,
    custom: Mapping[str, Any] | None = None,
    **changes: Any,
) -> Customer:
    """Change profile fields from raw values; only fields whose value really changes are
    written and audited (`customer.update`), and then the customer's version moves on. A
    lifecycle-stage change is added to the stage history, a consent change to the consent
    ledger (through `consent_source`). `custom` changes the custom values it names (an empty
    value removes one). Raises ValidationError per field. Passing `id_number=""` removes the
    number.

    With `expected_version` (the version the editor's form started from), raises
    kernel.versioning.EditConflictError when someone saved the customer since.

    An erased customer cannot change; one whose processing is restricted only through a
    correction the person asked for (`correcting_restricted`, privacy/subjects)."""
    refuse_if_frozen(customer, correcting=correcting_restricted)
    lock_version(customer, expected_version=expected_version)
    fields = defined_fields(FieldTarget.CUSTOMER) if custom else []
    clean, custom_clean = _normalise_input(
        lambda: normalise_profile(changes, country=customer.country, province=customer.province),
        fields,
        custom or {},
        creating=False,
    )
    before = profile_snapshot(customer)
    consents_before = consent.statuses(customer)
    if "id_number" in clean:
        customer.id_document_kind = clean.pop("id_document_kind")
        apply_id_number(customer, clean.pop("id_number"))
    for field, value in clean.items():
        setattr(customer, field, value)
    custom_values.store_values(customer, fields, custom_clean)
    after = profile_snapshot(customer)
    changed = [field for field in after if _plain(after[field]) != _plain(before[field])]
    if not changed:
        return customer
    changed.extend(follow_changes(customer, changed))
    # Only what changes is validated: a value stored before a rule existed (a note longer than
    # today's limit) must not make every other edit of the customer impossible.
    unchanged = [
        field.name
        for field in Customer._meta.concrete_fields
        if field.name not in changed and field.attname not in changed
    ]
    customer.full_clean(exclude=[*unchanged, "owner", "merged_into"])
    version = next_version(customer)
    if "owner_id" in changed:
        # A new owner starts the shared pool's idle clock afresh; no owner, no clock.
        customer.owner_active_at = timezone.now() if customer.owner_id else None
        changed.append("owner_active_at")
    elif customer.owner_id is not None and customer.owner_id == getattr(actor, "pk", None):
        customer.owner_active_at = timezone.now()
        changed.append("owner_active_at")
    customer.save(update_fields=[*changed, "version", "updated_at"])
    written = CustomerWrite(customer, consents_before=consents_before)
    written.moved_stage(before["lifecycle_stage"])
    record_customer_writes([written], actor=actor, consent_source=consent_source)
    record_event(
        actor=actor,
        action=CustomerAction.UPDATE,
        target=customer,
        changes={**audit_diff(before, after), **version},
    )
    return customer


def refuse_if_erased(customer: Customer) -> None:
    """ValidationError for any new record about an erased customer: it would identify them
    again. (A restricted customer's new purchases and contacts are still recorded: storing is
    what restriction allows.)"""
    if customer.erased_at:
        raise ValidationError(_("This customer was erased: nothing about them can be recorded."))


def refuse_if_frozen(customer: Customer, *, correcting: bool = False) -> None:
    """ValidationError for a change to an erased customer's record, or to a restricted one's
    unless it is the correction the person asked for."""
    refuse_if_erased(customer)
    if customer.restricted_at and not correcting:
        raise ValidationError(
            _("Processing of this customer is restricted: ask the privacy officer.")
        )


def change_lifecycle_stage(*, actor: Actor, customer: Customer, stage: LifecycleStage) -> Customer:
    """Move a customer to another lifecycle stage (history and audit via update_customer)."""
    return update_customer(actor=actor, customer=customer, lifecycle_stage=stage)


@transaction.atomic
def archive_customer(*, actor: Actor, customer: Customer) -> Customer:
    """Hide a customer from day-to-day lists without deleting any history. Idempotent."""
    lock_version(customer, expected_version=None)
    if customer.archived_at is None:
        customer.archived_at = timezone.now()
        version = next_version(customer)
        customer.save(update_fields=["archived_at", "version", "updated_at"])
        record_event(actor=actor, action=CustomerAction.ARCHIVE, target=customer, changes=version)
        events.announce_archived(customer)
    return customer


@transaction.atomic
def restore_customer(*, actor: Actor, customer: Customer) -> Customer:
    """Bring an archived customer back. Idempotent."""
    refuse_if_frozen(customer)
    lock_version(customer, expected_version=None)
    if customer.archived_at is not None:
        customer.archived_at = None
        version = next_version(customer)
        customer.save(update_fields=["archived_at", "version", "updated_at"])
        record_event(actor=actor, action=CustomerAction.RESTORE, target=customer, changes=version)
    return customer


@transaction.atomic
def set_customer_tags(
    *, actor: Actor, customer: Customer, tags: Iterable[Tag], expected_version: int | None = None
) -> Customer:
    """Replace the customer's tags; audited, and the customer's version moves on, when they
    change. `expected_version` as for update_customer (EditConflictError)."""
    refuse_if_frozen(customer)
    lock_version(customer, expected_version=expected_version)
    new = {tag.pk: tag for tag in tags}
    old = set(customer.tags.values_list("pk", flat=True))
    if old != set(new):
        customer.tags.set(new.values())
        version = next_version(customer)
        customer.save(update_fields=["version"])
        names = dict(Tag.objects.filter(pk__in=old | set(new)).values_list("pk", "name"))
        record_event(
            actor=actor,
            action=CustomerAction.TAGS,
            target=customer,
            changes={
                "tags": [sorted(names[pk] for pk in old), sorted(t.name for t in new.values())],
                **version,
            },
        )
        events.announce_writes([], [customer])
    return customer


# Parameters that belong to one moment of one session, never to a saved view.
_TRANSIENT_LIST_PARAMETERS = frozenset({"search", "after", "csrfmiddlewaretoken"})


@transaction.atomic
def save_customer_view(*, actor: Actor, name: str, query: QueryDict, is_shared: bool) -> SavedView:
    """Save the list's current filters and order under a name for the actor (replacing a view
    of the same name). The search text and page position are left out."""
    try:
        name = normalize_name(name)
    except NormalizationError as error:
        raise ValidationError({"name": ValidationError(error.message, code=error.code)}) from error
    if not name:
        raise ValidationError({"name": _("Give the view a name.")})
    SavedView._meta.get_field("name").run_validators(name)
    kept = query.copy()
    for parameter in _TRANSIENT_LIST_PARAMETERS:
        kept.pop(parameter, None)
    view, _created = SavedView.objects.update_or_create(
        owner=actor, name=name, defaults={"query": kept.urlencode()[:1000], "is_shared": is_shared}
    )
    record_event(actor=actor, action=SavedViewAction.SAVE, target=view, changes={"name": name})
    return view


@transaction.atomic
def delete_customer_view(*, actor: Actor, view: SavedView) -> None:
    """Delete one of the actor's saved views (PermissionDenied for someone else's)."""
    if view.owner_id != actor.pk:
        raise PermissionDenied
    record_event(
        actor=actor, action=SavedViewAction.DELETE, target=view, changes={"name": view.name}
    )
    view.delete()


class BulkAction(models.TextChoices):
    ADD_TAG = "add_tag", _("Add tag")
    REMOVE_TAG = "remove_tag", _("Remove tag")
    ASSIGN_OWNER = "assign_owner", _("Assign owner")
    CHANGE_STAGE = "change_stage", _("Change lifecycle stage")


@transaction.atomic
def apply_bulk_action(
    *, actor: Actor, customers: Iterable[Customer], action: BulkAction, value: Any
) -> int:
    """Apply one action to several customers, each through the single-customer service (so
    each change is validated and audited on its customer). All or nothing: a ValidationError
    on any customer rolls the whole batch back. Returns how many customers changed."""
    changed = 0
    for customer in customers:
        if action in (BulkAction.ADD_TAG, BulkAction.REMOVE_TAG):
            tags = set(customer.tags.all())
            wanted = tags | {value} if action == BulkAction.ADD_TAG else tags - {value}
            if wanted != tags:
                set_customer_tags(actor=actor, customer=customer, tags=wanted)
                changed += 1
            continue
        field = "owner" if action == BulkAction.ASSIGN_OWNER else "lifecycle_stage"
        before = getattr(customer, field)
        update_customer(actor=actor, customer=customer, **{field: value})
        changed += getattr(customer, field) != before
    return changed


@transaction.atomic
def save_tag(
    *, actor: Actor, tag: Tag | None = None, expected_version: int | None = None, **values: Any
) -> Tag:
    """Create (tag=None) or change a tag: name, colour, group. Audited; raises
    ValidationError (e.g. a name already used), EditConflictError for a change started from an
    older version than `expected_version`."""
    return save_reference_record(
        actor=actor,
        instance=tag or Tag(),
        actions=TagAction,
        expected_version=expected_version,
        **values,
    )


@transaction.atomic
def refuse_held_external_ids(external_ids: Collection[tuple[str, str]]) -> None:
    """ValidationError when one of these (system, id) pairs is empty or already belongs to a
    customer: an id in another system names one customer here."""
    if any(not system or not number for system, number in external_ids):
        raise ValidationError(
            {"external_ids": _("Enter both the system and the id it uses for this customer.")}
        )
    held = Q(pk__in=[])
    for system, number in external_ids:
        held |= Q(system=system, external_id=number)
    if external_ids and ExternalId.objects.filter(held).exists():
        raise ValidationError(
            {"external_ids": _("This id in that system already belongs to another customer.")},
            code="unique",
        )


def add_external_id(
    *, actor: Actor, customer: Customer, system: str, external_id: str
) -> ExternalId:
    """Link the customer to its id in another system. The (system, id) pair is unique: linking
    one already held by another customer raises ValidationError."""
    refuse_if_frozen(customer)
    system, external_id = _text(system), _text(external_id)
    if not system or not external_id:
        raise ValidationError(
            {"external_id": _("Enter both the system and the id it uses for this customer.")}
        )
    existing = ExternalId.objects.filter(system=system, external_id=external_id).first()
    if existing is not None:
        if existing.customer_id == customer.pk:
            return existing
        raise ValidationError(
            {"external_id": _("This id in that system already belongs to another customer.")},
            code="unique",
        )
    link = ExternalId(customer=customer, system=system, external_id=external_id)
    link.full_clean(exclude=["customer"])
    link.save()
    record_event(
        actor=actor,
        action=CustomerAction.EXTERNAL_ID,
        target=customer,
        # The id links to the person in another system: the log keeps its shape, not its value.
        changes={"external_id": ["", f"{system}:{mask('text', external_id)}"]},
    )
    return link


def record_activity(*, customer_id: int, at: datetime.datetime, by: Actor | None = None) -> None:
    """Move the customer's last-activity time forward to `at` (never backwards), in one
    UPDATE so concurrent writers cannot lose a newer time. When `by` (who recorded it) owns
    the customer, their work also restarts the pool's idle clock (`touch_owner_activity`)."""
    Customer.objects.filter(pk=customer_id).filter(
        Q(last_activity_at__isnull=True) | Q(last_activity_at__lt=at)
    ).update(last_activity_at=at)
    if by is not None:
        touch_owner_activity(customer_id=customer_id, actor=by)


def touch_owner_activity(*, customer_id: int, actor: Actor) -> None:
    """Note that the customer's owner worked on it now (an edit, an interaction, a purchase or a
    completed follow-up they recorded): the shared pool measures idleness from here. Someone
    else's work does not count; one UPDATE, nothing when `actor` is not the owner."""
    if getattr(actor, "is_authenticated", False):
        Customer.objects.filter(pk=customer_id, owner_id=actor.pk).update(
            owner_active_at=timezone.now()
        )


@transaction.atomic
def change_owner(
    *,
    actor: Actor,
    customer: Customer,
    to_owner: Actor | None,
    expected_owner_id: int | None,
    action: models.TextChoices,
    reason: str = "",
) -> bool:
    """Give the customer to `to_owner` (None: nobody, the shared pool) if its owner is still
    `expected_owner_id`, in one conditional UPDATE: of two people taking the same customer at
    once, one changes it and the other gets False (nothing written). The new owner's idle clock
    starts now. Audited under `action` (the caller's code: a pool claim, a release), with the
    owners and `reason`. Raises ValidationError for an erased or restricted customer."""
    refuse_if_frozen(customer)
    now = timezone.now()
    changed = Customer.objects.filter(pk=customer.pk, owner_id=expected_owner_id).update(
        owner_id=to_owner.pk if to_owner is not None else None,
        owner_active_at=now if to_owner is not None else None,
        version=F("version") + 1,
        updated_at=now,
    )
    if not changed:
        return False
    customer.refresh_from_db(fields=["owner", "owner_active_at", "version", "updated_at"])
    record_event(
        actor=actor,
        action=action,
        target=customer,
        changes={
            "owner": [expected_owner_id, customer.owner_id],
            **({"reason": reason} if reason else {}),
        },
    )
    return True


def release_idle_owners(
    *, customer_ids: Collection[int], idle_before: datetime.datetime, action: models.TextChoices
) -> list[tuple[int, int]]:
    """Take these customers from their owners if the owner has still been idle since before
    `idle_before` (a customer worked on meanwhile keeps its owner), set-based: one locking read
    and one UPDATE for the batch, one audit event (`action`) naming the customers. Returns the
    (customer id, former owner id) pairs released; a retry releases nothing twice."""
    with transaction.atomic():
        released = list(
            Customer.objects.select_for_update()
            .filter(pk__in=customer_ids, owner__isnull=False, owner_active_at__lt=idle_before)
            .values_list("pk", "owner_id")
        )
        if not released:
            return []
        Customer.objects.filter(pk__in=[pk for pk, _owner in released]).update(
            owner=None, owner_active_at=None, version=F("version") + 1, updated_at=timezone.now()
        )
        record_event(
            actor=None,
            action=action,
            changes={"customers": [pk for pk, _owner in released], "count": len(released)},
        )
    return released


def _normalise_contact(values: Mapping[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[Any]] = {}
    clean: dict[str, Any] = {}
    for field, raw in values.items():
        try:
            if field == "name":
                clean["name"] = normalize_name(raw)
            elif field == "phone":
                clean["phone_raw"] = _text(raw)[:64]
                clean["phone"] = normalize_phone(raw, region=settings.DEFAULT_PHONE_REGION)
            elif field == "email":
                clean["email_raw"] = _text(raw)[:320]
                clean["email"] = normalize_email(raw)
            elif field == "is_primary":
                clean["is_primary"] = bool(raw)
            elif field in ("title", "decision_role"):
                clean[field] = _text(raw)
            else:
                raise TypeError(f"Not a contact field: {field}")
        except NormalizationError as error:
            errors.setdefault(field, []).append(ValidationError(error.message, code=error.code))
    if errors:
        raise ValidationError(errors)
    return clean


def _contact_snapshot(contact: Contact) -> dict[str, Any]:
    return {
        field: getattr(contact, field)
        for field in ("name", "title", "decision_role", "phone", "email", "is_primary")
    }


def contact_trail(contact: Contact) -> AuditTrail:
    """Where a contact person's changes are audited: on their customer."""
    return AuditTrail(contact.customer, "contact")


@transaction.atomic
def save_contact(
    *,
    actor: Actor,
    customer: Customer,
    contact: Contact | None = None,
    expected_version: int | None = None,
    **values: Any,
) -> Contact:
    """Create (contact=None) or change a contact of a customer. Making a contact primary
    demotes the previous primary one. Raises ValidationError per field, EditConflictError when
    the contact changed since `expected_version`. A change that changes nothing writes
    nothing."""
    refuse_if_frozen(customer)
    clean = _normalise_contact(values)
    creating = contact is None
    contact = contact or Contact(customer=customer)
    version: dict[str, list[int]] = {}
    if not creating:
        lock_version(contact, expected_version=expected_version, trail=contact_trail(contact))
    before = {} if creating else _contact_snapshot(contact)
    for field, value in clean.items():
        setattr(contact, field, value)
    if not creating and _contact_snapshot(contact) == before:
        return contact
    contact.full_clean(exclude=["customer"])
    if contact.is_primary:
        # The demoted contact changed too: an open form of it must not promote it back.
        customer.contacts.exclude(pk=contact.pk).filter(is_primary=True).update(
            is_primary=False, version=F("version") + 1
        )
    if not creating:
        version = next_version(contact, contact_trail(contact))
    contact.save()
    record_event(
        actor=actor,
        action=ContactAction.CREATE if creating else ContactAction.UPDATE,
        target=customer,
        changes={
            "contact": contact.pk,
            **audit_diff(before, _contact_snapshot(contact)),
            **version,
        },
    )
    return contact


@transaction.atomic
def delete_contact(*, actor: Actor, contact: Contact, expected_version: int | None = None) -> None:
    """Remove a contact person; interactions that named them keep their history. Raises
    EditConflictError when the contact changed since `expected_version` (the deletion was decided
    on what it was then)."""
    lock_version(contact, expected_version=expected_version, trail=contact_trail(contact))
    customer = contact.customer
    record_event(
        actor=actor, action=ContactAction.DELETE, target=customer, changes={"contact": contact.pk}
    )
    contact.delete()
