from rest_framework.routers import SimpleRouter

from customers.imports.api.views import ImportViewSet

router = SimpleRouter()
router.register("imports", ImportViewSet, basename="import")
