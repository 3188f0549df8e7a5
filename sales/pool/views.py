"""The shared pool's pages: the pool list with its claim buttons, releasing a customer by hand
and the rules page. Every write goes through sales/pool/services.py."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import FormView, TemplateView

from customers.selectors import CustomerOrder, customer_page, newest_matches
from customers.view_mixins import CustomerScopedMixin
from customers.views import remembered_search, search_results_url
from sales.pool import services
from sales.pool.forms import PoolRulesForm, ReleaseForm
from sales.pool.selectors import can_release, owned_customer_count, pool_customers, pool_rules

PAGE_SIZE = 50


class PoolAccessMixin(PermissionRequiredMixin):
    """The pool is for those who claim from it and those who run it."""

    def has_permission(self) -> bool:
        user = self.request.user
        return user.has_perm("sales.claim_from_pool") or user.has_perm("sales.manage_pool")


class PoolListView(PoolAccessMixin, TemplateView):
    template_name = "pool/pool_list.html"

    def post(self, request: HttpRequest) -> HttpResponse:
        """The search box: the text stays in the session, the URL carries a token."""
        query = request.POST.get("q", "").strip()
        return HttpResponseRedirect(search_results_url(request, reverse("pool:list"), query))

    def get_context_data(self, **kwargs):
        user = self.request.user
        token = self.request.GET.get("search", "")
        query = remembered_search(self.request, token)
        after = self.request.GET.get("after", "")
        matches = pool_customers(user=user, query=query)
        if query:
            # As the customer list does: a search pages through its newest matches only, so
            # a broad one never scans the table page after page.
            matches = matches.model.objects.filter(pk__in=newest_matches(matches))
        customers, next_after = customer_page(
            matches,
            order=CustomerOrder.NEWEST,
            after=int(after) if after.isdigit() else None,
            size=PAGE_SIZE,
        )
        rules = pool_rules()
        owned = owned_customer_count(user)
        return super().get_context_data(
            customers=customers,
            next_after=next_after,
            is_first_page=not after,
            query=query,
            search_token=token if query else "",
            rules=rules,
            owned=owned,
            can_claim=user.has_perm("sales.claim_from_pool"),
            # The claim would be refused (sales.pool.services.claim_customer): say so once
            # instead of on every button.
            at_quota=owned >= rules.claim_quota,
            **kwargs,
        )


def _back(request: HttpRequest, pk: int) -> HttpResponseRedirect:
    """Back to the page the button was on: the customer's page or the pool list."""
    if request.POST.get("back") == "customer":
        return HttpResponseRedirect(reverse("customers:detail", args=[pk]))
    return HttpResponseRedirect(reverse("pool:list"))


class ClaimView(CustomerScopedMixin, View):
    permission_required = "sales.claim_from_pool"

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        try:
            services.claim_customer(actor=request.user, customer=self.customer)
        except ValidationError as problem:
            messages.error(request, " ".join(problem.messages))
            return _back(request, pk)
        messages.success(request, _("%(name)s is now yours.") % {"name": self.customer.name})
        return HttpResponseRedirect(reverse("customers:detail", args=[pk]))


class ReleaseView(CustomerScopedMixin, FormView):
    """Return a customer to the pool with a reason: its owner, their manager or a pool
    administrator (anyone else: 403)."""

    permission_required = "customers.view_customer"
    form_class = ReleaseForm
    template_name = "pool/release.html"

    def get_form(self, form_class=None):
        if not can_release(self.request.user, self.customer):
            raise PermissionDenied
        return super().get_form(form_class)

    def form_valid(self, form: ReleaseForm) -> HttpResponse:
        try:
            services.release_customer(
                actor=self.request.user, customer=self.customer, reason=form.cleaned_data["reason"]
            )
        except ValidationError as problem:
            form.add_error(None, problem)
            return self.form_invalid(form)
        messages.success(
            self.request,
            _("%(name)s went back to the shared pool.") % {"name": self.customer.name},
        )
        return HttpResponseRedirect(reverse("customers:detail", args=[self.customer.pk]))

    def get_context_data(self, **kwargs):
        return super().get_context_data(customer=self.customer, **kwargs)


class PoolRulesView(PermissionRequiredMixin, View):
    permission_required = "sales.manage_pool"
    template_name = "pool/rules.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, self.template_name, {"form": PoolRulesForm(instance=pool_rules())})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = PoolRulesForm(request.POST, instance=pool_rules())
        if form.is_valid():
            try:
                services.update_pool_rules(
                    actor=request.user,
                    **{field: form.cleaned_data[field] for field in services.RULE_FIELDS},
                )
            except ValidationError as problem:
                form.add_error(None, problem)
            else:
                messages.success(request, _("The pool's rules were saved."))
                return HttpResponseRedirect(reverse("pool:rules"))
        return render(request, self.template_name, {"form": form})
