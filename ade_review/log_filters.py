"""Logging filters: access logs never carry query strings (search terms, patient ids are PHI)."""

from __future__ import annotations

import logging
import re

_REQUEST_LINE = re.compile(r"^(\S+ [^?\s]*)\?\S*")


def strip_query(request_line: str) -> str:
    """'GET /projects/x/queue/?q=rash HTTP/1.1' -> 'GET /projects/x/queue/ HTTP/1.1'."""
    return _REQUEST_LINE.sub(r"\1", request_line)


class StripQueryString(logging.Filter):
    """Removes the query string from the request line that runserver's `django.server` logger writes
    (`"%s" %s %s` with the request line first). The app itself keeps PHI out of URLs (the queue's search
    goes by POST); this covers URLs typed or bookmarked by hand. gunicorn: `ade_review/gunicorn_conf.py`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args and isinstance(record.args[0], str):
            record.args = (strip_query(record.args[0]), *record.args[1:])
        return True
