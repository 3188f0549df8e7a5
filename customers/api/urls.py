from rest_framework.routers import SimpleRouter

from customers.api.bulk import CustomerBulkViewSet
from customers.api.views import CustomerViewSet

router = SimpleRouter()
# Before "customers": its detail route would take "bulk" for an id.
router.register("customers/bulk", CustomerBulkViewSet, basename="customer-bulk")
router.register("customers", CustomerViewSet, basename="customer")
