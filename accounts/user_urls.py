from django.urls import path

from accounts import user_views

app_name = "users"

urlpatterns = [
    path("", user_views.user_list, name="list"),
    path("invite/", user_views.user_invite, name="invite"),
    path("<int:pk>/", user_views.user_detail, name="detail"),
    path("<int:pk>/resend/", user_views.user_resend, name="resend"),
    path("<int:pk>/active/", user_views.user_set_active, name="set_active"),
    path("<int:pk>/two-factor/", user_views.user_reset_two_factor, name="reset_two_factor"),
]
