"""The API's one router: each app's `api/urls.py` router registers its resources, and this
module joins them under /api/v1/ (namespace "api")."""

from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from customers.api.urls import router as customers_router
from interactions.api.urls import router as interactions_router

APP_ROUTERS = [customers_router, interactions_router]

urlpatterns = [
    path("schema/", login_not_required(SpectacularAPIView.as_view()), name="schema"),
    path(
        "v1/",
        include(
            ([url for router in APP_ROUTERS for url in router.urls], "api"),
            namespace="api",
        ),
    ),
]
