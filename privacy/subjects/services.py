"""Data-subject requests, from receipt to answer: every write the privacy officer makes.

A request is logged against the customer it concerns, its identity check recorded, then
answered by the action its kind calls for (a copy, a correction, withdrawn consents, a
restriction, an erasure) and closed with the answer given to the person. Nothing is done for
the person before the identity check; every step is audited.
"""

from __future__ import annotations

import datetime
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Model
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from privacy.actions import DataSubjectAction, SubjectRequestAction
from privacy.audit.recording import record_event
from privacy.consent import STATUS_FIELDS, record_consent
from privacy.models import (
    ConsentPurpose,
    ConsentSource,
    DataSubjectRequest,
    RequestKind,
    RequestStatus,
)
from privacy.registry import data_subject
from privacy.subjects.copy import write_copy
from privacy.subjects.erasure import anonymise_customers

COPY_FOLDER = "subject-copies"
# Acting on a request, whatever its kind; logging one.
HANDLE_PERMISSION = "privacy.change_datasubjectrequest"
ADD_PERMISSION = "privacy.add_datasubjectrequest"


def _require(actor: Any, permission: str = HANDLE_PERMISSION) -> None:
    if not actor.has_perm(permission):
        raise PermissionDenied


def _audit(
    actor: Any, request: DataSubjectRequest, action: SubjectRequestAction, **facts: Any
) -> None:
    record_event(
        actor=actor,
        action=action,
        target=request,
        changes={"kind": request.kind, "customer": request.customer_id, **facts},
    )


def due_date(received_at: datetime.datetime) -> datetime.date:
    return timezone.localdate(received_at) + datetime.timedelta(days=settings.DATA_REQUEST_DUE_DAYS)


@transaction.atomic
def log_request(
    *,
    actor: Any,
    customer: Model,
    kind: str,
    channel: str,
    details: str = "",
    received_at: datetime.datetime | None = None,
) -> DataSubjectRequest:
    """Put a request in the queue, due DATA_REQUEST_DUE_DAYS after it was received."""
    _require(actor, ADD_PERMISSION)
    received_at = received_at or timezone.now()
    if received_at > timezone.now():
        raise ValidationError({"received_at": _("A request cannot be received in the future.")})
    request = DataSubjectRequest(
        customer=customer,
        kind=kind,
        channel=channel,
        details=details.strip(),
        received_at=received_at,
        due_on=due_date(received_at),
        created_by=actor,
    )
    request.full_clean()
    request.save()
    _audit(actor, request, SubjectRequestAction.CREATE)
    return request


def _lock_open(request: DataSubjectRequest, *, verified: bool) -> DataSubjectRequest:
    request = DataSubjectRequest.objects.select_for_update().get(pk=request.pk)
    if not request.is_open:
        raise ValidationError(_("This request is already closed."))
    if verified and not request.is_verified:
        raise ValidationError(_("Verify the person's identity before acting on the request."))
    return request


@transaction.atomic
def verify_identity(
    *, actor: Any, request: DataSubjectRequest, method: str, note: str = ""
) -> DataSubjectRequest:
    """Record how the requester was confirmed to be the customer; the request can then be
    acted on."""
    _require(actor)
    request = _lock_open(request, verified=False)
    if request.is_verified:
        raise ValidationError(_("The identity was already verified."))
    request.status = RequestStatus.VERIFIED
    request.verification_method = method
    request.verification_note = note.strip()
    request.verified_at = timezone.now()
    request.verified_by = actor
    request.full_clean()
    request.save()
    _audit(actor, request, SubjectRequestAction.VERIFY, method=method)
    return request


def _close(
    actor: Any,
    request: DataSubjectRequest,
    status: str,
    resolution: str,
    action: SubjectRequestAction,
) -> DataSubjectRequest:
    if not resolution.strip():
        raise ValidationError({"resolution": _("Write the answer given to the person.")})
    request.status = status
    request.resolution = resolution.strip()
    request.closed_at = timezone.now()
    request.closed_by = actor
    request.full_clean()
    request.save()
    _audit(actor, request, action)
    return request


@transaction.atomic
def reject_request(*, actor: Any, request: DataSubjectRequest, reason: str) -> DataSubjectRequest:
    """Refuse a request (identity not confirmed, manifestly unfounded...), with the reason
    given to the person."""
    _require(actor)
    return _close(
        actor,
        _lock_open(request, verified=False),
        RequestStatus.REJECTED,
        reason,
        SubjectRequestAction.REJECT,
    )


@transaction.atomic
def complete_request(
    *, actor: Any, request: DataSubjectRequest, resolution: str
) -> DataSubjectRequest:
    """Close a verified request with the answer given. An access request needs its copy."""
    _require(actor)
    request = _lock_open(request, verified=True)
    if request.kind == RequestKind.ACCESS and not request.copy_prepared_at:
        raise ValidationError(_("Prepare the copy of the data before closing the request."))
    return _close(
        actor, request, RequestStatus.COMPLETED, resolution, SubjectRequestAction.COMPLETE
    )


# --- Access and copy ---------------------------------------------------------------------------


@transaction.atomic
def request_copy(*, actor: Any, request: DataSubjectRequest) -> DataSubjectRequest:
    """Ask the worker for the ZIP of everything held about the customer."""
    # Imported here: the task module imports this one.
    from privacy.subjects.tasks import prepare_subject_copy

    _require(actor)
    request = _lock_open(request, verified=True)
    if request.kind != RequestKind.ACCESS:
        raise ValidationError(_("Only an access request is answered with a copy."))
    if request.copy_pending and not request.copy_lost:
        return request
    request.copy_requested_at = timezone.now()
    request.copy_prepared_at = None
    request.copy_failure = ""
    request.save()
    _audit(actor, request, SubjectRequestAction.COPY_REQUEST)
    # The worker writes the headings in the language of the officer who asked.
    language = translation.get_language() or settings.LANGUAGE_CODE
    transaction.on_commit(lambda: prepare_subject_copy.delay(request.pk, language))
    return request


def prepare_copy(request_id: int) -> None:
    """Write the copy (the worker's side of request_copy). A second delivery finds the copy
    prepared and does nothing; a failure is recorded on the request for the officer."""
    request = DataSubjectRequest.objects.select_related("customer").filter(pk=request_id).first()
    if request is None or not request.copy_pending:
        return
    name = f"{COPY_FOLDER}/{request.pk}-{secrets.token_hex(8)}.zip"
    path = Path(default_storage.path(name))
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        counts = write_copy(request.customer, path, request=request)
    except Exception:
        path.unlink(missing_ok=True)
        DataSubjectRequest.objects.filter(pk=request.pk).update(
            copy_failure=_("The copy could not be prepared; try again or ask an administrator.")
        )
        raise
    with transaction.atomic():
        locked = DataSubjectRequest.objects.select_for_update().get(pk=request.pk)
        if not locked.copy_pending:
            path.unlink(missing_ok=True)
            return
        old = locked.copy_file.name
        locked.copy_file.name = name
        locked.copy_prepared_at = timezone.now()
        locked.save(update_fields=["copy_file", "copy_prepared_at"])
        record_event(
            actor=None,
            action=SubjectRequestAction.COPY_PREPARED,
            target=locked,
            changes={"customer": locked.customer_id, "rows": counts},
        )
    if old:
        default_storage.delete(old)


def record_copy_download(*, actor: Any, request: DataSubjectRequest) -> None:
    _require(actor)
    _audit(actor, request, SubjectRequestAction.COPY_DOWNLOAD)


def delete_expired_copies(*, now: datetime.datetime | None = None) -> int:
    """Copies hold everything about a person: they go EXPORT_RETENTION_DAYS after being
    prepared, like exports."""
    cutoff = (now or timezone.now()) - datetime.timedelta(days=settings.EXPORT_RETENTION_DAYS)
    deleted = 0
    for request in DataSubjectRequest.objects.filter(copy_prepared_at__lt=cutoff).exclude(
        copy_file=""
    ):
        default_storage.delete(request.copy_file.name)
        DataSubjectRequest.objects.filter(pk=request.pk).update(copy_file="")
        deleted += 1
    return deleted


# --- Correction, consent, restriction, erasure ------------------------------------------------


def correct_customer(
    *,
    actor: Any,
    request: DataSubjectRequest,
    expected_version: int | None = None,
    **changes: Any,
) -> Model:
    """Apply the corrections the person asked for (through the one write path, so the change
    is normalised, validated and audited); allowed while processing is restricted. Raises
    kernel.versioning.EditConflictError when the customer changed since `expected_version`."""
    _require(actor)
    subject = data_subject()
    with transaction.atomic():
        request = _lock_open(request, verified=True)
        if request.kind != RequestKind.CORRECTION:
            raise ValidationError(_("Only a correction request changes the profile."))
        customer = subject.correct(
            actor=actor,
            customer=subject.model.objects.select_for_update().get(pk=request.customer_id),
            expected_version=expected_version,
            **changes,
        )
        _audit(actor, request, SubjectRequestAction.CORRECT, fields=sorted(changes))
    return customer


@transaction.atomic
def withdraw_consents(
    *, actor: Any, request: DataSubjectRequest, purposes: list[str], resolution: str
) -> DataSubjectRequest:
    """Withdraw the chosen consents in the ledger (evidence: this request) and close it."""
    _require(actor)
    request = _lock_open(request, verified=True)
    if request.kind != RequestKind.WITHDRAW_CONSENT:
        raise ValidationError(_("Only a withdrawal request withdraws consents."))
    if not purposes:
        raise ValidationError({"purposes": _("Choose the consents to withdraw.")})
    customer = data_subject().model.objects.select_for_update().get(pk=request.customer_id)
    evidence = _("Data-subject request #%(request)s") % {"request": request.pk}
    for purpose in purposes:
        if getattr(customer, STATUS_FIELDS[ConsentPurpose(purpose)]):
            record_consent(
                actor=actor,
                customer=customer,
                purpose=purpose,
                granted=False,
                source=ConsentSource.STAFF,
                evidence=evidence,
            )
    return _close(
        actor, request, RequestStatus.COMPLETED, resolution, SubjectRequestAction.COMPLETE
    )


@transaction.atomic
def restrict_processing(
    *, actor: Any, request: DataSubjectRequest, reason: str, resolution: str
) -> DataSubjectRequest:
    """Keep the customer's data but stop processing it (a restriction request, or an erasure
    the law forbids: then `reason` names the obligation), and close the request."""
    _require(actor)
    request = _lock_open(request, verified=True)
    if request.kind not in (RequestKind.RESTRICTION, RequestKind.ERASURE):
        raise ValidationError(_("Only a restriction or erasure request restricts processing."))
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("Say why processing is restricted.")})
    model = data_subject().model
    try:
        model._meta.get_field("restriction_reason").run_validators(reason)
    except ValidationError as error:
        raise ValidationError({"reason": error.error_list}) from error
    updated = model.objects.filter(pk=request.customer_id, restricted_at=None).update(
        restricted_at=timezone.now(), restriction_reason=reason
    )
    if updated:
        record_event(actor=actor, action=DataSubjectAction.RESTRICT, target=request.customer)
    return _close(
        actor, request, RequestStatus.COMPLETED, resolution, SubjectRequestAction.COMPLETE
    )


@transaction.atomic
def lift_restriction(*, actor: Any, customer: Model) -> Model:
    """Let the customer be processed again (the reason for the restriction has gone)."""
    _require(actor)
    if (
        data_subject()
        .model.objects.filter(pk=customer.pk)
        .exclude(restricted_at=None)
        .update(restricted_at=None, restriction_reason="")
    ):
        record_event(actor=actor, action=DataSubjectAction.LIFT_RESTRICTION, target=customer)
    customer.refresh_from_db(fields=["restricted_at", "restriction_reason"])
    return customer


@transaction.atomic
def erase_for_request(
    *, actor: Any, request: DataSubjectRequest, resolution: str
) -> dict[str, int]:
    """Anonymise the customer (and the records merged into them) and close the request;
    returns how many rows of each kind changed."""
    _require(actor)
    request = _lock_open(request, verified=True)
    if request.kind != RequestKind.ERASURE:
        raise ValidationError(_("Only an erasure request erases a customer."))
    if not resolution.strip():
        raise ValidationError({"resolution": _("Write the answer given to the person.")})
    counts = anonymise_customers(
        [request.customer_id],
        actor=actor,
        reason="request",
        evidence=_("Erased on data-subject request #%(request)s") % {"request": request.pk},
    )
    request.refresh_from_db()
    _close(actor, request, RequestStatus.COMPLETED, resolution, SubjectRequestAction.COMPLETE)
    return counts
