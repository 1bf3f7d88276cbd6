"""Reading the audit trail (the audit pages and their CSV export)."""

from __future__ import annotations

from datetime import datetime

from django.db import models

from annotations.audit.models import AuditEvent


def audit_event_list(
    *,
    project=None,
    action: str | None = None,
    actor_username: str | None = None,
    note_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> models.QuerySet[AuditEvent]:
    """Audit records, newest first, filtered; the caller has checked that the reader may MANAGE `project`."""
    events = AuditEvent.objects.all()
    if project is not None:
        events = events.filter(project=project)
    if action:
        events = events.filter(action=action)
    if actor_username:
        events = events.filter(actor_username=actor_username)
    if note_id:
        events = events.filter(note_id=note_id)
    if since:
        events = events.filter(created_at__gte=since)
    if until:
        events = events.filter(created_at__lt=until)
    return events.order_by("-created_at", "-pk")
