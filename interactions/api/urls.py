from rest_framework.routers import SimpleRouter

from interactions.api.bulk import InteractionBulkViewSet, TransactionBulkViewSet
from interactions.api.views import (
    FollowUpViewSet,
    InteractionViewSet,
    ProductViewSet,
    TransactionViewSet,
)

router = SimpleRouter()
# Before the "transactions" and "interactions" resources: a detail route must never take "bulk"
# for an id.
router.register("transactions/bulk", TransactionBulkViewSet, basename="transaction-bulk")
router.register("interactions/bulk", InteractionBulkViewSet, basename="interaction-bulk")
router.register("products", ProductViewSet, basename="product")
router.register("transactions", TransactionViewSet, basename="transaction")
router.register("interactions", InteractionViewSet, basename="interaction")
router.register("follow-ups", FollowUpViewSet, basename="followup")
