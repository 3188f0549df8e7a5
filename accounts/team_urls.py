from django.urls import path

from accounts import user_views

app_name = "teams"

urlpatterns = [
    path("", user_views.team_list, name="list"),
    path("<int:pk>/", user_views.team_detail, name="detail"),
    path("<int:pk>/delete/", user_views.team_delete, name="delete"),
    path("<int:pk>/members/", user_views.team_member_add, name="member_add"),
    path(
        "<int:pk>/members/<int:user_pk>/remove/",
        user_views.team_member_remove,
        name="member_remove",
    ),
]
