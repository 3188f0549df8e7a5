"""Password validators: Django's, with one message fixed for Chinese."""

from django.contrib.auth import password_validation
from django.utils.translation import ngettext


class MinimumLengthValidator(password_validation.MinimumLengthValidator):
    """Django's minimum length, its error worded as Django's Chinese catalogue translates it:
    Django 5.2 changed this message's id and the zh_Hans translation did not follow, so the
    error appeared in English on a Chinese page."""

    def get_error_message(self) -> str:
        return ngettext(
            "This password is too short. It must contain at least %(min_length)d character.",
            "This password is too short. It must contain at least %(min_length)d characters.",
            self.min_length,
        ) % {"min_length": self.min_length}
