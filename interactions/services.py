"""Every write to transactions, interactions and follow-ups.

Each one runs in a transaction, moves the customer's last-activity time forward and records an
audit event. Free text (interaction bodies, follow-up notes) never goes into the audit log.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.custom_fields import records as custom_values
from customers.custom_fields.models import FieldDefinition, FieldTarget
from customers.models import Contact, Customer
from customers.selectors import customers_visible_to
from customers.services import record_activity, refuse_if_erased
from interactions import events, reminders
from interactions.audit import (
    FollowUpAction,
    InteractionAction,
    ProductAction,
    TransactionAction,
)
from interactions.models import (
    ArchivedInteraction,
    FollowUp,
    Interaction,
    InteractionDirection,
    Product,
    Transaction,
    TransactionLine,
    TransactionStatus,
)
from kernel.actors import Actor
from kernel.versioning import AuditTrail, lock_version, next_version
from privacy.audit.recording import record_event, save_reference_record


@transaction.atomic
def record_transaction(
    *,
    actor: Actor,
    customer: Customer,
    occurred_at: datetime.datetime,
    channel: str,
    amount: Decimal | None = None,
    lines: Iterable[Mapping[str, Any]] = (),
    status: str = TransactionStatus.PAID,
    currency: str | None = None,
    source_system: str = "",
    external_ref: str = "",
) -> Transaction:
    """Record a purchase. `lines` are mappings with product (or description), quantity,
    unit_price and optionally discount and line_total (what the line came to, as the source
    recorded it; else quantity × unit price less the discount, to the cent); without `amount`
    the lines' totals are summed. A paid transaction counts as customer activity. Raises
    ValidationError for an empty order or for an order number already recorded from the same
    source system."""
    refuse_if_erased(customer)
    lines = [_with_line_total(line) for line in lines]
    if amount is None:
        if not lines:
            raise ValidationError({"amount": _("Enter an amount or at least one order line.")})
        amount = sum((line["line_total"] for line in lines), Decimal("0"))
    order = Transaction(
        customer=customer,
        occurred_at=occurred_at,
        channel=channel,
        status=status,
        amount=amount,
        currency=(currency or settings.DEFAULT_CURRENCY).upper(),
        source_system=(source_system or "").strip(),
        external_ref=(external_ref or "").strip(),
        recorded_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    order.full_clean(exclude=["customer", "recorded_by"])
    order.save()
    order_lines = [
        TransactionLine(
            transaction=order,
            product=line.get("product"),
            description=line.get("description", ""),
            quantity=line["quantity"],
            unit_price=line["unit_price"],
            discount=line["discount"],
            line_total=line["line_total"],
        )
        for line in lines
    ]
    for line in order_lines:
        line.full_clean(exclude=["transaction", "product"])
    TransactionLine.objects.bulk_create(order_lines)
    events.announce_transaction(order)
    if status == TransactionStatus.PAID:
        record_activity(customer_id=customer.pk, at=occurred_at, by=actor)
    record_event(
        actor=actor,
        action=TransactionAction.CREATE,
        target=customer,
        changes={
            "transaction": order.pk,
            "amount": str(order.amount),
            "currency": order.currency,
            "status": order.status,
        },
    )
    return order


@transaction.atomic
def revise_transaction(*, actor: Actor, order: Transaction, status: str, amount: Decimal) -> bool:
    """Take over what the order's source system now says it came to: its status (refunded,
    cancelled, paid again) and its amount after refunds; the lines stay as recorded. Returns
    whether anything changed. A paid order counts as the customer's activity. Audited
    (`transaction.revise`, old and new values) when something changed."""
    order = Transaction.objects.select_for_update().get(pk=order.pk)
    amount = amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    before = {"status": order.status, "amount": str(order.amount)}
    order.status, order.amount = status, amount
    after = {"status": order.status, "amount": str(order.amount)}
    if after == before:
        return False
    order.full_clean(exclude=["customer", "recorded_by", "import_job"])
    order.save(update_fields=["status", "amount"])
    if status == TransactionStatus.PAID:
        record_activity(customer_id=order.customer_id, at=order.occurred_at, by=actor)
    record_event(
        actor=actor,
        action=TransactionAction.REVISE,
        target=order.customer,
        changes={
            "transaction": order.pk,
            **{key: [before[key], after[key]] for key in after if after[key] != before[key]},
        },
    )
    return True


def _with_line_total(line: Mapping[str, Any]) -> dict[str, Any]:
    line = dict(line)
    line.setdefault("quantity", 1)
    line.setdefault("discount", Decimal(0))
    if line.get("line_total") is None:
        line["line_total"] = (
            Decimal(line["quantity"]) * Decimal(line["unit_price"]) - Decimal(line["discount"])
        ).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return line


@transaction.atomic
def record_interaction(
    *,
    actor: Actor,
    customer: Customer,
    kind: str,
    occurred_at: datetime.datetime | None = None,
    channel: str = "",
    subject: str = "",
    body: str = "",
    satisfaction: int | None = None,
    contact: Contact | None = None,
    staff: Any = None,
    direction: str = InteractionDirection.UNSAID,
    source_system: str = "",
    external_ref: str = "",
    custom: Mapping[str, Any] | None = None,
) -> Interaction:
    """Log a call, visit, complaint, note... on a customer. The staff member defaults to the
    actor; `custom` holds custom values as typed (key -> value; each field's default for the
    rest). Raises ValidationError (satisfaction outside 1–5, a contact of another customer, an
    external reference already recorded from the same source system, in the hot table or the
    archive, a bad custom value)."""
    refuse_if_erased(customer)
    if contact is not None and contact.customer_id != customer.pk:
        raise ValidationError({"contact": _("This contact belongs to another customer.")})
    staff = staff or (actor if getattr(actor, "is_authenticated", False) else None)
    interaction = Interaction(
        customer=customer,
        contact=contact,
        kind=kind,
        channel=channel,
        occurred_at=occurred_at or timezone.now(),
        direction=direction,
        subject=subject.strip(),
        body=body.strip(),
        satisfaction=satisfaction,
        staff=staff,
        source_system=source_system.strip(),
        external_ref=external_ref.strip(),
    )
    custom_audit = custom_values.write_values(
        interaction, FieldTarget.INTERACTION, custom or {}, creating=True
    )
    interaction.full_clean(exclude=["customer", "contact", "staff"])
    if (
        interaction.external_ref
        and ArchivedInteraction.objects.filter(
            source_system=interaction.source_system, external_ref=interaction.external_ref
        ).exists()
    ):
        # The hot table's unique constraint cannot see the archive: the same check, there.
        raise ValidationError(_("This interaction was recorded already (it is in the archive)."))
    interaction.save()
    events.announce_interaction(interaction)
    reminders.notify_mentions(
        actor=actor, customer=customer, text=f"{interaction.subject}\n{interaction.body}"
    )
    record_activity(customer_id=customer.pk, at=interaction.occurred_at, by=actor)
    record_event(
        actor=actor,
        action=InteractionAction.CREATE,
        target=customer,
        changes={"interaction": interaction.pk, "kind": kind, **custom_audit},
    )
    return interaction


def reveal_custom_value(
    *, actor: Actor, interaction: Interaction | ArchivedInteraction, field: FieldDefinition
) -> str:
    """A sensitive custom value of the interaction (hot or archived), for a user holding
    `reveal_national_id`; audited (`interaction.reveal_custom`, against the customer, naming
    the interaction) before it is decrypted."""
    return custom_values.reveal_value(
        actor=actor,
        record=interaction,
        field=field,
        action=InteractionAction.REVEAL_CUSTOM,
        customer=interaction.customer,
        naming={"interaction": interaction.pk},
    )


@transaction.atomic
def schedule_follow_up(
    *,
    actor: Actor,
    customer: Customer,
    title: str,
    due_at: datetime.datetime,
    assignee: Any,
    notes: str = "",
) -> FollowUp:
    """Create a follow-up task on a customer for a staff member."""
    refuse_if_erased(customer)
    follow_up = FollowUp(
        customer=customer,
        title=title.strip(),
        notes=notes.strip(),
        due_at=due_at,
        assignee=assignee,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    follow_up.full_clean(exclude=["customer", "assignee", "created_by"])
    follow_up.save()
    record_event(
        actor=actor,
        action=FollowUpAction.CREATE,
        target=customer,
        changes={"follow_up": follow_up.pk, "assignee": assignee.pk, "due_at": due_at.isoformat()},
    )
    reminders.notify_assigned(actor=actor, follow_up=follow_up)
    reminders.notify_mentions(actor=actor, customer=customer, text=follow_up.notes)
    return follow_up


def follow_up_trail(follow_up: FollowUp) -> AuditTrail:
    """Where a follow-up's changes are audited: on its customer."""
    return AuditTrail(follow_up.customer, "follow_up")


# Follow-up fields whose values the audit log may hold; the others are free text, logged as
# changed ("…") only.
_FOLLOW_UP_AUDITED_VALUES = ("due_at", "assignee")


@transaction.atomic
def update_follow_up(
    *,
    actor: Actor,
    customer: Customer,
    follow_up: FollowUp,
    expected_version: int | None = None,
    title: str,
    due_at: datetime.datetime,
    assignee: Any,
    notes: str = "",
) -> FollowUp:
    """Reschedule or reword an open follow-up of the customer, or hand it to someone else.
    Raises ValidationError for a follow-up already done or of another customer,
    EditConflictError when it changed since `expected_version`. Audited (`follow_up.update`)
    when something changed."""
    refuse_if_erased(customer)
    if follow_up.customer_id != customer.pk:
        raise ValidationError(_("This follow-up belongs to another customer."))
    trail = follow_up_trail(follow_up)
    lock_version(follow_up, expected_version=None, trail=trail)
    follow_up.refresh_from_db(fields=["done_at"])
    if follow_up.done_at is not None:
        # Said before any version check: that it is done is what the user needs to know.
        raise ValidationError(_("This follow-up is done already; it can no longer be changed."))
    lock_version(follow_up, expected_version=expected_version, trail=trail)
    values = {
        "title": title.strip(),
        "due_at": due_at,
        "assignee": assignee,
        "notes": notes.strip(),
    }
    changed = [field for field, value in values.items() if getattr(follow_up, field) != value]
    if not changed:
        return follow_up
    changes: dict[str, Any] = {"follow_up": follow_up.pk}
    for field in changed:
        old, new = getattr(follow_up, field), values[field]
        if field in _FOLLOW_UP_AUDITED_VALUES:
            changes[field] = [_audited(old), _audited(new)]
        else:
            changes[field] = ["…" if old else "", "…" if new else ""]
        setattr(follow_up, field, new)
    follow_up.full_clean(exclude=["customer", "assignee", "created_by", "done_by"])
    changes.update(next_version(follow_up, trail))
    follow_up.save(update_fields=[*changed, "version"])
    record_event(
        actor=actor, action=FollowUpAction.UPDATE, target=follow_up.customer, changes=changes
    )
    if "assignee" in changed:
        reminders.notify_assigned(actor=actor, follow_up=follow_up)
    if "notes" in changed:
        reminders.notify_mentions(actor=actor, customer=follow_up.customer, text=follow_up.notes)
    return follow_up


def snooze_follow_up(
    *,
    actor: Actor,
    follow_up: FollowUp,
    until: datetime.datetime,
    expected_version: int | None = None,
) -> FollowUp:
    """Move an open follow-up's due time to `until`, keeping everything else (update_follow_up:
    audited, version-checked; ValidationError for a done one, EditConflictError). When it
    falls due again its assignee is told again (the due notification's key holds the time)."""
    return _change_one_field(actor, follow_up, expected_version, due_at=until)


def reassign_follow_up(
    *,
    actor: Actor,
    follow_up: FollowUp,
    assignee: Any,
    expected_version: int | None = None,
) -> FollowUp:
    """Hand an open follow-up to `assignee`, who must be active, allowed to work on
    follow-ups and able to see its customer (else ValidationError: the follow-up would vanish
    from everyone's list, or show them a customer outside their scope). Audited and
    version-checked as update_follow_up; the new assignee is notified."""
    if not (
        assignee.is_active
        and assignee.has_perm("interactions.change_followup")
        and customers_visible_to(assignee).filter(pk=follow_up.customer_id).exists()
    ):
        raise ValidationError(
            {"assignee": _("This colleague cannot work on this customer's follow-ups.")}
        )
    return _change_one_field(actor, follow_up, expected_version, assignee=assignee)


def _change_one_field(
    actor: Actor, follow_up: FollowUp, expected_version: int | None, **change: Any
) -> FollowUp:
    """update_follow_up with the follow-up's other values as they are."""
    values = {
        "title": follow_up.title,
        "due_at": follow_up.due_at,
        "assignee": follow_up.assignee,
        "notes": follow_up.notes,
        **change,
    }
    return update_follow_up(
        actor=actor,
        customer=follow_up.customer,
        follow_up=follow_up,
        expected_version=expected_version,
        **values,
    )


def _audited(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return getattr(value, "pk", value)


@transaction.atomic
def complete_follow_up(*, actor: Actor, follow_up: FollowUp) -> bool:
    """Mark a follow-up done; it counts as activity on the customer. The row is locked
    first, so two people completing it at once complete it once. Returns False when it was
    done already (by someone else, or an earlier try): nothing is written then."""
    lock_version(follow_up, expected_version=None, trail=follow_up_trail(follow_up))
    follow_up.refresh_from_db(fields=["done_at", "done_by"])
    if follow_up.done_at is not None:
        return False
    follow_up.done_at = timezone.now()
    follow_up.done_by = actor if getattr(actor, "is_authenticated", False) else None
    version = next_version(follow_up, follow_up_trail(follow_up))
    follow_up.save(update_fields=["done_at", "done_by", "version"])
    record_activity(customer_id=follow_up.customer_id, at=follow_up.done_at, by=actor)
    record_event(
        actor=actor,
        action=FollowUpAction.DONE,
        target=follow_up.customer,
        changes={"follow_up": follow_up.pk, **version},
    )
    return True


@transaction.atomic
def save_product(
    *,
    actor: Actor,
    product: Product | None = None,
    expected_version: int | None = None,
    **values: Any,
) -> Product:
    """Create (product=None) or change a product: sku, name, category, price, currency,
    is_active. Audited; raises ValidationError (e.g. a SKU already used), EditConflictError for a
    change started from an older version than `expected_version`."""
    return save_reference_record(
        actor=actor,
        instance=product or Product(),
        actions=ProductAction,
        expected_version=expected_version,
        **values,
    )
