"""The Celery application: configured from Django settings (CELERY_* names)."""

import gc
import os

from celery import Celery
from celery.signals import worker_process_init, worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

app = Celery("crm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Packages inside apps whose tasks live in their own module.
app.autodiscover_tasks(["privacy.subjects", "operations.backups"])


@worker_ready.connect
def _report_alive_at_start(sender, **kwargs) -> None:
    # A freshly started worker reports at once instead of waiting for beat's first tick, and
    # takes up at once the jobs a dead worker left (a restarted worker often replaces it).
    sender.app.send_task("kernel.tasks.record_worker_heartbeat")
    sender.app.send_task("kernel.tasks.recover_stalled_jobs")


def freeze_loaded_objects() -> None:
    """Leave what the process has loaded by now (Django, the apps, pypinyin's dictionary of
    phrases: millions of objects that live as long as the process) out of the garbage
    collector's full passes, which otherwise walk all of them again and again during a long
    job: 3 of a 100,000-row import's 35 seconds (bench/imports.py runs its import after the
    same call)."""
    gc.freeze()


@worker_process_init.connect
def _freeze_at_start(**kwargs) -> None:
    freeze_loaded_objects()
