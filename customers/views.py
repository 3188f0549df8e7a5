"""Customer pages: list with search and filters, the customer page, create and edit, the audited
identity-number reveal, archive and restore. Every view needs a permission (deny by default) and
loads customers through the scoped selectors, so an out-of-scope customer answers 404."""

from __future__ import annotations

import contextlib
import secrets
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views import View
from django.views.generic import FormView, TemplateView

from customers import services
from customers.custom_fields.listing import (
    column_texts,
    listed_fields,
    sort_field,
    sort_order,
    sort_orders,
    sorted_page,
)
from customers.custom_fields.models import FieldTarget
from customers.custom_fields.selectors import defined_fields
from customers.custom_fields.value_forms import CustomValuesFormMixin, is_custom_input
from customers.custom_fields.views import revealed_value
from customers.dedup.door import likely_duplicates
from customers.dedup.review import open_group_of
from customers.filters import listed_customers
from customers.forms import (
    BulkActionForm,
    ContactForm,
    CustomerForm,
    MaskedPersonalFieldsMixin,
)
from customers.merge import last_merge_of, survivor_of
from customers.models import Customer, SavedView
from customers.panels import customer_panels
from customers.presentation import personal_masks
from customers.selectors import (
    SEARCH_RESULT_LIMIT,
    CustomerOrder,
    can_edit_customer,
    can_view_personal_data,
    customer_page,
    customers_visible_to,
    get_customer_for,
    is_personal_data_query,
    possible_duplicates,
    saved_views_for,
    search_customers,
    sees_all_personal_data,
)
from customers.view_mixins import CustomerScopedMixin
from kernel.service_errors import add_service_errors
from kernel.version_forms import VERSION_FIELD, edited_values
from kernel.versioning import EditConflictError
from privacy import consent
from privacy.forms import ConsentForm
from privacy.models import ConsentSource

PAGE_SIZE = 50
SEARCHES_SESSION_KEY = "customer_searches"
MAX_REMEMBERED_SEARCHES = 20


def remember_search(request: HttpRequest, query: str) -> str:
    """Keep a search text in the session and return an opaque token for the URL, so phone
    numbers and names typed into the search box never appear in URLs or access logs."""
    searches = request.session.get(SEARCHES_SESSION_KEY, {})
    token = secrets.token_urlsafe(8)
    searches[token] = query[:200]
    request.session[SEARCHES_SESSION_KEY] = dict(list(searches.items())[-MAX_REMEMBERED_SEARCHES:])
    return token


def search_results_url(request: HttpRequest, list_url: str, query: str) -> str:
    """`list_url` showing the matches of `query` (remembered in the session), or all of it."""
    if not query:
        return list_url
    return list_url + "?" + urlencode({"search": remember_search(request, query)})


def remembered_search(request: HttpRequest, token: str) -> str:
    """The search text behind a token from `remember_search` ("" when unknown)."""
    return request.session.get(SEARCHES_SESSION_KEY, {}).get(token, "")


class CustomerListView(PermissionRequiredMixin, TemplateView):
    permission_required = "customers.view_customer"
    template_name = "customers/customer_list.html"

    def post(self, request: HttpRequest) -> HttpResponse:
        """The search box. One match opens that customer (Enter on a phone number goes
        straight to the caller); otherwise the list shows the matches."""
        query = request.POST.get("q", "").strip()
        if query:
            first_two = list(search_customers(user=request.user, query=query)[:2])
            if len(first_two) == 1:
                return HttpResponseRedirect(reverse("customers:detail", args=[first_two[0].pk]))
        return HttpResponseRedirect(search_results_url(request, reverse("customers:list"), query))

    def get_context_data(self, **kwargs):
        user = self.request.user
        token = self.request.GET.get("search", "")
        query = remembered_search(self.request, token)
        filterset, matches, capped = listed_customers(
            user=user, params=self.request.GET, search=query
        )
        fields = defined_fields(FieldTarget.CUSTOMER)
        columns = listed_fields(fields)
        order = self.request.GET.get("order", CustomerOrder.NEWEST)
        by_field = sort_field(order, columns)
        if by_field is None and order not in CustomerOrder.values:
            order = CustomerOrder.NEWEST
        after = self.request.GET.get("after", "")
        after_id = int(after) if after.isdigit() else None
        matches = matches.select_related("owner")
        if by_field is not None:
            customers, next_after = sorted_page(matches, by_field, after=after_id, size=PAGE_SIZE)
        else:
            customers, next_after = customer_page(
                matches, order=CustomerOrder(order), after=after_id, size=PAGE_SIZE
            )
        cells = column_texts(
            customers,
            columns,
            sees_personal=lambda customer: can_view_personal_data(user, customer),
        )
        params = self.request.GET.copy()
        params.pop("after", None)
        params.pop("order", None)
        return super().get_context_data(
            query=query,
            search_token=token if query else "",
            capped=capped,
            # A phone or email finds only customers whose contact details the user may see.
            personal_search_limited=bool(query)
            and is_personal_data_query(query)
            and not sees_all_personal_data(user),
            search_result_limit=SEARCH_RESULT_LIMIT,
            filter=filterset,
            customers=customers,
            next_after=next_after,
            is_first_page=not after,
            order=order,
            orders=[*CustomerOrder.choices, *sort_orders(columns)],
            # (field, the order that sorts by it or "") for each custom column.
            custom_columns=[(field, sort_order(field)) for field in columns],
            # Each customer with its custom columns' (field, text) pairs.
            rows=[
                (customer, list(zip(columns, cells[customer.pk], strict=True)))
                for customer in customers
            ],
            base_query=urlencode({**params.dict(), "order": order}),
            unordered_query=params.urlencode(),
            saved_views=list(saved_views_for(user)),
            current_query=self.request.GET.urlencode(),
            bulk_form=BulkActionForm(can_assign_owner=user.has_perm("customers.view_all_customers"))
            if user.has_perm("customers.change_customer")
            else None,
            **kwargs,
        )


class CustomerDetailView(CustomerScopedMixin, TemplateView):
    permission_required = "customers.view_customer"
    template_name = "customers/customer_detail.html"

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        except Http404:
            # A merged customer's old links lead to the customer it was merged into.
            survivor = survivor_of(kwargs["pk"])
            if survivor is None or survivor.pk == kwargs["pk"]:
                raise
            get_customer_for(request.user, survivor.pk)  # 404 unless visible
            return HttpResponseRedirect(reverse("customers:detail", args=[survivor.pk]))

    def get_context_data(self, **kwargs):
        user = self.request.user
        customer = self.customer
        can_view_personal = can_view_personal_data(user, customer)
        if can_view_personal:
            # The page shows this customer's phone, email and address unmasked.
            services.record_personal_data_view(actor=user, customer=customer)
        duplicates = possible_duplicates(
            user=user,
            phone=customer.phone,
            email=customer.email,
            id_blind_index=customer.id_number_blind_index,
            exclude_pk=customer.pk,
        )
        return super().get_context_data(
            customer=customer,
            can_edit=can_edit_customer(user, customer),
            can_view_personal=can_view_personal,
            audit_trail_url=_audit_trail_url(user, customer),
            tags=list(customer.tags.all()),
            duplicates=duplicates,
            **_merge_context(user, customer),
            panels=customer_panels(user, customer),
            **kwargs,
        )


def _audit_trail_url(user, customer: Customer) -> str:
    """The audit log filtered to this customer, for those who may read it ("" otherwise)."""
    if not user.has_perm("privacy.view_auditevent"):
        return ""
    query = urlencode({"target_type": "customers.customer", "target_id": customer.pk})
    return f"{reverse('audit:list')}?{query}"


def _merge_context(user, customer: Customer) -> dict[str, Any]:
    """For reviewers: the customer's last merge (to undo) and its open duplicate group."""
    if not user.has_perm("customers.merge_customers"):
        return {}
    return {
        "last_merge": last_merge_of(customer),
        "duplicate_group": open_group_of(customer),
    }


class PersonalDataFormAuditMixin:
    """A form (MaskedPersonalFieldsMixin) that shows a customer's personal data unmasked is
    audited as the customer page is (`customer.view_personal`)."""

    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        customer = response.context_data["form"].shows_personal_data_of
        if customer is not None:
            services.record_personal_data_view(actor=request.user, customer=customer)
        return response


class CustomerFormView(PersonalDataFormAuditMixin, CustomerScopedMixin, FormView):
    """Create (no pk) or edit a customer through the services."""

    form_class = CustomerForm
    template_name = "customers/customer_form.html"
    needs_edit_rights = True

    def get_permission_required(self):
        return ["customers.change_customer" if "pk" in self.kwargs else "customers.add_customer"]

    def get_form_kwargs(self):
        return {
            **super().get_form_kwargs(),
            "instance": self.customer,
            "viewer": self.request.user,
            "can_assign_owner": self.request.user.has_perm("customers.view_all_customers"),
        }

    def form_valid(self, form: CustomerForm) -> HttpResponse:
        user = self.request.user
        changes = form.profile_changes()
        tags = form.cleaned_data.get("tags") or []
        try:
            if self.customer is None:
                if not user.has_perm("customers.view_all_customers"):
                    # Staff scoped to their own customers own what they create.
                    changes["owner"] = user
                customer = services.create_customer(
                    actor=user, tags=tags, custom=form.custom_changes(), **changes
                )
                messages.success(self.request, _("Customer created."))
            else:
                # Profile and tags as one save: a conflict leaves both as they were.
                with transaction.atomic():
                    customer = services.update_customer(
                        actor=user,
                        customer=self.customer,
                        expected_version=form.expected_version,
                        custom=form.custom_changes(),
                        **changes,
                    )
                    services.set_customer_tags(
                        actor=user,
                        customer=customer,
                        tags=tags,
                        expected_version=customer.row_version,
                    )
                messages.success(self.request, _("Changes saved."))
        except EditConflictError as conflict:
            form.show_conflict(conflict, masks=personal_masks(user, self.customer))
            return self.form_invalid(form)
        except ValidationError as error:
            form.add_service_errors(error)
            return self.form_invalid(form)
        url = reverse("customers:detail", args=[customer.pk])
        if self.request.headers.get("HX-Request"):
            return HttpResponse(status=204, headers={"HX-Redirect": url})
        return HttpResponseRedirect(url)

    def get_template_names(self):
        # Opened in place on the customer page (htmx), only the form is sent.
        if self.request.headers.get("HX-Request"):
            return ["customers/_customer_form.html"]
        return [self.template_name]

    def get_context_data(self, **kwargs):
        return super().get_context_data(customer=self.customer, **kwargs)


class BulkActionView(PermissionRequiredMixin, View):
    """Tag, untag, assign or re-stage the customers ticked in the list. Only customers the
    user may edit are touched; assigning owners needs the all-customers scope."""

    permission_required = "customers.change_customer"

    def post(self, request: HttpRequest) -> HttpResponse:
        back = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
            back = reverse("customers:list")
        if request.POST.get("action") == services.BulkAction.ASSIGN_OWNER and not (
            request.user.has_perm("customers.view_all_customers")
        ):
            raise PermissionDenied
        form = BulkActionForm(request.POST)
        if not form.is_valid():
            for problems in form.errors.values():
                for problem in problems:
                    messages.error(request, problem)
            return HttpResponseRedirect(back)
        action = form.cleaned_data["action"]
        ids = [int(pk) for pk in request.POST.getlist("customer") if pk.isdigit()]
        chosen = customers_visible_to(request.user).filter(pk__in=ids)
        editable = [c for c in chosen if can_edit_customer(request.user, c)]
        try:
            changed = services.apply_bulk_action(
                actor=request.user, customers=editable, action=action, value=form.value
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return HttpResponseRedirect(back)
        messages.success(
            request,
            ngettext("%(count)d customer updated.", "%(count)d customers updated.", changed)
            % {"count": changed},
        )
        return HttpResponseRedirect(back)


class CustomerRecordFormView(CustomerScopedMixin, FormView):
    """Create one record on a customer through a service. Configured per record kind; served
    as an htmx panel on the customer page, or as a page of its own without JavaScript.
    CustomerRecordEditView changes one in the same way."""

    template_name = "customers/record_form.html"
    service = None  # the service that writes the record: service(actor=, customer=, **fields)
    success_message = ""
    title = ""
    needs_edit_rights = True

    def get_form_kwargs(self):
        kwargs = {**super().get_form_kwargs(), "customer": self.customer}
        if issubclass(self.get_form_class(), MaskedPersonalFieldsMixin):
            kwargs["viewer"] = self.request.user
        return kwargs

    def get_initial(self):
        return {"kind": self.request.GET.get("kind", "")}

    def form_valid(self, form) -> HttpResponse:
        try:
            self.save(form)
        except EditConflictError as conflict:
            form.show_conflict(conflict, masks=personal_masks(self.request.user, self.customer))
            return self.form_invalid(form)
        except ValidationError as error:
            renamed = form.custom_error_names() if isinstance(form, CustomValuesFormMixin) else {}
            add_service_errors(form, error, renamed=renamed)
            return self.form_invalid(form)
        messages.success(self.request, self.success_message)
        url = reverse("customers:detail", args=[self.customer.pk])
        if self.request.headers.get("HX-Request"):
            return HttpResponse(status=204, headers={"HX-Redirect": url})
        return HttpResponseRedirect(url)

    def save(self, form) -> None:
        self.service(actor=self.request.user, customer=self.customer, **written_values(form))

    def get_template_names(self):
        if self.request.headers.get("HX-Request"):
            return ["customers/_record_form.html"]
        return [self.template_name]

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            customer=self.customer, title=self.title, action=self.request.path, **kwargs
        )


class CustomerRecordEditView(CustomerRecordFormView):
    """Change one record of a customer (a contact person, a follow-up) through its service,
    from the version its form started from: a save over a colleague's newer one is refused
    and the form shows their changes."""

    records = ""  # the customer's related manager holding the records: "contacts"
    record_keyword = ""  # the service's keyword for the record: "contact"

    @cached_property
    def record(self):
        return get_object_or_404(getattr(self.customer, self.records), pk=self.kwargs["record_pk"])

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "instance": self.record}

    def save(self, form) -> None:
        self.service(
            actor=self.request.user,
            customer=self.customer,
            expected_version=form.expected_version,
            **{self.record_keyword: self.record},
            **written_values(form),
        )


class AddContactView(CustomerRecordFormView):
    permission_required = "customers.add_contact"
    form_class = ContactForm
    service = staticmethod(services.save_contact)
    title = gettext_lazy("Add a contact person")
    success_message = gettext_lazy("Contact added.")


def written_values(form) -> dict[str, Any]:
    """What a valid record form asks its service to write: its values without the version
    fields, and without masked fields sent back as shown (their stored values stay); custom
    inputs as the service's `custom` (only those changed)."""
    values = edited_values(form)
    if isinstance(form, MaskedPersonalFieldsMixin):
        for field in form.kept_masked_fields():
            values.pop(field, None)
    if isinstance(form, CustomValuesFormMixin):
        values = {name: value for name, value in values.items() if not is_custom_input(name)}
        values["custom"] = form.custom_changes()
    return values


class EditContactView(PersonalDataFormAuditMixin, CustomerRecordEditView):
    permission_required = "customers.change_contact"
    form_class = ContactForm
    service = staticmethod(services.save_contact)
    records = "contacts"
    record_keyword = "contact"
    title = gettext_lazy("Edit a contact person")
    success_message = gettext_lazy("Contact saved.")


class DeleteContactView(CustomerScopedMixin, View):
    """Remove a contact person, as they were when the page showing them was drawn: removing
    one a colleague changed since is refused with who did it."""

    permission_required = "customers.delete_contact"
    needs_edit_rights = True

    def post(self, request: HttpRequest, pk: int, record_pk: int) -> HttpResponse:
        contact = get_object_or_404(self.customer.contacts, pk=record_pk)
        version = request.POST.get(VERSION_FIELD, "")
        try:
            services.delete_contact(
                actor=request.user,
                contact=contact,
                expected_version=int(version) if version.isdigit() else None,
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("Contact removed."))
        return HttpResponseRedirect(reverse("customers:detail", args=[pk]))


class SaveViewView(PermissionRequiredMixin, View):
    """Save the list's current filters and order under a name."""

    permission_required = "customers.view_customer"

    def post(self, request: HttpRequest) -> HttpResponse:
        query = QueryDict(request.POST.get("query", ""))
        try:
            view = services.save_customer_view(
                actor=request.user,
                name=request.POST.get("name", ""),
                query=query,
                is_shared=bool(request.POST.get("is_shared")),
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return HttpResponseRedirect(reverse("customers:list") + "?" + query.urlencode())
        messages.success(request, _("View saved."))
        return HttpResponseRedirect(reverse("customers:list") + "?" + view.query)


class DeleteViewView(PermissionRequiredMixin, View):
    permission_required = "customers.view_customer"

    def post(self, request: HttpRequest, view_pk: int) -> HttpResponse:
        view = get_object_or_404(SavedView, pk=view_pk, owner=request.user)
        services.delete_customer_view(actor=request.user, view=view)
        messages.success(request, _("View deleted."))
        return HttpResponseRedirect(reverse("customers:list"))


class PossibleDuplicatesView(PermissionRequiredMixin, View):
    """htmx, from the create / edit form: customers who are probably the one being typed in
    (scored by the duplicate model from name, birth date, address, company, phone, email and
    identity number), and any others sharing the phone, email or identity number. POST, so the
    values never appear in a URL."""

    CHECKED_FIELDS = (
        "name",
        "phone",
        "email",
        "birth_date",
        "city",
        "street",
        "postcode",
        "company_name",
    )

    def has_permission(self) -> bool:
        # Only the forms that create or change customers ask.
        user = self.request.user
        return user.has_perm("customers.add_customer") or user.has_perm("customers.change_customer")

    def post(self, request: HttpRequest) -> HttpResponse:
        values: dict[str, Any] = {}
        for field in self.CHECKED_FIELDS:
            # Each field alone: one the user is still typing must not hide the others.
            with contextlib.suppress(ValidationError):
                values.update(services.normalise_profile({field: request.POST.get(field, "")}))
        if request.POST.get("id_number"):
            with contextlib.suppress(ValidationError):
                values["id_number_blind_index"] = services.id_number_blind_index(
                    request.POST.get("id_document_kind", ""), request.POST["id_number"]
                )
        exclude = request.POST.get("customer", "")
        exclude_pk = int(exclude) if exclude.isdigit() else None
        likely = likely_duplicates(user=request.user, values=values, exclude_pk=exclude_pk)
        seen = {match.customer.pk for match in likely}
        sharing = [
            customer
            for customer in possible_duplicates(
                user=request.user,
                phone=values.get("phone", ""),
                email=values.get("email", ""),
                id_blind_index=values.get("id_number_blind_index", ""),
                exclude_pk=exclude_pk,
            )
            if customer.pk not in seen
        ]
        return render(
            request,
            "customers/_possible_duplicates.html",
            {"likely": likely, "duplicates": sharing},
        )


class RevealIdNumberView(CustomerScopedMixin, View):
    """POST only: decrypts the identity number once, for this response, and audits it."""

    permission_required = ["customers.view_customer", "customers.reveal_national_id"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        customer = self.customer
        number = services.reveal_id_number(actor=request.user, customer=customer)
        response = render(
            request, "customers/_id_number.html", {"customer": customer, "number": number}
        )
        response["Cache-Control"] = "no-store"
        return response


class RevealCustomValueView(CustomerScopedMixin, View):
    """POST only: decrypts one sensitive custom value, for this response, and audits it."""

    permission_required = ["customers.view_customer", "customers.reveal_national_id"]

    def post(self, request: HttpRequest, pk: int, key: str) -> HttpResponse:
        return revealed_value(
            request,
            target=FieldTarget.CUSTOMER,
            key=key,
            reveal=lambda field: services.reveal_custom_value(
                actor=request.user, customer=self.customer, field=field
            ),
        )


class RecordConsentView(CustomerScopedMixin, View):
    """A consent given or withdrawn, with its evidence, into the consent ledger. Anyone who
    may see the customer and record consents may do it (a privacy officer handling a
    withdrawal edits nothing else)."""

    permission_required = ["customers.view_customer", "privacy.add_consentrecord"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        customer = self.customer
        form = ConsentForm(request.POST)
        if form.is_valid():
            consent.record_consent(
                actor=request.user,
                customer=customer,
                purpose=form.cleaned_data["purpose"],
                granted=form.cleaned_data["decision"] == ConsentForm.GRANT,
                source=ConsentSource.STAFF,
                evidence=form.cleaned_data["evidence"],
            )
            messages.success(request, _("Consent recorded."))
        else:
            for problems in form.errors.values():
                for problem in problems:
                    messages.error(request, problem)
        return HttpResponseRedirect(reverse("customers:detail", args=[customer.pk]) + "#consent")


class ArchiveCustomerView(CustomerScopedMixin, View):
    permission_required = "customers.change_customer"
    needs_edit_rights = True

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        customer = self.customer
        if request.POST.get("restore"):
            services.restore_customer(actor=request.user, customer=customer)
            messages.success(request, _("Customer restored."))
        else:
            services.archive_customer(actor=request.user, customer=customer)
            messages.success(request, _("Customer archived."))
        return HttpResponseRedirect(reverse("customers:detail", args=[customer.pk]))
