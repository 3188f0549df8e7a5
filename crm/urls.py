from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import set_language

from connectors import views as connector_views
from crm import search_views, views
from operations import views as operations_views

# API callers get a problem (JSON) for a server error too, not the HTML page.
handler500 = "kernel.api.problems.server_error"

admin.site.site_header = admin.site.site_title = "CRM"
# Admin's own login would bypass the product's login page; send people to the one login.
admin.site.login = login_not_required(
    auth_views.LoginView.as_view(template_name="registration/login.html")
)

urlpatterns = [
    path("", views.home, name="home"),
    path("health/", operations_views.health, name="health"),
    path("jobs/", views.jobs, name="jobs"),
    path("search/", search_views.search_page, name="search"),
    path("search/suggestions/", search_views.search_suggestions, name="search_suggestions"),
    path("accounts/two-factor/", include("accounts.urls")),
    path("accounts/api-keys/", include("accounts.api_key_urls")),
    path("accounts/users/", include("accounts.user_urls")),
    path("accounts/teams/", include("accounts.team_urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("work/", include("sales.work.urls")),
    path("notifications/", include("notifications.urls")),
    path("customers/", include("customers.urls")),
    path("customers/<int:pk>/", include("interactions.urls")),
    path("deals/", include("sales.deals.urls")),
    path("pool/", include("sales.pool.urls")),
    path("custom-fields/", include("customers.custom_fields.urls")),
    path("imports/", include("customers.imports.urls")),
    path("duplicates/", include("customers.dedup.urls")),
    path("exports/", include("analytics.urls")),
    path("segments/", include("analytics.segments.urls")),
    path("dashboards/", include("analytics.dashboards.urls")),
    path("privacy/requests/", include("privacy.subjects.urls")),
    path("privacy/retention/", include("privacy.retention_urls")),
    path("privacy/policies/", include("privacy.policy_urls")),
    path("privacy/audit/", include("privacy.audit.urls")),
    # Public: the customer's own privacy page, unsubscribing, the policy in force.
    path("privacy/", include("privacy.portal.urls")),
    path("operations/", include("operations.urls")),
    path("webhooks/", include("webhooks.urls")),
    path("forms/", include("webforms.urls")),
    # Web forms' public side: the form pages other sites embed, and the consent confirmation.
    path("f/", include("webforms.public_urls")),
    path("drop-folders/", include("dropfolders.urls")),
    path("mailboxes/", include("mailboxes.urls")),
    path("connectors/", include("connectors.urls")),
    # What shops post their webhooks to: public, signed (connectors/intake.py).
    path("inbound/<str:public_key>/", connector_views.inbound, name="connectors_inbound"),
    path("api/", include("crm.api")),
    path("admin/", admin.site.urls),
]

if settings.DEBUG:
    from django.contrib.staticfiles.urls import staticfiles_urlpatterns

    urlpatterns += staticfiles_urlpatterns()
