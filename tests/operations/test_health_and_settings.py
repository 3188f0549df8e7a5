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
from kernel.models import JobStatus, WorkerHeartbeat
from kernel.tasks import record_worker_heartbeat
from operations.models import BackupRun


def _backup(*, hours_ago: float, user=None) -> BackupRun:
    finished = timezone.now() - datetime.timedelta(hours=hours_ago)
    return BackupRun.objects.create(
        started_at=finished - datetime.timedelta(minutes=2),
        finished_at=finished,
        status=JobStatus.DONE,
        engine="postgresql",
        file_name="crm-20260101T003000Z.backup",
        size_bytes=1024,
        created_by=user,
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
    # Without Redis: kombu's filesystem transport, writing messages whole (kernel/jobs/broker.py).
    broker = "redis" if settings.REDIS_URL else "kernel.jobs.broker:Transport"
    assert celery_app.connection_for_write().transport_cls == broker
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        record_worker_heartbeat.delay()
        deadline = time.monotonic() + 20
        while not WorkerHeartbeat.objects.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
    assert WorkerHeartbeat.objects.exists()


# What docker-compose's .env gives a production start, mail server included.
PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "x" * 20 + "-production-secret-key-that-is-long-and-random-9f8e7d6c5b",
    "ALLOWED_HOSTS": "crm.example.com",
    "EMAIL_URL": "smtp+tls://crm:mail-password@smtp.example.com:587",
}


def _deploy_check(tmp_path, **env) -> subprocess.CompletedProcess:
    """`manage.py check --deploy` in production's environment; a None in `env` unsets it."""
    environment = {**os.environ, **PRODUCTION_ENV, "STATIC_ROOT": str(tmp_path), **env}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env={name: value for name, value in environment.items() if value is not None},
        capture_output=True,
        text=True,
        check=False,
    )


def test_deploy_check_is_clean_with_debug_off(tmp_path):
    result = _deploy_check(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    "email_url",
    [None, "", "consolemail://", "filemail:///tmp/mail", "memorymail://", "dummymail://"],
)
def test_production_refuses_to_start_without_a_mail_server(tmp_path, email_url):
    # Reset mails carry live tokens: printed to the console they would sit in the log.
    result = _deploy_check(tmp_path, EMAIL_URL=email_url)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "EMAIL_URL" in result.stderr


def test_development_prints_mail_without_a_mail_server(tmp_path):
    result = _deploy_check(tmp_path, DEBUG="true", EMAIL_URL=None)
    # The deploy check warns about DEBUG itself; the start goes ahead.
    assert "ImproperlyConfigured" not in result.stderr, result.stderr
    assert "security.W018" in result.stdout + result.stderr
