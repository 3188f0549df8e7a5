"""Exports as the API shows and takes them: the job (kernel/api/jobs.py) with its format,
columns and whether it is masked; what to export, as the export page takes it (the list's
filters, or a segment, the columns and the format)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from analytics.exports.columns import BUILT_IN_COLUMNS, DEFAULT_COLUMNS, export_columns
from analytics.models import ExportFormat, ExportJob
from kernel.api.jobs import JobSerializer
from kernel.api.schema import read_for_schema
from privacy.consent import MARKETING_CHANNELS


class ExportSerializer(JobSerializer):
    poll_url_name = "api:export-detail"

    format = serializers.ChoiceField(choices=ExportFormat.choices, read_only=True)
    columns = serializers.ListField(child=serializers.CharField(), read_only=True)
    filters = serializers.DictField(child=serializers.CharField(), read_only=True)
    searched = serializers.SerializerMethodField(
        help_text=_("Whether the list was a search (the search text itself is not kept here).")
    )
    marketing_channel = serializers.CharField(read_only=True)
    unmasked = serializers.BooleanField(
        read_only=True,
        help_text=_("Personal data written unmasked (only with export_personal_data)."),
    )
    download = serializers.SerializerMethodField(
        help_text=_("Where the file is downloaded once the export is done; null before.")
    )

    def get_searched(self, job: ExportJob) -> bool:
        return bool(job.search)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_download(self, job: ExportJob) -> str | None:
        return reverse("api:export-download", args=[job.pk]) if job.file else None


class NewExportSerializer(serializers.Serializer):
    filters = serializers.DictField(
        child=serializers.CharField(allow_blank=True),
        required=False,
        default=dict,
        help_text=_(
            "The customer list's filters, as /api/v1/customers/ takes them (lifecycle_stage, "
            "segment, ...)."
        ),
    )
    search = serializers.CharField(
        required=False, allow_blank=True, max_length=200, help_text=_("The list's search text.")
    )
    segment = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text=_("Export a segment's members (the `segment` filter of the list)."),
    )
    columns = serializers.ListField(
        child=serializers.ChoiceField(choices=[]),  # get_fields: the custom fields change
        default=DEFAULT_COLUMNS,
        min_length=1,
        help_text=_("Built-in fields by name, custom fields as custom.<key>."),
    )
    format = serializers.ChoiceField(choices=ExportFormat.choices, default=ExportFormat.CSV)
    marketing_channel = serializers.ChoiceField(
        choices=[(channel.value, channel.label) for channel in MARKETING_CHANNELS],
        required=False,
        allow_blank=True,
        help_text=_(
            "For marketing, only the customers who consented to that channel are exported; "
            "by default a marketing segment's own channel."
        ),
    )

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["columns"].child.choices = [
            (column.key, column.label)
            for column in read_for_schema(export_columns, list(BUILT_IN_COLUMNS))
        ]
        return fields
