"""Free text that people type or files bring in: how long each kind may be, and which characters
no person can have written.

Every text field of the domain models has a maximum (a test walks the models to keep it so).
Short fields say theirs as a CharField's max_length; long free text uses BoundedTextField with
one of the lengths below, which model validation enforces (Django's TextField leaves
max_length to forms), so a service's full_clean refuses an over-long text whoever calls it.

The lengths, and why:

- NOTE_LENGTH (10,000): notes on a customer, an interaction's details, a follow-up's notes.
  Several pages of minutes of a long meeting or a whole complaint email; far more than any real
  note, far less than a pasted document or a hostile megabyte.
- LETTER_LENGTH (4,000): what a data-subject request asked and the answer given, the length of
  a letter (and what the answer form always allowed).
- DOCUMENT_LENGTH (100,000): the full text of a privacy-policy version; long Chinese policies
  run to 30,000-50,000 characters.
- STATEMENT_LENGTH (2,000): a consent's evidence, what a privacy-policy version changed, a
  segment's description: a paragraph (the consent form always allowed this much).

Unreadable characters: Django decodes a POST body as UTF-8 replacing bytes it cannot decode
with U+FFFD, files read with a wrong encoding arrive with the same marks, and NUL, control
characters, lone surrogates and noncharacters cannot be typed (PostgreSQL refuses NUL outright).
Such text is refused as a field error asking the user to retype it, never stored or silently
cleaned: the value is not what the person meant.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

DOCUMENT_LENGTH = 100_000
NOTE_LENGTH = 10_000
LETTER_LENGTH = 4_000
STATEMENT_LENGTH = 2_000

# C0 controls but tab, newline and carriage return; DEL and the C1 controls; the replacement
# character; surrogates (only ever alone in a str); the noncharacters U+FDD0..U+FDEF and the
# last two code points of every plane.
_PLANE_ENDS = "".join(
    chr(plane + 0xFFFE) + chr(plane + 0xFFFF) for plane in range(0, 0x110000, 0x10000)
)
_UNREADABLE = re.compile(
    f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd\ud800-\udfff\ufdd0-\ufdef{_PLANE_ENDS}]"
)

UNREADABLE_TEXT = _("This contains characters that could not be read. Retype it.")


def has_unreadable_characters(text: str) -> bool:
    """Whether `text` holds a character no person typed (see the module's docstring)."""
    return _UNREADABLE.search(text) is not None


def mark_unreadable(text: str) -> str:
    """`text` with every unreadable character shown as U+FFFD, so that a report can quote a
    refused value (PostgreSQL stores neither NUL nor a lone surrogate)."""
    return _UNREADABLE.sub("\ufffd", text)


def validate_readable_text(value: object) -> None:
    """Validator for every free-text field: ValidationError (code "unreadable_text") when the
    value holds unreadable characters."""
    if isinstance(value, str) and has_unreadable_characters(value):
        raise ValidationError(UNREADABLE_TEXT, code="unreadable_text")


class BoundedTextField(models.TextField):
    """A TextField whose max_length model validation enforces too, as a CharField's is; forms
    get the limit as the textarea's maxlength and their own check, like any TextField."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.max_length is None:
            raise TypeError("A BoundedTextField needs its max_length.")
        self.validators.append(MaxLengthValidator(self.max_length))
