"""Segments and their refreshes as the API shows them: the rules in words and the size the
segment's pages show the reader (analytics/segments/views.py)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from analytics.models import Segment, SegmentRefresh
from analytics.segments.description import rules_in_words
from analytics.segments.refresh import refresh_to_show
from analytics.segments.selectors import members_visible_to
from kernel.api.jobs import JobSerializer


class SegmentRefreshSerializer(JobSerializer):
    poll_url_name = "api:segment-refresh-detail"

    segment = serializers.IntegerField(source="segment_id", read_only=True)
    size_before = serializers.IntegerField(read_only=True, allow_null=True)
    size_after = serializers.IntegerField(read_only=True, allow_null=True)


class SegmentSerializer(serializers.ModelSerializer):
    """One segment. The list passes, in the context, the tag names and the sizes it read once
    for the whole page (`tag_names`, `stage_names`, `visible_sizes`), as the list page does."""

    name = serializers.CharField(source="shown_name", read_only=True)
    rules_in_words = serializers.SerializerMethodField(
        help_text=_("The rules in the reader's language; empty for a static list.")
    )
    size = serializers.SerializerMethodField(
        help_text=_(
            "Members: all of them for those who see every customer, else those the caller may see."
        )
    )

    class Meta:
        model = Segment
        fields = (
            "id",
            "name",
            "key",
            "kind",
            "description",
            "marketing_channel",
            "rules",
            "rules_in_words",
            "size",
            "refreshed_at",
            "created_at",
            "version",
        )
        read_only_fields = fields

    def get_rules_in_words(self, segment: Segment) -> str:
        return rules_in_words(
            segment,
            self.context.get("tag_names"),
            self.context.get("stage_names"),
            self.context.get("segment_fields"),
        )

    def get_size(self, segment: Segment) -> int:
        user = self.context["request"].user
        if "visible_sizes" in self.context:
            sizes = self.context["visible_sizes"]
            return segment.size if sizes is None else sizes.get(segment.pk, 0)
        if user.has_perm("customers.view_all_customers"):
            return segment.size
        return members_visible_to(segment, user).count()


class SegmentDetailSerializer(SegmentSerializer):
    """One segment as its page shows it: with the refresh it tells about."""

    refresh = serializers.SerializerMethodField(
        help_text=_(
            "The refresh waiting or running, or the last one if it failed since the members "
            "were computed; null otherwise."
        )
    )

    class Meta(SegmentSerializer.Meta):
        fields = (*SegmentSerializer.Meta.fields, "refresh")
        read_only_fields = fields

    @extend_schema_field(SegmentRefreshSerializer(allow_null=True))
    def get_refresh(self, segment: Segment) -> dict[str, Any] | None:
        shown: SegmentRefresh | None = refresh_to_show(segment)
        return None if shown is None else SegmentRefreshSerializer(shown).data
