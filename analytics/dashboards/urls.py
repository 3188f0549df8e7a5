from django.urls import path

from analytics.dashboards import views

app_name = "dashboards"

urlpatterns = [
    path("", views.DashboardView.as_view(), name="index"),
    path("segment/<int:pk>/", views.DashboardView.as_view(), name="segment"),
    path("charts/<slug:chart>/", views.ChartFragmentView.as_view(), name="chart"),
    path("<slug:chart>.csv", views.ChartCsvView.as_view(), name="csv"),
]
