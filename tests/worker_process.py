"""A real Celery worker in a process of its own, on the test database and broker: for tests
that kill it, or that need what only a worker started from the command line does (its
worker_ready signal)."""

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

# Every worker this run started, for the check after each test (tests/conftest.py) that none is
# left polling the broker: a worker outliving its test takes later tests' messages. A worker is
# a test's own: one started by a module- or session-wide fixture would be killed after the
# first test.
_started: list[subprocess.Popen] = []


def database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return (
        f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )


def worker_env(**overrides: str) -> dict[str, str]:
    """The environment of a worker on this test's database, broker and media folder."""
    return {
        **os.environ,
        "DATABASE_URL": database_url(),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "REDIS_URL": settings.REDIS_URL,
        **overrides,
    }


def start_worker(env: dict[str, str]) -> subprocess.Popen:
    """A worker whose log (each task received and finished, warnings, errors) goes to a file of
    its own (`log_tail`), removed when stop_workers stops it."""
    log_fd, log_path = tempfile.mkstemp(prefix="crm-worker-", suffix=".log")
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "crm",
            "worker",
            "--pool",
            "solo",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
            "-Q",
            "celery",
            "--loglevel",
            "INFO",  # each task received and finished, for a failing test's message
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=log_fd,
        stderr=subprocess.STDOUT,
    )
    os.close(log_fd)  # the worker holds its own copy
    worker.log_path = Path(log_path)  # type: ignore[attr-defined]
    _started.append(worker)
    return worker


def log_tail(worker: subprocess.Popen, lines: int = 40) -> str:
    """The end of what the worker logged (for a failing test's message), and the messages
    still waiting in the embedded broker's folder, oldest first."""
    text = worker.log_path.read_text(errors="replace")  # type: ignore[attr-defined]
    tail = "\n".join(text.splitlines()[-lines:])
    if settings.REDIS_URL:
        return tail
    waiting = waiting_messages()
    # A message is dropped without a word when its exchange's table (control/<name>.exchange)
    # lacks the queue, and taken by any other worker polling the same folder: both shown.
    tables = [
        f"{path.name} {path.read_text(errors='replace')}"
        for path in sorted((Path(settings.BROKER_DIR) / "control").glob("*.exchange"))
    ]
    return (
        f"{tail}\nwaiting in the broker's folder:\n"
        + ("\n".join(waiting) or "nothing")
        + "\nexchange tables:\n"
        + ("\n".join(tables) or "none")
        + "\nother workers:\n"
        + ("\n".join(_other_workers(worker.pid)) or "none")
    )


def waiting_messages() -> list[str]:
    """The messages waiting in the embedded broker's folder, oldest first, a line each."""
    waiting = []
    for path in sorted((Path(settings.BROKER_DIR) / "queue").iterdir()):
        try:
            headers = json.loads(path.read_bytes())["headers"]
            waiting.append(f"{path.name} {headers.get('task')} {headers.get('argsrepr')}")
        except (OSError, ValueError, KeyError) as error:
            waiting.append(f"{path.name} unreadable: {error!r}")
    return waiting


def _other_workers(pid: int) -> list[str]:
    """Celery worker processes on this machine other than `pid`: their parent, folder, broker
    and database, and their command."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == pid:
            continue
        try:
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if "celery" not in command or "worker" not in command:
                continue
            parent = (proc / "stat").read_text().rsplit(")", 1)[1].split()[1]
            environment = dict(
                entry.split("=", 1)
                for entry in (proc / "environ").read_bytes().decode(errors="replace").split("\0")
                if "=" in entry
            )
            broker = environment.get("REDIS_URL") or environment.get("BROKER_DIR")
            found.append(
                f"{proc.name} (parent {parent}) in {(proc / 'cwd').resolve()}, "
                f"broker {_without_password(broker)}, "
                f"database {_without_password(environment.get('DATABASE_URL'))}: {command}"
            )
        except OSError:
            continue
    return found


def _without_password(url: str | None) -> str | None:
    return re.sub(r"//[^/@]*@", "//", url) if url else url


def stop_workers(workers: list[subprocess.Popen]) -> None:
    """Warm shutdown (the task in hand finishes) of every worker; those still running 20 s
    later are killed and the test fails with their logs (after the error it was raising, if
    any: this runs in the tests' `finally`)."""
    for worker in workers:
        if worker.poll() is None:
            worker.terminate()
    slow = []
    for worker in workers:
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
            slow.append(f"worker {worker.pid}:\n{log_tail(worker)}")
        worker.log_path.unlink(missing_ok=True)  # type: ignore[attr-defined]
    if slow:
        raise AssertionError(
            "still running 20 s after SIGTERM (a task not finishing?), killed:\n" + "\n".join(slow)
        )


def workers_left_running() -> list[str]:
    """Kill the workers started by this run and still running, and describe each (its log);
    forget every worker started so far."""
    started, _started[:] = list(_started), []
    left = [worker for worker in started if worker.poll() is None]
    for worker in left:
        worker.kill()
    described = []
    for worker in left:
        worker.wait()
        described.append(f"worker {worker.pid} {worker.args}:\n{log_tail(worker)}")
    for worker in started:
        worker.log_path.unlink(missing_ok=True)  # type: ignore[attr-defined]
    return described


def wait_for(condition, *, seconds: float, interval: float = 0.1) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(interval)
