"""CSV downloads streamed row by row (the audit log and agreement reports can be large)."""

from __future__ import annotations

import csv
from collections.abc import Iterable

from django.http import StreamingHttpResponse


class _Echo:
    """A file whose write returns the line: csv.writer then formats one row at a time for the response."""

    def write(self, value):
        return value


def csv_download(rows: Iterable[Iterable], filename: str) -> StreamingHttpResponse:
    """A streamed text/csv attachment of `rows`; `filename` must be plain (built from slugs)."""
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse((writer.writerow(row) for row in rows), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
