"""Public addresses (no account): a person's privacy page, unsubscribing, the policy."""

from django.urls import path

from privacy.portal import views

urlpatterns = [
    path("me/", views.PrivacyPageView.as_view(), name="privacy-page-self"),
    path("me/link/<str:token>/", views.OpenLinkView.as_view(), name="privacy-page"),
    path(
        "me/unsubscribe/<str:token>/", views.UnsubscribeView.as_view(), name="privacy-unsubscribe"
    ),
    path("policy/", views.PolicyView.as_view(), name="privacy-policy"),
    path("policy/<int:pk>/", views.PolicyView.as_view(), name="privacy-policy-version"),
]
