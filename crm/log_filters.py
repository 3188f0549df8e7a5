"""Logging filters and formatters that keep personal data out of log files and error reports."""

import datetime
import logging
import re
from typing import Any

from django.views.debug import SafeExceptionReporterFilter
from pythonjsonlogger.json import JsonFormatter

# "GET /customers/?q=138... HTTP/1.1" -> "GET /customers/ HTTP/1.1"
_QUERY_STRING = re.compile(r"^(\S+ [^?\s]*)\?\S*")


class DropQueryStrings(logging.Filter):
    """Removes query strings from request lines (the development server's access log): the
    product keeps personal data out of URLs, and a log must not depend on every link doing so."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args and isinstance(record.args[0], str):
            record.args = (_QUERY_STRING.sub(r"\1", record.args[0]), *record.args[1:])
        return True


class RefusalsWithoutTraceback(logging.Filter):
    """Django logs a refused request (403) as a warning carrying the PermissionDenied's
    traceback. A refusal is the permission system doing its work, not an error: its one line
    stays, the traceback goes. Every other record (a server error's traceback) is untouched."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403:
            record.exc_info = None
            record.exc_text = None
        return True


class JsonLineFormatter(JsonFormatter):
    """One JSON object a line: time, level, logger, message and any traceback. A record's
    extra attributes are left out: Django's request logger attaches the request, whose text
    holds the query string, and nothing should reach a log file that no one chose to write."""

    FIELDS = {"asctime": "time", "levelname": "level", "name": "logger", "message": "message"}

    def __init__(self, **options: Any) -> None:
        super().__init__(list(self.FIELDS), rename_fields=self.FIELDS, **options)

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        for field, name in self.FIELDS.items():
            log_data[name] = record.__dict__.get(field)
        # ISO 8601 in UTC, whatever the server's time zone.
        log_data["time"] = datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(
            timespec="milliseconds"
        )
        if "exc_info" in message_dict:
            log_data["exc_info"] = message_dict["exc_info"]


class ReportsWithoutValues(SafeExceptionReporterFilter):
    """What error reports show of a request and of the failing code (the mail to ADMINS on a
    server error, `mail_admins` in settings). Django hides only values named like secrets; here
    every value a form sent (phones, notes, identity numbers) and every local variable of the
    traceback (customers loaded, values being normalised) is replaced, so a report names where
    it failed without carrying personal data. Development (DEBUG) shows everything, as Django
    does."""

    def get_post_parameters(self, request):
        parameters = super().get_post_parameters(request)
        if not self.is_active(request) or not parameters:
            return parameters
        cleansed = parameters.copy()
        for name in cleansed:
            cleansed[name] = self.cleansed_substitute
        return cleansed

    def get_traceback_frame_variables(self, request, tb_frame):
        if not self.is_active(request):
            return super().get_traceback_frame_variables(request, tb_frame)
        return [(name, self.cleansed_substitute) for name in tb_frame.f_locals]
