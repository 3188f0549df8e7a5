"""The import contracts (pyproject.toml [tool.importlinter], run by `make lint`): the tree keeps
them, and an import against the layers breaks them, naming the contract and the import."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from django.conf import settings

PYPROJECT = Path(settings.BASE_DIR) / "pyproject.toml"
APPS = tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]["root_packages"]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _lint_imports(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache", "--no-logo"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _copy_of_the_tree(target: Path) -> Path:
    """The apps' Python files and the contracts, where a test may add a module."""
    root = Path(settings.BASE_DIR)
    for app in APPS:
        for source in (root / app).rglob("*.py"):
            copy = target / source.relative_to(root)
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, copy)
    shutil.copyfile(PYPROJECT, target / "pyproject.toml")
    return target


def test_the_tree_keeps_the_contracts():
    result = _lint_imports(Path(settings.BASE_DIR))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_customers_importing_analytics_breaks_the_layers(tmp_path):
    root = _copy_of_the_tree(tmp_path)
    (root / "customers" / "wrong_way.py").write_text("from analytics.models import Segment\n")
    result = _lint_imports(root)
    assert result.returncode == 1
    # import-linter wraps its report at 80 columns: the contract's long name spans two lines.
    report = " ".join(result.stdout.split())
    assert (
        "Domain layers: analytics > sales > interactions > customers > notifications > privacy"
        " BROKEN"
    ) in report
    assert "Nothing imports analytics but the wiring" in report
    assert "customers is not allowed to import analytics" in report
    assert "customers.wrong_way -> analytics.models" in report


def test_privacy_importing_a_domain_app_breaks_the_layers(tmp_path):
    root = _copy_of_the_tree(tmp_path)
    (root / "privacy" / "wrong_way.py").write_text("from customers.models import Customer\n")
    result = _lint_imports(root)
    assert result.returncode == 1
    assert "privacy is not allowed to import customers" in result.stdout
    assert "privacy.wrong_way -> customers.models" in result.stdout


def test_accounts_importing_a_domain_app_breaks_its_contract(tmp_path):
    root = _copy_of_the_tree(tmp_path)
    (root / "accounts" / "wrong_way.py").write_text("from customers.normalize import name_sound\n")
    result = _lint_imports(root)
    assert result.returncode == 1
    assert "Staff accounts import no domain app above privacy, nor operations BROKEN" in (
        result.stdout
    )
    assert "accounts.wrong_way -> customers.normalize" in result.stdout
