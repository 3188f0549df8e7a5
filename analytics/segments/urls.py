from django.urls import path

from analytics.segments import views

app_name = "segments"
urlpatterns = [
    path("", views.SegmentListView.as_view(), name="list"),
    path("new/", views.SegmentFormView.as_view(), name="create"),
    path("count/", views.SegmentCountView.as_view(), name="count"),
    path("members/", views.ListMembersView.as_view(), name="members"),
    path("refresh-metrics/", views.RefreshMetricsView.as_view(), name="refresh_metrics"),
    path("<int:pk>/", views.SegmentDetailView.as_view(), name="detail"),
    path("<int:pk>/edit/", views.SegmentFormView.as_view(), name="edit"),
    path("<int:pk>/delete/", views.DeleteSegmentView.as_view(), name="delete"),
    path("<int:pk>/refresh/", views.RefreshSegmentView.as_view(), name="refresh"),
]
