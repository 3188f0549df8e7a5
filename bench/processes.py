"""Running one benchmark case in a fresh process, so that its peak RSS is its own."""

from __future__ import annotations

import json
import subprocess
import sys


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
