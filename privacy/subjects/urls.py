from django.urls import path

from privacy.subjects import views

app_name = "subjects"

_ACTIONS = ("verify", "reject", "complete", "copy", "withdraw", "restrict", "erase")

urlpatterns = [
    path("", views.QueueView.as_view(), name="queue"),
    path("new/", views.NewRequestView.as_view(), name="find_customer"),
    path("new/<int:customer_pk>/", views.NewRequestView.as_view(), name="new"),
    path("<int:pk>/", views.RequestDetailView.as_view(), name="detail"),
    path("<int:pk>/copy/status/", views.CopyStatusView.as_view(), name="copy_status"),
    path("<int:pk>/copy/download/", views.CopyDownloadView.as_view(), name="copy_download"),
    path("<int:pk>/correct/", views.CorrectionView.as_view(), name="correct"),
    path(
        "customer/<int:customer_pk>/lift-restriction/",
        views.LiftRestrictionView.as_view(),
        name="lift_restriction",
    ),
    *(
        path(f"<int:pk>/{action}/", views.RequestActionView.as_view(action=action), name=action)
        for action in _ACTIONS
    ),
]
