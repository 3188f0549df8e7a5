from django.urls import path

from privacy import policy_views as views

app_name = "policies"

urlpatterns = [
    path("", views.PolicyListView.as_view(), name="list"),
    path("new/", views.PublishView.as_view(), name="publish"),
    path("<int:pk>/", views.PolicyDetailView.as_view(), name="detail"),
    path("<int:pk>/correct/", views.CorrectView.as_view(), name="correct"),
]
