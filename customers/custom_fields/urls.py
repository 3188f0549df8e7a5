from django.urls import path

from customers.custom_fields import views

app_name = "custom_fields"

urlpatterns = [
    path("", views.FieldListView.as_view(), name="list"),
    path("<slug:kind>/", views.FieldListView.as_view(), name="list_of"),
    path("<slug:kind>/new/", views.FieldEditView.as_view(), name="new"),
    path("<slug:kind>/<int:pk>/", views.FieldEditView.as_view(), name="edit"),
    path(
        "<slug:kind>/<int:pk>/conversion/",
        views.ConversionPanelView.as_view(),
        name="conversion",
    ),
]
