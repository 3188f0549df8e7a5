from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kernel.free_text import validate_readable_text


class UserSession(models.Model):
    """Which session belongs to whom. Django's session store cannot be searched by user (the
    user id sits inside the encoded session data), so ending a user's sessions — when they are
    deactivated or their password changes — reads this small table instead of every session."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    session_key = models.CharField(_("session key"), max_length=40, unique=True)
    created_at = models.DateTimeField(_("started"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("user session")
        verbose_name_plural = _("user sessions")

    def __str__(self) -> str:
        return f"{self.user_id}: {self.created_at:%Y-%m-%d %H:%M}"


class ApiKey(models.Model):
    """A key another system calls the API with (accounts/api_keys.py). It acts as its service
    account, a user without a password whose groups decide what the key may do. Only a digest
    of the key is stored: the key itself is shown once, when it is made."""

    account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("service account"),
        on_delete=models.CASCADE,
        related_name="api_keys",
    )
    name = models.CharField(_("name"), max_length=100, validators=[validate_readable_text])
    # The key's first characters after "crm_": how a key is found, and how people tell keys
    # apart on the page, without the secret. Both are made with the key, never typed.
    prefix = models.CharField(_("prefix"), max_length=16, unique=True, editable=False)
    digest = models.CharField(_("digest"), max_length=64, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    # Addresses the key was used from; a new one is audited.
    known_addresses = models.JSONField(_("addresses used from"), default=list, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["-created_at"]
        permissions = [("manage_api_keys", _("Can make and revoke API keys"))]

    def __str__(self) -> str:
        return f"{self.name} (crm_{self.prefix}…)"

    @property
    def is_usable(self) -> bool:
        now = timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class Team(models.Model):
    """A sales or service team and its manager. The manager sees and works on the customers,
    deals and follow-ups of the team's members as the members do (accounts/teams.py); a
    member is in one team at most."""

    name = models.CharField(
        _("name"), max_length=100, unique=True, validators=[validate_readable_text]
    )
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("manager"),
        on_delete=models.PROTECT,
        related_name="managed_teams",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TeamMembership(models.Model):
    """One person's place in a team (one team per person)."""

    team = models.ForeignKey(
        Team, verbose_name=_("team"), on_delete=models.CASCADE, related_name="memberships"
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("member"),
        on_delete=models.CASCADE,
        related_name="team_membership",
    )
    joined_at = models.DateTimeField(_("joined"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("team member")
        verbose_name_plural = _("team members")

    def __str__(self) -> str:
        return f"{self.team}: {self.user_id}"
