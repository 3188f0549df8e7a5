"""schemathesis against the app served for real (gunicorn on the test database), over the
whole schema from /api/schema/ with an Administrator's key: its examples, coverage and
fuzzing phases on every operation, then the stateful phase, which follows the schema's links
(create → read → change, kernel/api/schema.py). Whatever resources the apps register, no
request gets a server error, and every answer — its status, content type, headers and body —
is one the schema documents."""

import pytest
import schemathesis
from schemathesis import engine
from schemathesis.engine import Status, StopReason, events

from customers.custom_fields.models import FieldType, Sensitivity
from privacy import roles
from tests.api.live_server import served_app
from tests.customers.test_custom_fields import define_field
from tests.factories import CustomerFactory

pytestmark = [pytest.mark.django_db(transaction=True)]

# What is asserted: the three promises, and nothing about which valid-looking input the
# services accept (a phone the schema calls a string may still be refused, with a 400).
CHECKS = {
    "enabled": False,
    "not_a_server_error": {"enabled": True},
    "status_code_conformance": {"enabled": True},
    "content_type_conformance": {"enabled": True},
    "response_schema_conformance": {"enabled": True},
    "response_headers_conformance": {"enabled": True},
}
# Bounds that keep a run to a few minutes on each engine whatever the number of operations:
# examples per operation and per stateful run, steps per scenario, seconds per request. (No
# `max-time`: with one, schemathesis repeats fuzzing and stateful turns until it runs out.)
LIMITS = {
    "generation": {"max-examples": 10},
    "phases": {
        "stateful": {"max-steps": 6, "generation": {"max-examples": 20}, "checks": CHECKS},
    },
    "request-timeout": 30,
}


# Custom fields in the schema and in the customers read and written (type, label, sensitivity).
CUSTOM_FIELDS = [
    (FieldType.CHOICE, "Membership level", Sensitivity.ORDINARY),
    (FieldType.CHOICES, "Interests", Sensitivity.ORDINARY),
    (FieldType.MONEY, "Deposit", Sensitivity.ORDINARY),
    (FieldType.DATE, "Member since", Sensitivity.ORDINARY),
    (FieldType.USER, "Referred by", Sensitivity.ORDINARY),
    (FieldType.TEXT, "WeChat id", Sensitivity.PERSONAL),
    (FieldType.TEXT, "Health notes", Sensitivity.SENSITIVE),
]


@pytest.fixture
def api_schema(api_client_for, sales_user, admin_user_role, tmp_path):
    """The live schema, with a key of an Administrator, custom fields of several kinds and a
    few customers to find."""
    for kind, label, sensitivity in CUSTOM_FIELDS:
        define_field(admin_user_role, kind, label=label, sensitivity=sensitivity)
    CustomerFactory.create_batch(3)
    CustomerFactory(owner=sales_user, name="张伟", phone="13800138000", email="zw@example.com")
    key = api_client_for(roles.ADMINISTRATOR)
    # The rate limit is the subject of its own test (tests/api/test_api_access.py).
    with served_app(tmp_path / "server.log", API_RATE_LIMIT="100000/min") as base_url:
        config = schemathesis.Config.from_dict(
            {
                "base-url": base_url,
                "headers": {"Authorization": f"Bearer {key.secret}"},
                "checks": CHECKS,
                "seed": 20,
                # Each run starts afresh: nothing learnt by an earlier run is kept on disk.
                "cache": {"enabled": False},
                **LIMITS,
            }
        )
        yield schemathesis.openapi.from_url(f"{base_url}/api/schema/", config=config)


def test_every_operation_and_linked_sequence_answers_as_the_schema_says(api_schema):
    failures, errors, transitions, finished = [], [], 0, None
    for event in engine.from_schema(api_schema).execute():
        if isinstance(event, events.ScenarioFinished) and event.status == Status.FAILURE:
            failures.extend(_failures_of(event.recorder))
        elif isinstance(event, events.NonFatalError | events.FatalError):
            errors.append(f"{getattr(event, 'label', '')}: {event}")
        elif isinstance(event, events.PhaseStarted) and isinstance(
            event.payload, events.StatefulPhasePayload
        ):
            transitions = event.payload.transitions_selected
        elif isinstance(event, events.EngineFinished):
            finished = event
    assert not failures, "\n\n".join(failures)
    assert not errors, "\n".join(errors)
    assert finished.stop_reason == StopReason.COMPLETED
    # The stateful phase had links to follow (create → read, update, archive...).
    assert transitions > 0


def _failures_of(recorder) -> list[str]:
    return [
        f"{check.failure_info.failure.title} ({recorder.label}):\n"
        f"{check.failure_info.failure.message}\n{check.failure_info.code_sample}"
        for checks in recorder.checks.values()
        for check in checks
        if check.status == Status.FAILURE and check.failure_info is not None
    ]
