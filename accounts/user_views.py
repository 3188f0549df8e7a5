"""The users and teams pages (/accounts/users/, /accounts/teams/): administrators invite
colleagues, change their role and team, deactivate them, remove a lost authenticator, and
keep the teams, without Django admin. Reading needs `auth.view_user`, inviting
`auth.add_user`, every other change `auth.change_user`; the writes are accounts/users.py's and
accounts/team_services.py's, which audit them and apply accounts/privileges.py."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import privileges, team_services, users
from accounts.forms import AccountRoleForm, InviteForm, TeamForm, TeamMemberForm, UserFilterForm
from accounts.models import Team, TeamMembership
from kernel.service_errors import add_service_errors

VIEW, ADD, CHANGE = "auth.view_user", "auth.add_user", "auth.change_user"


def _staff_account(pk: int) -> Any:
    # Service accounts are the API keys page's: here they answer 404 like a missing account.
    try:
        return users.staff_accounts().get(pk=pk)
    except users.staff_accounts().model.DoesNotExist as missing:
        raise Http404 from missing


@require_GET
@permission_required(VIEW, raise_exception=True)
def user_list(request: HttpRequest) -> HttpResponse:
    filters = UserFilterForm(request.GET or None)
    chosen = filters.cleaned_data if filters.is_valid() else {}
    accounts = users.filtered_staff_accounts(
        role=chosen.get("role"), team=chosen.get("team"), active=chosen.get("active")
    )
    shown = list(accounts[: users.USERS_SHOWN + 1])
    return render(
        request,
        "accounts/users.html",
        {
            "filters": filters,
            "accounts": shown[: users.USERS_SHOWN],
            "more": len(shown) > users.USERS_SHOWN,
            "limit": users.USERS_SHOWN,
        },
    )


@require_http_methods(["GET", "POST"])
@permission_required(ADD, raise_exception=True)
def user_invite(request: HttpRequest) -> HttpResponse:
    form = InviteForm(request.POST or None, editor=request.user)
    if form.is_valid():
        data = form.cleaned_data
        try:
            account = users.invite_user(
                actor=request.user,
                email=data["email"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                role=data["role"],
                team=data["team"],
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(
                request,
                _("Invitation sent to %(email)s: they choose their password through the link.")
                % {"email": account.email},
            )
            return redirect("users:detail", account.pk)
    return render(request, "accounts/user_invite.html", {"form": form})


@require_http_methods(["GET", "POST"])
@permission_required(VIEW, raise_exception=True)
def user_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One colleague: their role and team (a form when the editor may change them) and the
    account's actions."""
    account = _staff_account(pk)
    may_change = request.user.has_perm(CHANGE) and privileges.may_change_account(
        request.user, account
    )
    membership = getattr(account, "team_membership", None)
    roles = list(account.groups.all())
    initial = {"role": roles[0] if roles else None, "team": membership.team if membership else None}
    form = AccountRoleForm(
        request.POST if request.method == "POST" else None, initial=initial, editor=request.user
    )
    if request.method == "POST":
        if not may_change:
            raise PermissionDenied
        if form.is_valid():
            previous_team = membership.team if membership else None
            users.change_role_and_team(
                actor=request.user,
                account=account,
                role=form.cleaned_data["role"],
                team=form.cleaned_data["team"],
            )
            new_team = form.cleaned_data["team"]
            if previous_team is not None and new_team is not None and previous_team != new_team:
                messages.info(
                    request,
                    _("Moved from the team %(old)s to %(new)s.")
                    % {"old": previous_team.name, "new": new_team.name},
                )
            messages.success(request, _("Saved."))
            return redirect("users:detail", account.pk)
    return render(
        request,
        "accounts/user_detail.html",
        {
            "account": account,
            "roles": roles,
            "form": form,
            "may_change": may_change,
            "may_reset_two_factor": request.user.has_perm(CHANGE)
            and request.user.has_perm("otp_totp.delete_totpdevice")
            and privileges.may_remove_authenticator(request.user, account),
            "invitation_pending": users.is_invitation_pending(account),
            "managed_teams": list(account.managed_teams.all()),
        },
    )


@require_POST
@permission_required(ADD, raise_exception=True)
def user_resend(request: HttpRequest, pk: int) -> HttpResponse:
    account = _staff_account(pk)
    try:
        users.resend_invitation(actor=request.user, account=account)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Invitation sent again."))
    return redirect("users:detail", account.pk)


@require_POST
@permission_required(CHANGE, raise_exception=True)
def user_set_active(request: HttpRequest, pk: int) -> HttpResponse:
    account = _staff_account(pk)
    active = request.POST.get("active") == "1"
    try:
        users.set_active(actor=request.user, account=account, active=active)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            _("Account reactivated.")
            if active
            else _("Account deactivated: their sessions have ended."),
        )
    return redirect("users:detail", account.pk)


@require_POST
@permission_required(CHANGE, raise_exception=True)
@permission_required("otp_totp.delete_totpdevice", raise_exception=True)
def user_reset_two_factor(request: HttpRequest, pk: int) -> HttpResponse:
    # As in Django admin: any colleague's lost authenticator but a superuser's (checked by
    # the service), the privacy officer's too (their password still guards the account).
    account = _staff_account(pk)
    removed = users.reset_two_factor(actor=request.user, account=account)
    if removed:
        messages.success(
            request,
            _("Authenticator removed: they set up a new one at their next sign-in."),
        )
    else:
        messages.info(request, _("This colleague has no authenticator."))
    return redirect("users:detail", account.pk)


def _saved_team(request: HttpRequest, form: TeamForm, save: Callable[..., Team]) -> Team | None:
    """A posted team form written by `save(name=, manager=)`: the team, or None with the
    problems on the form. Changing teams needs `auth.change_user`."""
    if not request.user.has_perm(CHANGE):
        raise PermissionDenied
    if not form.is_valid():
        return None
    try:
        return save(name=form.cleaned_data["name"], manager=form.cleaned_data["manager"])
    except ValidationError as error:
        add_service_errors(form, error)
        return None


@require_http_methods(["GET", "POST"])
@permission_required(VIEW, raise_exception=True)
def team_list(request: HttpRequest) -> HttpResponse:
    """The teams, and a form for a new one (POST: `auth.change_user`)."""
    form = TeamForm(request.POST or None)
    if request.method == "POST":
        team = _saved_team(request, form, partial(team_services.create_team, actor=request.user))
        if team is not None:
            messages.success(request, _("Team created."))
            return redirect("teams:detail", team.pk)
    return render(
        request,
        "accounts/teams.html",
        {"teams": team_services.teams_with_members(), "form": form},
    )


@require_http_methods(["GET", "POST"])
@permission_required(VIEW, raise_exception=True)
def team_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A team: rename it, change its manager (POST), its members."""
    team = get_object_or_404(Team.objects.select_related("manager"), pk=pk)
    form = TeamForm(
        request.POST if request.method == "POST" else None,
        initial={"name": team.name, "manager": team.manager_id},
    )
    if request.method == "POST":
        save = partial(team_services.change_team, actor=request.user, team=team)
        if _saved_team(request, form, save) is not None:
            messages.success(request, _("Saved."))
            return redirect("teams:detail", team.pk)
    members = (
        TeamMembership.objects.filter(team=team).select_related("user").order_by("user__username")
    )
    return render(
        request,
        "accounts/team_detail.html",
        {"team": team, "form": form, "members": members, "member_form": TeamMemberForm()},
    )


@require_POST
@permission_required(CHANGE, raise_exception=True)
def team_delete(request: HttpRequest, pk: int) -> HttpResponse:
    team = get_object_or_404(Team, pk=pk)
    team_services.delete_team(actor=request.user, team=team)
    messages.success(request, _("Team %(name)s deleted.") % {"name": team.name})
    return redirect("teams:list")


@require_POST
@permission_required(CHANGE, raise_exception=True)
def team_member_add(request: HttpRequest, pk: int) -> HttpResponse:
    team = get_object_or_404(Team, pk=pk)
    form = TeamMemberForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose an active colleague."))
        return redirect("teams:detail", team.pk)
    member = form.cleaned_data["member"]
    previous = team_services.place_in_team(actor=request.user, team=team, member=member)
    if previous is not None:
        messages.info(
            request,
            _("%(name)s moved from the team %(old)s to this one.")
            % {"name": member.get_full_name() or member.get_username(), "old": previous.name},
        )
    else:
        messages.success(request, _("Member added."))
    return redirect("teams:detail", team.pk)


@require_POST
@permission_required(CHANGE, raise_exception=True)
def team_member_remove(request: HttpRequest, pk: int, user_pk: int) -> HttpResponse:
    membership = get_object_or_404(
        TeamMembership.objects.select_related("team", "user"), team_id=pk, user_id=user_pk
    )
    team_services.remove_member(actor=request.user, team=membership.team, member=membership.user)
    messages.success(request, _("Member removed."))
    return redirect("teams:detail", pk)
