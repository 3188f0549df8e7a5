"""The health endpoint, the Celery wiring (a real worker on the configured broker) and the
production settings check."""

import datetime
import os
import subprocess
import sys
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.utils import timezone

from crm.celery import app as celery_app
from crm.models import BackupRun, BackupStatus, WorkerHeartbeat
from crm.tasks import record_worker_heartbeat


def _backup(*, hours_ago: float, user=None) -> BackupRun:
    finished = timezone.now() - datetime.timedelta(hours=hours_ago)
    return BackupRun.objects.create(
        started_at=finished - datetime.timedelta(minutes=2),
        finished_at=finished,
        status=BackupStatus.DONE,
        engine="postgresql",
        file_name="crm-20260101T003000Z.backup",
        size_bytes=1024,
        started_by=user,
    )


@pytest.mark.django_db
def test_health_reports_degraded_without_a_worker_heartbeat_or_a_backup(client):
    response = client.get("/health/")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"] == {"database": True, "broker": True, "worker": False, "backup": False}
    assert body["last_backup_age_seconds"] is None


@pytest.mark.django_db
def test_health_is_ok_with_a_recent_heartbeat_and_backup_and_has_no_personal_data(
    client, make_user
):
    WorkerHeartbeat.objects.create(hostname="worker@test", seen_at=timezone.now())
    _backup(hours_ago=2, user=make_user(username="zhang.wei", first_name="伟", email="z@qq.com"))
    response = client.get("/health/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body) == {"status", "checks", "worker_last_seen", "last_backup_age_seconds"}
    assert set(body["checks"]) == {"database", "broker", "worker", "backup"}
    assert 2 * 3600 <= body["last_backup_age_seconds"] < 2 * 3600 + 60
    text = response.content.decode()
    for private in ("zhang", "伟", "qq.com", "crm-2026", ".backup"):
        assert private not in text


@pytest.mark.django_db
def test_a_stale_backup_degrades_the_health_body_but_keeps_the_server_in_rotation(client, settings):
    WorkerHeartbeat.objects.create(hostname="worker@test", seen_at=timezone.now())
    _backup(hours_ago=settings.BACKUP_MAX_AGE_HOURS + 1)
    response = client.get("/health/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"] == {"database": True, "broker": True, "worker": True, "backup": False}
    assert body["last_backup_age_seconds"] > settings.BACKUP_MAX_AGE_HOURS * 3600


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_heartbeat_task_through_the_broker():
    broker = "redis" if settings.REDIS_URL else "filesystem"
    assert celery_app.connection_for_write().transport_cls == broker
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        record_worker_heartbeat.delay()
        deadline = time.monotonic() + 20
        while not WorkerHeartbeat.objects.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
    assert WorkerHeartbeat.objects.exists()


def test_deploy_check_is_clean_with_debug_off(tmp_path):
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "x" * 20 + "-production-secret-key-that-is-long-and-random-9f8e7d6c5b",
        "ALLOWED_HOSTS": "crm.example.com",
        "STATIC_ROOT": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
