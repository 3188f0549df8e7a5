from django.urls import path

from interactions import views

app_name = "interactions"

urlpatterns = [
    path("timeline/", views.TimelineView.as_view(), name="timeline"),
    path("interactions/new/", views.LogInteractionView.as_view(), name="log_interaction"),
    path(
        "interactions/<int:interaction_pk>/reveal/<slug:key>/",
        views.RevealCustomValueView.as_view(),
        name="reveal_custom",
    ),
    path("purchases/new/", views.RecordTransactionView.as_view(), name="record_transaction"),
    path("follow-ups/new/", views.ScheduleFollowUpView.as_view(), name="schedule_follow_up"),
    path(
        "follow-ups/<int:record_pk>/edit/",
        views.EditFollowUpView.as_view(),
        name="edit_follow_up",
    ),
    path(
        "follow-ups/<int:follow_up_pk>/done/",
        views.CompleteFollowUpView.as_view(),
        name="complete_follow_up",
    ),
]
