#!/usr/bin/env python3
"""Write development settings with fresh secrets to var/.env, once.

`make run` and `make test` call this; production never does (there the environment provides every
secret, and settings refuse to start without them). The file is git-ignored.
"""

import base64
import secrets
import sys
from pathlib import Path

ENV_FILE = Path(__file__).resolve().parent.parent / "var" / ".env"


def _key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def main() -> int:
    if ENV_FILE.exists():
        return 0
    ENV_FILE.parent.mkdir(parents=True, exist_ok=True)
    ENV_FILE.write_text(
        "# Development settings written by bin/dev_env.py. Never use these in production.\n"
        "DEBUG=true\n"
        f"SECRET_KEY={secrets.token_urlsafe(50)}\n"
        f"FIELD_ENCRYPTION_KEYS=dev1:{_key()}\n"
        f"BLIND_INDEX_KEY={_key()}\n"
    )
    ENV_FILE.chmod(0o600)
    print(f"Wrote development secrets to {ENV_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
