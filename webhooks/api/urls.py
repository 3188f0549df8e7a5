from rest_framework.routers import SimpleRouter

from webhooks.api.views import SubscriptionViewSet

router = SimpleRouter()
router.register("webhook-subscriptions", SubscriptionViewSet, basename="webhook-subscription")
