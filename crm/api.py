"""The API's one router: each app's `api/urls.py` router registers its resources, and this
module joins them under /api/v1/ (namespace "api"); the schema at /api/schema/ and its
reference page at /api/."""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import include, path, re_path
from django.views.decorators.http import require_GET
from drf_spectacular.views import SpectacularAPIView

from analytics.api.urls import router as analytics_router
from analytics.exports.api.urls import router as exports_router
from customers.api.urls import router as customers_router
from customers.imports.api.urls import router as imports_router
from interactions.api.urls import router as interactions_router
from kernel.api.views import no_such_resource
from privacy.subjects.api.urls import router as subject_requests_router
from webhooks.api.urls import router as webhooks_router

APP_ROUTERS = [
    customers_router,
    imports_router,
    interactions_router,
    analytics_router,
    exports_router,
    subject_requests_router,
    webhooks_router,
]


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
    # [\s\S], not ".": a path with an encoded newline in it is still an address under /api/.
    re_path(r"^(?P<path>[\s\S]+/)$", no_such_resource, name="no_such_resource"),
]
