"""Every write to deals, pipelines and stages: one transaction and one audit event each.

Notes and lost reasons are free text: the audit log records that they changed, never their
words. Winning a deal may record its purchase (interactions.services.record_transaction) in
the same transaction, once: the deal keeps the purchase it recorded.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.custom_fields import records as custom_values
from customers.custom_fields.models import FieldDefinition, FieldTarget
from customers.models import Contact, Customer
from customers.services import refuse_if_erased
from interactions.models import SalesChannel, Transaction
from interactions.services import record_transaction
from kernel.actors import Actor
from kernel.versioning import lock_version, next_version
from privacy.audit.recording import record_event
from sales.deals import board_totals
from sales.deals.audit import DealAction
from sales.deals.defaults import NEW_PIPELINE_STAGES, add_stages
from sales.models import (
    Deal,
    DealChangeKind,
    DealLine,
    DealStageChange,
    Pipeline,
    Stage,
    StageKind,
)

# Deal fields whose values the audit log may hold; the others are free text, logged as
# changed ("…") only.
_AUDITED_VALUES = (
    "title",
    "amount",
    "currency",
    "expected_close_date",
    "pipeline",
    "stage",
    "owner",
    "contact",
)
_FREE_TEXT = ("notes", "lost_reason")


def _audited(value: Any) -> Any:
    if isinstance(value, datetime.date | Decimal):
        return str(value)
    return getattr(value, "pk", value)


def default_pipeline() -> Pipeline:
    """The pipeline new deals start in and the board opens on: the one marked default, else
    the first active one. Raises ValidationError when none is configured."""
    pipeline = (
        Pipeline.objects.filter(active=True).order_by("-is_default", "ordering", "pk").first()
    )
    if pipeline is None:
        raise ValidationError(_("No pipeline is configured: ask an administrator to add one."))
    return pipeline


def _first_open_stage(pipeline: Pipeline) -> Stage:
    stage = pipeline.stages.filter(kind=StageKind.OPEN).order_by("order", "pk").first()
    if stage is None:
        raise ValidationError(_("This pipeline has no open stage to start a deal in."))
    return stage


def _check_parts(
    *, customer: Customer, contact: Contact | None, pipeline: Pipeline, stage: Stage
) -> None:
    if contact is not None and contact.customer_id != customer.pk:
        raise ValidationError({"contact": _("This contact belongs to another customer.")})
    if stage.pipeline_id != pipeline.pk:
        raise ValidationError({"stage": _("This stage belongs to another pipeline.")})


def _record_stage_change(
    *, actor: Actor, deal: Deal, kind: str, from_stage_id: int | None, at: datetime.datetime
) -> None:
    """A step of the deal's stage history (the deal page and the customer's timeline), in the
    caller's transaction. The lost reason is copied: a later reopening clears the deal's."""
    DealStageChange.objects.create(
        deal=deal,
        kind=kind,
        from_stage_id=from_stage_id,
        to_stage_id=deal.stage_id,
        lost_reason=deal.lost_reason if kind == DealChangeKind.LOST else "",
        at=at,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
    )


def _clean_lines(lines: Iterable[Mapping[str, Any]]) -> list[DealLine]:
    cleaned = []
    for line in lines:
        row = DealLine(
            product=line["product"], quantity=line["quantity"], unit_price=line["unit_price"]
        )
        row.full_clean(exclude=["deal"])
        cleaned.append(row)
    return cleaned


@transaction.atomic
def create_deal(
    *,
    actor: Actor,
    customer: Customer,
    title: str,
    amount: Decimal | None = None,
    currency: str | None = None,
    expected_close_date: datetime.date | None = None,
    pipeline: Pipeline | None = None,
    stage: Stage | None = None,
    owner: Any = None,
    contact: Contact | None = None,
    notes: str = "",
    lines: Iterable[Mapping[str, Any]] = (),
    custom: Mapping[str, Any] | None = None,
) -> Deal:
    """Open a deal on `customer` (whom the caller checked the actor may see). Without a
    pipeline it goes into the default one, without a stage into the pipeline's first open
    stage; without an amount it is the lines' total. The owner defaults to the actor.
    `custom` holds custom values as typed (key -> value; each field's default for the rest).
    Raises ValidationError for an erased customer, a contact of another customer, a stage
    of another pipeline or a bad custom value. Audited (`deal.create`)."""
    refuse_if_erased(customer)
    pipeline = pipeline or (stage.pipeline if stage is not None else default_pipeline())
    stage = stage or _first_open_stage(pipeline)
    _check_parts(customer=customer, contact=contact, pipeline=pipeline, stage=stage)
    deal_lines = _clean_lines(lines)
    if amount is None:
        amount = sum((line.line_total for line in deal_lines), Decimal("0")).quantize(
            Decimal("0.01")
        )
    signed_in = actor if getattr(actor, "is_authenticated", False) else None
    deal = Deal(
        customer=customer,
        contact=contact,
        title=title.strip(),
        amount=amount,
        currency=(currency or settings.DEFAULT_CURRENCY).upper(),
        expected_close_date=expected_close_date,
        pipeline=pipeline,
        stage=stage,
        owner=owner if owner is not None else signed_in,
        notes=notes.strip(),
        created_by=signed_in,
    )
    custom_audit = custom_values.write_values(deal, FieldTarget.DEAL, custom or {}, creating=True)
    _close_for_stage(deal, stage, now=deal.created_at)
    deal.full_clean(exclude=["customer", "contact", "pipeline", "stage", "owner", "created_by"])
    deal.save()
    board_totals.deals_changed()
    _record_stage_change(
        actor=actor, deal=deal, kind=DealChangeKind.CREATED, from_stage_id=None, at=deal.created_at
    )
    for line in deal_lines:
        line.deal = deal
    DealLine.objects.bulk_create(deal_lines)
    record_event(
        actor=actor,
        action=DealAction.CREATED,
        target=deal,
        changes={
            "customer": customer.pk,
            "title": deal.title,
            "amount": str(deal.amount),
            "currency": deal.currency,
            "stage": stage.pk,
            "lines": len(deal_lines),
            **custom_audit,
        },
    )
    return deal


def reveal_custom_value(*, actor: Actor, deal: Deal, field: FieldDefinition) -> str:
    """A sensitive custom value of the deal, for a user holding `reveal_national_id`;
    audited (`deal.reveal_custom`, against the customer, naming the deal) before it is
    decrypted."""
    return custom_values.reveal_value(
        actor=actor,
        record=deal,
        field=field,
        action=DealAction.REVEAL_CUSTOM,
        customer=deal.customer,
        naming={"deal": deal.pk},
    )


def _close_for_stage(deal: Deal, stage: Stage, *, now: datetime.datetime) -> None:
    """Set the deal's won/lost/closed times for the kind of stage it is now in."""
    if stage.kind == StageKind.WON:
        deal.won_at = deal.won_at or now
        deal.lost_at = None
        deal.lost_reason = ""
    elif stage.kind == StageKind.LOST:
        deal.lost_at = deal.lost_at or now
        deal.won_at = None
    else:
        deal.won_at = deal.lost_at = None
        deal.lost_reason = ""
    deal.closed_at = None if stage.kind == StageKind.OPEN else (deal.closed_at or now)


@transaction.atomic
def update_deal(
    *,
    actor: Actor,
    deal: Deal,
    expected_version: int | None = None,
    lines: Iterable[Mapping[str, Any]] | None = None,
    custom: Mapping[str, Any] | None = None,
    **changes: Any,
) -> Deal:
    """Change a deal's fields (title, amount, currency, expected_close_date, owner, contact,
    notes), its custom values (`custom`: key -> value as typed, the others kept) and, when
    `lines` is given, replace its lines. The stage moves through
    move_deal_to_stage. Raises EditConflictError when the deal changed since
    `expected_version`, ValidationError for bad values. Audited (`deal.update`) when
    something changed."""
    allowed = {"title", "amount", "currency", "expected_close_date", "owner", "contact", "notes"}
    unknown = set(changes) - allowed
    if unknown:
        raise TypeError(f"update_deal() cannot change {sorted(unknown)}")
    lock_version(deal, expected_version=expected_version)
    if "contact" in changes:
        _check_parts(
            customer=deal.customer,
            contact=changes["contact"],
            pipeline=deal.pipeline,
            stage=deal.stage,
        )
    if "currency" in changes:
        changes["currency"] = (changes["currency"] or settings.DEFAULT_CURRENCY).upper()
    for text_field in ("title", "notes"):
        if text_field in changes:
            changes[text_field] = (changes[text_field] or "").strip()
    changed = [field for field, value in changes.items() if getattr(deal, field) != value]
    audit: dict[str, Any] = {}
    for field in changed:
        old, new = getattr(deal, field), changes[field]
        if field in _FREE_TEXT:
            audit[field] = ["…" if old else "", "…" if new else ""]
        else:
            audit[field] = [_audited(old), _audited(new)]
        setattr(deal, field, new)
    custom_audit = custom_values.write_values(deal, FieldTarget.DEAL, custom or {}, creating=False)
    if custom_audit:
        audit.update(custom_audit)
        changed.append("custom")
    if lines is not None:
        deal_lines = _clean_lines(lines)
        old_lines = [(ln.product_id, ln.quantity, ln.unit_price) for ln in deal.lines.all()]
        new_lines = [(ln.product_id, ln.quantity, ln.unit_price) for ln in deal_lines]
        if old_lines != new_lines:
            deal.lines.all().delete()
            for line in deal_lines:
                line.deal = deal
            DealLine.objects.bulk_create(deal_lines)
            audit["lines"] = [len(old_lines), len(new_lines)]
    if not audit:
        return deal
    deal.full_clean(exclude=["customer", "contact", "pipeline", "stage", "owner", "created_by"])
    deal.updated_at = timezone.now()
    audit.update(next_version(deal))
    deal.save(update_fields=[*changed, "updated_at", "version"])
    board_totals.deals_changed()
    record_event(actor=actor, action=DealAction.UPDATED, target=deal, changes=audit)
    return deal


@transaction.atomic
def move_deal_to_stage(
    *,
    actor: Actor,
    deal: Deal,
    stage: Stage,
    lost_reason: str = "",
    expected_version: int | None = None,
) -> Deal:
    """Move a deal to another stage of its pipeline: a won stage records when it was won, a
    lost one when it was lost and why (`lost_reason` is required then), an open one reopens
    it. Moving to the stage it is in changes nothing. Raises ValidationError for a stage of
    another pipeline or a loss without a reason. Audited (`deal.stage`, `deal.won`,
    `deal.lost` or `deal.reopen`)."""
    lock_version(deal, expected_version=expected_version)
    deal.refresh_from_db(fields=["stage", "won_at", "lost_at", "closed_at", "lost_reason"])
    if stage.pipeline_id != deal.pipeline_id:
        raise ValidationError({"stage": _("This stage belongs to another pipeline.")})
    lost_reason = (lost_reason or "").strip()
    if stage.kind == StageKind.LOST and not lost_reason:
        raise ValidationError({"lost_reason": _("Say why the deal was lost.")})
    if stage.pk == deal.stage_id and not (stage.kind == StageKind.LOST and lost_reason):
        return deal
    was_closed = deal.closed_at is not None
    old_stage_id = deal.stage_id
    deal.stage = stage
    now = timezone.now()
    _close_for_stage(deal, stage, now=now)
    if stage.kind == StageKind.LOST:
        deal.lost_reason = lost_reason
    deal.updated_at = now
    version = next_version(deal)
    deal.save(
        update_fields=[
            "stage",
            "won_at",
            "lost_at",
            "closed_at",
            "lost_reason",
            "updated_at",
            "version",
        ]
    )
    board_totals.deals_changed()
    if stage.kind == StageKind.WON:
        action, kind = DealAction.WON, DealChangeKind.WON
    elif stage.kind == StageKind.LOST:
        action, kind = DealAction.LOST, DealChangeKind.LOST
    elif was_closed:
        action, kind = DealAction.REOPENED, DealChangeKind.REOPENED
    else:
        action, kind = DealAction.STAGE_CHANGED, DealChangeKind.MOVED
    _record_stage_change(actor=actor, deal=deal, kind=kind, from_stage_id=old_stage_id, at=now)
    changes: dict[str, Any] = {"stage": [old_stage_id, stage.pk], **version}
    if stage.kind == StageKind.LOST:
        changes["lost_reason"] = "…"
    record_event(actor=actor, action=action, target=deal, changes=changes)
    return deal


def won_stage_of(pipeline: Pipeline) -> Stage:
    """The pipeline's won stage (its first, when an administrator configured several)."""
    stage = pipeline.stages.filter(kind=StageKind.WON).order_by("order", "pk").first()
    if stage is None:
        raise ValidationError(_("This pipeline has no won stage."))
    return stage


@transaction.atomic
def win_deal(
    *,
    actor: Actor,
    deal: Deal,
    record_purchase: bool = True,
    stage: Stage | None = None,
    channel: str = SalesChannel.OTHER,
    occurred_at: datetime.datetime | None = None,
) -> Transaction | None:
    """Mark the deal won (into `stage`, else its pipeline's won stage) and, with
    `record_purchase`, record its purchase (a transaction with the deal's lines, or one for
    its amount when it has none) in the same transaction. Idempotent: a deal whose purchase
    was recorded already records none again (a form posted twice records one purchase).
    Returns the deal's purchase, or None when none was recorded. Raises ValidationError
    when the purchase cannot be recorded (nothing is written then)."""
    stage = stage or won_stage_of(deal.pipeline)
    if stage.kind != StageKind.WON:
        raise ValidationError({"stage": _("Choose a won stage.")})
    move_deal_to_stage(actor=actor, deal=deal, stage=stage)
    # The lock taken by move_deal_to_stage holds until the end: a second post waits here and
    # then finds the purchase the first one recorded.
    deal.refresh_from_db(fields=["purchase"])
    if not record_purchase or deal.purchase_id is not None:
        return deal.purchase
    lines = [
        {"product": line.product, "quantity": line.quantity, "unit_price": line.unit_price}
        for line in deal.lines.select_related("product")
    ]
    purchase = record_transaction(
        actor=actor,
        customer=deal.customer,
        occurred_at=occurred_at or timezone.now(),
        channel=channel,
        amount=None if lines else deal.amount,
        lines=lines,
        currency=deal.currency,
    )
    deal.purchase = purchase
    deal.save(update_fields=["purchase"])
    record_event(
        actor=actor,
        action=DealAction.WON,
        target=deal,
        changes={"purchase": purchase.pk, "amount": str(purchase.amount)},
    )
    return purchase


# --- pipelines and stages ---------------------------------------------------------------


@transaction.atomic
def save_pipeline(
    *,
    actor: Actor,
    pipeline: Pipeline | None = None,
    name: str,
    name_zh: str = "",
    ordering: int = 0,
    is_default: bool = False,
    active: bool = True,
) -> Pipeline:
    """Create (`pipeline` None) or change a pipeline. Making one the default takes the mark
    from the previous default; the default pipeline cannot be deactivated. A new pipeline
    starts with the default stages' shape (open, won, lost) for the administrator to rename.
    Audited (`pipeline.save`)."""
    if is_default and not active:
        raise ValidationError({"active": _("The default pipeline must stay active.")})
    created = pipeline is None
    pipeline = pipeline or Pipeline()
    if is_default:
        Pipeline.objects.filter(is_default=True).exclude(pk=pipeline.pk).update(is_default=False)
    pipeline.name, pipeline.name_zh = name.strip(), name_zh.strip()
    pipeline.ordering, pipeline.is_default, pipeline.active = ordering, is_default, active
    pipeline.full_clean()
    if not created:
        lock_version(pipeline, expected_version=None)
        next_version(pipeline)
    pipeline.save()
    if created:
        add_stages(pipeline, NEW_PIPELINE_STAGES)
    record_event(
        actor=actor,
        action=DealAction.PIPELINE_SAVED,
        target=pipeline,
        changes={"name": pipeline.name, "is_default": is_default, "active": active},
    )
    return pipeline


@transaction.atomic
def save_stage(
    *,
    actor: Actor,
    pipeline: Pipeline,
    stage: Stage | None = None,
    name: str,
    name_zh: str = "",
    order: int = 0,
    win_probability: int = 0,
    kind: str = StageKind.OPEN,
) -> Stage:
    """Create (`stage` None) or change a stage of `pipeline`. A stage holding deals keeps its
    kind (the deals' won/lost times follow it). Audited (`pipeline.stage_save`)."""
    if stage is not None and stage.pipeline_id != pipeline.pk:
        raise ValidationError(_("This stage belongs to another pipeline."))
    if stage is not None and stage.kind != kind and stage.deals.exists():
        raise ValidationError({"kind": _("Deals are in this stage: its kind cannot change.")})
    stage = stage or Stage(pipeline=pipeline)
    stage.name, stage.name_zh = name.strip(), name_zh.strip()
    stage.order, stage.win_probability, stage.kind = order, win_probability, kind
    stage.full_clean(exclude=["pipeline"])
    stage.save()
    record_event(
        actor=actor,
        action=DealAction.STAGE_SAVED,
        target=pipeline,
        changes={
            "stage": stage.pk,
            "name": stage.name,
            "win_probability": win_probability,
            "kind": kind,
        },
    )
    return stage
