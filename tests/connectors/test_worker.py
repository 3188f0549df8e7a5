"""A real Celery worker killed while it holds a shop's delivery: nothing of it is lost or
written twice. The delivery stays waiting, the beat's sweep has a worker apply it, once."""

from __future__ import annotations

import json
import signal
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from connectors.models import DeliveryStatus, InboundDelivery
from connectors.tasks import apply_waiting_deliveries
from customers.models import Customer
from privacy.models import AuditEvent
from tests.connectors.conftest import apply_received, payload, post_shopify
from tests.worker_process import database_url, start_worker, stop_workers, wait_for, worker_env

APPLY = "connectors.tasks.apply_delivery"


def _queued_messages(task: str = "") -> list[Path]:
    """The messages waiting in the embedded broker's folder (those for `task` only)."""
    found = []
    for path in (Path(settings.BROKER_DIR) / "queue").glob("*.msg"):
        try:
            message = json.loads(path.read_bytes())
        except OSError:
            continue  # taken by the worker meanwhile
        if not task or message["headers"].get("task") == task:
            found.append(path)
    return found


@contextmanager
def _database_held(connector_id: int) -> Iterator[None]:
    """Hold what the worker's apply needs, from another connection, until the block ends:
    on PostgreSQL the connector's row (the apply's first lock, taken after the attempt is
    committed), on SQLite the database's one write lock."""
    if connection.vendor == "postgresql":
        with psycopg.connect(database_url()) as held:
            held.execute(
                "SELECT id FROM connectors_connector WHERE id = %s FOR UPDATE", [connector_id]
            )
            yield
            # The killed worker's session still waits for the row: end it as the dead
            # client's closed socket would, before letting the row go.
            held.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            held.rollback()
    else:
        held = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
        try:
            held.execute("BEGIN IMMEDIATE")
            yield
            held.execute("ROLLBACK")
        finally:
            held.close()


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_while_applying_a_delivery_loses_nothing_and_applies_it_once(
    live_server, shopify
):
    post_shopify(
        live_server.url, shopify, "customers/create", payload("shopify/customers_create.json")
    )
    apply_received(shopify)
    for message in _queued_messages():  # what earlier tests queued for workers never started
        message.unlink()
    env = worker_env(CONNECTORS_REQUEUE_AFTER_SECONDS="0")
    workers = []
    try:
        response = post_shopify(
            live_server.url, shopify, "customers/update", payload("shopify/customers_update.json")
        )
        assert response.status_code == 200  # acknowledged before anything is applied
        delivery = InboundDelivery.objects.get(topic="customers/update")
        with _database_held(shopify.pk):
            workers.append(start_worker(env))
            if connection.vendor == "postgresql":
                # The attempt is committed; the apply now waits for the connector's lock.
                wait_for(lambda: InboundDelivery.objects.get(pk=delivery.pk).attempts, seconds=60)
            else:
                # The worker took the message and waits for the database.
                wait_for(lambda: not _queued_messages(APPLY), seconds=60)
            assert not _queued_messages(APPLY)
            workers[0].send_signal(signal.SIGKILL)
            workers[0].wait(timeout=10)
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.RECEIVED
        assert Customer.objects.get().phone == "+8613800138000"  # nothing of it written

        # The beat's minute: the sweep goes to a new worker.
        workers.append(start_worker(env))
        apply_waiting_deliveries.delay()
        wait_for(
            lambda: InboundDelivery.objects.get(pk=delivery.pk).status != DeliveryStatus.RECEIVED,
            seconds=60,
        )
    finally:
        stop_workers(workers)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.APPLIED
    assert delivery.attempts == (2 if connection.vendor == "postgresql" else 1)
    customer = Customer.objects.get()
    assert (customer.phone, customer.city) == ("+8613900139000", "上海市")
    upserts = AuditEvent.objects.filter(action="import.bulk_upsert", actor=shopify.service_account)
    assert upserts.count() == 2  # the create, and the update once
    assert upserts.order_by("sequence").last().via == "task"
