from django.urls import path

from webforms import views

app_name = "webforms"

urlpatterns = [
    path("", views.FormListView.as_view(), name="list"),
    path("new/", views.FormSettingsView.as_view(), name="create"),
    path("<int:pk>/", views.FormDetailView.as_view(), name="detail"),
    path("<int:pk>/edit/", views.FormSettingsView.as_view(), name="edit"),
    path("<int:pk>/switch-off/", views.SwitchView.as_view(active=False), name="deactivate"),
    path("<int:pk>/switch-on/", views.SwitchView.as_view(active=True), name="activate"),
]
