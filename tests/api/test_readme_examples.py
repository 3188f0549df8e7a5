"""The README's API examples, run as they are written — the curl session through bash, the
Python block exec'd — against the app served for real with a real Administrator's key, so
that what a partner copies from the README works."""

import contextlib
import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

from customers.models import Customer
from privacy import roles
from tests.api.live_server import served_app

pytestmark = [pytest.mark.django_db(transaction=True)]

README = Path(settings.BASE_DIR) / "README.md"


def example(name: str) -> str:
    """The code block that follows `<!-- example: name -->` in the README."""
    found = re.search(
        rf"<!-- example: {name} -->\n```\w*\n(.*?)\n```", README.read_text(), flags=re.S
    )
    assert found, f"README.md has no example named {name}"
    return found.group(1)


@pytest.fixture
def live_key(api_client_for, tmp_path):
    key = api_client_for(roles.ADMINISTRATOR)
    with served_app(tmp_path / "server.log") as base_url:
        yield {"CRM": base_url, "KEY": key.secret}


def test_the_readme_curl_session_runs_as_written(live_key):
    done = subprocess.run(
        [shutil.which("bash"), "-euo", "pipefail", "-c", example("curl")],
        env={**os.environ, **live_key},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    changed, conflict, found = done.stdout.strip().split("\n")
    assert json.loads(changed)["city"] == "上海市"
    assert json.loads(changed)["phone"] == "+8613800138000"
    problem = json.loads(conflict)
    assert problem["status"] == 412
    assert problem["type"].endswith("/edit-conflict")
    assert [row["name"] for row in json.loads(found)["results"]] == ["张伟"]
    assert Customer.objects.get(name="张伟").city == "上海市"


def test_the_readme_python_example_runs_as_written(live_key, monkeypatch):
    for name, value in live_key.items():
        monkeypatch.setenv(name, value)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(example("python"), "README.md (python example)", "exec"), {})  # noqa: S102
    assert printed.getvalue().splitlines() == [
        "200 +8613900139000 customer",
        "400 ['phone']",
        "customers: 1",
    ]
