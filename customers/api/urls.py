from rest_framework.routers import SimpleRouter

from customers.api.views import ConsentViewSet, CustomerViewSet

router = SimpleRouter()
router.register("customers", CustomerViewSet, basename="customer")
router.register("consents", ConsentViewSet, basename="consent")
