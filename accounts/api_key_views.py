"""The API keys page (/accounts/api-keys/): the keys other systems call the API with, a new
key (shown once), and revoking one. Writes go through accounts/api_keys.py, which audits them;
what a non-superuser may mint is limited as in Django admin (accounts/privileges.py)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import api_keys
from accounts.forms import NewApiKeyForm
from accounts.models import ApiKey
from accounts.privileges import may_change_account

MANAGE = "accounts.manage_api_keys"


@require_GET
@permission_required(MANAGE, raise_exception=True)
def key_list(request: HttpRequest) -> HttpResponse:
    keys = [(key, may_change_account(request.user, key.account)) for key in api_keys.api_keys()]
    return render(request, "accounts/api_keys.html", {"keys": keys})


@never_cache
@require_http_methods(["GET", "POST"])
@permission_required(MANAGE, raise_exception=True)
def new_key(request: HttpRequest) -> HttpResponse:
    """The form; on success the key itself, on this response only (never stored, never
    cached)."""
    form = NewApiKeyForm(request.POST or None, editor=request.user)
    if form.is_valid():
        try:
            made = _make_key(request, form)
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error("account_name" if field == "username" else None, errors)
        else:
            return render(request, "accounts/api_key_made.html", {"made": made})
    return render(request, "accounts/api_key_form.html", {"form": form})


def _make_key(request: HttpRequest, form: NewApiKeyForm) -> api_keys.NewKey:
    account = form.cleaned_data["account"]
    with transaction.atomic():
        if account is None:
            account = api_keys.create_service_account(
                actor=request.user,
                username=form.cleaned_data["account_name"],
                groups=[form.cleaned_data["role"]],
            )
        return api_keys.create_api_key(
            actor=request.user,
            account=account,
            name=form.cleaned_data["name"],
            expires_at=form.expires_at,
        )


@require_POST
@permission_required(MANAGE, raise_exception=True)
def revoke_key(request: HttpRequest, pk: int) -> HttpResponse:
    key: Any = get_object_or_404(ApiKey.objects.select_related("account"), pk=pk)
    if not may_change_account(request.user, key.account):
        raise PermissionDenied
    api_keys.revoke_api_key(actor=request.user, key=key)
    messages.success(request, _("The key %(name)s no longer works.") % {"name": key.name})
    return redirect("api_keys:list")
