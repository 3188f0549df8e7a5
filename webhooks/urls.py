from django.urls import path

from webhooks import views

app_name = "webhooks"

urlpatterns = [
    path("", views.SubscriptionListView.as_view(), name="list"),
    path("new/", views.SubscriptionFormView.as_view(), name="create"),
    path("<int:pk>/", views.SubscriptionDetailView.as_view(), name="detail"),
    path("<int:pk>/edit/", views.SubscriptionFormView.as_view(), name="edit"),
    path("<int:pk>/rotate/", views.SubscriptionActionView.as_view(action="rotate"), name="rotate"),
    path("<int:pk>/pause/", views.SubscriptionActionView.as_view(action="pause"), name="pause"),
    path("<int:pk>/resume/", views.SubscriptionActionView.as_view(action="resume"), name="resume"),
    path(
        "<int:pk>/deliveries/<int:record_pk>/replay/",
        views.ReplayView.as_view(),
        name="replay",
    ),
]
