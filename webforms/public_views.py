"""The public side of web forms: the hosted page (on its own, or in another site's frame), its
submission (from that page, from a plain HTML form on another site, or from another site's
script), the token for such scripts, and the confirmation of marketing consents.

No login, no session: a signed form token (webforms/tokens.py) replaces the CSRF token, which
a page elsewhere could not carry, so these views are exempt from Django's CSRF check. A post
without a fresh token — the plain HTML snippet cannot hold one — gets the form back filled in,
with a fresh token, to send once more: it works without JavaScript and loses nothing. Only
the declared sites may frame the page (CSP frame-ancestors) or read the answers from their
scripts (CORS); anything may post, but a post from a page of another site is refused.

No answer tells whether the person was already known."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit

from csp.constants import SELF
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone, translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from webforms import intake
from webforms.abuse import (
    HONEYPOT_FIELD,
    body_too_large,
    client_address,
    count_rejection,
    over_rate_limit,
)
from webforms.attribution import attribute, referrer_host
from webforms.catalogue import (
    LANGUAGES,
    consent_field_name,
    needs_confirmation,
    purpose_label,
    text_in,
)
from webforms.forms import PASS_THROUGH, PublicForm
from webforms.models import RejectionReason, WebForm
from webforms.tokens import issue_form_token, read_form_token, seconds_since

_UTM = ("utm_source", "utm_medium", "utm_campaign")


def _language(request: HttpRequest) -> str:
    """The visitor's language: the form's switch (`lang`), else their browser's."""
    asked = request.POST.get("lang") or request.GET.get("lang") or ""
    if asked in LANGUAGES:
        return asked
    return translation.get_language() if translation.get_language() in LANGUAGES else "en"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _own_origins(request: HttpRequest) -> set[str]:
    return {_origin(settings.SITE_URL), _origin(request.build_absolute_uri("/"))}


def _with_cors(request: HttpRequest, form: WebForm, response: HttpResponse) -> HttpResponse:
    """Let a declared site's script read the answer; other sites get no CORS header."""
    origin = request.headers.get("Origin", "")
    if origin in form.allowed_origins:
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Methods"] = "GET, POST"
        response["Access-Control-Allow-Headers"] = "Accept, Accept-Language, Content-Type"
        response["Access-Control-Max-Age"] = "600"
    patch_vary_headers(response, ["Origin"])
    return response


def _page_policy(form: WebForm, response: HttpResponse) -> HttpResponse:
    """The page may be framed by the form's sites (and the product's own pages, for the
    preview), and may send the visitor on to the form's thank-you address."""
    actions = [SELF]
    if form.redirect_url:
        actions.append(_origin(form.redirect_url))
    response._csp_replace = {  # type: ignore[attr-defined]
        "frame-ancestors": [SELF, *form.allowed_origins] if form.allowed_origins else [SELF],
        "form-action": actions,
    }
    response["Content-Language"] = translation.get_language()
    response["Cache-Control"] = "no-store"
    return response


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _active_form(key: str) -> WebForm:
    return get_object_or_404(
        WebForm.objects.select_related("service_account"), public_key=key, is_active=True
    )


def _fresh(form: WebForm) -> str:
    return issue_form_token(form.public_key, form.version)


def _show(
    request: HttpRequest,
    form: WebForm,
    public: PublicForm,
    *,
    notice: str = "",
    status: int = 200,
    token: str = "",
) -> HttpResponse:
    """The hosted page with `public` (errors and all), or its JSON for a script."""
    if _wants_json(request):
        errors = {name: [str(m) for m in messages] for name, messages in public.errors.items()}
        payload: dict[str, Any] = {
            "status": "invalid" if errors else "again",
            "message": notice,
            "errors": errors,
            "token": token,
        }
        return _with_cors(request, form, JsonResponse(payload, status=status))
    response = render(
        request,
        "webforms/public/page.html",
        {
            "webform": form,
            "public": public,
            "notice": notice,
            "languages": [
                (
                    code,
                    translation.get_language_info(code)["name_local"],
                    _switch_query(public, code),
                )
                for code in LANGUAGES
            ],
        },
        status=status,
    )
    return _page_policy(form, response)


def _switch_query(public: PublicForm, language: str) -> str:
    """The page's address in `language`, keeping the campaign it was opened with: a visitor
    switching language is still counted for it."""
    campaign = {name: public[name].value() for name in _UTM if public[name].value()}
    return urlencode({**campaign, "lang": language})


def _refill(request: HttpRequest, form: WebForm, language: str, notice: str) -> HttpResponse:
    """The form again, filled in with what was sent and a fresh token: send it once more."""
    token = _fresh(form)
    initial = {name: request.POST.get(name, "") for name in request.POST if name != HONEYPOT_FIELD}
    initial.update(token=token, lang=language)
    public = PublicForm(initial=initial, webform=form, language=language)
    return _show(request, form, public, notice=notice, token=token)


def _thanks(
    request: HttpRequest, form: WebForm, language: str, *, confirm_by_mail: bool
) -> HttpResponse:
    if form.redirect_url:
        if _wants_json(request):
            return _with_cors(
                request, form, JsonResponse({"status": "ok", "redirect": form.redirect_url})
            )
        return HttpResponseRedirect(form.redirect_url, status=303)
    entry = {"thank_you_en": form.thank_you_en, "thank_you_zh": form.thank_you_zh}
    message = text_in(entry, "thank_you", language) or _("Thank you: we received your details.")
    if confirm_by_mail:
        message = " ".join(
            [message, _("To receive our news, confirm by the link we are mailing you.")]
        )
    if _wants_json(request):
        return _with_cors(request, form, JsonResponse({"status": "ok", "message": message}))
    response = render(request, "webforms/public/thanks.html", {"webform": form, "message": message})
    return _page_policy(form, response)


def _refused(
    request: HttpRequest, form: WebForm, reason: str, status: int, message: str
) -> HttpResponse:
    count_rejection(form, reason)
    if _wants_json(request):
        response: HttpResponse = JsonResponse(
            {"status": "refused", "message": message}, status=status
        )
    else:
        response = render(
            request,
            "webforms/public/refused.html",
            {"webform": form, "message": message},
            status=status,
        )
        _page_policy(form, response)
    if status == 429:
        response["Retry-After"] = "3600"
    return _with_cors(request, form, response)


def _posted_from_elsewhere(request: HttpRequest, form: WebForm) -> bool:
    origin = request.headers.get("Origin")
    if origin is None:
        return False  # browsers that send none, and scripts on servers: the token decides
    return origin not in form.allowed_origins and origin not in _own_origins(request)


@login_not_required
@csrf_exempt
@xframe_options_exempt
@require_http_methods(["GET", "POST", "OPTIONS"])
def form_page(request: HttpRequest, key: str) -> HttpResponse:
    form = _active_form(key)
    if request.method == "OPTIONS":
        return _with_cors(request, form, HttpResponse(status=204))
    if request.method == "POST":
        return _submit(request, form)
    language = _language(request)
    with translation.override(language):
        initial = {name: request.GET.get(name, "")[:200] for name in _UTM}
        initial.update(
            token=_fresh(form),
            lang=language,
            referrer=referrer_host(request.headers.get("Referer", "")),
        )
        return _show(request, form, PublicForm(initial=initial, webform=form, language=language))


def _submit(request: HttpRequest, form: WebForm) -> HttpResponse:
    # Before the body is read: its size, then the limits, then where it was sent from (the
    # refusals speak the browser's language).
    if body_too_large(request):
        return _refused(
            request, form, RejectionReason.TOO_LARGE, 413, _("This submission is too large.")
        )
    reason = over_rate_limit(request, form)
    if reason:
        return _refused(
            request, form, reason, 429, _("Too many submissions. Please try again in an hour.")
        )
    if _posted_from_elsewhere(request, form):
        return _refused(
            request,
            form,
            RejectionReason.ORIGIN,
            403,
            _("This form cannot be sent from this site."),
        )
    language = _language(request)
    with translation.override(language):
        return _take_in(request, form, language)


def _take_in(request: HttpRequest, form: WebForm, language: str) -> HttpResponse:
    public = PublicForm(request.POST, webform=form, language=language)
    purposes = [
        consent["purpose"]
        for consent in form.consents
        if request.POST.get(consent_field_name(consent["purpose"]))
    ]
    confirm_by_mail = any(needs_confirmation(purpose) for purpose in purposes)
    if request.POST.get(HONEYPOT_FIELD):
        # A robot: it is answered as a person would be, and learns nothing.
        count_rejection(form, RejectionReason.HONEYPOT)
        return _thanks(request, form, language, confirm_by_mail=confirm_by_mail)
    token = read_form_token(
        request.POST.get("token", ""), key=form.public_key, version=form.version
    )
    if token is None:
        return _refill(
            request, form, language, _("One more step: check your details and send the form again.")
        )
    if seconds_since(token) < form.min_seconds:
        count_rejection(form, RejectionReason.TOO_FAST)
        return _refill(
            request,
            form,
            language,
            _("That was quick: check your details and send the form again."),
        )
    if not public.is_valid():
        return _show(request, form, public, status=400, token=public.data.get("token", ""))
    values = {
        name: str(value)
        for name, value in public.cleaned_data.items()
        if name not in ("token", HONEYPOT_FIELD, *PASS_THROUGH) and not isinstance(value, bool)
    }
    own_hosts = {
        urlsplit(origin).hostname or ""
        for origin in (*form.allowed_origins, *_own_origins(request))
    }
    attribution = attribute(
        form_name=form.name,
        **{name: public.cleaned_data[name] for name in _UTM},
        referrer=public.cleaned_data["referrer"] or request.headers.get("Referer", ""),
        own_hosts=own_hosts,
    )
    received = intake.submit(
        form=form,
        values=values,
        purposes=purposes,
        attribution=attribution,
        step=intake.Step(
            timezone.now(), client_address(request), request.headers.get("User-Agent", "")
        ),
        language=language,
    )
    if received.errors:
        for name, messages in received.errors.items():
            public.add_error(name if name in public.fields else None, messages)
        return _show(request, form, public, status=400, token=public.data.get("token", ""))
    return _thanks(request, form, language, confirm_by_mail=confirm_by_mail)


@login_not_required
@require_http_methods(["GET", "OPTIONS"])
def form_token(request: HttpRequest, key: str) -> HttpResponse:
    """A fresh form token for another site's script that builds the form itself."""
    form = _active_form(key)
    if request.method == "OPTIONS":
        return _with_cors(request, form, HttpResponse(status=204))
    response = JsonResponse({"token": _fresh(form), "min_seconds": form.min_seconds})
    response["Cache-Control"] = "no-store"
    return _with_cors(request, form, response)


@login_not_required
@csrf_exempt
@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest) -> HttpResponse:
    """GET asks (mail scanners open links on their own), POST confirms."""
    token = request.GET.get("t", "")[:100]
    with translation.override(_language_of_link(token, request)):
        if request.method == "POST":
            state = intake.confirm(
                token=token,
                step=intake.Step(
                    timezone.now(), client_address(request), request.headers.get("User-Agent", "")
                ),
            )
            submission = None
        else:
            state, submission = intake.find_confirmation(token)
        response = render(
            request,
            "webforms/public/confirm.html",
            {
                "state": state,
                "asking": request.method == "GET",
                "submission": submission,
                "purposes": _purposes_of(submission),
                "token": token,
            },
            status=404 if state == intake.Confirmation.UNKNOWN else 200,
        )
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


def _language_of_link(token: str, request: HttpRequest) -> str:
    _state, submission = intake.find_confirmation(token)
    if submission is not None and submission.language in LANGUAGES:
        return submission.language
    return _language(request)


def _purposes_of(submission: Any) -> list[str]:
    if submission is None:
        return []
    return [purpose_label(p, translation.get_language()) for p in submission.pending_purposes]
