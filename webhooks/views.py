"""The administrators' webhook pages (/webhooks/): the subscriptions and their health, a
subscription's settings and delivery log, and its buttons (rotate the secret, pause, resume,
replay a delivery). Every write goes through webhooks/services.py."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import FormView, TemplateView

from webhooks import selectors, services
from webhooks.forms import DeliveryFilterForm, SubscriptionForm
from webhooks.models import Delivery, Subscription

MANAGE = "webhooks.manage_webhooks"


class WebhooksPermissionMixin(PermissionRequiredMixin):
    permission_required = MANAGE


def _secret_page(request: HttpRequest, new: services.NewSecret, *, rotated: bool) -> HttpResponse:
    """The secret, this once: never cached, never shown again."""
    response = render(
        request,
        "webhooks/secret.html",
        {"subscription": new.subscription, "secret": new.secret, "rotated": rotated},
    )
    response["Cache-Control"] = "no-store"
    return response


class SubscriptionListView(WebhooksPermissionMixin, TemplateView):
    template_name = "webhooks/list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(subscriptions=selectors.subscriptions(), **kwargs)


class SubscriptionFormView(WebhooksPermissionMixin, FormView):
    """New subscription (no pk) or a subscription's settings."""

    form_class = SubscriptionForm
    template_name = "webhooks/form.html"

    def setup(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        super().setup(request, *args, **kwargs)
        pk = kwargs.get("pk")
        self.subscription = get_object_or_404(Subscription, pk=pk) if pk else None

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "instance": self.subscription}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(subscription=self.subscription, **kwargs)

    def form_valid(self, form: SubscriptionForm) -> HttpResponse:
        values = {field: form.cleaned_data[field] for field in services.EDITABLE_FIELDS}
        try:
            if self.subscription is None:
                new = services.create_subscription(actor=self.request.user, **values)
            else:
                services.update_subscription(
                    actor=self.request.user, subscription=self.subscription, **values
                )
        except ValidationError as refused:
            form.add_error(None, refused)
            return self.form_invalid(form)
        if self.subscription is None:
            return _secret_page(self.request, new, rotated=False)
        messages.success(self.request, _("The subscription was saved."))
        return HttpResponseRedirect(reverse("webhooks:detail", args=[self.subscription.pk]))


class SubscriptionDetailView(WebhooksPermissionMixin, TemplateView):
    template_name = "webhooks/detail.html"

    def get_context_data(self, pk: int, **kwargs: Any) -> dict[str, Any]:
        subscription = get_object_or_404(
            selectors.subscriptions().select_related("created_by"), pk=pk
        )
        filters = DeliveryFilterForm(self.request.GET or None)
        status, before = "", None
        if filters.is_valid():
            status = filters.cleaned_data["status"] or ""
            before = filters.cleaned_data["before"]
        deliveries = selectors.delivery_log(subscription, status=status, before=before)
        older = deliveries[-1].pk if len(deliveries) == selectors.DELIVERY_PAGE else None
        return super().get_context_data(
            subscription=subscription,
            filters=filters,
            status=status,
            deliveries=deliveries,
            older=older,
            **kwargs,
        )


class SubscriptionActionView(WebhooksPermissionMixin, View):
    """POST only: rotate the secret, pause or resume (`action`)."""

    action = "pause"

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        subscription = get_object_or_404(Subscription, pk=pk)
        if self.action == "rotate":
            new = services.rotate_secret(actor=request.user, subscription=subscription)
            return _secret_page(request, new, rotated=True)
        if self.action == "pause":
            services.pause_subscription(actor=request.user, subscription=subscription)
            messages.success(request, _("Deliveries are paused; events wait until you resume."))
        else:
            services.resume_subscription(actor=request.user, subscription=subscription)
            messages.success(request, _("Deliveries resumed: what waited is being sent now."))
        return HttpResponseRedirect(reverse("webhooks:detail", args=[subscription.pk]))


class ReplayView(WebhooksPermissionMixin, View):
    """POST only: send a delivery again."""

    def post(self, request: HttpRequest, pk: int, record_pk: int) -> HttpResponse:
        delivery = get_object_or_404(Delivery, pk=record_pk, subscription_id=pk)
        services.replay_delivery(actor=request.user, delivery=delivery)
        messages.success(request, _("The delivery is being sent again."))
        return HttpResponseRedirect(reverse("webhooks:detail", args=[pk]))
