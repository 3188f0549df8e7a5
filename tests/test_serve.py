"""bin/serve's supervision (`make run`): a worker or beat that dies is started again, the web
server stopping stops everything, Ctrl-C stops all three. The script runs in a copy of the
project's layout whose `.venv/bin/celery` and `.venv/bin/python` are stand-ins that note their
starts and then wait: what is tested is the shell script, not Celery."""

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from django.conf import settings

FAKE_CELERY = """#!/usr/bin/env bash
# celery -A crm worker|beat ...: the first worker dies at once, like a worker killed mid-job.
cd "$(dirname "$0")/../.."
echo "$3 $$" >>starts.log
if [ "$3" = worker ] && [ "$(grep -c '^worker ' starts.log)" -eq 1 ]; then exit 3; fi
exec sleep 300
"""
FAKE_PYTHON = """#!/usr/bin/env bash
# python manage.py runserver ADDRESS: serves for WEB_SECONDS.
cd "$(dirname "$0")/../.."
echo "web $$" >>starts.log
exec sleep "${WEB_SECONDS:-300}"
"""


def _project(tmp_path: Path) -> Path:
    (tmp_path / "bin").mkdir()
    shutil.copy(settings.BASE_DIR / "bin" / "serve", tmp_path / "bin" / "serve")
    venv = tmp_path / ".venv" / "bin"
    venv.mkdir(parents=True)
    for name, text in (("celery", FAKE_CELERY), ("python", FAKE_PYTHON)):
        (venv / name).write_text(text)
        (venv / name).chmod(0o755)
    return tmp_path


def _starts(project: Path) -> list[tuple[str, int]]:
    log = project / "starts.log"
    lines = log.read_text().split() if log.exists() else []
    return [(lines[i], int(lines[i + 1])) for i in range(0, len(lines), 2)]


def _serve(project: Path, **env: str) -> subprocess.Popen:
    # A session of its own, so that a signal to its process group is a Ctrl-C in its terminal.
    return subprocess.Popen(
        [str(project / "bin" / "serve")],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def _wait_for(condition, *, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_dead_worker_is_started_again_and_ctrl_c_still_stops_everything(tmp_path):
    project = _project(tmp_path)
    serve = _serve(project)
    try:
        _wait_for(
            lambda: [kind for kind, _pid in _starts(project)].count("worker") == 2, seconds=15
        )
        kinds = [kind for kind, _pid in _starts(project)]
        assert kinds.count("worker") == 2  # the dead one and the one started after it
        assert kinds.count("beat") == kinds.count("web") == 1  # nobody else was stopped
        assert all(_alive(pid) for kind, pid in _starts(project)[-3:] if kind != "worker")
        os.killpg(serve.pid, signal.SIGINT)
        output = serve.communicate(timeout=15)[0]
    finally:
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGKILL)
    assert "The Celery worker stopped (exit status 3); starting it again" in output
    assert "Celery beat stopped" not in output
    _wait_for(lambda: not any(_alive(pid) for _kind, pid in _starts(project)), seconds=5)
    assert [pid for _kind, pid in _starts(project) if _alive(pid)] == []


def test_the_web_server_stopping_stops_the_worker_and_beat(tmp_path):
    project = _project(tmp_path)
    serve = _serve(project, WEB_SECONDS="3")
    try:
        serve.wait(timeout=20)
    finally:
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGKILL)
    _wait_for(lambda: not any(_alive(pid) for _kind, pid in _starts(project)), seconds=5)
    assert {kind for kind, _pid in _starts(project)} == {"worker", "beat", "web"}
    assert [pid for _kind, pid in _starts(project) if _alive(pid)] == []
