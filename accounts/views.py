"""The lockout page and the two-factor pages: the code step, enrolment, status and removal."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import two_factor
from accounts.forms import CodeForm


def two_factor_exempt(view: Callable) -> Callable:
    """Reachable by a signed-in user who has not passed the second step yet."""
    view.two_factor_exempt = True
    return view


def _next_url(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next")
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse(settings.LOGIN_REDIRECT_URL)


def locked_out(
    request: HttpRequest, original_response: Any = None, credentials: Any = None
) -> HttpResponse:
    """What django-axes answers a locked-out login with (AXES_LOCKOUT_CALLABLE): when the
    person may try again. Every try while locked restarts the cool-off, so it is counted from
    now."""
    cool_off = settings.AXES_COOLOFF_TIME
    response = render(
        request,
        "registration/locked_out.html",
        {
            "minutes": max(1, int(cool_off.total_seconds() // 60)),
            "retry_at": timezone.localtime(timezone.now() + cool_off),
        },
        status=429,
    )
    response["Retry-After"] = str(int(cool_off.total_seconds()))
    return response


@never_cache
@require_http_methods(["GET", "POST"])
@two_factor_exempt
def two_factor_verify(request: HttpRequest) -> HttpResponse:
    user = request.user
    if user.is_verified():
        return redirect(_next_url(request))
    device = two_factor.authenticator_for(user)
    if device is None:
        # Removed by an administrator meanwhile: the middleware decides what comes next.
        request.session[two_factor.HAS_AUTHENTICATOR] = False
        return redirect(_next_url(request))
    form = CodeForm(request.POST or None)
    if form.is_valid():
        error = two_factor.pass_second_step(
            request=request, device=device, code=form.cleaned_data["code"]
        )
        if error is None:
            return redirect(_next_url(request))
        form.add_error("code", error)
    return render(
        request,
        "accounts/two_factor_verify.html",
        {"form": form, "next": _next_url(request), "two_factor_pending": True},
    )


@never_cache
@require_http_methods(["GET", "POST"])
@two_factor_exempt
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    user = request.user
    if two_factor.authenticator_for(user) is not None:
        if not user.is_verified():
            request.session[two_factor.HAS_AUTHENTICATOR] = True
            return redirect(reverse("accounts:two_factor_verify"))
        messages.info(request, _("You already use an authenticator app. Remove it first."))
        return redirect("accounts:two_factor")
    required = two_factor.two_factor_required(user)
    device = two_factor.pending_authenticator(user)
    form = CodeForm(request.POST or None)
    if form.is_valid():
        error = two_factor.enrol(request=request, device=device, code=form.cleaned_data["code"])
        if error is None:
            messages.success(
                request,
                _(
                    "Two-factor authentication is on: after your password you will enter a "
                    "code from your authenticator app."
                ),
            )
            return redirect(_next_url(request))
        form.add_error("code", error)
    return render(
        request,
        "accounts/two_factor_setup.html",
        {
            "form": form,
            "next": _next_url(request),
            "required": required,
            "two_factor_pending": required,
            "qr_code": two_factor.qr_code_svg(device),
            "secret": two_factor.secret_for_typing(device),
            "issuer": settings.OTP_TOTP_ISSUER,
            "account": user.get_username(),
        },
    )


def _status_page(request: HttpRequest, form: CodeForm, *, status: int = 200) -> HttpResponse:
    return render(
        request,
        "accounts/two_factor.html",
        {
            "device": two_factor.authenticator_for(request.user),
            "required": two_factor.two_factor_required(request.user),
            "form": form,
        },
        status=status,
    )


@never_cache
@require_GET
def two_factor_status(request: HttpRequest) -> HttpResponse:
    return _status_page(request, CodeForm())


@never_cache
@require_POST
def two_factor_remove(request: HttpRequest) -> HttpResponse:
    device = two_factor.authenticator_for(request.user)
    if device is None:
        return redirect("accounts:two_factor")
    form = CodeForm(request.POST)
    if form.is_valid():
        error = two_factor.remove_own_authenticator(
            request=request, device=device, code=form.cleaned_data["code"]
        )
        if error is None:
            messages.success(request, _("Your authenticator app was removed."))
            return redirect("accounts:two_factor")
        form.add_error("code", error)
    return _status_page(request, form, status=400)
