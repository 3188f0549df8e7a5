from rest_framework.routers import SimpleRouter

from customers.api.views import CustomerViewSet

router = SimpleRouter()
router.register("customers", CustomerViewSet, basename="customer")
