from django.urls import path

from analytics import views

app_name = "exports"

urlpatterns = [
    path("new/", views.NewExportView.as_view(), name="new"),
    path("<int:pk>/", views.ExportDetailView.as_view(), name="detail"),
    path("<int:pk>/progress/", views.ExportProgressView.as_view(), name="progress"),
    path("<int:pk>/cancel/", views.CancelExportView.as_view(), name="cancel"),
    path("<int:pk>/download/", views.DownloadExportView.as_view(), name="download"),
]
