from django.urls import path

from mailboxes import views

app_name = "mailboxes"

urlpatterns = [
    path("", views.MailboxListView.as_view(), name="list"),
    path("new/", views.MailboxFormView.as_view(), name="create"),
    path("<int:pk>/", views.MailboxDetailView.as_view(), name="detail"),
    path("<int:pk>/edit/", views.MailboxFormView.as_view(), name="edit"),
]
