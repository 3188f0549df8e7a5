#!/usr/bin/env python3
"""Write development settings with fresh secrets to var/.env, once.

`make run` and `make test` call this; production never does (there the environment provides every
secret, and settings refuse to start without them). The file is git-ignored.
"""

import base64
import os
import secrets
import sys
from pathlib import Path

ENV_FILE = Path(__file__).resolve().parent.parent / "var" / ".env"


def _key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def _settings() -> dict[str, str]:
    return {
        "DEBUG": "true",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEYS": f"dev1:{_key()}",
        "BLIND_INDEX_KEY": _key(),
        "BACKUP_ENCRYPTION_KEYS": f"devbackup1:{_key()}",
    }


def main() -> int:
    """Write the file, or add the settings a newer version needs to an existing one (the
    values already there are kept: data was encrypted under them)."""
    # var/, made here on a fresh clone, is private to this account like everything in it.
    os.umask(0o077)
    existing = ENV_FILE.read_text() if ENV_FILE.exists() else ""
    if existing and not existing.endswith("\n"):
        existing += "\n"
    present = {line.split("=", 1)[0] for line in existing.splitlines() if "=" in line}
    missing = {name: value for name, value in _settings().items() if name not in present}
    if not missing:
        return 0
    ENV_FILE.parent.mkdir(parents=True, exist_ok=True)
    header = (
        ""
        if existing
        else "# Development settings written by bin/dev_env.py. Never use these in production.\n"
    )
    lines = "".join(f"{name}={value}\n" for name, value in missing.items())
    ENV_FILE.write_text(existing + header + lines)
    ENV_FILE.chmod(0o600)
    print(f"Wrote development settings {', '.join(missing)} to {ENV_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
