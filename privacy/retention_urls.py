from django.urls import path

from privacy import retention_views as views

app_name = "retention"

urlpatterns = [
    path("", views.RetentionView.as_view(), name="page"),
    path("policies/<str:kind>/", views.PolicyUpdateView.as_view(), name="update"),
    path("dry-run/", views.StartRunView.as_view(dry_run=True), name="dry_run"),
    path("apply/", views.StartRunView.as_view(dry_run=False), name="apply"),
]
