"""The app served for real — gunicorn in a process of its own, on the test database — for the
tests that call the API over HTTP the way a partner's system does (schemathesis, the README's
examples). Rows the test writes must be committed for it to see them: use it from tests marked
`django_db(transaction=True)`."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
from django.conf import settings

from tests.worker_process import worker_env

# How long the server may take to answer its first request before the test gives up.
START_SECONDS = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def served_app(log: Path, **environment: str) -> Iterator[str]:
    """Serve the app on a free port of 127.0.0.1 until the block ends; yields its base URL.
    `environment` overrides settings read from the environment (API_RATE_LIMIT...). What the
    server writes goes to `log`, printed when it fails to start."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "crm.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--timeout",
                "120",
            ],
            cwd=settings.BASE_DIR,
            env=worker_env(**environment),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_answering(base_url, server, log)
            yield base_url
        finally:
            server.terminate()
            server.wait(timeout=30)


def _wait_until_answering(base_url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            break
        try:
            # The first answer imports the app and builds the schema: it may take a while.
            requests.get(f"{base_url}/api/schema/", timeout=START_SECONDS)
        except requests.ConnectionError:
            time.sleep(0.2)
        else:
            return
    raise RuntimeError(f"The app did not start on {base_url}:\n{log.read_text()}")
