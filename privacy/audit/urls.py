from django.urls import path

from privacy.audit import views

app_name = "audit"

urlpatterns = [
    path("", views.AuditEventListView.as_view(), name="list"),
    path("export/", views.AuditExportView.as_view(), name="export"),
    path("<int:pk>/", views.AuditEventDetailView.as_view(), name="detail"),
    path(
        "alerts/<int:pk>/acknowledge/",
        views.AcknowledgeAlertView.as_view(),
        name="acknowledge_alert",
    ),
]
