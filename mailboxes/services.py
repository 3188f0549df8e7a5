"""Every write to mailboxes made by people (the pages): one transaction each, audited, the
password encrypted and never in the audit log. The poll's own writes are in
mailboxes/polling.py."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from kernel.actors import Actor
from mailboxes.audit import MailboxAction
from mailboxes.models import Mailbox, Security
from mailboxes.polling import PASSWORD_CONTEXT
from privacy import crypto
from privacy.audit.recording import record_event

# The fields a mailbox's form may change (and `password`, which only replaces the stored one).
EDITABLE_FIELDS = (
    "name",
    "host",
    "port",
    "security",
    "username",
    "folders",
    "bcc_address",
    "staff_domains",
    "read_since",
    "is_active",
)
LOOPBACK_HOSTS = {"127.0.0.1", "::1", "localhost"}
# Another server or account: what was read of the old one says nothing about it.
_ACCOUNT_FIELDS = ("host", "port", "username")


def _snapshot(mailbox: Mailbox) -> dict[str, Any]:
    snapshot = {field: getattr(mailbox, field) for field in EDITABLE_FIELDS}
    snapshot["read_since"] = snapshot["read_since"] and snapshot["read_since"].isoformat()
    return snapshot


def _validate(mailbox: Mailbox) -> None:
    errors = {}
    if not mailbox.folder_names:
        errors["folders"] = _("Name at least one folder.")
    if not mailbox.staff_domain_names:
        errors["staff_domains"] = _("Name at least one domain.")
    if mailbox.security == Security.NONE and mailbox.host.lower() not in LOOPBACK_HOSTS:
        # The password would cross the network in the clear.
        errors["security"] = _("Without TLS only a server on this machine may be read.")
    if errors:
        raise ValidationError(errors)
    mailbox.full_clean(exclude=["password_encrypted"])


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    cleaned = {
        field: value.strip() if isinstance(value, str) else value for field, value in values.items()
    }
    if "bcc_address" in cleaned:
        cleaned["bcc_address"] = cleaned["bcc_address"].lower()
    return cleaned


@transaction.atomic
def create_mailbox(*, actor: Actor, password: str, **values: Any) -> Mailbox:
    """A new mailbox (EDITABLE_FIELDS and its IMAP password, stored encrypted). Raises
    ValidationError per field. The first poll, within a minute, says whether the server
    accepts it. Audited (`mailbox.create`, without the password)."""
    if not password:
        raise ValidationError({"password": _("Enter the mailbox's password.")})
    mailbox = Mailbox(
        **_clean(values),
        password_encrypted=crypto.encrypt(password, context=PASSWORD_CONTEXT),
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    _validate(mailbox)
    mailbox.save()
    record_event(
        actor=actor, action=MailboxAction.CREATE, target=mailbox, changes=_snapshot(mailbox)
    )
    return mailbox


@transaction.atomic
def update_mailbox(
    *, actor: Actor, mailbox: Mailbox, password: str = "", **changes: Any
) -> Mailbox:
    """Change a mailbox's settings; a non-empty `password` replaces the stored one. Moving to
    another server or account reads its folders from the start (messages logged before are
    not logged again). Raises ValidationError per field. Audited (`mailbox.update`) when
    something changed; a new password only as changed."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"Not editable: {sorted(unknown)}")
    mailbox = Mailbox.objects.select_for_update().get(pk=mailbox.pk)
    before = _snapshot(mailbox)
    for field, value in _clean(changes).items():
        setattr(mailbox, field, value)
    after = _snapshot(mailbox)
    audited = {key: [before[key], after[key]] for key in after if after[key] != before[key]}
    if password:
        mailbox.password_encrypted = crypto.encrypt(password, context=PASSWORD_CONTEXT)
        audited["password"] = ["…", "…"]
    if not audited:
        return mailbox
    _validate(mailbox)
    if any(field in audited for field in _ACCOUNT_FIELDS):
        mailbox.folder_state = {}
    mailbox.save()
    record_event(actor=actor, action=MailboxAction.UPDATE, target=mailbox, changes=audited)
    return mailbox
