import datetime
import re
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.api_keys import service_accounts
from accounts.fields import StaffChoiceField
from accounts.models import Team
from accounts.privileges import grantable_groups, may_change_account
from accounts.users import assignable_roles, person_roles, staff_accounts
from kernel.free_text import validate_readable_text


class CodeForm(forms.Form):
    """A six-digit code from an authenticator app, typed with or without spaces."""

    code = forms.CharField(
        label=_("Code"),
        help_text=_("The 6-digit code your authenticator app shows now."),
        max_length=12,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )

    def clean_code(self) -> str:
        code = re.sub(r"[\s-]", "", self.cleaned_data["code"])
        if not re.fullmatch(r"\d{6}", code):
            raise ValidationError(_("Enter the 6 digits your authenticator app shows."))
        return code


class NewApiKeyForm(forms.Form):
    """A key for an integration: a new service account in a role, or one made before; a name
    people know it by; an expiry. Offers only the roles and accounts the administrator may
    give (accounts/privileges.py), so no key reaches beyond its maker's own permissions."""

    account = forms.ModelChoiceField(
        label=_("Service account"),
        queryset=get_user_model().objects.none(),
        required=False,
        empty_label=_("A new service account"),
        help_text=_("The key acts as this account: its role decides what the key may do."),
    )
    account_name = forms.CharField(
        label=_("New account's name"),
        max_length=150,
        required=False,
        help_text=_("For example shop-sync: letters, digits and @/./+/-/_ only."),
    )
    role = forms.ModelChoiceField(
        label=_("New account's role"), queryset=Group.objects.none(), required=False
    )
    name = forms.CharField(
        label=_("Key name"),
        max_length=100,
        validators=[validate_readable_text],
        help_text=_("What the key is for, for example the web shop's nightly sync."),
    )
    expires_on = forms.DateField(
        label=_("Expires on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("The key stops working on this day. Leave empty for a key that never expires."),
    )

    def __init__(self, *args: Any, editor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        today = timezone.localdate()
        self.fields["expires_on"].initial = today + datetime.timedelta(days=365)
        self.fields["expires_on"].widget.attrs["min"] = (
            today + datetime.timedelta(days=1)
        ).isoformat()
        accounts = service_accounts()
        self.fields["account"].queryset = accounts.filter(
            pk__in=[account.pk for account in accounts if may_change_account(editor, account)]
        )
        self.fields["account"].label_from_instance = _account_label
        self.fields["role"].queryset = grantable_groups(editor).order_by("name")
        self.fields["role"].label_from_instance = lambda group: gettext(group.name)

    def clean_expires_on(self) -> datetime.date | None:
        expires_on = self.cleaned_data["expires_on"]
        if expires_on is not None and expires_on <= timezone.localdate():
            raise ValidationError(_("Choose a day after today."))
        return expires_on

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not cleaned.get("account"):
            for field in ("account_name", "role"):
                if not cleaned.get(field) and field not in self.errors:
                    self.add_error(field, _("Needed for a new service account."))
        return cleaned

    @property
    def expires_at(self) -> datetime.datetime | None:
        expires_on = self.cleaned_data["expires_on"]
        if expires_on is None:
            return None
        return timezone.make_aware(datetime.datetime.combine(expires_on, datetime.time.min))


def _account_label(account: Any) -> str:
    roles = ", ".join(gettext(group.name) for group in account.groups.all())
    return f"{account.get_username()} ({roles})" if roles else account.get_username()


class UserFilterForm(forms.Form):
    """The users page's filters (GET)."""

    role = forms.ModelChoiceField(label=_("Role"), queryset=Group.objects.none(), required=False)
    team = forms.ModelChoiceField(label=_("Team"), queryset=Team.objects.none(), required=False)
    active = forms.TypedChoiceField(
        label=_("Status"),
        choices=[("", _("All")), ("1", _("Active")), ("0", _("Deactivated"))],
        coerce=lambda value: value == "1",
        empty_value=None,
        required=False,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].queryset = person_roles()
        self.fields["team"].queryset = Team.objects.order_by("name")


class AccountRoleForm(forms.Form):
    """A colleague's role and team: only the roles the editor may give are offered."""

    role = forms.ModelChoiceField(label=_("Role"), queryset=Group.objects.none())
    team = forms.ModelChoiceField(
        label=_("Team"),
        queryset=Team.objects.none(),
        required=False,
        empty_label=_("No team"),
        help_text=_("A person is in one team at most: choosing another moves them."),
    )

    def __init__(self, *args: Any, editor: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].queryset = assignable_roles(editor)
        self.fields["team"].queryset = Team.objects.order_by("name")


class InviteForm(AccountRoleForm):
    """A colleague to invite: they choose their own password through the mailed link."""

    first_name = forms.CharField(
        label=_("First name"), max_length=150, validators=[validate_readable_text]
    )
    last_name = forms.CharField(
        label=_("Last name"), max_length=150, required=False, validators=[validate_readable_text]
    )
    email = forms.EmailField(label=_("E-mail address"), max_length=150)
    field_order = ["first_name", "last_name", "email", "role", "team"]


class TeamForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100, validators=[validate_readable_text])
    manager = StaffChoiceField(label=_("Manager"), queryset=get_user_model().objects.none())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["manager"].queryset = staff_accounts().filter(is_active=True)


class TeamMemberForm(forms.Form):
    member = StaffChoiceField(label=_("Colleague"), queryset=get_user_model().objects.none())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["member"].queryset = staff_accounts().filter(is_active=True)
