from rest_framework.routers import SimpleRouter

from analytics.api.views import CustomerSummaryViewSet

router = SimpleRouter()
# customers/{id}/summary/ beside customers' own routes (named "api:customer-summary").
router.register("customers", CustomerSummaryViewSet, basename="customer")
