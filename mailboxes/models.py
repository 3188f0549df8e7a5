from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kernel.free_text import validate_readable_text


class Security(models.TextChoices):
    TLS = "tls", _("TLS (port 993)")
    STARTTLS = "starttls", _("STARTTLS (port 143)")
    # The password crosses the network in the clear: for a server on this machine only.
    NONE = "none", _("None: a server on this machine only")


class MailboxProblem(models.TextChoices):
    """Why the last poll of a mailbox failed (the server's own words are kept beside it)."""

    NONE = "", _("None")
    CONNECT = "connect", _("The mail server could not be reached.")
    LOGIN = "login", _("The mail server refused the user name or password.")
    FOLDER = "folder", _("A folder to read does not exist on the mail server.")
    PROTOCOL = "protocol", _("The mail server answered in a way it should not.")
    PASSWORD = "password", _("The stored password cannot be decrypted (key missing).")


class Mailbox(models.Model):
    """An IMAP mailbox the worker reads: messages from or to a known customer's address are
    logged on their timeline as email interactions (mailboxes/polling.py); nothing of the
    others is kept. Staff copy the BCC address on mail they send customers."""

    name = models.CharField(
        _("name"), max_length=100, unique=True, validators=[validate_readable_text]
    )
    host = models.CharField(_("IMAP server"), max_length=255, validators=[validate_readable_text])
    port = models.PositiveIntegerField(_("port"), default=993)
    security = models.CharField(
        _("security"), max_length=10, choices=Security.choices, default=Security.TLS
    )
    username = models.CharField(_("user name"), max_length=255, validators=[validate_readable_text])
    # The IMAP password, encrypted at rest (privacy/crypto.py, PASSWORD_CONTEXT).
    password_encrypted = models.TextField(editable=False)
    folders = models.CharField(
        _("folders to read"),
        max_length=500,
        default="INBOX",
        validators=[validate_readable_text],
        help_text=_("Comma-separated IMAP folder names, e.g. “INBOX, Sent”."),
    )
    bcc_address = models.EmailField(
        _("BCC address"),
        max_length=254,
        help_text=_("The address that delivers into this mailbox, which staff copy."),
    )
    staff_domains = models.CharField(
        _("staff's mail domains"),
        max_length=500,
        validators=[validate_readable_text],
        help_text=_(
            "Comma-separated, e.g. “example.com, example.cn”: mail from these domains is "
            "outgoing, any other incoming."
        ),
    )
    read_since = models.DateField(
        _("read messages from"),
        null=True,
        blank=True,
        help_text=_("Older messages are left alone; empty: every message in the folders."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    # Per folder: {"INBOX": {"uidvalidity": 1700000000, "last_uid": 42}}. A message is read once
    # its UID is above last_uid; a new UIDVALIDITY (the folder was rebuilt) starts over, and
    # the Message-ID keeps what was logged from being logged again.
    folder_state = models.JSONField(default=dict, editable=False)
    # A poll in progress holds the mailbox until then, so two polls never read it at once.
    polling_until = models.DateTimeField(null=True, blank=True, editable=False)
    last_polled_at = models.DateTimeField(_("last read"), null=True, blank=True, editable=False)
    last_message_at = models.DateTimeField(
        _("last message read"), null=True, blank=True, editable=False
    )
    problem = models.CharField(
        _("problem"),
        max_length=10,
        choices=MailboxProblem.choices,
        blank=True,
        default=MailboxProblem.NONE,
        editable=False,
    )
    # The server's answer to the failed command (never a message's content).
    problem_detail = models.CharField(max_length=300, blank=True, editable=False)
    failing_since = models.DateTimeField(_("failing since"), null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("mailbox")
        verbose_name_plural = _("mailboxes")
        ordering = ["name", "pk"]
        permissions = [("manage_mailboxes", _("Manage mailboxes"))]

    def __str__(self) -> str:
        return self.name

    @property
    def folder_names(self) -> list[str]:
        return [name.strip() for name in self.folders.split(",") if name.strip()]

    @property
    def staff_domain_names(self) -> set[str]:
        return {name.strip().lower().lstrip("@") for name in self.staff_domains.split(",")} - {""}


class MailboxPoll(models.Model):
    """A poll that read messages or failed (quiet polls leave no row): counts only, never an
    address or a subject, so that nothing here identifies anyone."""

    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="polls")
    started_at = models.DateTimeField(_("when"), default=timezone.now)
    messages_read = models.PositiveIntegerField(_("messages read"), default=0)
    interactions_logged = models.PositiveIntegerField(_("interactions logged"), default=0)
    # Messages logged before (the same Message-ID from another folder, mailbox or a re-read).
    already_logged = models.PositiveIntegerField(_("already logged"), default=0)
    # Messages with no known customer's address: not stored.
    unknown = models.PositiveIntegerField(_("no known customer"), default=0)
    # Messages that could not be logged (a customer erased meanwhile, a message unreadable).
    failed = models.PositiveIntegerField(_("could not be logged"), default=0)
    problem = models.CharField(
        _("problem"), max_length=10, choices=MailboxProblem.choices, blank=True
    )

    class Meta:
        verbose_name = _("mailbox poll")
        verbose_name_plural = _("mailbox polls")
        ordering = ["-started_at", "-pk"]
        indexes = [models.Index(fields=["mailbox", "-started_at"], name="mailbox_poll_recent")]

    def __str__(self) -> str:
        return f"{self.mailbox_id} {self.started_at:%Y-%m-%d %H:%M}"
