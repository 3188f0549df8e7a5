from django.urls import path

from sales.deals import views

app_name = "deals"

urlpatterns = [
    path("", views.BoardView.as_view(), name="board"),
    path("pipeline/<int:pk>/", views.BoardView.as_view(), name="pipeline_board"),
    path("list/", views.DealListView.as_view(), name="list"),
    path("export/<str:file_format>/", views.DealExportView.as_view(), name="export"),
    path("new/", views.DealFormView.as_view(), name="create"),
    path("<int:pk>/", views.DealDetailView.as_view(), name="detail"),
    path("<int:pk>/edit/", views.DealFormView.as_view(), name="edit"),
    path("<int:pk>/move/", views.DealMoveView.as_view(), name="move"),
    path("<int:pk>/win/", views.DealWinView.as_view(), name="win"),
    path(
        "<int:pk>/reveal/<slug:key>/", views.RevealCustomValueView.as_view(), name="reveal_custom"
    ),
    path("pipelines/", views.PipelinesView.as_view(), name="pipelines"),
    path("pipelines/<int:pk>/", views.PipelineEditView.as_view(), name="pipeline_edit"),
]
