"""The audit trail as CSV rows, with cells a spreadsheet would read as a formula quoted."""

from __future__ import annotations

import json
from collections.abc import Iterable

from annotations.audit.models import AuditEvent

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: str) -> str:
    """A cell a spreadsheet shows as text: one starting like a formula (= + - @ tab CR) gets a leading quote
    (OWASP "CSV injection"); a failed login's username, for one, is whatever an attacker typed."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def audit_csv_rows(events: Iterable[AuditEvent]) -> Iterable[list[str]]:
    """Header and rows for a CSV export of audit records; every cell `csv_safe`."""
    yield ["time", "action", "actor", "project_id", "note_id", "object_type", "object_id", "client_address", "details"]
    for e in events:
        yield [
            csv_safe(cell)
            for cell in (
                e.created_at.isoformat(), e.action, e.actor_username, str(e.project_id or ""), str(e.note_id or ""),
                e.object_type, e.object_id, e.client_address or "", json.dumps(e.details, sort_keys=True),
            )
        ]
