"""The door of a web form: what a submission writes, and the double opt-in that follows.

A submission goes through the customer import's own door (customers/imports/records.py
`upsert_records`, as the form's service account, matching by phone and email, filling empty
fields only), so normalisation, matching, the duplicate check and the audit are the import's:
a known person is completed, never duplicated, and the answer is the same whether they were
known or not. Consents other than marketing are recorded with the submission; marketing ones
wait on the submission until the person follows the link mailed to the address on record, and
are recorded then, under the privacy policy version that was in force when they asked. Each
ledger entry's evidence names the form, its version, the policy version, and the time,
address and browser of each step.

Everything a submission writes is one transaction: a crash leaves neither a customer without
its submission nor a submission without its customer. The mail is sent by the worker after the
commit; a retried task sends nothing twice (`mailed_at`)."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.mail import send_mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from customers.imports.records import WHOLE_RECORD, upsert_records
from customers.merge import survivor_of
from customers.models import Customer, ImportKind, SourceChannel, UpdatePolicy
from privacy.consent import policy_in_force, record_consent
from privacy.models import ConsentPurpose, ConsentSource
from privacy.portal.links import privacy_page_url
from webforms.attribution import Attribution
from webforms.catalogue import needs_confirmation, purpose_label
from webforms.models import FormSubmission, SubmissionOutcome, WebForm
from webforms.tokens import digest_of, new_confirmation_token

logger = logging.getLogger(__name__)

MATCH_ON = ("phone", "email")
AGENT_LENGTH = 200


@dataclass(frozen=True)
class Step:
    """One step of a person's consent: when, from which address, with which browser."""

    at: datetime.datetime
    ip_address: str | None
    user_agent: str

    def described(self) -> str:
        return _("%(when)s from %(address)s (%(browser)s)") % {
            "when": self.at.isoformat(timespec="seconds"),
            "address": self.ip_address or _("an unknown address"),
            "browser": self.user_agent[:AGENT_LENGTH] or _("an unknown browser"),
        }


@dataclass
class Received:
    """What came of a submission: its row, and its errors by field in the visitor's language
    (those that belong to no field under WHOLE_RECORD)."""

    submission: FormSubmission
    errors: dict[str, list[str]] = field(default_factory=dict)


def _evidence(submission: FormSubmission, *steps: Step) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        said = [
            _("Web form “%(form)s” (version %(version)d), privacy policy %(policy)s.")
            % {
                "form": submission.form.name,
                "version": submission.form_version,
                "policy": submission.policy.version if submission.policy else _("none in force"),
            },
            _("Submitted %(step)s.") % {"step": steps[0].described()},
        ]
        if len(steps) > 1:
            said.append(
                _("Confirmed %(step)s by the link mailed to the address on record.")
                % {"step": steps[1].described()}
            )
        return " ".join(said)


def _submitted_step(submission: FormSubmission) -> Step:
    return Step(submission.received_at, submission.ip_address, submission.user_agent)


def submit(
    *,
    form: WebForm,
    values: Mapping[str, str],
    purposes: Iterable[str],
    attribution: Attribution,
    step: Step,
    language: str,
) -> Received:
    """Take in one submission of `form` (its current version): the values of its fields
    (others are ignored), the consents ticked among those it asks, where it came from. Returns
    the stored submission and, when the values were refused, the messages per field in
    `language`; a refused submission writes no customer and no consent. Mails the
    confirmation of marketing consents after the commit (queue_confirmation_mail)."""
    asked = {entry["key"] for entry in form.fields}
    record: dict[str, Any] = {
        key: value.strip() for key, value in values.items() if key in asked and value.strip()
    }
    record["source_channel"] = attribution.channel
    record["source_detail"] = attribution.detail
    offered = {entry["purpose"] for entry in form.consents}
    chosen = [ConsentPurpose(p) for p in ConsentPurpose if p in set(purposes) & offered]
    with transaction.atomic():
        with translation.override(language):
            outcome = upsert_records(
                actor=form.service_account,
                kind=ImportKind.CUSTOMERS,
                records=[record],
                source_name=form.name,
                source_channel=SourceChannel.WEB_FORM,
                match_on=MATCH_ON,
                policy=UpdatePolicy.FILL,
            ).results[0]
            errors = {
                key if key in asked else WHOLE_RECORD: [str(message) for message in messages]
                for key, messages in outcome.errors.items()
            }
        submission = FormSubmission(
            form=form,
            form_version=form.version,
            received_at=step.at,
            language=language,
            outcome=outcome.status,
            customer_id=outcome.id,
            failed_fields=sorted(errors),
            source_channel=attribution.channel,
            source_detail=attribution.detail,
            ip_address=step.ip_address,
            user_agent=step.user_agent[:AGENT_LENGTH],
        )
        if outcome.status != SubmissionOutcome.FAILED:
            submission.policy = policy_in_force(timezone.localdate(step.at))
            submission.recorded_purposes = [p.value for p in chosen if not needs_confirmation(p)]
            submission.pending_purposes = [p.value for p in chosen if needs_confirmation(p)]
            assert outcome.id is not None  # a record that did not fail was stored
            customer = Customer.objects.get(pk=outcome.id)
            for purpose in submission.recorded_purposes:
                record_consent(
                    actor=form.service_account,
                    customer=customer,
                    purpose=purpose,
                    granted=True,
                    source=ConsentSource.FORM,
                    evidence=_evidence(submission, step),
                    policy=submission.policy,
                )
        submission.save()
        if submission.pending_purposes:
            transaction.on_commit(lambda: queue_confirmation_mail(submission.pk))
    return Received(submission, errors)


def queue_confirmation_mail(submission_id: int) -> None:
    """Have the worker mail the confirmation link; directly when no broker answers (the
    person is waiting for it)."""
    from kombu.exceptions import OperationalError

    from webforms.tasks import mail_confirmation

    try:
        mail_confirmation.delay(submission_id)
    except OperationalError:
        logger.warning("broker unreachable, mailing form confirmation %s directly", submission_id)
        mail_confirmation(submission_id)


def confirm_url(token: str) -> str:
    path = reverse("public_forms:public_form_confirm")
    return f"{settings.SITE_URL}{path}?{urlencode({'t': token})}"


def mail_confirmation(submission_id: int, *, connection: BaseEmailBackend | None = None) -> bool:
    """Mail the submission's confirmation link, in the visitor's language, to the email
    address on the customer's record: whoever confirms controls the address marketing would
    go to. The link's token is made here and stored only as its digest; it expires after
    WEBFORMS_CONFIRM_DAYS. Returns False when there is nothing to mail (mailed already,
    nothing to confirm, no address, the customer erased). A failed send raises and stores
    nothing, so the task's retry mails a fresh link. `connection`: the configured mail
    server's unless given (the demo keeps its fictional people's mail in memory)."""
    with transaction.atomic():
        submission = (
            FormSubmission.objects.select_for_update()
            .select_related("form")
            .filter(pk=submission_id, mailed_at__isnull=True)
            .first()
        )
        if submission is None or not submission.pending_purposes or not submission.customer_id:
            return False
        customer = survivor_of(submission.customer_id)
        if customer is None or customer.erased_at or not customer.email:
            return False
        token = new_confirmation_token()
        now = timezone.now()
        submission.token_digest = digest_of(token)
        submission.mailed_at = now
        submission.confirmation_expires_at = now + datetime.timedelta(
            days=settings.WEBFORMS_CONFIRM_DAYS
        )
        submission.save(update_fields=["token_digest", "mailed_at", "confirmation_expires_at"])
        with translation.override(submission.language):
            context = {
                "form": submission.form,
                "purposes": [
                    purpose_label(p, submission.language) for p in submission.pending_purposes
                ],
                "confirm_url": confirm_url(token),
                "privacy_page_url": privacy_page_url(customer),
                "days": settings.WEBFORMS_CONFIRM_DAYS,
            }
            subject = " ".join(
                render_to_string("webforms/mail/confirm_subject.txt", context).split()
            )
            body = render_to_string("webforms/mail/confirm_body.txt", context)
        send_mail(
            subject, body, settings.DEFAULT_FROM_EMAIL, [customer.email], connection=connection
        )
    return True


class Confirmation:
    """What following a confirmation link found."""

    CONFIRMED = "confirmed"
    ALREADY = "already"
    EXPIRED = "expired"
    UNKNOWN = "unknown"


def find_confirmation(token: str) -> tuple[str, FormSubmission | None]:
    """The submission a confirmation link names and what confirming it would do: Confirmation
    .CONFIRMED (it can be confirmed), ALREADY, EXPIRED or UNKNOWN (no such link, or its
    person erased)."""
    submission = (
        FormSubmission.objects.select_related("form")
        .filter(token_digest=digest_of(token))
        .exclude(token_digest="")
        .first()
    )
    if submission is None or submission.customer_id is None:
        return Confirmation.UNKNOWN, None
    if submission.confirmed_at is not None:
        return Confirmation.ALREADY, submission
    expires = submission.confirmation_expires_at
    if expires is None or expires < timezone.now():
        return Confirmation.EXPIRED, submission
    return Confirmation.CONFIRMED, submission


@transaction.atomic
def confirm(*, token: str, step: Step) -> str:
    """Confirm the marketing consents a link names: each recorded in the ledger for the
    customer (the one it was merged into, if it was), source web form, under the policy in
    force at submission, with both steps as evidence. Returns a Confirmation value; a link
    followed twice records nothing the second time."""
    state, found = find_confirmation(token)
    if found is None or state != Confirmation.CONFIRMED:
        return state
    submission = (
        # Only the submission's row: PostgreSQL cannot lock the policy's side of the outer join.
        FormSubmission.objects.select_for_update(of=("self",))
        .select_related("form__service_account", "policy")
        .get(pk=found.pk)
    )
    if submission.confirmed_at is not None:
        return Confirmation.ALREADY
    customer = survivor_of(submission.customer_id) if submission.customer_id else None
    if customer is None or customer.erased_at:
        return Confirmation.UNKNOWN
    submission.confirmed_at = step.at
    submission.confirmed_ip_address = step.ip_address
    submission.confirmed_user_agent = step.user_agent[:AGENT_LENGTH]
    submission.save(update_fields=["confirmed_at", "confirmed_ip_address", "confirmed_user_agent"])
    evidence = _evidence(submission, _submitted_step(submission), step)
    for purpose in submission.pending_purposes:
        record_consent(
            actor=submission.form.service_account,
            customer=customer,
            purpose=purpose,
            granted=True,
            source=ConsentSource.FORM,
            evidence=evidence,
            policy=submission.policy,
        )
    return Confirmation.CONFIRMED
