from django.urls import path

from sales.work import views

app_name = "work"

urlpatterns = [
    path("", views.WorkView.as_view(), name="index"),
    path("calendar/", views.CalendarView.as_view(), name="calendar"),
    path("follow-ups/<int:pk>/done/", views.DoneView.as_view(), name="done"),
    path("follow-ups/<int:pk>/snooze/", views.SnoozeView.as_view(), name="snooze"),
    path("follow-ups/<int:pk>/reassign/", views.ReassignView.as_view(), name="reassign"),
]
