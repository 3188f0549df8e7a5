"""Staff accounts on the product's users page (/accounts/users/): the list, inviting a colleague
(no password: a set-password link by mail), changing their role and team, deactivating and
reactivating, and removing a lost authenticator. Every write is audited and bounded by
accounts/privileges.py as in Django admin: a non-superuser gives only roles made of
permissions they hold, and does not touch an account holding more than they do."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice  # type: ignore[import-untyped]

from accounts import privileges, two_factor
from accounts.audit import AccountAction
from accounts.models import ApiKey, Team, TeamMembership
from accounts.team_services import place_in_team, remove_member
from kernel.actors import Actor
from privacy.audit.recording import record_event
from privacy.roles import SHOP_CONNECTOR

logger = logging.getLogger(__name__)

# The users page lists at most this many accounts; the filters narrow it down.
USERS_SHOWN = 200


def staff_accounts() -> QuerySet[Any]:
    """People's accounts, not the service accounts API keys and shop connectors act as: with
    their roles, team and whether an authenticator is set up, in a fixed number of queries."""
    service = Q(Exists(ApiKey.objects.filter(account=OuterRef("pk")))) | Q(
        groups__name=SHOP_CONNECTOR
    )
    return (
        get_user_model()
        .objects.exclude(service)
        .annotate(
            has_authenticator=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True))
        )
        .select_related("team_membership__team")
        .prefetch_related("groups")
        .order_by("username")
    )


def active_colleagues() -> QuerySet[Any]:
    """Active users by name, as a form or filter offers them (accounts/fields.py)."""
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .order_by("last_name", "first_name", "username")
    )


def active_staff_holding(permission: str) -> QuerySet[Any]:
    """Active users who hold `permission` ("app_label.codename") through a role, on their own or
    as superusers, by name: whom a follow-up may be assigned to, who may own a deal."""
    app_label, codename = permission.split(".")
    held = Permission.objects.get(content_type__app_label=app_label, codename=codename)
    return (
        get_user_model()
        .objects.filter(
            Q(groups__permissions=held) | Q(user_permissions=held) | Q(is_superuser=True),
            is_active=True,
        )
        .distinct()
        .order_by("last_name", "first_name", "username")
    )


def filtered_staff_accounts(
    *, role: Group | None = None, team: Team | None = None, active: bool | None = None
) -> QuerySet[Any]:
    """`staff_accounts` narrowed by role, team and active state (each optional)."""
    accounts = staff_accounts()
    if role is not None:
        accounts = accounts.filter(groups=role)
    if team is not None:
        accounts = accounts.filter(team_membership__team=team)
    if active is not None:
        accounts = accounts.filter(is_active=active)
    return accounts


def person_roles() -> QuerySet[Group]:
    """The groups a person may be given: every role but the shop connector's."""
    return Group.objects.exclude(name=SHOP_CONNECTOR).order_by("name")


def assignable_roles(editor: Actor) -> QuerySet[Group]:
    """The roles `editor` may give (privileges.grantable_groups among `person_roles`)."""
    return person_roles().filter(pk__in=privileges.grantable_groups(editor).values("pk"))


def is_invitation_pending(account: Any) -> bool:
    """Invited and not signed in yet: no password of their own so far."""
    return not account.has_usable_password() and account.last_login is None


def _check_may_change(actor: Actor, account: Any) -> None:
    if not privileges.may_change_account(actor, account):
        raise PermissionDenied


def _check_role(actor: Actor, role: Group) -> None:
    if not assignable_roles(actor).filter(pk=role.pk).exists():
        raise PermissionDenied


@transaction.atomic
def invite_user(
    *,
    actor: Actor,
    email: str,
    first_name: str,
    last_name: str,
    role: Group,
    team: Team | None = None,
) -> Any:
    """A colleague's account, without a usable password, in `role` (and `team`); once the
    transaction commits they are mailed a link to choose their password, valid for
    PASSWORD_RESET_TIMEOUT. Their e-mail address is their user name."""
    _check_role(actor, role)
    email = get_user_model().objects.normalize_email(email.strip()).lower()
    if get_user_model().objects.filter(Q(username__iexact=email) | Q(email__iexact=email)).exists():
        raise ValidationError({"email": _("An account with this e-mail address exists already.")})
    account = get_user_model()(
        username=email, email=email, first_name=first_name.strip(), last_name=last_name.strip()
    )
    account.set_unusable_password()
    account.full_clean(exclude=["password"])
    account.save()
    account.groups.set([role])
    if team is not None:
        place_in_team(actor=actor, team=team, member=account)
    record_event(
        actor=actor,
        action=AccountAction.USER_INVITED,
        target=account,
        changes={"role": role.name, "team": team.name if team else None},
    )
    _mail_invitation_after_commit(account)
    return account


def resend_invitation(*, actor: Actor, account: Any) -> None:
    """Mail a pending invitation's link again (a new one: the old stays valid until it
    expires or a password is chosen)."""
    _check_may_change(actor, account)
    if not is_invitation_pending(account):
        raise ValidationError(_("This colleague has accepted the invitation already."))
    with transaction.atomic():
        record_event(actor=actor, action=AccountAction.INVITATION_RESENT, target=account)
        _mail_invitation_after_commit(account)


def invitation_link(account: Any) -> str:
    """The address where `account` chooses their password (Django's password reset page)."""
    path = reverse(
        "password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(account.pk)),
            "token": default_token_generator.make_token(account),
        },
    )
    return f"{settings.SITE_URL}{path}"


def _mail_invitation_after_commit(account: Any) -> None:
    # After the commit: a rolled-back invitation mails nothing. A mail server that is down
    # is logged, not raised: the account exists and "Send again" retries.
    transaction.on_commit(lambda: _mail_invitation(account), robust=True)


def _mail_invitation(account: Any) -> None:
    days = max(1, settings.PASSWORD_RESET_TIMEOUT // 86400)
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("You are invited to the CRM")
        body = "\n\n".join(
            [
                _("Hello %(name)s,") % {"name": account.get_full_name() or account.username},
                _("An account was made for you. Choose your password here:"),
                invitation_link(account),
                _("The link works once, for %(days)d days. Your user name is %(username)s.")
                % {"days": days, "username": account.username},
            ]
        )
    send_mail(
        f"{settings.EMAIL_SUBJECT_PREFIX}{subject}",
        body,
        settings.DEFAULT_FROM_EMAIL,
        [account.email],
    )


@transaction.atomic
def change_role_and_team(
    *, actor: Actor, account: Any, role: Group, team: Team | None
) -> list[str]:
    """Give `account` exactly `role` and place them in `team` (None: in none). Returns what
    changed, in words ("role", "team"); nothing changed records nothing."""
    _check_may_change(actor, account)
    _check_role(actor, role)
    changed = []
    previous_roles = sorted(group.name for group in account.groups.all())
    if previous_roles != [role.name]:
        account.groups.set([role])
        changed.append("role")
    membership = TeamMembership.objects.filter(user=account).select_related("team").first()
    previous_team = membership.team if membership else None
    if previous_team != team:
        if team is None:
            remove_member(actor=actor, team=previous_team, member=account)
        else:
            place_in_team(actor=actor, team=team, member=account)
        changed.append("team")
    if "role" in changed:
        record_event(
            actor=actor,
            action=AccountAction.USER_ROLE_CHANGED,
            target=account,
            changes={"role": [previous_roles, role.name]},
        )
    return changed


def set_active(*, actor: Actor, account: Any, active: bool) -> None:
    """Deactivate (their sessions end: accounts/receivers.py) or reactivate `account`.
    Nobody deactivates themselves here: that would lock the page's last user out."""
    _check_may_change(actor, account)
    if account.pk == actor.pk:
        raise ValidationError(_("You cannot deactivate your own account."))
    if account.is_active == active:
        return
    with transaction.atomic():
        account.is_active = active
        account.save(update_fields=["is_active"])
        record_event(
            actor=actor,
            action=AccountAction.USER_REACTIVATED if active else AccountAction.USER_DEACTIVATED,
            target=account,
        )


def reset_two_factor(*, actor: Actor, account: Any) -> int:
    """Remove `account`'s authenticators (a lost phone): their sessions end and they set up a
    new one at their next login if their role needs it (accounts/two_factor.py, audited).
    Returns how many were removed."""
    if not privileges.may_remove_authenticator(actor, account):
        raise PermissionDenied
    devices = list(TOTPDevice.objects.filter(user=account).select_related("user"))
    if devices:
        with transaction.atomic():
            two_factor.remove_authenticators(actor=actor, devices=devices)
    return len(devices)
