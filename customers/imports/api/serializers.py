"""Imports as the API shows and takes them: the job (kernel/api/jobs.py) with what the wizard
shows of it, the detected columns with their mapping, the options, the counts, and the issues
of its report (customers/imports/views.py)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from customers.imports import jobs
from customers.models import (
    DateOrder,
    ImportIssue,
    ImportJob,
    ImportKind,
    ImportPhase,
    InvalidValues,
    IssueSeverity,
    SourceChannel,
    UpdatePolicy,
)
from kernel.api.jobs import JobSerializer


class ImportColumnSerializer(serializers.Serializer):
    header = serializers.CharField(help_text=_("The column's header in the file."))
    field = serializers.CharField(
        allow_blank=True, help_text=_("The field it goes into; empty: the column is ignored.")
    )


class ImportFieldSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()


class ImportOptionsSerializer(serializers.Serializer):
    source_name = serializers.CharField()
    source_channel = serializers.ChoiceField(choices=SourceChannel.choices)
    policy = serializers.ChoiceField(choices=UpdatePolicy.choices)
    invalid_values = serializers.ChoiceField(choices=InvalidValues.choices)
    all_or_nothing = serializers.BooleanField()
    date_order = serializers.ChoiceField(choices=DateOrder.choices, allow_blank=True)
    owner = serializers.IntegerField(source="owner_id", allow_null=True)


class ImportCountsSerializer(serializers.Serializer):
    created = serializers.IntegerField(source="rows_created")
    updated = serializers.IntegerField(source="rows_updated")
    unchanged = serializers.IntegerField(source="rows_unchanged")
    failed = serializers.IntegerField(source="rows_failed")
    warnings = serializers.IntegerField()
    possible_duplicates = serializers.IntegerField(allow_null=True)


class ImportSerializer(JobSerializer):
    poll_url_name = "api:import-detail"

    kind = serializers.ChoiceField(choices=ImportKind.choices, read_only=True)
    file_name = serializers.CharField(read_only=True)
    file_size = serializers.IntegerField(read_only=True)
    phase = serializers.ChoiceField(choices=ImportPhase.choices, read_only=True)
    dry_run = serializers.BooleanField(read_only=True)
    resumable = serializers.BooleanField(read_only=True)
    columns = serializers.SerializerMethodField(
        help_text=_(
            "The file's columns in order, each with the field it goes into: the suggested "
            "mapping until it is changed."
        )
    )
    mappable_fields = serializers.SerializerMethodField(
        help_text=_("The fields this kind of import can fill, for the mapping.")
    )
    options = ImportOptionsSerializer(source="*", read_only=True)
    counts = ImportCountsSerializer(source="*", read_only=True)
    report = serializers.SerializerMethodField(help_text=_("The issues found, row by row."))

    @extend_schema_field(ImportColumnSerializer(many=True))
    def get_columns(self, job: ImportJob) -> list[dict[str, str]]:
        headers = jobs.table_of(job).headers
        return [
            {"header": header, "field": field}
            for header, field in zip(headers, job.mapping, strict=False)
        ]

    @extend_schema_field(ImportFieldSerializer(many=True))
    def get_mappable_fields(self, job: ImportJob) -> list[dict[str, str]]:
        return [
            {"key": field.key, "label": str(field.label)}
            for field in jobs.rows_module(job.kind).fields()
        ]

    @extend_schema_field(OpenApiTypes.STR)
    def get_report(self, job: ImportJob) -> str:
        return reverse("api:import-report", args=[job.pk])


class ImportUploadSerializer(serializers.Serializer):
    """The upload, as the wizard's first step takes it (multipart/form-data)."""

    kind = serializers.ChoiceField(
        choices=jobs.importable_kinds(),
        default=ImportKind.CUSTOMERS,
        help_text=_("What the file holds"),
    )
    file = serializers.FileField(
        help_text=_("CSV, TSV or Excel (.xlsx), up to 200 MB; the first row names the columns.")
    )


class ImportConfigureSerializer(serializers.Serializer):
    """What goes where and how, on an import not yet started; what is left out keeps its
    value."""

    mapping = serializers.ListField(
        child=serializers.CharField(allow_blank=True, max_length=50),
        required=False,
        help_text=_(
            "One field key per column, in the file's order (see `columns` and "
            "`mappable_fields`); an empty string ignores the column."
        ),
    )
    source_name = serializers.CharField(required=False, allow_blank=True, max_length=50)
    source_channel = serializers.ChoiceField(choices=SourceChannel.choices, required=False)
    policy = serializers.ChoiceField(choices=UpdatePolicy.choices, required=False)
    invalid_values = serializers.ChoiceField(choices=InvalidValues.choices, required=False)
    all_or_nothing = serializers.BooleanField(required=False)
    date_order = serializers.ChoiceField(
        choices=DateOrder.choices, required=False, allow_blank=True
    )
    owner = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.filter(is_active=True),
        required=False,
        allow_null=True,
        help_text=_("Owner of new customers (for those who see every customer)."),
    )
    template_name = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=100,
        help_text=_("Also save this mapping as a template of this name."),
    )


class ImportStartSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField(
        default=False,
        help_text=_("Validate every row and count what would happen, writing nothing."),
    )


class ImportIssueSerializer(serializers.ModelSerializer):
    severity = serializers.ChoiceField(choices=IssueSeverity.choices)

    class Meta:
        model = ImportIssue
        fields = ("row", "column", "value", "severity", "message")
        read_only_fields = fields


def options_of(job: ImportJob) -> dict[str, Any]:
    """The job's options as configure_import takes them."""
    return {
        "source_name": job.source_name,
        "source_channel": job.source_channel,
        "policy": job.policy,
        "invalid_values": job.invalid_values,
        "all_or_nothing": job.all_or_nothing,
        "date_order": job.date_order,
        "owner": job.owner,
    }
