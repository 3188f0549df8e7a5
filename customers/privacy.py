"""What customers contributes to the privacy workflows (privacy/registry.py), registered by
customers/apps.py: the customer as the data subject, the profile and its related records in
the data-subject copy, what an erasure does to them, and the retention of idle customers,
stale leads and old import reports."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from django.db.models import CharField, DateTimeField, F, Q, QuerySet, Value
from django.db.models.functions import Cast, Coalesce, Concat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from customers import events
from customers.custom_fields.models import TEXT_TYPES, FieldTarget
from customers.custom_fields.privacy import copy_columns
from customers.custom_fields.selectors import defined_fields
from customers.forms import CustomerForm
from customers.merge import survivor_of
from customers.models import (
    Contact,
    Customer,
    CustomerMerge,
    DuplicateCandidate,
    ExternalId,
    ImportIssue,
    LifecycleStage,
    LifecycleStageChange,
)
from customers.presentation import personal_masks
from customers.selectors import newest_matches, search_customers
from customers.services import ID_NUMBER_CONTEXT, record_personal_data_view, update_customer
from privacy import crypto
from privacy.consent import STATUS_FIELDS
from privacy.models import RetentionKind
from privacy.registry import (
    Column,
    CopySection,
    DataSubject,
    Erasure,
    RetentionTarget,
    Scrubber,
    display_column,
    field_column,
    register_copy_section,
    register_data_subject,
    register_not_copied,
    register_retention_target,
    register_scrubber,
    user_column,
)
from privacy.subjects.erasure import anonymise_customers

# --- the data subject ---------------------------------------------------------------------


def same_person_ids(customer_ids: Iterable[int]) -> list[int]:
    """The customers and every record merged into them, however many merges deep."""
    found = set(customer_ids)
    frontier = set(found)
    while frontier:
        frontier = (
            set(Customer.objects.filter(merged_into__in=frontier).values_list("pk", flat=True))
            - found
        )
        found |= frontier
    return sorted(found)


def _current() -> QuerySet[Customer]:
    return Customer.objects.filter(merged_into=None, erased_at=None)


def _find(user: Any, query: str, limit: int) -> QuerySet[Customer]:
    found = search_customers(user=user, query=query)
    ids = newest_matches(found.filter(erased_at=None), limit=limit)
    return Customer.objects.filter(pk__in=ids).order_by("-pk")


class CorrectionForm(CustomerForm):
    """The profile form for the corrections a data-subject request asks for. A correction is
    of what the person said about themselves; tags and the owner are the business's."""

    def __init__(self, *args, viewer: Any, **kwargs) -> None:
        super().__init__(*args, viewer=viewer, can_assign_owner=False, **kwargs)
        del self.fields["tags"]


def _correct(
    *, actor: Any, customer: Customer, expected_version: int | None, **changes: Any
) -> Customer:
    # The correction the person asked for goes through while processing is restricted.
    return update_customer(
        actor=actor,
        customer=customer,
        correcting_restricted=True,
        expected_version=expected_version,
        **changes,
    )


def _audit_form_view(user: Any, form: CorrectionForm) -> None:
    # A form showing the personal data unmasked is audited as the customer page is.
    if form.shows_personal_data_of is not None:
        record_personal_data_view(actor=user, customer=form.shows_personal_data_of)


def _survivor(pk: int) -> Customer | None:
    customer = survivor_of(pk)
    return customer if customer is not None and customer.erased_at is None else None


SUBJECT = DataSubject(
    model=Customer,
    same_person=same_person_ids,
    current=_current,
    find=_find,
    correction_form=CorrectionForm,
    correct=_correct,
    personal_masks=personal_masks,
    audit_form_view=_audit_form_view,
    survivor=_survivor,
)

# --- the copy -----------------------------------------------------------------------------


def _id_number(customer: Customer) -> str:
    # The person's own number, decrypted for them: the copy is the one place it leaves whole.
    if not customer.id_number_encrypted:
        return ""
    return crypto.decrypt(customer.id_number_encrypted, context=ID_NUMBER_CONTEXT)


_PROFILE = [
    field_column("id", gettext_lazy("record")),
    display_column("kind", gettext_lazy("kind")),
    field_column("name", gettext_lazy("name")),
    field_column("family_name", gettext_lazy("family name")),
    field_column("given_name", gettext_lazy("given name")),
    display_column("gender", gettext_lazy("gender")),
    field_column("birth_date", gettext_lazy("birth date")),
    field_column("phone", gettext_lazy("mobile phone")),
    field_column("email", gettext_lazy("email")),
    display_column("id_document_kind", gettext_lazy("identity document")),
    Column("id_number", gettext_lazy("identity number"), _id_number),
    field_column("country", gettext_lazy("country")),
    field_column("province", gettext_lazy("province")),
    field_column("city", gettext_lazy("city")),
    field_column("district", gettext_lazy("district")),
    field_column("street", gettext_lazy("street address")),
    field_column("postcode", gettext_lazy("postcode")),
    field_column("company_name", gettext_lazy("company")),
    field_column("industry", gettext_lazy("industry")),
    field_column("website", gettext_lazy("website")),
    display_column("lifecycle_stage", gettext_lazy("lifecycle stage")),
    display_column("value_grade", gettext_lazy("value grade")),
    display_column("source_channel", gettext_lazy("source")),
    field_column("source_detail", gettext_lazy("source detail")),
    user_column("owner", gettext_lazy("account owner")),
    Column("tags", gettext_lazy("tags"), lambda c: ", ".join(t.name for t in c.tags.all())),
    field_column("notes", gettext_lazy("notes")),
    field_column("consent_email", gettext_lazy("email marketing consent")),
    field_column("consent_sms", gettext_lazy("SMS marketing consent")),
    field_column("consent_phone", gettext_lazy("phone marketing consent")),
    field_column("consent_profiling", gettext_lazy("profiling consent")),
    field_column("consent_third_parties", gettext_lazy("third-party sharing consent")),
    field_column("consent_sensitive", gettext_lazy("sensitive data consent")),
    field_column("created_at", gettext_lazy("created")),
    field_column("updated_at", gettext_lazy("updated")),
    field_column("archived_at", gettext_lazy("archived")),
    field_column("restricted_at", gettext_lazy("processing restricted")),
    Column("merged_into", gettext_lazy("merged into record"), lambda c: c.merged_into_id),
]


SECTIONS = [
    CopySection(
        "profile",
        gettext_lazy("Profile"),
        10,
        Customer,
        lambda ids: (
            Customer.objects.filter(pk__in=ids)
            .select_related("owner")
            .prefetch_related("tags")
            .order_by("pk")
        ),
        _PROFILE,
    ),
    CopySection(
        "custom_fields",
        gettext_lazy("Custom fields"),
        15,
        Customer,
        lambda ids: Customer.objects.filter(pk__in=ids).exclude(custom={}).order_by("pk"),
        copy_columns(FieldTarget.CUSTOMER, [field_column("id", gettext_lazy("record"))]),
    ),
    CopySection(
        "contacts",
        gettext_lazy("Contacts"),
        20,
        Contact,
        lambda ids: Contact.objects.filter(customer__in=ids).order_by("pk"),
        [
            field_column("customer_id", gettext_lazy("record")),
            field_column("name", gettext_lazy("name")),
            field_column("title", gettext_lazy("job title")),
            display_column("decision_role", gettext_lazy("role in decisions")),
            field_column("phone", gettext_lazy("phone")),
            field_column("email", gettext_lazy("email")),
            field_column("is_primary", gettext_lazy("primary contact")),
            field_column("created_at", gettext_lazy("created")),
        ],
    ),
    CopySection(
        "external_ids",
        gettext_lazy("Ids in other systems"),
        30,
        ExternalId,
        lambda ids: ExternalId.objects.filter(customer__in=ids).order_by("pk"),
        [
            field_column("customer_id", gettext_lazy("record")),
            field_column("system", gettext_lazy("system")),
            field_column("external_id", gettext_lazy("external id")),
            field_column("created_at", gettext_lazy("created")),
        ],
    ),
    CopySection(
        "stage_history",
        gettext_lazy("Lifecycle stages"),
        100,
        LifecycleStageChange,
        lambda ids: (
            LifecycleStageChange.objects.filter(customer__in=ids)
            .select_related("changed_by")
            .order_by("changed_at", "pk")
        ),
        [
            display_column("from_stage", gettext_lazy("from")),
            display_column("to_stage", gettext_lazy("to")),
            field_column("changed_at", gettext_lazy("when")),
            user_column("changed_by", gettext_lazy("by")),
        ],
    ),
    CopySection(
        "merges",
        gettext_lazy("Duplicate records merged"),
        110,
        CustomerMerge,
        lambda ids: (
            CustomerMerge.objects.filter(survivor__in=ids)
            .select_related("actor")
            .prefetch_related("merged")
            .order_by("merged_at", "pk")
        ),
        [
            field_column("survivor_id", gettext_lazy("kept record")),
            Column(
                "merged",
                gettext_lazy("records merged into it"),
                lambda m: ", ".join(str(c.pk) for c in m.merged.all()),
            ),
            field_column("merged_at", gettext_lazy("merged")),
            user_column("actor", gettext_lazy("by")),
            field_column("undone_at", gettext_lazy("undone")),
        ],
    ),
]

# Internal bookkeeping of the duplicate search: pairs of record ids and a score; the records
# themselves are in the profile section.
NOT_COPIED = {"customers.DuplicateCandidate": "record-linkage bookkeeping"}

# --- erasure ------------------------------------------------------------------------------

# Every personal column of Customer and the value it takes; `name` becomes "#<id>".
ANONYMOUS_PROFILE: dict[str, Any] = {
    "family_name": "",
    "given_name": "",
    "name_pinyin": "",
    "name_key": "",
    "gender": "",
    "birth_date": None,
    "phone": "",
    "phone_raw": "",
    "email": "",
    "email_raw": "",
    "phone_verified": False,
    "email_verified": False,
    "id_document_kind": "",
    "id_number_encrypted": "",
    "id_number_blind_index": "",
    "id_number_masked": "",
    "city": "",
    "city_pinyin": "",
    "district": "",
    "street": "",
    "postcode": "",
    "company_name": "",
    "website": "",
    "source_detail": "",
    "notes": "",
    # Every custom value: what the business recorded about the person is theirs too.
    "custom": {},
    **dict.fromkeys(STATUS_FIELDS.values(), False),
}
# Values an import may have reported verbatim in its error report.
_RAW_VALUE_FIELDS = ("name", "phone", "phone_raw", "email", "email_raw", "street")


def _scrub_import_issues(erasure: Erasure) -> int:
    # Read before the profile is anonymised (the profile scrubber runs last).
    raw_values = set()
    people = Customer.objects.filter(pk__in=erasure.ids)
    # A custom text a report quoted as the file had it (a sealed value never is; a choice's
    # key, a number or a date is not what the cell said, and "100" is in many reports).
    texts = [
        field.key
        for field in defined_fields(FieldTarget.CUSTOMER, archived=True)
        if field.type in TEXT_TYPES
    ]
    for *values, custom in people.values_list(*_RAW_VALUE_FIELDS, "custom"):
        values += [value for key in texts if isinstance(value := (custom or {}).get(key), str)]
        raw_values.update(value for value in values if value)
    if not raw_values:
        return 0
    return ImportIssue.objects.filter(value__in=raw_values).update(value="")


def _anonymise_profiles(erasure: Erasure) -> int:
    """Anonymise the profiles, and tell subscribers (customer.erased, ids only)."""
    events.announce_erasures(erasure.ids)
    return Customer.objects.filter(pk__in=erasure.ids).update(
        **ANONYMOUS_PROFILE,
        name=Concat(Value("#"), Cast("pk", output_field=CharField())),
        erased_at=erasure.now,
        archived_at=Coalesce("archived_at", Value(erasure.now, output_field=DateTimeField())),
        updated_at=erasure.now,
        # A form opened before the erasure must not write the personal data back.
        version=F("version") + 1,
    )


# Run in the order of their keys among the other apps' scrubbers (privacy/subjects/erasure.py);
# the profile goes last, as scrubbers before it read it (import issues here, consents in privacy).
SCRUBBERS = [
    Scrubber(
        "contacts",
        20,
        lambda erasure: Contact.objects.filter(customer__in=erasure.ids).delete()[0],
        reach=lambda ids: Contact.objects.filter(customer__in=ids).count(),
    ),
    Scrubber(
        "external_ids",
        30,
        lambda erasure: ExternalId.objects.filter(customer__in=erasure.ids).delete()[0],
    ),
    Scrubber(
        "merges",
        70,
        lambda erasure: CustomerMerge.objects.filter(survivor__in=erasure.ids).update(
            survivor_before={}
        ),
    ),
    Scrubber(
        "duplicate_pairs",
        80,
        lambda erasure: DuplicateCandidate.objects.filter(
            Q(customer_a__in=erasure.ids) | Q(customer_b__in=erasure.ids)
        ).delete()[0],
    ),
    Scrubber("import_issues", 90, _scrub_import_issues),
    Scrubber("customers", 1000, _anonymise_profiles),
]

# --- retention ----------------------------------------------------------------------------


def _customers_idle_since(cutoff: datetime.datetime) -> QuerySet[Customer]:
    # Restricted customers are held for a legal reason; erased and merged ones hold nothing.
    return Customer.objects.annotate(last_seen=Coalesce("last_activity_at", "created_at")).filter(
        last_seen__lt=cutoff,
        erased_at__isnull=True,
        restricted_at__isnull=True,
        merged_into__isnull=True,
    )


def _stale_leads(cutoff: datetime.datetime) -> QuerySet:
    return _customers_idle_since(cutoff).filter(lifecycle_stage=LifecycleStage.LEAD)


def _old_import_reports(cutoff: datetime.datetime) -> QuerySet:
    return ImportIssue.objects.filter(job__created_at__lt=cutoff)


def _anonymise(ids: list[int], actor: Any) -> None:
    anonymise_customers(ids, actor=actor, reason="retention", evidence=_("Retention period ended"))


def _delete_import_issues(ids: list[int], actor: Any) -> None:
    ImportIssue.objects.filter(pk__in=ids).delete()


RETENTION_TARGETS = [
    RetentionTarget(RetentionKind.STALE_LEADS, _stale_leads, _anonymise),
    RetentionTarget(RetentionKind.INACTIVE_CUSTOMERS, _customers_idle_since, _anonymise),
    RetentionTarget(RetentionKind.IMPORT_REPORTS, _old_import_reports, _delete_import_issues),
]


def register() -> None:
    register_data_subject(SUBJECT)
    for section in SECTIONS:
        register_copy_section(section)
    for model_label, reason in NOT_COPIED.items():
        register_not_copied(model_label, reason)
    for scrubber in SCRUBBERS:
        register_scrubber(scrubber)
    for target in RETENTION_TARGETS:
        register_retention_target(target)
