from django.urls import path

from dropfolders import views

app_name = "dropfolders"

urlpatterns = [
    path("", views.FolderListView.as_view(), name="list"),
    path("new/", views.FolderFormView.as_view(), name="create"),
    path("<int:pk>/", views.FolderDetailView.as_view(), name="detail"),
    path("<int:pk>/edit/", views.FolderFormView.as_view(), name="edit"),
]
