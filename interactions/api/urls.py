from rest_framework.routers import SimpleRouter

from interactions.api.views import (
    FollowUpViewSet,
    InteractionViewSet,
    ProductViewSet,
    TransactionViewSet,
)

router = SimpleRouter()
router.register("products", ProductViewSet, basename="product")
router.register("transactions", TransactionViewSet, basename="transaction")
router.register("interactions", InteractionViewSet, basename="interaction")
router.register("follow-ups", FollowUpViewSet, basename="followup")
