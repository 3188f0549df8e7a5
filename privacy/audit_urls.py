from django.urls import path

from privacy import audit_views

app_name = "audit"

urlpatterns = [
    path("", audit_views.AuditEventListView.as_view(), name="list"),
    path("export/", audit_views.AuditExportView.as_view(), name="export"),
    path("<int:pk>/", audit_views.AuditEventDetailView.as_view(), name="detail"),
    path(
        "alerts/<int:pk>/acknowledge/",
        audit_views.AcknowledgeAlertView.as_view(),
        name="acknowledge_alert",
    ),
]
