from django.urls import path

from accounts import api_key_views as views

app_name = "api_keys"

urlpatterns = [
    path("", views.key_list, name="list"),
    path("new/", views.new_key, name="new"),
    path("<int:pk>/revoke/", views.revoke_key, name="revoke"),
]
