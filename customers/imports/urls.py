from django.urls import path

from customers.imports import views

app_name = "imports"

urlpatterns = [
    path("", views.ImportListView.as_view(), name="list"),
    path("<int:pk>/", views.ImportDetailView.as_view(), name="detail"),
    path("<int:pk>/progress/", views.ImportProgressView.as_view(), name="progress"),
    path("<int:pk>/cancel/", views.ImportActionView.as_view(action="cancel"), name="cancel"),
    path("<int:pk>/resume/", views.ImportActionView.as_view(action="resume"), name="resume"),
    path("<int:pk>/report.csv", views.ImportReportView.as_view(), name="report"),
]
