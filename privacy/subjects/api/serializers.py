"""Data-subject requests as the API shows and takes them: the fields of the request page, and
the fields of the "log a request" form (privacy/subjects/forms.py NewRequestForm)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from privacy.models import DataSubjectRequest


class DataSubjectRequestSerializer(serializers.ModelSerializer):
    class Meta:
        model = DataSubjectRequest
        fields = (
            "id",
            "customer",
            "kind",
            "channel",
            "received_at",
            "due_on",
            "details",
            "status",
            "verification_method",
            "verified_at",
            "resolution",
            "closed_at",
            "created_by",
        )
        read_only_fields = fields


class NewRequestSerializer(serializers.Serializer):
    customer = serializers.IntegerField(
        min_value=1, help_text=_("The customer the request is about.")
    )
    kind = serializers.ChoiceField(choices=DataSubjectRequest._meta.get_field("kind").choices)
    channel = serializers.ChoiceField(choices=DataSubjectRequest._meta.get_field("channel").choices)
    received_at = serializers.DateTimeField(
        required=False, help_text=_("When the request arrived; by default now.")
    )
    details = serializers.CharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        help_text=_("What the person asked for, in their words."),
    )
