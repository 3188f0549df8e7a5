"""Who may call what, for every route of the API, derived from the URL resolver and each view
set's `action_permissions` (so a resource added later is covered with no edit here): anonymous
callers get 401 everywhere; a key whose role lacks an action's permissions gets 403, one whose
role holds them anything but 401/403 (and never a server error); a key of an account with no
role gets 403. A Sales key asking for a record of another salesperson's customer gets 404.
Past the rate limit, 429 with Retry-After."""

import re

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from accounts.api_keys import create_api_key, create_service_account
from customers.models import Customer
from privacy import roles
from tests import factories
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

ALL_ROLES = (*roles.ROLE_PERMISSIONS, None)  # None: a service account without any role


def _api_routes(patterns=None, prefix="/", namespace=""):
    """(path template, view set class, {http method: action}) for every route under api:."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _api_routes(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern) and namespace.startswith("api:"):
            view = entry.callback
            yield prefix + str(entry.pattern), view.cls, dict(view.actions)


ROUTES = [
    (route, view_set, method, action)
    for route, view_set, actions in _api_routes()
    for method, action in sorted(actions.items())
]


def _path(route: str, pk: int | str) -> str:
    """A requestable path for a router pattern (`^customers/(?P<pk>[^/.]+)/archive/$`)."""
    path = re.sub(r"\(\?P<\w+>[^)]*\)", str(pk), route)
    return path.replace("^", "").replace("$", "").replace("\\.", ".")


def _ids(cases) -> list[str]:
    return [f"{method.upper()} {_path(route, 'pk')}" for route, _view_set, method, _ in cases]


def _key_for(role: str | None) -> APIClient:
    account = create_service_account(
        actor=None,
        username=f"integration-{(role or 'no-role').lower().replace(' ', '-')}",
        groups=[Group.objects.get(name=role)] if role else [],
    )
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {create_api_key(actor=None, account=account, name='k').secret}"
    )
    client.account = account
    return client


def _call(client: APIClient, method: str, path: str):
    # An empty body: enough to pass or fail the permission check, which comes first.
    return getattr(client, method)(path, {}, format="json") if method != "get" else client.get(path)


def test_every_route_of_the_api_is_covered():
    assert ROUTES, "no route under api: found"
    paths = {route for route, *_ in ROUTES}
    assert any("customers" in path for path in paths)


@pytest.mark.parametrize(("route", "view_set", "method", "action"), ROUTES, ids=_ids(ROUTES))
def test_anonymous_callers_get_401_as_a_problem_everywhere(client, route, view_set, method, action):
    response = _call(APIClient(), method, _path(route, 1))
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize("role", ALL_ROLES, ids=lambda role: role or "no role")
@pytest.mark.parametrize(("route", "view_set", "method", "action"), ROUTES, ids=_ids(ROUTES))
def test_each_role_gets_what_its_permissions_allow_on_each_route(
    role, route, view_set, method, action
):
    # Unassigned: in every role's scope, Sales included, and editable by whoever may edit.
    customer = CustomerFactory(name="Unassigned customer")
    client = _key_for(role)
    needed = view_set.action_permissions.get(action)
    allowed = needed is not None and client.account.has_perms(needed)
    response = _call(client, method, _path(route, customer.pk))
    assert response.status_code < 500, response.content
    if allowed:
        assert response.status_code not in (401, 403), (role, needed, response.json())
    else:
        assert response.status_code == 403, (role, needed, response.status_code)
        assert response.json()["type"].endswith("/permission-denied")


DETAIL_ROUTES = [case for case in ROUTES if "(?P<pk>" in case[0]]


def _record_of(model, customer):
    """A record of `model` belonging to `customer` (the customer itself for Customer), made by
    the factory tests/factories.py has for the model."""
    if model is Customer:
        return customer
    for candidate in vars(factories).values():
        meta = getattr(candidate, "_meta", None)
        if getattr(meta, "model", None) is model and hasattr(candidate, "create"):
            return candidate(customer=customer)
    pytest.fail(f"Add a factory for {model.__name__} to tests/factories.py (IDOR tests)")


def _belongs_to_customers(view_set) -> bool:
    model = view_set.queryset.model
    return model is Customer or any(field.name == "customer" for field in model._meta.fields)


CUSTOMERS_RECORD_ROUTES = [case for case in DETAIL_ROUTES if _belongs_to_customers(case[1])]


@pytest.mark.parametrize(
    ("route", "view_set", "method", "action"),
    CUSTOMERS_RECORD_ROUTES,
    ids=_ids(CUSTOMERS_RECORD_ROUTES),
)
def test_a_sales_key_cannot_reach_another_salespersons_customers_records(
    other_sales_user, route, view_set, method, action
):
    theirs = CustomerFactory(name="Their customer", owner=other_sales_user)
    record = _record_of(view_set.queryset.model, theirs)
    client = _key_for(roles.SALES)
    needed = view_set.action_permissions.get(action)
    response = _call(client, method, _path(route, record.pk))
    # Without the action's permission the answer is 403 whatever the record: nothing leaks.
    if needed is not None and client.account.has_perms(needed):
        assert response.status_code == 404, response.content
        assert response.json()["type"].endswith("/not-found")
    else:
        assert response.status_code == 403


def test_past_the_rate_limit_a_key_gets_429_with_retry_after(settings, admin_api):
    settings.API_RATE_LIMIT = "3/min"
    cache.clear()
    path = "/api/v1/customers/"
    for _ in range(3):
        assert admin_api.get(path).status_code == 200
    refused = admin_api.get(path)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert refused["Content-Type"] == "application/problem+json"
    assert refused.json()["type"].endswith("/throttled")
    assert refused.json()["status"] == 429
    # The limit is per key: another key still gets through.
    settings.API_RATE_LIMIT = "3/min"
    assert _key_for(roles.ANALYST).get(path).status_code == 200
