from django.urls import path

from operations import views

app_name = "operations"

urlpatterns = [
    path("", views.StatusView.as_view(), name="status"),
    path("backup/", views.StartView.as_view(work="backup"), name="backup"),
    path("drill/", views.StartView.as_view(work="drill"), name="drill"),
]
