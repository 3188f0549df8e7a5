"""Data-subject requests, from receipt to answer: every write the privacy officer makes.

A request is logged against the customer it concerns, its identity check recorded, then
answered by the action its kind calls for (a copy, a correction, withdrawn consents, a
restriction, an erasure) and closed with the answer given to the person. Nothing is done for
the person before the identity check; every step is audited.
"""

from __future__ import annotations

import datetime
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Model
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kernel.actors import Actor
from kernel.jobs.runner import JobKind, JobRun
from kernel.models import JobStatus
from privacy.actions import DataSubjectAction, SubjectRequestAction
from privacy.audit.recording import record_event
from privacy.consent import STATUS_FIELDS, record_consent
from privacy.models import (
    COPY_LOST_AFTER,
    ConsentPurpose,
    ConsentSource,
    DataSubjectRequest,
    RequestChannel,
    RequestKind,
    RequestStatus,
    SubjectCopy,
    VerificationMethod,
)
from privacy.registry import data_subject
from privacy.subjects.copy import write_copy
from privacy.subjects.erasure import anonymise_customers

COPY_FOLDER = "subject-copies"
# Acting on a request, whatever its kind; logging one.
HANDLE_PERMISSION = "privacy.change_datasubjectrequest"
ADD_PERMISSION = "privacy.add_datasubjectrequest"


def _require(actor: Actor, permission: str = HANDLE_PERMISSION) -> None:
    if not actor.has_perm(permission):
        raise PermissionDenied


def _audit(
    actor: Actor, request: DataSubjectRequest, action: SubjectRequestAction, **facts: Any
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
    actor: Actor,
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
    # The ignored misc error: the field names customers.Customer, which privacy may not import
    # (pyproject.toml, contract "layers"); the registered subject model is that one.
    request = DataSubjectRequest(
        customer=customer,  # type: ignore[misc]
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


# Who logged and verified a request the person made on their privacy page (privacy/portal).
PRIVACY_PAGE_ACTOR = "privacy page"


@transaction.atomic
def request_from_privacy_page(
    *, customer: Model, kind: str, details: str = ""
) -> tuple[DataSubjectRequest, bool]:
    """A request the person makes on their own privacy page, reached through a signed link
    to the address on record: it enters the queue with that link as its identity check
    (verified at receipt). An open request of the same kind from that page is returned
    instead of a second one (the bool says whether it is new)."""
    if kind not in (RequestKind.ACCESS, RequestKind.ERASURE):
        raise ValueError(kind)
    customer = type(customer).objects.select_for_update().get(pk=customer.pk)
    already = DataSubjectRequest.objects.filter(
        customer_id=customer.pk,
        kind=kind,
        channel=RequestChannel.PRIVACY_PAGE,
        status__in=DataSubjectRequest.OPEN,
    ).first()
    if already is not None:
        return already, False
    now = timezone.now()
    request = DataSubjectRequest(
        customer=customer,  # type: ignore[misc]  # see log_request
        kind=kind,
        channel=RequestChannel.PRIVACY_PAGE,
        details=details.strip(),
        received_at=now,
        due_on=due_date(now),
        status=RequestStatus.VERIFIED,
        verification_method=VerificationMethod.SIGNED_LINK,
        verified_at=now,
    )
    # Logged by nobody on the staff: the person asked themself.
    request.full_clean(exclude=["created_by"])
    request.save()
    for action in (SubjectRequestAction.CREATE, SubjectRequestAction.VERIFY):
        record_event(
            actor=None,
            actor_label=PRIVACY_PAGE_ACTOR,
            action=action,
            target=request,
            changes={"kind": request.kind, "customer": request.customer_id},
        )
    return request, True


def _lock_open(request: DataSubjectRequest, *, verified: bool) -> DataSubjectRequest:
    request = DataSubjectRequest.objects.select_for_update().get(pk=request.pk)
    if not request.is_open:
        raise ValidationError(_("This request is already closed."))
    if verified and not request.is_verified:
        raise ValidationError(_("Verify the person's identity before acting on the request."))
    return request


@transaction.atomic
def verify_identity(
    *, actor: Actor, request: DataSubjectRequest, method: str, note: str = ""
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
    actor: Actor,
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
def reject_request(*, actor: Actor, request: DataSubjectRequest, reason: str) -> DataSubjectRequest:
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
    *, actor: Actor, request: DataSubjectRequest, resolution: str
) -> DataSubjectRequest:
    """Close a verified request with the answer given. An access request needs its copy."""
    _require(actor)
    request = _lock_open(request, verified=True)
    if (
        request.kind == RequestKind.ACCESS
        and not request.copies.filter(status=JobStatus.DONE).exists()
    ):
        raise ValidationError(_("Prepare the copy of the data before closing the request."))
    return _close(
        actor, request, RequestStatus.COMPLETED, resolution, SubjectRequestAction.COMPLETE
    )


# --- Access and copy ---------------------------------------------------------------------------


@transaction.atomic
def request_copy(*, actor: Actor, request: DataSubjectRequest) -> SubjectCopy:
    """Ask the worker for the ZIP of everything held about the customer; while a copy is being
    prepared, asking again returns it."""
    _require(actor)
    request = _lock_open(request, verified=True)
    if request.kind != RequestKind.ACCESS:
        raise ValidationError(_("Only an access request is answered with a copy."))
    pending = SUBJECT_COPIES.active_for(request)
    if pending is not None:
        return pending
    copy = SubjectCopy.objects.create(
        request=request,
        created_by=actor,
        status=JobStatus.QUEUED,
        # The worker writes the headings in the language of the officer who asked.
        language=translation.get_language() or settings.LANGUAGE_CODE,
    )
    _audit(actor, request, SubjectRequestAction.COPY_REQUEST)
    SUBJECT_COPIES.enqueue(copy)
    return copy


class SubjectCopyKind(JobKind[SubjectCopy]):
    """Writing a copy: one customer's records, in seconds. A copy whose worker died is written
    again from the start; one never taken up is given up after COPY_LOST_AFTER, so that the
    officer may ask again."""

    model = SubjectCopy
    audit_prefix = "subject_copy"
    time_limit = COPY_LOST_AFTER
    given_up_reason = gettext_lazy(
        "The copy was not prepared: the worker preparing it stopped. Prepare it again."
    )
    unexpected_failure = gettext_lazy(
        "The copy could not be prepared; try again or ask an administrator."
    )
    seen_with = (HANDLE_PERMISSION,)

    def work(self, run: JobRun[SubjectCopy]) -> None:
        copy = run.job
        name = f"{COPY_FOLDER}/{copy.request_id}-{secrets.token_hex(8)}.zip"
        path = Path(default_storage.path(name))
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            copy.counts = write_copy(copy.request.customer, path, request=copy.request)
            run.check()
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        copy.file.name = name

    def finishing(self, job: SubjectCopy, status: str) -> None:
        if status != JobStatus.DONE:
            return
        # Only the newest copy is kept: it holds everything the older ones did.
        older = dict(
            job.request.copies.exclude(pk=job.pk).exclude(file="").values_list("pk", "file")
        )
        SubjectCopy.objects.filter(pk__in=older).update(file="")
        names = list(older.values())

        def delete_files() -> None:
            for name in names:
                default_storage.delete(name)

        transaction.on_commit(delete_files)

    def audit_changes(self, job: SubjectCopy) -> dict[str, Any]:
        return {"request": job.request_id, "customer": job.request.customer_id, "rows": job.counts}

    def page_url(self, job: SubjectCopy, user: Actor) -> str | None:
        return reverse("subjects:detail", args=[job.request_id])

    def active_for(self, request: DataSubjectRequest) -> SubjectCopy | None:
        """The copy of `request` being prepared, if any (one given up is not)."""
        self.give_up_silent()
        return request.copies.filter(status__in=SubjectCopy.ACTIVE).first()


SUBJECT_COPIES = SubjectCopyKind()


@dataclass(frozen=True)
class CopyState:
    """What the request page shows of its copies: the latest asked for (being prepared, or
    failed), and the latest prepared, which stays downloadable until a newer one is."""

    latest: SubjectCopy | None
    prepared: SubjectCopy | None


def copy_state(request: DataSubjectRequest) -> CopyState:
    SUBJECT_COPIES.give_up_silent()
    copies = request.copies.order_by("-created_at", "-pk")
    return CopyState(latest=copies.first(), prepared=copies.filter(status=JobStatus.DONE).first())


def record_copy_download(*, actor: Actor, request: DataSubjectRequest) -> None:
    _require(actor)
    _audit(actor, request, SubjectRequestAction.COPY_DOWNLOAD)


def delete_expired_copies(*, now: datetime.datetime | None = None) -> int:
    """Copies hold everything about a person: they go EXPORT_RETENTION_DAYS after being
    prepared, like exports."""
    cutoff = (now or timezone.now()) - datetime.timedelta(days=settings.EXPORT_RETENTION_DAYS)
    deleted = 0
    expired = SubjectCopy.objects.filter(finished_at__lt=cutoff).exclude(file="")
    for pk, name in expired.values_list("pk", "file"):
        default_storage.delete(name)
        SubjectCopy.objects.filter(pk=pk).update(file="")
        deleted += 1
    return deleted


# --- Correction, consent, restriction, erasure ------------------------------------------------


def correct_customer(
    *,
    actor: Actor,
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
            customer=subject.model._default_manager.select_for_update().get(pk=request.customer_id),
            expected_version=expected_version,
            **changes,
        )
        _audit(actor, request, SubjectRequestAction.CORRECT, fields=sorted(changes))
    return customer


@transaction.atomic
def withdraw_consents(
    *, actor: Actor, request: DataSubjectRequest, purposes: list[str], resolution: str
) -> DataSubjectRequest:
    """Withdraw the chosen consents in the ledger (evidence: this request) and close it."""
    _require(actor)
    request = _lock_open(request, verified=True)
    if request.kind != RequestKind.WITHDRAW_CONSENT:
        raise ValidationError(_("Only a withdrawal request withdraws consents."))
    if not purposes:
        raise ValidationError({"purposes": _("Choose the consents to withdraw.")})
    customer = data_subject().model._default_manager.select_for_update().get(pk=request.customer_id)
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
    *, actor: Actor, request: DataSubjectRequest, reason: str, resolution: str
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
        # The ignored union-attr: the subject's restriction_reason is a column, not a relation.
        model._meta.get_field("restriction_reason").run_validators(reason)  # type: ignore[union-attr]
    except ValidationError as error:
        raise ValidationError({"reason": error.error_list}) from error
    updated = model._default_manager.filter(pk=request.customer_id, restricted_at=None).update(
        restricted_at=timezone.now(), restriction_reason=reason
    )
    if updated:
        record_event(actor=actor, action=DataSubjectAction.RESTRICT, target=request.customer)
    return _close(
        actor, request, RequestStatus.COMPLETED, resolution, SubjectRequestAction.COMPLETE
    )


@transaction.atomic
def lift_restriction(*, actor: Actor, customer: Model) -> Model:
    """Let the customer be processed again (the reason for the restriction has gone)."""
    _require(actor)
    if (
        data_subject()
        .model._default_manager.filter(pk=customer.pk)
        .exclude(restricted_at=None)
        .update(restricted_at=None, restriction_reason="")
    ):
        record_event(actor=actor, action=DataSubjectAction.LIFT_RESTRICTION, target=customer)
    customer.refresh_from_db(fields=["restricted_at", "restriction_reason"])
    return customer


@transaction.atomic
def erase_for_request(
    *, actor: Actor, request: DataSubjectRequest, resolution: str
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
