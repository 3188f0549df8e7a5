"""Every write to a web form's settings (webforms/views.py calls them): one transaction each,
audited (`webform.*`, old → new values: a form holds no personal data). A form's version moves
on with each change, so a submission's version names the wording its visitor was shown.

The door's writes — submissions, consents, confirmation — are in webforms/intake.py."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from accounts.api_keys import create_service_account
from kernel.actors import Actor
from kernel.free_text import has_unreadable_characters
from privacy.audit.recording import record_event, save_reference_record
from privacy.consent import policy_in_force
from webforms.audit import WebFormAction
from webforms.catalogue import OFFERED_KEYS, OFFERED_PURPOSES, SUFFIXES, needs_confirmation
from webforms.models import FORM_TEXT_LENGTH, WebForm

# What a form's settings page may change.
EDITABLE_FIELDS = (
    "name",
    "fields",
    "consents",
    "thank_you_en",
    "thank_you_zh",
    "redirect_url",
    "allowed_origins",
    "min_seconds",
)
# What a form's service account may do: write customers through the import's door, matching
# everyone by phone and email (whoever may not see a phone unmasked cannot match by it, and
# every known person would come back as a new one), and record the consents given.
INTAKE_PERMISSIONS = (
    "customers.view_customer",
    "customers.view_all_customers",
    "customers.view_personal_data",
    "customers.import_customers",
    "privacy.add_consentrecord",
)
LABEL_LENGTH = 100
MAX_SECONDS = 600


def _readable(text: Any, *, limit: int) -> str:
    value = str(text or "").replace("\r\n", "\n").strip()
    if len(value) > limit:
        raise ValidationError(
            _("At most %(limit)d characters (it has %(length)d).")
            % {"limit": limit, "length": len(value)}
        )
    if has_unreadable_characters(value):
        raise ValidationError(_("This contains characters that could not be read. Retype it."))
    return value


def _texts(entry: dict[str, Any], prefix: str, *, limit: int) -> dict[str, str]:
    return {
        f"{prefix}_{suffix}": _readable(entry.get(f"{prefix}_{suffix}", ""), limit=limit)
        for suffix in SUFFIXES.values()
    }


def clean_fields(entries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The form's fields in their stored shape; ValidationError (on "fields") for a field no
    form may ask, one asked twice, a label too long, or a form without a required name (a new
    customer needs one)."""
    cleaned: list[dict[str, Any]] = []
    try:
        for entry in entries:
            key = entry.get("key")
            if key not in OFFERED_KEYS or any(field["key"] == key for field in cleaned):
                raise ValidationError(_("A form cannot ask for “%(key)s” here.") % {"key": key})
            cleaned.append(
                {
                    "key": key,
                    "required": bool(entry.get("required")),
                    **_texts(entry, "label", limit=LABEL_LENGTH),
                }
            )
    except ValidationError as refused:
        raise ValidationError({"fields": refused.messages}) from refused
    if not any(field["key"] == "name" and field["required"] for field in cleaned):
        raise ValidationError(
            {"fields": _("Ask for the name, required: a new customer cannot be made without it.")}
        )
    return cleaned


def clean_consents(
    entries: Iterable[dict[str, Any]],
    fields: Sequence[dict[str, Any]],
    *,
    before: Sequence[dict[str, Any]] = (),
) -> list[dict[str, Any]]:
    """The consents in their stored shape, each bound to the privacy policy version in force
    when its wording was written (kept while the wording stays). ValidationError (on
    "consents") for a purpose no form may ask, one asked twice, a wording missing or too long,
    or marketing consent without a required email (its confirmation is mailed)."""
    policy = policy_in_force()
    earlier = {entry["purpose"]: entry for entry in before}
    cleaned: list[dict[str, Any]] = []
    try:
        for entry in entries:
            purpose = entry.get("purpose")
            if purpose not in OFFERED_PURPOSES or any(c["purpose"] == purpose for c in cleaned):
                raise ValidationError(
                    _("A form cannot ask for the consent “%(purpose)s”.") % {"purpose": purpose}
                )
            texts = _texts(entry, "text", limit=FORM_TEXT_LENGTH)
            if not any(texts.values()):
                raise ValidationError(_("Write the wording each consent is asked with."))
            same_wording = all(earlier.get(purpose, {}).get(k) == v for k, v in texts.items())
            cleaned.append(
                {
                    "purpose": purpose,
                    **texts,
                    "policy": earlier[purpose].get("policy", "")
                    if same_wording
                    else (policy.version if policy else ""),
                }
            )
    except ValidationError as refused:
        raise ValidationError({"consents": refused.messages}) from refused
    email_required = any(f["key"] == "email" and f["required"] for f in fields)
    if any(needs_confirmation(c["purpose"]) for c in cleaned) and not email_required:
        raise ValidationError(
            {
                "consents": _(
                    "Marketing consent is confirmed by a link mailed to the person: ask for the "
                    "email address, required."
                )
            }
        )
    return cleaned


def clean_origins(origins: Iterable[str]) -> list[str]:
    """Each site as scheme://host[:port], once; ValidationError for anything else."""
    cleaned: list[str] = []
    for origin in origins:
        text = origin.strip().rstrip("/")
        if not text:
            continue
        try:
            parts = urlsplit(text)
            port = parts.port
        except ValueError:
            parts, port = None, None
        if (
            parts is None
            or parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.path
            or parts.query
            or parts.username
        ):
            raise ValidationError(
                {
                    "allowed_origins": _(
                        "“%(origin)s” is not a site: write it as https://www.example.com, without "
                        "a path."
                    )
                    % {"origin": text[:100]}
                }
            )
        site = f"{parts.scheme}://{parts.hostname.lower()}" + (f":{port}" if port else "")
        if site not in cleaned:
            cleaned.append(site)
    return cleaned


def _settings(values: dict[str, Any], *, before: WebForm | None) -> dict[str, Any]:
    unknown = set(values) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"Not editable: {sorted(unknown)}")
    cleaned = dict(values)
    if "fields" in values:
        cleaned["fields"] = clean_fields(values["fields"])
    if "consents" in values:
        cleaned["consents"] = clean_consents(
            values["consents"],
            cleaned.get("fields", before.fields if before else []),
            before=before.consents if before else (),
        )
    if "allowed_origins" in values:
        cleaned["allowed_origins"] = clean_origins(values["allowed_origins"])
    for key in ("name", "thank_you_en", "thank_you_zh", "redirect_url"):
        if key in cleaned:
            cleaned[key] = str(cleaned[key] or "").replace("\r\n", "\n").strip()
    if not 0 <= int(cleaned.get("min_seconds", 0)) <= MAX_SECONDS:
        raise ValidationError(
            {"min_seconds": _("Between 0 and %(most)d seconds.") % {"most": MAX_SECONDS}}
        )
    return cleaned


def _intake_permissions() -> list[Permission]:
    query = Q()
    for name in INTAKE_PERMISSIONS:
        app_label, codename = name.split(".")
        query |= Q(content_type__app_label=app_label, codename=codename)
    return list(Permission.objects.filter(query))


@transaction.atomic
def create_form(*, actor: Actor, **values: Any) -> WebForm:
    """A new, active form with a new public key and its own service account, holding
    INTAKE_PERMISSIONS (which the actor must hold: no one hands out more than they have).
    Raises ValidationError per field for settings no form may have (see the clean_*
    functions), PermissionDenied. Audited (`webform.create`; the account's creation and
    permissions by accounts)."""
    if actor is not None and not all(actor.has_perm(name) for name in INTAKE_PERMISSIONS):
        raise PermissionDenied
    values = _settings(values, before=None)
    public_key = secrets.token_urlsafe(18)
    account = create_service_account(
        actor=actor, username=f"webform-{secrets.token_hex(6)}", groups=[]
    )
    account.user_permissions.set(_intake_permissions())
    form = WebForm(
        public_key=public_key,
        service_account=account,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    return save_reference_record(actor=actor, instance=form, actions=WebFormAction, **values)


@transaction.atomic
def update_form(
    *, actor: Actor, form: WebForm, expected_version: int | None = None, **changes: Any
) -> WebForm:
    """Change a form's settings; its version moves on, so pages showing the older form ask
    their visitor to send it again. Raises ValidationError as create_form does, and
    kernel.versioning.EditConflictError when a colleague saved it since `expected_version`.
    Audited (`webform.update`) when something changed."""
    current = WebForm.objects.get(pk=form.pk)
    return save_reference_record(
        actor=actor,
        instance=current,
        actions=WebFormAction,
        expected_version=expected_version,
        **_settings(changes, before=current),
    )


@transaction.atomic
def set_form_active(*, actor: Actor, form: WebForm, active: bool) -> WebForm:
    """Switch a form on or off: off, its page and address answer 404 and it takes nothing in
    (its submissions and their confirmations stay). Idempotent. Audited
    (`webform.activate` / `webform.deactivate`)."""
    form = WebForm.objects.select_for_update().get(pk=form.pk)
    if form.is_active != active:
        form.is_active = active
        form.save(update_fields=["is_active"])
        record_event(
            actor=actor,
            action=WebFormAction.ACTIVATE if active else WebFormAction.DEACTIVATE,
            target=form,
        )
    return form
