from celery import shared_task

from interactions import reminders
from interactions.archive import archive_age, archive_interactions
from interactions.events import announce_due_follow_ups
from privacy.audit.recording import audit_context
from privacy.models import AuditChannel


@shared_task(name="interactions.tasks.archive_old_interactions")
def archive_old_interactions() -> int | None:
    """The nightly archive run (INTERACTION_ARCHIVE_AFTER_DAYS; 0 switches it off). A second
    delivery, or a run while another is in progress, moves nothing twice: rows already moved
    are no longer due. Returns the run's id (None when there was nothing to do)."""
    older_than = archive_age()
    if older_than is None:
        return None
    with audit_context(via=AuditChannel.TASK):
        run = archive_interactions(older_than=older_than)
    return run.pk if run is not None else None


@shared_task(name="interactions.tasks.announce_due_follow_ups")
def announce_follow_ups_due() -> int:
    """follow_up.due for the follow-ups that fell due since the last run (each once)."""
    return announce_due_follow_ups()


@shared_task(name="interactions.tasks.notify_due_follow_ups", acks_late=True)
def notify_due_follow_ups() -> int:
    """The bell's "follow-up due" for each follow-up that fell due (once per due time)."""
    return reminders.notify_due_follow_ups()


@shared_task(name="interactions.tasks.send_daily_digests", acks_late=True)
def send_daily_digests() -> int:
    """The morning digest mail for each person who asked for it (once a day)."""
    return reminders.send_daily_digests()
