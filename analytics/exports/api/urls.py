from rest_framework.routers import SimpleRouter

from analytics.exports.api.views import ExportViewSet

router = SimpleRouter()
router.register("exports", ExportViewSet, basename="export")
