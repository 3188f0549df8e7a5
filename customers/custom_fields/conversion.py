"""Rewriting a field's stored values when its settings change how they are stored (another type,
other decimals, sealed or no longer sealed): a background job (kernel/jobs/runner.py), since at
a million records it takes minutes, which no request may hold.

The job works in two passes, so that a change that would lose values is refused without
changing anything:

1. **Check** (read only): every stored value is cleaned under the requested settings. When
   one would not convert, the job fails naming the records (the first UNCONVERTIBLE_SHOWN,
   and how many), and the field keeps its settings. Until the check ends, the field is as it
   was; a worker that dies during it starts it over.
2. **Switch and rewrite**: the settings change under the field's lock, audited as
   `custom_field.update`; from then on every write stores the new form. The values are
   rewritten in batches of CONVERSION_BATCH, each read again under lock and committed with the
   job's progress and the last record done, so a worker that dies loses one batch at most and
   the job goes on from there. Rewriting a value already in the new form changes nothing, so
   a batch done twice is harmless. A value written in the old form between the check and the
   switch and that does not convert is kept as it is, and named on the field's page.

Meanwhile, pages read values of either form: records.py shows an old-form value as it was
typed and masks a plain value under a field now sensitive."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from customers.audit import CustomFieldAction
from customers.custom_fields.models import (
    ConversionPhase,
    FieldConversion,
    FieldDefinition,
    FieldType,
    Sensitivity,
)
from customers.custom_fields.records import as_stored_now, store_values, unseal
from customers.custom_fields.targets import target_for
from kernel.actors import Actor
from kernel.jobs.runner import JobFailedError, JobKind, JobRun
from kernel.models import BackgroundJob, JobStatus
from privacy.audit.recording import record_event

# How many records a refusal, or the list of values kept in their old form, names.
UNCONVERTIBLE_SHOWN = 10
# Records read, and rewritten under lock in one transaction, at a time.
CONVERSION_BATCH = 1000


def stored_form_changes(before: dict[str, Any], after: dict[str, Any]) -> bool:
    """Whether values stored under the settings `before` must be rewritten for `after`:
    another type, other decimals, or sealed where they were plain (or the other way round)."""
    return (
        before["type"] != after["type"]
        or before["decimals"] != after["decimals"]
        or _seals(before) != _seals(after)
    )


def _seals(settings: dict[str, Any]) -> bool:
    return settings["sensitivity"] == Sensitivity.SENSITIVE


def converted(field: FieldDefinition, entry: Any) -> Any:
    """A stored entry (of any earlier form, sealed or not) as `field` stores it now, clean
    but not sealed (records.as_stored_now). Raises ValidationError when it is not a value
    `field` can hold."""
    return as_stored_now(field, unseal(field, entry))


def active_conversion(field: FieldDefinition) -> FieldConversion | None:
    """The conversion of `field` queued or running, if any."""
    return field.conversions.filter(status__in=BackgroundJob.ACTIVE).first()


def fields_converting(target: str) -> set[int]:
    """The ids of `target` records' fields whose values are being converted."""
    active = FieldConversion.objects.filter(field__target=target, status__in=BackgroundJob.ACTIVE)
    return set(active.values_list("field_id", flat=True))


def latest_conversion(field: FieldDefinition) -> FieldConversion | None:
    return field.conversions.order_by("-created_at", "-pk").first()


def requested_changes(job: FieldConversion) -> list[tuple[str, str, str]]:
    """(setting, before, after) of the settings whose change makes the conversion, as a
    person reads them."""
    shown = {
        "type": lambda value: FieldType(value).label,
        "decimals": str,
        "sensitivity": lambda value: Sensitivity(value).label,
    }
    return [
        (
            str(FieldDefinition._meta.get_field(name).verbose_name),
            show(job.previous[name]),
            show(job.requested[name]),
        )
        for name, show in shown.items()
        if job.previous[name] != job.requested[name]
    ]


def refusal(field: FieldDefinition, count: int, records: Sequence[int]) -> str:
    """Why the change of `field` was refused: how many records hold a value that would not
    convert, naming the first of them by number (never by value)."""
    named = ", ".join(f"#{pk}" for pk in records) + (", …" if count > len(records) else "")
    return ngettext(
        "%(count)d record holds a value that is not a valid %(type)s: %(records)s",
        "%(count)d records hold values that are not valid %(type)s: %(records)s",
        count,
    ) % {"count": count, "type": field.get_type_display().lower(), "records": named}


def before_change(field: FieldDefinition) -> None:
    """Make way for a change of `field`'s settings (locked by the caller): refused with a
    ValidationError while a conversion is under way (it will set the settings it was asked
    for, over any change made meanwhile); one that stopped before its settings took effect
    can no longer be resumed (it would undo this change)."""
    if active_conversion(field) is not None:
        raise ValidationError(
            _(
                "The values of this field are being converted. Change its settings again once "
                "that has finished."
            ),
            code="converting",
        )
    field.conversions.filter(resumable=True, phase=ConversionPhase.CHECKING).update(resumable=False)


@transaction.atomic
def request_conversion(
    *,
    actor: Actor,
    field: FieldDefinition,
    previous: dict[str, Any],
    requested: dict[str, Any],
    queue: bool = True,
) -> FieldConversion:
    """Queue the change of `field` (locked by the caller, still as it was, with no conversion
    under way) from `previous` to `requested`; an earlier conversion left to resume is
    superseded: this one rewrites every value it would have."""
    field.conversions.filter(resumable=True).update(resumable=False)
    job = FieldConversion.objects.create(
        field=field,
        created_by=actor,
        previous=previous,
        requested=requested,
        reseals=_seals(previous) != _seals(requested),
        language=translation.get_language() or settings.LANGUAGE_CODE,
        status=JobStatus.QUEUED,
    )
    if queue:
        CONVERSIONS.enqueue(job)
    return job


@transaction.atomic
def stop_conversion(*, actor: Actor, job: FieldConversion) -> FieldConversion:
    """Stop a conversion still checking (nothing has changed then); once the values are being
    rewritten it must finish, or they would be left in two forms. Audited."""
    job = FieldConversion.objects.select_for_update().get(pk=job.pk)
    if job.phase != ConversionPhase.CHECKING:
        raise ValidationError(
            _("The values are being rewritten already; the conversion must finish."),
            code="converting",
        )
    return CONVERSIONS.cancel(actor=actor, job=job)


class FieldConversionKind(JobKind[FieldConversion]):
    model = FieldConversion
    audit_prefix = "custom_field_conversion"
    # Queued again after losing its worker but never taken up (its message lost): given up,
    # so that the field takes changes again. A running job beats every few seconds.
    time_limit = datetime.timedelta(hours=1)
    given_up: ClassVar[dict[str, Any]] = {"resumable": True}
    unexpected_failure = _(
        "The conversion stopped because of an internal error. The values converted so far "
        "stay converted; resume it to convert the rest."
    )
    resumable_after_error = True
    seen_with = ("customers.manage_custom_fields",)

    def work(self, run: JobRun[FieldConversion]) -> None:
        if run.job.phase == ConversionPhase.CHECKING:
            self._check(run)
            self._switch(run)
        self._rewrite(run)

    def _holding(self, field: FieldDefinition) -> list[QuerySet]:
        """Per model holding values of the field's records (Target.holders), the rows holding
        one, by id."""
        target = target_for(field.target)
        has_value = Q(**{f"{target.values_field}__has_key": field.key})
        return [model._base_manager.filter(has_value).order_by("pk") for model in target.holders]

    def _check(self, run: JobRun[FieldConversion]) -> None:
        job = run.job
        field = FieldDefinition.objects.prefetch_related("choices").get(pk=job.field_id)
        for name, value in job.requested.items():
            setattr(field, name, value)
        values_field = target_for(field.target).values_field
        holding = self._holding(field)
        run.progress(0, sum(rows.count() for rows in holding))
        refused: list[int] = []
        count = done = 0
        for rows in holding:
            for pk, values in rows.values_list("pk", values_field).iterator(CONVERSION_BATCH):
                try:
                    converted(field, values.get(field.key))
                except ValidationError:
                    count += 1
                    if len(refused) < UNCONVERTIBLE_SHOWN:
                        refused.append(pk)
                done += 1
                if done % CONVERSION_BATCH == 0:
                    run.progress(done)
        run.progress(done)
        if count:
            job.unconverted, job.unconverted_count = refused, count
            raise JobFailedError(refusal(field, count, refused))

    def _switch(self, run: JobRun[FieldConversion]) -> None:
        from customers.custom_fields.services import settings_changes, settings_of

        job = run.job
        with transaction.atomic():
            run.lock()
            field = FieldDefinition.objects.select_for_update().get(pk=job.field_id)
            before = settings_of(field)
            for name, value in job.requested.items():
                setattr(field, name, value)
            field.save()
            run.progress(
                0,
                job.rows_total,
                phase=ConversionPhase.CONVERTING,
                holder_done=0,
                last_pk=0,
                switched_at=timezone.now(),
            )
            # The order index the values need now (none for a sealed field: the plain one is
            # dropped at once), built while they are rewritten (its expression takes either
            # form); CREATE / DROP INDEX CONCURRENTLY run in a task of their own.
            from customers.tasks import build_custom_field_indexes

            transaction.on_commit(build_custom_field_indexes.delay)
            record_event(
                actor=job.created_by,
                action=CustomFieldAction.UPDATE,
                target=field,
                changes={**settings_changes(before, settings_of(field)), "conversion": job.pk},
            )

    def _rewrite(self, run: JobRun[FieldConversion]) -> None:
        job = run.job
        field = FieldDefinition.objects.prefetch_related("choices").get(pk=job.field_id)
        values_field = target_for(field.target).values_field
        for holder, rows in enumerate(self._holding(field)):
            if holder < job.holder_done:
                continue
            while True:
                with transaction.atomic():
                    run.lock()
                    batch = _locked_batch(rows, job.last_pk, values_field)
                    if not batch:
                        run.progress(job.rows_done, holder_done=holder + 1, last_pk=0)
                        break
                    self._rewrite_batch(run, field, batch, values_field, holder)
        self._sweep(run, field)

    def _sweep(self, run: JobRun[FieldConversion], field: FieldDefinition) -> None:
        """Rewrite again the records saved since the switch: a write prepared before it (an
        edit form's whole JSON, an import that read the fields when it started, a merge)
        may have put back a value in the old form behind the rewrite. Records without an
        updated time (interactions, written once) are not swept."""
        job = run.job
        values_field = target_for(field.target).values_field
        for rows in self._holding(field):
            if not any(f.name == "updated_at" for f in rows.model._meta.concrete_fields):
                continue
            saved_since = rows.filter(updated_at__gte=job.switched_at)
            last_pk = 0
            while True:
                with transaction.atomic():
                    run.lock()
                    batch = _locked_batch(saved_since, last_pk, values_field)
                    if not batch:
                        break
                    self._rewrite_batch(run, field, batch, values_field, job.holder_done)
                    last_pk = batch[-1].pk

    def _rewrite_batch(
        self,
        run: JobRun[FieldConversion],
        field: FieldDefinition,
        batch: list[Any],
        values_field: str,
        holder: int,
    ) -> None:
        job = run.job
        rewritten: list[Any] = []
        kept = list(job.unconverted)
        kept_count = job.unconverted_count
        for record in batch:
            try:
                value = converted(field, getattr(record, values_field).get(field.key))
            except ValidationError:
                if record.pk not in kept:  # the sweep meets a kept value again
                    kept_count += 1
                    if len(kept) < UNCONVERTIBLE_SHOWN:
                        kept.append(record.pk)
                continue
            if store_values(record, [field], {field.key: value}, values_field=values_field):
                rewritten.append(record)
        type(batch[0])._base_manager.bulk_update(rewritten, [values_field])
        swept = holder >= len(target_for(field.target).holders)
        run.progress(
            job.rows_done + (0 if swept else len(batch)),
            holder_done=holder,
            last_pk=batch[-1].pk,
            values_converted=job.values_converted + len(rewritten),
            unconverted=kept,
            unconverted_count=kept_count,
        )

    def audit_changes(self, job: FieldConversion) -> dict[str, Any]:
        changed = [
            name
            for name in ("type", "decimals", "sensitivity")
            if job.previous.get(name) != job.requested.get(name)
        ]
        return {
            "field": job.field_id,
            **{name: [job.previous.get(name), job.requested.get(name)] for name in changed},
            "values_converted": job.values_converted,
            "values_not_converted": job.unconverted_count,
        }

    def finishing(self, job: FieldConversion, status: str) -> None:
        if status == JobStatus.FAILED and job.phase == ConversionPhase.CONVERTING:
            # Its settings are in effect and some values are not rewritten yet: whatever
            # stopped it (an error, a lost worker, a message never taken up), it can go on.
            job.resumable = True

    def visible_to(self, user: Actor) -> QuerySet[FieldConversion]:
        return super().visible_to(user).select_related("field")

    def page_url(self, job: FieldConversion, user: Actor) -> str:
        return reverse("custom_fields:edit", args=[job.field.target, job.field_id])


def _locked_batch(rows: QuerySet, after_pk: int, values_field: str) -> list[Any]:
    """The next CONVERSION_BATCH records of `rows` after `after_pk`, locked for the current
    transaction, read afresh (only their values)."""
    return list(
        rows.filter(pk__gt=after_pk).select_for_update().only("pk", values_field)[:CONVERSION_BATCH]
    )


CONVERSIONS = FieldConversionKind()
