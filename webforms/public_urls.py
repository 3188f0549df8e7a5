"""The public addresses of web forms (/f/): open to anyone, no login (webforms/public_views.py)."""

from django.urls import path

from webforms import public_views

app_name = "public_forms"

urlpatterns = [
    # The link's token travels in the query string, which no request log here keeps
    # (crm/log_filters.py): a log reader could otherwise confirm for the person.
    path("confirm/", public_views.confirm, name="public_form_confirm"),
    path("<str:key>/", public_views.form_page, name="public_form"),
    path("<str:key>/token/", public_views.form_token, name="public_form_token"),
]
