from django.urls import path

from customers.dedup import views

app_name = "duplicates"
urlpatterns = [
    path("", views.QueueView.as_view(), name="queue"),
    path("status/", views.StatusView.as_view(), name="status"),
    path("scan/", views.ScanView.as_view(), name="scan"),
    path("bulk-merge/", views.BulkMergeView.as_view(), name="bulk_merge"),
    path("<int:group>/", views.GroupView.as_view(), name="group"),
]
