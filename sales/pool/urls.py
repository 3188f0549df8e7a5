from django.urls import path

from sales.pool import views

app_name = "pool"

urlpatterns = [
    path("", views.PoolListView.as_view(), name="list"),
    path("rules/", views.PoolRulesView.as_view(), name="rules"),
    path("<int:pk>/claim/", views.ClaimView.as_view(), name="claim"),
    path("<int:pk>/release/", views.ReleaseView.as_view(), name="release"),
]
