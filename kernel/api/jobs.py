"""Background jobs as the API shows them: what every job has (kernel/models.py BackgroundJob),
the same for imports, exports and segment refreshes, so that a client polls them all alike.

Starting a job answers 202 Accepted with the job and, in Location, where to poll it: the
work runs on the worker (kernel/jobs/runner.py), never in the request. A resource's
serializer builds on JobSerializer and names the URL of its job resource (`poll_url_name`)."""

from __future__ import annotations

from typing import ClassVar

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response

from kernel.models import BackgroundJob, JobStatus


class JobProgressSerializer(serializers.Serializer):
    done = serializers.IntegerField(source="rows_done", help_text=_("Rows done so far."))
    total = serializers.IntegerField(
        source="rows_total", allow_null=True, help_text=_("Rows in all; null until counted.")
    )
    percent = serializers.IntegerField(source="percent_done", help_text=_("0 to 100."))
    rows_per_second = serializers.FloatField(
        allow_null=True,
        help_text=_(
            "Rows a second since the job started (to its end, once it has ended); null until "
            "the first rows are done."
        ),
    )
    seconds_left = serializers.IntegerField(
        allow_null=True,
        help_text=_(
            "About how long the rest takes at that rate; null when that is not known, once "
            "the job has ended, and while it is interrupted (its worker stopped)."
        ),
    )


class JobSerializer(serializers.Serializer):
    """The part of a job every kind shares: state, progress, times, why it failed, where to
    poll it."""

    # The URL name of the resource that reads one job of this kind (by its `pk`).
    poll_url_name: ClassVar[str]

    id = serializers.IntegerField(read_only=True)
    job_kind = serializers.SerializerMethodField(
        help_text=_("The kind of job: customers.ImportJob, analytics.ExportJob, ...")
    )
    status = serializers.ChoiceField(choices=JobStatus.choices, read_only=True)
    progress = JobProgressSerializer(source="*", read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    started_at = serializers.DateTimeField(read_only=True, allow_null=True)
    finished_at = serializers.DateTimeField(read_only=True, allow_null=True)
    failure = serializers.CharField(
        read_only=True,
        help_text=_(
            "Why the job failed, in the language of whoever started it; empty unless it failed."
        ),
    )
    url = serializers.SerializerMethodField(help_text=_("Where to poll this job."))

    def get_job_kind(self, job: BackgroundJob) -> str:
        return job._meta.label

    @extend_schema_field(OpenApiTypes.STR)
    def get_url(self, job: BackgroundJob) -> str:
        return reverse(self.poll_url_name, args=[job.pk])


def job_accepted(serializer: JobSerializer) -> Response:
    """The answer to a request that started a job: 202 with the job, Location to poll."""
    data = serializer.data
    return Response(data, status=status.HTTP_202_ACCEPTED, headers={"Location": data["url"]})
