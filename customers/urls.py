from django.urls import path

from customers import views
from customers.dedup import views as dedup_views

app_name = "customers"

urlpatterns = [
    path("", views.CustomerListView.as_view(), name="list"),
    path("new/", views.CustomerFormView.as_view(), name="create"),
    path("bulk/", views.BulkActionView.as_view(), name="bulk"),
    path("views/save/", views.SaveViewView.as_view(), name="save_view"),
    path("views/<int:view_pk>/delete/", views.DeleteViewView.as_view(), name="delete_view"),
    path(
        "possible-duplicates/",
        views.PossibleDuplicatesView.as_view(),
        name="possible_duplicates",
    ),
    path("<int:pk>/", views.CustomerDetailView.as_view(), name="detail"),
    path("<int:pk>/edit/", views.CustomerFormView.as_view(), name="edit"),
    path("<int:pk>/reveal-id/", views.RevealIdNumberView.as_view(), name="reveal_id"),
    path(
        "<int:pk>/reveal/<slug:key>/",
        views.RevealCustomValueView.as_view(),
        name="reveal_custom",
    ),
    path("<int:pk>/consent/", views.RecordConsentView.as_view(), name="record_consent"),
    path("<int:pk>/archive/", views.ArchiveCustomerView.as_view(), name="archive"),
    path(
        "<int:pk>/merges/<int:merge>/undo/",
        dedup_views.UndoMergeView.as_view(),
        name="undo_merge",
    ),
    path("<int:pk>/contacts/new/", views.AddContactView.as_view(), name="add_contact"),
    path(
        "<int:pk>/contacts/<int:record_pk>/edit/",
        views.EditContactView.as_view(),
        name="edit_contact",
    ),
    path(
        "<int:pk>/contacts/<int:record_pk>/delete/",
        views.DeleteContactView.as_view(),
        name="delete_contact",
    ),
]
