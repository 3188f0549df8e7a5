"""The embedded broker (kernel/jobs/broker.py): a worker polling the folder while messages are
written reads every one whole. kombu's own filesystem transport, tried the same way, lost 0 to
26 of the 2,000 (the worker read a file created but not yet written)."""

import multiprocessing
import time

from kombu import Connection, Exchange, Queue

MESSAGES = 2000
QUEUE = Queue("celery", Exchange("celery", type="direct"), routing_key="celery")


def _options(folder) -> dict:
    return {
        "data_folder_in": str(folder),
        "data_folder_out": str(folder),
        "control_folder": str(folder / "control"),
        "store_processed": False,
    }


def _drain(folder, received) -> None:
    """In a process of its own, as a worker: take messages until all came or 30 s passed."""
    taken = unreadable = 0
    with Connection(
        "filesystem://",
        transport="kernel.jobs.broker:Transport",
        transport_options=_options(folder),
    ) as connection:
        queue = connection.SimpleQueue(QUEUE)
        deadline = time.monotonic() + 30
        while taken + unreadable < MESSAGES and time.monotonic() < deadline:
            try:
                queue.get(block=True, timeout=0.01).ack()
                taken += 1
            except queue.Empty:
                continue
            except ValueError:  # an empty or half-written file
                unreadable += 1
    received.put((taken, unreadable))


def test_a_polling_worker_reads_every_message_whole(tmp_path):
    (tmp_path / "control").mkdir()
    # Spawned, not forked: a fork of the test process would share its database connection.
    spawn = multiprocessing.get_context("spawn")
    received = spawn.Queue()
    with Connection(
        "filesystem://",
        transport="kernel.jobs.broker:Transport",
        transport_options=_options(tmp_path),
    ) as connection:
        connection.SimpleQueue(QUEUE)  # the queue and its binding, as a worker declares them
        worker = spawn.Process(target=_drain, args=(tmp_path, received))
        worker.start()
        producer = connection.Producer()
        for number in range(MESSAGES):
            producer.publish({"n": number}, exchange=QUEUE.exchange, routing_key="celery")
        worker.join(40)
    assert received.get(timeout=5) == (MESSAGES, 0)
    assert not list(tmp_path.glob("*.partial"))
