"""Privacy policy versions: the privacy officer publishes each version ahead of the day it takes
effect and may correct it until then. From that day consents are recorded under it
(consent.policy_in_force), so it is the evidence of what those customers agreed to and never
changes again."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from privacy.actions import PrivacyPolicyAction
from privacy.audit.recording import save_reference_record
from privacy.consent import policy_in_force
from privacy.models import ConsentRecord, PrivacyPolicy

ADD_PERMISSION = "privacy.add_privacypolicy"
CHANGE_PERMISSION = "privacy.change_privacypolicy"


@dataclass(frozen=True)
class PolicyVersion:
    """A version as the officer's pages show it: where it stands today and the consents
    recorded under it."""

    policy: PrivacyPolicy
    status: str
    given: int
    withdrawn: int

    IN_FORCE, SCHEDULED, SUPERSEDED = "in_force", "scheduled", "superseded"


def policy_versions() -> list[PolicyVersion]:
    """Every version, the newest effective date first, each with its status today and how
    many consents were given and withdrawn under it (one grouped query over the ledger)."""
    current = policy_in_force()
    # Mapping: the type checker sees only the grouping key in these rows, not the counts.
    rows: Iterable[Mapping[str, Any]] = (
        ConsentRecord.objects.filter(policy__isnull=False)
        .values("policy")
        .annotate(**_ledger_counts())
        .order_by()
    )
    counts = {row["policy"]: {"given": row["given"], "withdrawn": row["withdrawn"]} for row in rows}
    return [
        PolicyVersion(
            policy=policy,
            status=_status(policy, current),
            **counts.get(policy.pk, {"given": 0, "withdrawn": 0}),
        )
        for policy in PrivacyPolicy.objects.all()
    ]


def policy_version(policy: PrivacyPolicy) -> PolicyVersion:
    """One version with its status today and the consents recorded under it."""
    counts = ConsentRecord.objects.filter(policy=policy).aggregate(**_ledger_counts())
    return PolicyVersion(policy=policy, status=_status(policy, policy_in_force()), **counts)


def _ledger_counts() -> dict[str, Count]:
    return {
        "given": Count("pk", filter=Q(granted=True)),
        "withdrawn": Count("pk", filter=Q(granted=False)),
    }


def _status(policy: PrivacyPolicy, current: PrivacyPolicy | None) -> str:
    if current is not None and policy.pk == current.pk:
        return PolicyVersion.IN_FORCE
    return PolicyVersion.SUPERSEDED if policy.has_taken_effect else PolicyVersion.SCHEDULED


def correction_refused(policy: PrivacyPolicy) -> str:
    """Why `policy` can no longer be corrected ("" while it still can): once in force, or
    once a consent refers to it, it is evidence."""
    if policy.has_taken_effect:
        return _(
            "Version %(version)s has taken effect: consents were recorded under it as it "
            "stands, so it cannot be changed. Publish a new version instead."
        ) % {"version": policy.version}
    if ConsentRecord.objects.filter(policy=policy).exists():
        return _(
            "Consents were already recorded under version %(version)s, so it cannot be "
            "changed. Publish a new version instead."
        ) % {"version": policy.version}
    return ""


@transaction.atomic
def publish_policy(
    *,
    actor: Any,
    version: str,
    effective_from: datetime.date,
    text: str,
    summary: str = "",
) -> PrivacyPolicy:
    """Add a version taking effect on `effective_from` (today or later), audited as
    `privacypolicy.create`. Raises PermissionDenied without `add_privacypolicy`, and
    ValidationError for a date in the past, a version label already used, or a day on which
    another version already takes effect."""
    _require(actor, ADD_PERMISSION)
    return _save(
        actor=actor,
        policy=PrivacyPolicy(),
        version=version,
        effective_from=effective_from,
        text=text,
        summary=summary,
    )


@transaction.atomic
def correct_policy(
    *,
    actor: Any,
    policy: PrivacyPolicy,
    version: str,
    effective_from: datetime.date,
    text: str,
    summary: str = "",
    expected_version: int | None = None,
) -> PrivacyPolicy:
    """Correct a version that has not taken effect yet, audited as `privacypolicy.update`
    with the old and new values (nothing is written when nothing changed). Raises
    PermissionDenied without `change_privacypolicy`, ValidationError when the version is in
    force or past, or consents refer to it, or for the reasons publish_policy gives, and
    kernel.versioning.EditConflictError when a colleague corrected it since `expected_version`."""
    _require(actor, CHANGE_PERMISSION)
    # Locked, so that the check below holds until the change is saved.
    policy = PrivacyPolicy.objects.select_for_update().get(pk=policy.pk)
    refused = correction_refused(policy)
    if refused:
        raise ValidationError(refused)
    return _save(
        actor=actor,
        policy=policy,
        version=version,
        effective_from=effective_from,
        text=text,
        summary=summary,
        expected_version=expected_version,
    )


def _require(actor: Any, permission: str) -> None:
    if not actor.has_perm(permission):
        raise PermissionDenied


def _save(
    *,
    actor: Any,
    policy: PrivacyPolicy,
    version: str,
    effective_from: datetime.date,
    text: str,
    summary: str,
    expected_version: int | None = None,
) -> PrivacyPolicy:
    # A version dated in the past would put earlier consents under the wrong wording.
    if effective_from < timezone.localdate():
        raise ValidationError(
            {"effective_from": _("A new version takes effect today or later, not in the past.")}
        )
    # Two versions on one day would leave "the version in force that day" to creation order.
    other = (
        PrivacyPolicy.objects.filter(effective_from=effective_from).exclude(pk=policy.pk).first()
    )
    if other is not None:
        raise ValidationError(
            {
                "effective_from": _(
                    "Version %(version)s already takes effect on that day: choose another day "
                    "or correct that version."
                )
                % {"version": other.version}
            }
        )
    text = _plain_lines(text)
    if not text:
        raise ValidationError({"text": _("Give the text of the policy as customers see it.")})
    return save_reference_record(
        actor=actor,
        instance=policy,
        actions=PrivacyPolicyAction,
        version=version.strip(),
        effective_from=effective_from,
        text=text,
        summary=_plain_lines(summary),
        expected_version=expected_version,
    )


def _plain_lines(value: str) -> str:
    # Browsers send a text area's lines ending in CRLF: stored as LF, the same text sent again
    # is no change (and no audit event).
    return value.replace("\r\n", "\n").strip()
