"""Writing the audit trail: one function per kind of record, called by the services in the transaction of
what they record (and by the middleware for refused requests); the origin of a record (web, API, command,
task) comes from `annotations.audit.origin`."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings

from annotations.audit.models import AuditAction, AuditEvent
from annotations.audit.origin import audit_origin

logger = logging.getLogger(__name__)


def client_address(request) -> str | None:
    """The client's IP address: REMOTE_ADDR, or, when ADE_REVIEW_TRUSTED_PROXIES > 0, the address that many
    hops from the right of X-Forwarded-For (the one the nearest trusted proxy saw)."""
    if request is None:
        return None
    address = request.META.get("REMOTE_ADDR", "")
    trusted = getattr(settings, "ADE_REVIEW_TRUSTED_PROXIES", 0)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if trusted > 0 and forwarded:
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        if len(hops) >= trusted:
            address = hops[-trusted]
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def audit_record(
    *,
    action: str,
    request=None,
    actor=None,
    actor_username: str = "",
    project=None,
    note=None,
    object_type: str = "",
    object_id: Any = "",
    details: dict | None = None,
) -> AuditEvent:
    """Append one record to the audit trail.

    `actor` defaults to the request's authenticated user; the client address comes from the request.
    `details` must hold structure only (ids, types, offsets, versions), never clinical text.
    """
    if actor is None and request is not None and getattr(request, "user", None) is not None:
        if request.user.is_authenticated:
            actor = request.user
    # A service that audits itself has no request: the request's or command's origin says where from.
    origin = audit_origin()
    address = client_address(request) if request is not None else (origin.client_address if origin else None)
    if actor is None and not actor_username and origin is not None:
        actor_username = origin.actor_label
    return AuditEvent.objects.create(
        action=action,
        actor=actor,
        actor_username=(actor.get_username() if actor is not None else actor_username)[:150],
        # An instance or a bare id: a denied request names ids it may not load.
        project_id=getattr(project, "pk", project),
        note_id=getattr(note, "pk", note),
        object_type=object_type,
        object_id=str(object_id) if object_id not in (None, "") else "",
        client_address=address,
        details=details or {},
    )


def audit_phi_read(
    *,
    view: str,
    notes: Iterable,
    request=None,
    project=None,
    actor=None,
    actor_username: str = "",
    details: dict | None = None,
) -> AuditEvent:
    """Record that a response carried note text or annotations (PHI): one `note_view` record per response,
    the same shape whatever the door (web page, HTMX fragment, API, command).

    `view` names the door ("api_annotation_set", "editor_entity_panel", ...); `notes` are the notes (instances
    or ids) whose text or annotations the response carries; the record names them in `details["notes"]`
    (and in `note` when there is exactly one). `details` adds structure (set ids, versions), never text.
    """
    ids = sorted({int(getattr(n, "pk", n)) for n in notes})
    single = ids[0] if len(ids) == 1 else None
    return audit_record(
        action=AuditAction.NOTE_VIEW, request=request, actor=actor, actor_username=actor_username,
        project=project, note=single, object_type="note", object_id=single or "",
        details={"view": view, "notes": ids, **(details or {})},
    )


def audit_access_denied(*, request, status: int) -> AuditEvent | None:
    """Record a refused request (403/404) on a project-scoped path: the ids in the path, never a body.

    Returns None (records nothing) for paths outside a project (no `slug` in the URL pattern)."""
    match = getattr(request, "resolver_match", None)
    if match is None or "slug" not in match.kwargs:
        return None
    from annotations.models import Project

    path_ids = {k: str(v)[:100] for k, v in match.kwargs.items() if isinstance(v, int | str)}
    project_id = Project.objects.filter(slug=str(match.kwargs["slug"])).values_list("pk", flat=True).first()
    note_id = match.kwargs.get("note_id")
    return audit_record(
        action=AuditAction.ACCESS_DENIED, request=request, project=project_id,
        note=note_id if isinstance(note_id, int) else None,
        object_type="path", object_id=match.url_name or "",
        details={"status": status, "method": request.method[:10], "path_ids": path_ids},
    )
