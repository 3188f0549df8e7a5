"""/api/v1/segments/: list, read, members (scoped and masked per caller) and refresh on the
worker; /api/v1/segment-refreshes/: poll a refresh. The permissions, scope and sizes of the
segment pages (analytics/segments/views.py)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from analytics.api.serializers import (
    SegmentDetailSerializer,
    SegmentRefreshSerializer,
    SegmentSerializer,
)
from analytics.models import Segment, SegmentRefresh
from analytics.segments.refresh import SEGMENT_REFRESH, start_refresh
from analytics.segments.selectors import members_visible_to, sizes_visible_to
from analytics.segments.vocabulary import deal_stage_names, segment_fields
from customers.api.serializers import CustomerSerializer
from customers.models import Tag
from kernel.api.jobs import job_accepted
from kernel.api.problems import Conflict
from kernel.api.views import ApiViewSet

VIEW = ("analytics.view_segment",)


class SegmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    queryset = Segment.objects.none()
    serializer_class = SegmentSerializer
    action_permissions = {
        "list": VIEW,
        "retrieve": VIEW,
        "members": (*VIEW, "customers.view_customer"),
        "refresh": (*VIEW, "analytics.change_segment"),
    }

    def visible_queryset(self) -> QuerySet[Any]:
        if self.action == "members":
            members = members_visible_to(self.segment(), self.request.user)
            return members.select_related("owner").prefetch_related("tags")
        return Segment.objects.all()

    def get_serializer_class(self) -> type:
        return {
            "retrieve": SegmentDetailSerializer,
            "members": CustomerSerializer,
        }.get(self.action, SegmentSerializer)

    def segment(self) -> Segment:
        return get_object_or_404(Segment, pk=self.kwargs["pk"])

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Every segment, newest first, with its rules in words and the size the caller may
        see (one tag lookup and one grouped count for the whole page)."""
        return super().list(request, *args, **kwargs)

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        if self.action == "list" and not getattr(self, "swagger_fake_view", False):
            context["tag_names"] = dict(Tag.objects.values_list("pk", "name"))
            context["stage_names"] = deal_stage_names()
            context["segment_fields"] = segment_fields()
            context["visible_sizes"] = sizes_visible_to(self.request.user)
        return context

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """One segment: its rules in words, its size as its page shows it, and the refresh
        waiting, running or failed since the members were last computed."""
        segment = self.segment()
        return self.versioned_response(segment, self.get_serializer(segment).data)

    @extend_schema(responses={200: CustomerSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def members(self, request: Request, pk: int) -> Response:
        """The segment's active members the caller may see (for a marketing segment, those
        who still consent), a cursor page at a time; personal data masked without the
        permission."""
        page = self.paginate_queryset(self.get_queryset())
        members = CustomerSerializer(page, many=True, context=self.get_serializer_context())
        return self.get_paginated_response(members.data)

    @extend_schema(request=None, responses={202: SegmentRefreshSerializer})
    @action(detail=True, methods=["post"])
    def refresh(self, request: Request, pk: int) -> Response:
        """Recompute a dynamic segment's members on the worker: 202 with the refresh job,
        Location to poll it. A static list has nothing to refresh (409)."""
        segment = self.segment()
        job = start_refresh(segment, actor=request.user)
        if job is None:
            raise Conflict(_("A static list has no rules to refresh."), code="static-list")
        return job_accepted(SegmentRefreshSerializer(job))


class SegmentRefreshViewSet(mixins.RetrieveModelMixin, ApiViewSet):
    queryset = SegmentRefresh.objects.none()
    serializer_class = SegmentRefreshSerializer
    action_permissions = {"retrieve": VIEW}

    def visible_queryset(self) -> QuerySet[SegmentRefresh]:
        return SEGMENT_REFRESH.visible_to(self.request.user)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """One refresh of a segment's members: its state, progress, sizes before and after,
        and why it failed."""
        return super().retrieve(request, *args, **kwargs)
