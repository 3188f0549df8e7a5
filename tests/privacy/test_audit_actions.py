"""The audit actions: every code is a registered enum member labelled in both languages, and
a code no enum knows never reaches the log."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

from customers.audit import CustomerAction
from kernel.jobs.runner import JobStep, registered_kinds
from privacy.audit.actions import action_label, is_known, registered_actions
from privacy.audit.recording import record_event
from privacy.models import AuditEvent

ROOT = Path(settings.BASE_DIR)
APPS = (
    "accounts",
    "analytics",
    "crm",
    "customers",
    "demo",
    "interactions",
    "kernel",
    "operations",
    "privacy",
)
# An action written as a literal: action="customer.update", action__startswith="customer.".
LITERAL_ACTION = re.compile(r"\baction(?:__\w+)?\s*=\s*\"([a-z0-9_]+\.[a-z0-9_.]*)\"")


# A code once recorded, since renamed: nothing records it any more.
GONE = "customer.renamed"


def _known_or_a_prefix(code: str) -> bool:
    if code.endswith("."):
        return any(member.value.startswith(code) for member in registered_actions())
    return is_known(code)


def test_every_action_has_a_chinese_label_other_than_the_english_one():
    same = []
    for member in registered_actions():
        with translation.override("en"):
            english = str(member.label)
        with translation.override("zh-hans"):
            chinese = str(member.label)
        if not english or chinese == english:
            same.append(member.value)
    assert not same, f"Actions without a Chinese label: {same}"


def test_job_actions_are_labelled_from_the_job_and_the_step():
    kinds = registered_kinds()
    assert kinds
    for kind in kinds:
        for step in JobStep:
            action = kind.audit_action(step)
            assert action == f"{kind.audit_prefix}.{step.value}"
            assert is_known(action)
    with translation.override("en"):
        assert action_label("backup.drill.done") == "Restore drill: finished"
    with translation.override("zh-hans"):
        assert action_label("backup.drill.done") == "恢复演练：已完成"


@pytest.mark.django_db
def test_record_event_refuses_an_action_no_enum_knows_and_writes_nothing():
    with pytest.raises(ValueError, match="not a registered audit action"):
        record_event(actor=None, action=GONE)
    assert not AuditEvent.objects.exists()
    event = record_event(actor=None, action=CustomerAction.UPDATE)
    assert AuditEvent.objects.get(pk=event.pk).action == "customer.update"


def test_an_action_no_enum_knows_is_shown_as_its_code():
    with translation.override("zh-hans"):
        assert action_label(GONE) == GONE
        assert action_label("customer.update") == "修改客户"


def test_the_apps_write_no_action_as_a_literal_and_the_tests_use_known_actions():
    written = [
        f"{path.relative_to(ROOT)}: {code}"
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts
        for code in LITERAL_ACTION.findall(path.read_text(encoding="utf-8"))
    ]
    assert not written, f"Actions written as literals, not enum members: {written}"
    unknown = [
        f"{path.relative_to(ROOT)}: {code}"
        for path in (ROOT / "tests").rglob("*.py")
        for code in LITERAL_ACTION.findall(path.read_text(encoding="utf-8"))
        # Codes of the "test." kind stand for rows nobody could record (stored directly).
        if not code.startswith("test.") and not _known_or_a_prefix(code)
    ]
    assert not unknown, f"Tests use actions no enum knows: {unknown}"
