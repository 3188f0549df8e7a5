from rest_framework.routers import SimpleRouter

from customers.api.bulk import CustomerBulkViewSet
from customers.api.views import (
    ConsentViewSet,
    ContactViewSet,
    CustomerViewSet,
    ExternalIdViewSet,
    TagViewSet,
)

router = SimpleRouter()
# Before "customers": its detail route would take "bulk" for an id.
router.register("customers/bulk", CustomerBulkViewSet, basename="customer-bulk")
router.register("customers", CustomerViewSet, basename="customer")
router.register("contacts", ContactViewSet, basename="contact")
router.register("tags", TagViewSet, basename="tag")
router.register("external-ids", ExternalIdViewSet, basename="externalid")
router.register("consents", ConsentViewSet, basename="consent")
