"""The audit actions accounts records (registered in accounts/apps.py; see
privacy/audit/actions.py). Sign-ins and sign-outs are privacy's (privacy/actions.py). The
codes are those stored since the first events: never rename one."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AccountAction(models.TextChoices):
    TWO_FACTOR_FAILED = "auth.2fa_failed", _("Two-factor code refused")
    TWO_FACTOR_VERIFIED = "auth.2fa_verified", _("Two-factor code accepted")
    TWO_FACTOR_ENROLLED = "auth.2fa_enrolled", _("Authenticator app set up")
    TWO_FACTOR_REMOVED = "auth.2fa_removed", _("Authenticator app removed")
    LOCKOUT = "auth.lockout", _("Account locked after failed sign-ins")
    UNLOCK = "auth.unlock", _("Account unlocked")
    SESSION_EXPIRED = "auth.session_expired", _("Session expired")
    SESSIONS_ENDED = "auth.sessions_ended", _("Sessions ended")
    API_KEY_CREATED = "api_key.create", _("API key created")
    API_KEY_REVOKED = "api_key.revoke", _("API key revoked")
    API_KEY_NEW_ADDRESS = "api_key.new_address", _("API key used from a new address")
    SERVICE_ACCOUNT_CREATED = "service_account.create", _("Service account created")
    USER_INVITED = "user.invite", _("Colleague invited")
    INVITATION_RESENT = "user.invite_resent", _("Invitation sent again")
    USER_ROLE_CHANGED = "user.role_change", _("Role or team of a colleague changed")
    USER_DEACTIVATED = "user.deactivate", _("Account deactivated")
    USER_REACTIVATED = "user.reactivate", _("Account reactivated")
    TEAM_CREATED = "team.create", _("Team created")
    TEAM_CHANGED = "team.change", _("Team renamed or its manager changed")
    TEAM_DELETED = "team.delete", _("Team deleted")
    TEAM_MEMBER_ADDED = "team.member_add", _("Member added to a team")
    TEAM_MEMBER_REMOVED = "team.member_remove", _("Member removed from a team")
