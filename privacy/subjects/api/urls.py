from rest_framework.routers import SimpleRouter

from privacy.subjects.api.views import DataSubjectRequestViewSet

router = SimpleRouter()
router.register("data-subject-requests", DataSubjectRequestViewSet, basename="data-subject-request")
