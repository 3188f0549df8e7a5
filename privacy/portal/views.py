"""The customer's own privacy page and one-click unsubscribe, for people without an account.

The signed link (privacy/portal/links.py) is exchanged at once for a mark in the visitor's
session, and the browser sent on to /privacy/me/: the token stays out of the address bar,
the history and any Referer, and the page's forms carry the usual CSRF token. Unsubscribing
works in one POST without a session or a CSRF token, as RFC 8058 requires of mail programs;
its GET only asks, because mail scanners fetch the links they see."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from privacy.consent import MARKETING_CHANNELS, policy_in_force
from privacy.models import ConsentPurpose, PrivacyPolicy, RequestKind
from privacy.portal import selectors
from privacy.portal.links import InvalidLinkError, read_token
from privacy.portal.services import withdraw_on_privacy_page
from privacy.registry import data_subject
from privacy.subjects.services import request_from_privacy_page

# The session key holding the record whose page this browser opened through a link.
SUBJECT_KEY = "privacy_page_subject"
REQUESTABLE = (RequestKind.ACCESS, RequestKind.ERASURE)

public = method_decorator([login_not_required, never_cache], name="dispatch")


def _invalid_link(request: HttpRequest) -> HttpResponse:
    return render(request, "privacy_page/invalid_link.html", status=404)


@public
class OpenLinkView(View):
    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        try:
            customer, _purpose = read_token(token)
        except InvalidLinkError:
            return _invalid_link(request)
        request.session[SUBJECT_KEY] = customer.pk
        return HttpResponseRedirect(reverse("privacy-page-self"), status=303)


@public
class PrivacyPageView(View):
    template_name = "privacy_page/page.html"

    def _customer(self, request: HttpRequest):
        pk = request.session.get(SUBJECT_KEY)
        if pk is None:
            return None
        return data_subject().current().filter(pk=pk).first()

    def get(self, request: HttpRequest) -> HttpResponse:
        customer = self._customer(request)
        if customer is None:
            return _invalid_link(request)
        return render(
            request,
            self.template_name,
            {
                "customer": customer,
                "purposes": selectors.purpose_statuses(customer),
                "open_requests": selectors.open_requests(customer),
                "request_kinds": [(kind.value, kind.label) for kind in REQUESTABLE],
            },
        )

    def post(self, request: HttpRequest) -> HttpResponse:
        customer = self._customer(request)
        if customer is None:
            return _invalid_link(request)
        if "withdraw" in request.POST:
            self._withdraw(request, customer, request.POST["withdraw"])
        elif request.POST.get("kind") in REQUESTABLE:
            self._ask(request, customer, RequestKind(request.POST["kind"]))
        return HttpResponseRedirect(reverse("privacy-page-self"), status=303)

    def _withdraw(self, request: HttpRequest, customer, purpose: str) -> None:
        if purpose not in ConsentPurpose.values:
            return
        withdraw_on_privacy_page(customer=customer, purpose=purpose)
        messages.success(
            request,
            _("Withdrawn: “%(purpose)s”. It applies from now on.")
            % {"purpose": ConsentPurpose(purpose).label},
        )

    def _ask(self, request: HttpRequest, customer, kind: RequestKind) -> None:
        if kind == RequestKind.ERASURE and not request.POST.get("confirm_erasure"):
            messages.error(request, _("Tick the box to confirm that you want your data erased."))
            return
        try:
            asked, created = request_from_privacy_page(
                customer=customer, kind=kind, details=request.POST.get("details", "")[:2000]
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return
        if created:
            messages.success(
                request,
                _("Your request was received. We answer by %(date)s.")
                % {"date": date_format(asked.due_on, "DATE_FORMAT")},
            )
        else:
            messages.info(request, _("This request is already being handled."))


@public
@method_decorator(csrf_exempt, name="dispatch")
class UnsubscribeView(View):
    template_name = "privacy_page/unsubscribe.html"

    def _subject(self, token: str):
        customer, purpose = read_token(token)
        if purpose not in MARKETING_CHANNELS:
            raise InvalidLinkError
        return customer, ConsentPurpose(purpose)

    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        try:
            _customer, purpose = self._subject(token)
        except InvalidLinkError:
            return _invalid_link(request)
        return render(request, self.template_name, {"purpose": purpose, "done": False})

    def post(self, request: HttpRequest, token: str) -> HttpResponse:
        try:
            customer, purpose = self._subject(token)
        except InvalidLinkError:
            return _invalid_link(request)
        withdraw_on_privacy_page(customer=customer, purpose=purpose)
        return render(request, self.template_name, {"purpose": purpose, "done": True})


@public
class PolicyView(View):
    """The privacy policy in force, or a version that has taken effect, for anyone: forms link
    to it beside their consent texts, the privacy page beside each consent."""

    def get(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        if pk is None:
            policy = policy_in_force()
        else:
            policy = get_object_or_404(
                PrivacyPolicy, pk=pk, effective_from__lte=timezone.localdate()
            )
        return render(request, "privacy_page/policy.html", {"policy": policy})
