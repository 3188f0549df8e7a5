from rest_framework.routers import SimpleRouter

from analytics.api.views import SegmentRefreshViewSet, SegmentViewSet

router = SimpleRouter()
router.register("segments", SegmentViewSet, basename="segment")
router.register("segment-refreshes", SegmentRefreshViewSet, basename="segment-refresh")
