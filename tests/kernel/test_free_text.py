"""Free text: every text field a person or a file fills has a maximum and refuses characters
nobody typed (kernel/free_text.py), and a body too large for any form answers 400."""

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.db import models
from django.urls import reverse
from django.utils import translation

from customers.models import Customer
from kernel.free_text import (
    BoundedTextField,
    has_unreadable_characters,
    mark_unreadable,
    validate_readable_text,
)

PROJECT_APPS = (
    "customers",
    "interactions",
    "privacy",
    "analytics",
    "crm",
    "accounts",
    "webhooks",
    "webforms",
)
# Records the system writes from its own values, which no form, admin page or import fills.
SYSTEM_RECORDS = {
    "kernel.WorkerHeartbeat",
    "operations.BackupRun",
    "operations.RestoreDrill",
    "accounts.UserSession",
    "privacy.AuditEvent",
    "privacy.SecurityAlert",
    "customers.ImportIssue",
    # A webhook delivery: the payload the relay built, and the receiver's answer, cut short.
    "webhooks.Delivery",
}
SYSTEM_FIELDS = {
    # A job's failure: written by the code from its own translated messages.
    "failure",
    # The identity number's encrypted token (privacy.crypto), from a number checked for length.
    "id_number_encrypted",
    # Computed from the uploaded file.
    "file_checksum",
    # The uploaded file's name: a label, its unreadable characters shown as U+FFFD.
    "file_name",
}


def _fillable_text_fields():
    for model in apps.get_models():
        if model._meta.app_label not in PROJECT_APPS or model._meta.label in SYSTEM_RECORDS:
            continue
        for field in model._meta.concrete_fields:
            if (
                isinstance(field, models.CharField | models.TextField)
                and field.editable
                and not field.choices
                and field.name not in SYSTEM_FIELDS
            ):
                yield f"{model._meta.label}.{field.name}", field


def test_every_text_field_a_person_or_file_fills_has_a_maximum_and_refuses_unreadable_text():
    fields = dict(_fillable_text_fields())
    # The walk sees the free text it is about (a broken walk would pass vacuously).
    assert {"customers.Customer.notes", "interactions.Interaction.body"} <= set(fields)
    unbounded = [
        name
        for name, field in fields.items()
        if field.max_length is None
        or not any(isinstance(check, MaxLengthValidator) for check in field.validators)
    ]
    unchecked = [
        name for name, field in fields.items() if validate_readable_text not in field.validators
    ]
    assert unbounded == []
    assert unchecked == []


@pytest.mark.parametrize(
    ("text", "unreadable"),
    [
        ("王丽娟 Anna-Maria O'Neil", False),
        ("line one\nline two\r\n\ttabbed", False),
        ("emoji 😀 and 𠀀 (CJK extension B)", False),
        ("decoded with errors \ufffd", True),
        ("nul \x00", True),
        ("escape \x1b[31m", True),
        ("unit separator \x1f", True),
        ("delete \x7f", True),
        ("C1 control \x85", True),
        ("lone surrogate \ud800", True),
        ("noncharacter \ufdd0", True),
        ("noncharacter \U0010ffff", True),
    ],
)
def test_unreadable_characters_are_the_ones_nobody_types(text, unreadable):
    assert has_unreadable_characters(text) is unreadable
    if unreadable:
        with pytest.raises(ValidationError) as raised:
            validate_readable_text(text)
        assert raised.value.code == "unreadable_text"
        # A report can quote the value: every unreadable character shows as U+FFFD.
        assert not has_unreadable_characters(mark_unreadable(text).replace("\ufffd", ""))
    else:
        validate_readable_text(text)
        assert mark_unreadable(text) == text


def test_unreadable_text_message_is_translated():
    with translation.override("zh-hans"):
        with pytest.raises(ValidationError) as raised:
            validate_readable_text("a\ufffdb")
        assert raised.value.messages == ["其中有无法识别的字符，请重新输入。"]


def test_a_bounded_text_field_enforces_its_maximum_in_model_validation():
    field = BoundedTextField(max_length=5)
    field.run_validators("12345")
    with pytest.raises(ValidationError):
        field.run_validators("123456")
    with pytest.raises(TypeError):
        BoundedTextField()


@pytest.mark.django_db
def test_a_form_post_larger_than_the_server_takes_answers_400_and_saves_nothing(
    client, service_user
):
    client.force_login(service_user)
    # The request switches this thread to Chinese; the override switches it back afterwards.
    with translation.override("en"):
        response = client.post(
            reverse("customers:create"),
            {"kind": "person", "name": "Li Lei", "notes": "x" * 3_000_000},
            HTTP_ACCEPT_LANGUAGE="zh-hans",
        )
    assert response.status_code == 400
    page = response.content.decode()
    assert "无法接受提交的内容" in page
    assert not Customer.objects.exists()
