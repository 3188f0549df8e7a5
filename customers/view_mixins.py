"""The views of one customer (their URL names it by `pk`) load it the same way, before the
handler runs: the permission first (403, or the login page), then the customer through the
scoped selector (404 outside the user's scope, so existence is not leaked), then, for views that
change it, the editing rights (403)."""

from __future__ import annotations

from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseBase

from customers.models import Customer
from customers.selectors import can_edit_customer, get_customer_for


class CustomerScopedMixin(PermissionRequiredMixin):
    """Sets `self.customer` before the handler: the customer in the URL's `pk`, or None when
    the URL names none (a create form). With `needs_edit_rights`, a customer the user may not
    edit (`can_edit_customer`: out of their scope, erased, restricted) answers 403. A method
    the view has no handler for answers 405 without the customer being looked up."""

    needs_edit_rights = False
    customer: Customer | None = None

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponseBase:
        if not self.has_permission():
            return self.handle_no_permission()
        method = request.method.lower()
        if "pk" in kwargs and method in self.http_method_names and hasattr(self, method):
            self.customer = get_customer_for(request.user, kwargs["pk"])
            if self.needs_edit_rights and not can_edit_customer(request.user, self.customer):
                raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)
