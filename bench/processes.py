"""Running one benchmark case in a fresh process, so that its peak RSS is its own; a Celery
worker as the product runs one."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any


def measure_in_own_process(script: str, case: str, *arguments: str) -> dict:
    """Run `script --case CASE ARGUMENTS...`, which prints its figures as JSON on its last
    line, and return them."""
    result = subprocess.run(
        [sys.executable, script, "--case", case, *arguments],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def rate_line(label: str, figures: Mapping[str, Any], *, width: int) -> str:
    """A case's rows, seconds, rows per second and peak RSS on one line."""
    rate = figures["rows"] / figures["seconds"]
    return (
        f"{label:{width}} {figures['rows']:>9,} rows {figures['seconds']:7.1f} s "
        f"{rate:>9,.0f} rows/s  peak RSS {figures['peak_mb']:5.0f} MB"
    )


def answer_case(cases: Mapping[str, Callable[[Any], dict]], args: Any) -> bool:
    """The other side of `measure_in_own_process`: when `args.case` names a case, set Django
    up, run it and print its figures with this process's peak RSS (`peak_mb`) as JSON; returns
    whether it did (the caller then stops)."""
    if not args.case:
        return False
    import django
    from django.conf import settings

    django.setup()
    # As in production: DEBUG (a development machine's settings) would keep every query in
    # memory, and a case running many would measure that.
    settings.DEBUG = False
    figures = cases[args.case](args)
    figures["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(figures))
    return True


def start_worker() -> subprocess.Popen:
    """A Celery worker as the product runs one (the solo pool), on this process's database and
    broker."""
    return subprocess.Popen(
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
            "--loglevel",
            "WARNING",
        ],
        cwd=Path(__file__).resolve().parent.parent,
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
