"""The shops' intake (/inbound/<public key>/: public, the signature is the authentication) and
the administrators' connector pages (/connectors/): the connectors and their health, a
connector's intake address and topics, its delivery log, retries, pause and resume, a new
secret, a backfill; a generic webhook's settings and field mapping, guessed from a sample.
Every write goes through connectors/services.py or connectors/backfill.py."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django.views.generic import FormView, TemplateView

from connectors import selectors, services
from connectors.backfill import start_backfill
from connectors.changes import PayloadError
from connectors.forms import (
    BackfillForm,
    ConnectorForm,
    DeliveryFilterForm,
    FeedForm,
    GenericConnectorForm,
    SampleForm,
    SecretForm,
    keys_of,
)
from connectors.intake import Answer, receive
from connectors.models import Connector, GenericFeed, InboundDelivery, Platform
from connectors.platforms import adapter_of
from connectors.platforms.generic import guess_mapping, sample_keys
from customers.imports.jobs import rows_module
from customers.imports.mapping import IGNORE
from kernel.version_forms import VERSION_FIELD

MANAGE = "connectors.manage_connectors"


@csrf_exempt
@login_not_required
@require_POST
def inbound(request: HttpRequest, public_key: str) -> HttpResponse:
    """A shop's webhook: 200 once stored (or for a delivery stored before), 401 for a wrong
    signature, 404 for an unknown address, 413 for a body over CONNECTORS_MAX_BODY_BYTES."""
    connector = Connector.objects.filter(public_key=public_key).first()
    if connector is None:
        return JsonResponse({"error": "unknown connector"}, status=404)
    try:
        length = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        length = 0
    if length > settings.CONNECTORS_MAX_BODY_BYTES:
        return JsonResponse({"error": "body too large"}, status=413)
    body = request.body
    if len(body) > settings.CONNECTORS_MAX_BODY_BYTES:
        return JsonResponse({"error": "body too large"}, status=413)
    answer = receive(connector=connector, headers=request.headers, body=body)
    if answer == Answer.REFUSED:
        return JsonResponse({"error": "signature does not match"}, status=401)
    return JsonResponse({"status": answer.value})


class ConnectorsPermissionMixin(PermissionRequiredMixin):
    permission_required = MANAGE


class ConnectorListView(ConnectorsPermissionMixin, TemplateView):
    template_name = "connectors/list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        rows = selectors.with_health(selectors.connectors())
        return super().get_context_data(rows=rows, **kwargs)


class ConnectorCreateView(ConnectorsPermissionMixin, FormView):
    form_class = ConnectorForm
    template_name = "connectors/form.html"

    def form_valid(self, form: ConnectorForm) -> HttpResponse:
        try:
            connector = services.create_connector(actor=self.request.user, **form.cleaned_data)
        except ValidationError as refused:
            form.add_error(None, refused)
            return self.form_invalid(form)
        messages.success(
            self.request,
            _("The connector was saved. Now add its address to the shop's webhooks."),
        )
        return HttpResponseRedirect(reverse("connectors:detail", args=[connector.pk]))


class GenericConnectorCreateView(ConnectorsPermissionMixin, FormView):
    form_class = GenericConnectorForm
    template_name = "connectors/generic_form.html"

    def form_valid(self, form: GenericConnectorForm) -> HttpResponse:
        try:
            connector = services.create_generic_connector(
                actor=self.request.user, **form.cleaned_data
            )
        except ValidationError as refused:
            form.add_error(None, refused)
            return self.form_invalid(form)
        messages.success(
            self.request, _("The webhook was saved. Now paste a sample payload to map its keys.")
        )
        return HttpResponseRedirect(reverse("connectors:feed", args=[connector.pk]))


def _connector(pk: int) -> Connector:
    return get_object_or_404(selectors.connectors(), pk=pk)


def _connector_with_health(pk: int) -> tuple[Connector, selectors.Health]:
    found = selectors.with_health(selectors.connectors().filter(pk=pk))
    if not found:
        raise Http404
    return found[0]


class ConnectorDetailView(ConnectorsPermissionMixin, TemplateView):
    template_name = "connectors/detail.html"

    def get_context_data(self, pk: int, **kwargs: Any) -> dict[str, Any]:
        connector, health = _connector_with_health(pk)
        filters = DeliveryFilterForm(self.request.GET or None)
        status, before = "", None
        if filters.is_valid():
            status = filters.cleaned_data["status"] or ""
            before = filters.cleaned_data["before"]
        deliveries = selectors.delivery_log(connector, status=status, before=before)
        older = deliveries[-1].pk if len(deliveries) == selectors.DELIVERY_PAGE else None
        adapter = adapter_of(connector)
        return super().get_context_data(
            connector=connector,
            adapter=adapter,
            intake_url=settings.SITE_URL
            + reverse("connectors_inbound", args=[connector.public_key]),
            health=health,
            filters=filters,
            status=status,
            deliveries=deliveries,
            older=older,
            **_backfills_context(connector),
            **_feed_context(connector),
            secret_form=kwargs.pop("secret_form", None) or SecretForm(),
            backfill_form=kwargs.pop("backfill_form", None) or BackfillForm(),
            **kwargs,
        )


def _feed_context(connector: Connector) -> dict[str, Any]:
    """A generic webhook's settings and its mapping as (key, field label) rows."""
    if connector.platform != Platform.GENERIC:
        return {}
    feed = connector.feed
    labels = {field.key: field.label for field in rows_module(feed.kind).fields()}
    return {
        "feed": feed,
        "mapped": [(key, labels.get(field, field)) for key, field in feed.mapping.items()],
    }


def _backfills_context(connector: Connector) -> dict[str, Any]:
    backfills = selectors.backfills_of(connector)
    return {"backfills": backfills, "polling": any(job.is_active for job in backfills)}


class BackfillsView(ConnectorsPermissionMixin, TemplateView):
    """The loaded exports and their progress (the connector's page polls it while one runs)."""

    template_name = "connectors/_backfills.html"

    def get_context_data(self, pk: int, **kwargs: Any) -> dict[str, Any]:
        connector = _connector(pk)
        return super().get_context_data(
            connector=connector, **_backfills_context(connector), **kwargs
        )


class SecretView(ConnectorsPermissionMixin, View):
    """POST only: the shop's new signing secret."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        connector = _connector(pk)
        form = SecretForm(request.POST)
        if form.is_valid():
            try:
                services.change_secret(
                    actor=request.user, connector=connector, secret=form.cleaned_data["secret"]
                )
            except ValidationError as refused:
                form.add_error(None, refused)
            else:
                messages.success(request, _("The new secret is in use."))
                return HttpResponseRedirect(reverse("connectors:detail", args=[pk]))
        return _detail_again(request, pk, secret_form=form)


def _detail_again(request: HttpRequest, pk: int, **forms: Any) -> HttpResponse:
    """The connector's page again, showing a refused form's errors (the caller checked the
    permission)."""
    view = ConnectorDetailView()
    view.setup(request, pk=pk)
    response = view.render_to_response(view.get_context_data(pk=pk, **forms))
    response.status_code = 400
    return response


class ConnectorActionView(ConnectorsPermissionMixin, View):
    """POST only: pause or resume (`action`)."""

    action = "pause"

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        connector = _connector(pk)
        if self.action == "pause":
            services.pause_connector(actor=request.user, connector=connector)
            messages.success(request, _("Paused: deliveries are kept and wait for the resume."))
        else:
            services.resume_connector(actor=request.user, connector=connector)
            messages.success(request, _("Resumed: what waited is being applied now."))
        return HttpResponseRedirect(reverse("connectors:detail", args=[pk]))


class RetryView(ConnectorsPermissionMixin, View):
    """POST only: apply a failed delivery again."""

    def post(self, request: HttpRequest, pk: int, record_pk: int) -> HttpResponse:
        delivery = get_object_or_404(InboundDelivery, pk=record_pk, connector_id=pk)
        try:
            services.retry_delivery(actor=request.user, delivery=delivery)
        except ValidationError as refused:
            messages.error(request, " ".join(refused.messages))
        else:
            messages.success(request, _("The delivery is being applied again."))
        return HttpResponseRedirect(reverse("connectors:detail", args=[pk]))


class BackfillView(ConnectorsPermissionMixin, View):
    """POST only: load a shop's export file."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        connector = _connector(pk)
        form = BackfillForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                start_backfill(
                    actor=request.user, connector=connector, upload=form.cleaned_data["file"]
                )
            except ValidationError as refused:
                form.add_error(None, refused)
            else:
                messages.success(request, _("The file is being loaded; its progress is below."))
                return HttpResponseRedirect(reverse("connectors:detail", args=[pk]))
        return _detail_again(request, pk, backfill_form=form)


class FeedView(ConnectorsPermissionMixin, TemplateView):
    """A generic webhook's settings and field mapping: a pasted sample (read, never stored)
    lists its keys with the import's guess of each; staff correct and save."""

    template_name = "connectors/feed.html"

    def _feed(self, pk: int) -> GenericFeed:
        return get_object_or_404(
            GenericFeed.objects.select_related("connector"),
            connector__in=selectors.connectors(),
            connector__pk=pk,
        )

    def _form(
        self,
        feed: GenericFeed,
        keys: list[str],
        data: Any = None,
        *,
        guesses: list[str] | None = None,
        records_key: str | None = None,
    ) -> FeedForm:
        initial: dict[str, Any] = {name: getattr(feed, name) for name in services.FEED_SETTINGS}
        initial.update(
            records_key=feed.records_key if records_key is None else records_key,
            keys=json.dumps(keys, ensure_ascii=False),
            **{VERSION_FIELD: feed.version},
        )
        mapping = guesses or [feed.mapping.get(key, IGNORE) for key in keys]
        initial.update({f"column_{index}": field for index, field in enumerate(mapping)})
        return FeedForm(data, initial=initial, keys=keys, fields=rows_module(feed.kind).fields())

    def get_context_data(self, pk: int, **kwargs: Any) -> dict[str, Any]:
        feed = self._feed(pk)
        kwargs.setdefault("form", self._form(feed, feed.sample_keys or list(feed.mapping)))
        kwargs.setdefault("sample_form", SampleForm(initial={"records_key": feed.records_key}))
        return super().get_context_data(feed=feed, connector=feed.connector, **kwargs)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        feed = self._feed(pk)
        if "read_sample" in request.POST:
            return self._read_sample(feed)
        keys = keys_of(request.POST)
        form = self._form(feed, keys, request.POST)
        if form.is_valid():
            try:
                services.save_feed(
                    actor=request.user,
                    connector=feed.connector,
                    keys=keys,
                    mapping=form.mapping(),
                    expected_version=form.cleaned_data[VERSION_FIELD],
                    **{name: form.cleaned_data[name] for name in services.FEED_SETTINGS},
                )
            except ValidationError as refused:
                form.add_error(None, refused)
            else:
                messages.success(request, _("The mapping was saved; deliveries use it from now."))
                return HttpResponseRedirect(reverse("connectors:detail", args=[pk]))
        return self.render_to_response(self.get_context_data(pk=pk, form=form), status=400)

    def _read_sample(self, feed: GenericFeed) -> HttpResponse:
        """The sample's keys with the saved field of each, else the import's guess."""
        sample_form = SampleForm(self.request.POST)
        if sample_form.is_valid():
            records_key = sample_form.cleaned_data["records_key"]
            try:
                keys = sample_keys(sample_form.cleaned_data["sample"], records_key)
            except PayloadError as error:
                sample_form.add_error("sample", str(error.message))
            else:
                guesses = [
                    feed.mapping.get(key) or guess
                    for key, guess in zip(keys, guess_mapping(feed.kind, keys), strict=True)
                ]
                form = self._form(feed, keys, guesses=guesses, records_key=records_key)
                return self.render_to_response(
                    self.get_context_data(pk=feed.connector_id, sample_form=sample_form, form=form)
                )
        context = self.get_context_data(pk=feed.connector_id, sample_form=sample_form)
        return self.render_to_response(context, status=400)
