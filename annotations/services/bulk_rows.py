"""Fast bulk inserts of plain row tuples, for imports of hundreds of thousands of annotations.

Django's bulk_create builds a model instance and compiles SQL for every row; for big imports that
dominates. Here ids are reserved up front (so later rows can point at earlier ones) and rows are
streamed with PostgreSQL COPY; other databases use one executemany. Callers own the transaction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from django.db import connection
from django.db.models import Model


def ids_reserve(model: type[Model], count: int) -> list[int]:
    """`count` fresh primary keys for `model`'s table."""
    if count == 0:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, count]
            )
            return [row[0] for row in cursor.fetchall()]
        # SQLite (the single-user demo): writers are serialised, so the next ids after MAX(id) are ours.
        cursor.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{table}"')  # noqa: S608 - table name from the model
        first = cursor.fetchone()[0] + 1
        return list(range(first, first + count))


def rows_insert(model: type[Model], columns: Sequence[str], rows: Sequence[tuple]) -> None:
    """Insert `rows` (tuples in `columns` order, including "id") into `model`'s table.

    JSON columns take Python lists/dicts; they are serialised here.
    """
    if not rows:
        return
    table = model._meta.db_table
    # Columns the caller did not name get their model default, so new fields with defaults need no change here.
    named = set(columns)
    defaults = [
        (f.column, f.get_default())
        for f in model._meta.concrete_fields
        if f.column not in named and f.has_default()
    ]
    if defaults:
        columns = [*columns, *(c for c, _ in defaults)]
        tail = tuple(v for _, v in defaults)
        rows = [(*row, *tail) for row in rows]
    json_columns = {i for i, name in enumerate(columns) if _field(model, name).get_internal_type() == "JSONField"}
    if json_columns:
        rows = [tuple(json.dumps(v) if i in json_columns else v for i, v in enumerate(row)) for row in rows]
    quoted = ", ".join(f'"{c}"' for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            raw = cursor.cursor  # the psycopg cursor underneath Django's wrapper
            with raw.copy(f'COPY "{table}" ({quoted}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(columns))
            cursor.executemany(f'INSERT INTO "{table}" ({quoted}) VALUES ({marks})', rows)  # noqa: S608


def _field(model: type[Model], column: str):
    for field in model._meta.concrete_fields:
        if field.column == column:
            return field
    raise KeyError(column)
