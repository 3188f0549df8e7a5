"""The embedded broker (kernel/jobs/broker.py): a worker polling the folder while messages are
written reads every one whole. kombu's own filesystem transport, tried the same way, lost 0 to
26 of the 2,000 (the worker read a file created but not yet written)."""

import multiprocessing
import os
import time

from kombu import Connection, Exchange, Queue

MESSAGES = 2000
# A queue of its own: kombu remembers the bindings a process declared (its virtual transports'
# shared state), and a test process that has sent a job already holds "celery"'s, for the
# suite's folder; declaring that one here would not bind it in this test's folder.
QUEUE = Queue("broker-test", Exchange("broker-test", type="direct"), routing_key="broker-test")
# How long the worker waits for the next message before it gives up: generous, for a machine
# busy with other test runs.
QUIET_SECONDS = 60


def _connection(folder) -> Connection:
    return Connection(
        "filesystem://",
        transport="kernel.jobs.broker:Transport",
        transport_options={
            "data_folder_in": str(folder),
            "data_folder_out": str(folder),
            "control_folder": str(folder / "control"),
            "store_processed": False,
        },
    )


def _drain(folder, received) -> None:
    """In a process of its own, as a worker: take messages until all came, or until none came
    for QUIET_SECONDS; report what it took, what it could not read and the files left."""
    taken = unreadable = 0
    with _connection(folder) as connection:
        queue = connection.SimpleQueue(QUEUE)
        last = time.monotonic()
        while taken + unreadable < MESSAGES and time.monotonic() - last < QUIET_SECONDS:
            try:
                queue.get(block=True, timeout=0.05).ack()
                taken += 1
            except queue.Empty:
                continue
            except ValueError:  # an empty or half-written file
                unreadable += 1
            last = time.monotonic()
    left = [name for name in os.listdir(folder) if name.endswith((".msg", ".partial"))]
    received.put((taken, unreadable, len(left)))


def test_a_polling_worker_reads_every_message_whole(tmp_path):
    (tmp_path / "control").mkdir()
    # Spawned, not forked: a fork of the test process would share its database connection.
    spawn = multiprocessing.get_context("spawn")
    received = spawn.Queue()
    with _connection(tmp_path) as connection:
        QUEUE(connection.default_channel).declare()  # the binding, as a worker declares it
        worker = spawn.Process(target=_drain, args=(tmp_path, received))
        worker.start()
        producer = connection.Producer()
        for number in range(MESSAGES):
            producer.publish({"n": number}, exchange=QUEUE.exchange, routing_key="broker-test")
        worker.join(QUIET_SECONDS * 3)
    assert received.get(timeout=QUIET_SECONDS) == (MESSAGES, 0, 0)
