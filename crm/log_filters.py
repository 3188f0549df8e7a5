"""Logging filters that keep personal data out of log files."""

import logging
import re

# "GET /customers/?q=138... HTTP/1.1" -> "GET /customers/ HTTP/1.1"
_QUERY_STRING = re.compile(r"^(\S+ [^?\s]*)\?\S*")


class DropQueryStrings(logging.Filter):
    """Removes query strings from request lines (the development server's access log): the
    product keeps personal data out of URLs, and a log must not depend on every link doing so."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args and isinstance(record.args[0], str):
            record.args = (_QUERY_STRING.sub(r"\1", record.args[0]), *record.args[1:])
        return True
