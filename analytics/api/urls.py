from rest_framework.routers import SimpleRouter

from analytics.api.summary import CustomerSummaryViewSet
from analytics.api.views import SegmentRefreshViewSet, SegmentViewSet

router = SimpleRouter()
router.register("segments", SegmentViewSet, basename="segment")
router.register("segment-refreshes", SegmentRefreshViewSet, basename="segment-refresh")
# customers/{id}/summary/ beside customers' own routes (named "api:customer-summary").
router.register("customers", CustomerSummaryViewSet, basename="customer")
