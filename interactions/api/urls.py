from rest_framework.routers import SimpleRouter

from interactions.api.bulk import InteractionBulkViewSet, TransactionBulkViewSet

router = SimpleRouter()
# Before any "transactions" or "interactions" resource: their detail routes would take "bulk"
# for an id.
router.register("transactions/bulk", TransactionBulkViewSet, basename="transaction-bulk")
router.register("interactions/bulk", InteractionBulkViewSet, basename="interaction-bulk")
