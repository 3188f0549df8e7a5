"""The API's one router: each app's `api/urls.py` router registers its resources, and this
module joins them under /api/v1/ (namespace "api"); the schema at /api/schema/ and its
reference page at /api/."""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import include, path, re_path
from django.views.decorators.http import require_GET
from drf_spectacular.views import SpectacularAPIView

from customers.api.urls import router as customers_router
from kernel.api.views import no_such_resource

APP_ROUTERS = [customers_router]


@login_not_required
@require_GET
def reference(request: HttpRequest) -> HttpResponse:
    """The schema as a page (Swagger UI from static/vendor, started by static/js): public, like
    the schema, since it holds documentation and no data."""
    return render(request, "api/reference.html")


urlpatterns = [
    path("", reference, name="reference"),
    path("schema/", login_not_required(SpectacularAPIView.as_view()), name="schema"),
    path(
        "v1/",
        include(
            ([url for router in APP_ROUTERS for url in router.urls], "api"),
            namespace="api",
        ),
    ),
    # Last: an address under /api/ that names nothing answers a problem, not an HTML page.
    re_path(r"^(?P<path>.+/)$", no_such_resource, name="no_such_resource"),
]
