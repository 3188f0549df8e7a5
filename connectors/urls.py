from django.urls import path

from connectors import views

app_name = "connectors"

urlpatterns = [
    path("", views.ConnectorListView.as_view(), name="list"),
    path("new/", views.ConnectorCreateView.as_view(), name="create"),
    path("new/generic/", views.GenericConnectorCreateView.as_view(), name="create_generic"),
    path("<int:pk>/mapping/", views.FeedView.as_view(), name="feed"),
    path("<int:pk>/", views.ConnectorDetailView.as_view(), name="detail"),
    path("<int:pk>/secret/", views.SecretView.as_view(), name="secret"),
    path("<int:pk>/pause/", views.ConnectorActionView.as_view(action="pause"), name="pause"),
    path("<int:pk>/resume/", views.ConnectorActionView.as_view(action="resume"), name="resume"),
    path("<int:pk>/backfill/", views.BackfillView.as_view(), name="backfill"),
    path("<int:pk>/backfills/", views.BackfillsView.as_view(), name="backfills"),
    path(
        "<int:pk>/deliveries/<int:record_pk>/retry/",
        views.RetryView.as_view(),
        name="retry",
    ),
]
