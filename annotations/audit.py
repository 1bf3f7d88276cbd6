"""The audit trail: append-only records of who read or changed what, from where.

Rows are only ever inserted. The model and its querysets refuse update and delete, and a database
trigger (migration `audit_trail`) refuses UPDATE and DELETE from any client, raw SQL included.
Records carry ids, types and offsets, never clinical text.

Imported at the end of `annotations/models.py` so that Django registers the model.
"""

from __future__ import annotations

import ipaddress
import json
import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db import models
from django.dispatch import receiver
from django.utils import timezone

from .audit_origin import audit_origin

logger = logging.getLogger(__name__)


class AuditAction(models.TextChoices):
    NOTE_VIEW = "note_view", "Note viewed"
    ANNOTATION_CHANGE = "annotation_change", "Annotations changed"
    SIGN_OFF = "sign_off", "Signed off"
    JOB_START = "job_start", "Job started"
    JOB_CANCEL = "job_cancel", "Job cancelled"
    EXPORT = "export", "Export"
    DOWNLOAD = "download", "Download"
    LOGIN_SUCCESS = "login_success", "Login"
    LOGIN_FAILURE = "login_failure", "Failed login"
    NOTE_CREATE = "note_create", "Note created"
    MODEL_CHANGE = "model_change", "Retrain policy or active model changed"
    ACCESS_DENIED = "access_denied", "Access denied"
    COMMAND = "command", "Management command"


class AppendOnlyError(RuntimeError):
    """Raised on any attempt to change or delete an audit record."""


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("The audit trail is append-only: records cannot be updated.")

    def delete(self):
        raise AppendOnlyError("The audit trail is append-only: records cannot be deleted.")

    def bulk_update(self, objs, fields, batch_size=None):
        raise AppendOnlyError("The audit trail is append-only: records cannot be updated.")

    def _raw_delete(self, using):  # what cascades and fast deletes use
        raise AppendOnlyError("The audit trail is append-only: records cannot be deleted.")


class AuditEvent(models.Model):
    """One audited action. Foreign keys carry no database constraint and no cascade, so deleting a user,
    project or note never touches (or is blocked by) the trail; `actor_username` keeps the name."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    action = models.CharField(max_length=30, choices=AuditAction.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False,
        related_name="+",
    )
    actor_username = models.CharField(max_length=150, blank=True)
    project = models.ForeignKey(
        "annotations.Project", null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False,
        related_name="+",
    )
    note = models.ForeignKey(
        "annotations.Note", null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False,
        related_name="+",
    )
    object_type = models.CharField(max_length=50, blank=True)
    object_id = models.CharField(max_length=100, blank=True)
    client_address = models.GenericIPAddressField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["project", "-created_at"], name="audit_project_time_idx"),
            models.Index(fields=["note", "-created_at"], name="audit_note_time_idx"),
            models.Index(fields=["action", "-created_at"], name="audit_action_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.action} {self.actor_username}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise AppendOnlyError("The audit trail is append-only: records cannot be updated.")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("The audit trail is append-only: records cannot be deleted.")


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


def annotation_structure(document) -> dict:
    """The shape of a Document's annotations for an audit record: ids, types, offsets; no text."""
    return {
        "entities": [
            {"id": e.id, "type": e.type, "fragments": [[s.start, s.end] for s in e.spans]} for e in document.entities
        ],
        "relations": [{"id": r.id, "type": r.type, "arg1": r.arg1, "arg2": r.arg2} for r in document.relations],
        "events": [
            {"id": ev.id, "type": ev.type, "trigger": ev.trigger, "args": [list(a) for a in ev.args]}
            for ev in document.events
        ],
        "attributes": [{"id": a.id, "name": a.name, "target": a.target, "value": a.value} for a in document.attributes],
        "normalizations": [
            {"id": n.id, "target": n.target, "resource": n.resource, "resource_id": n.resource_id}
            for n in document.normalizations
        ],
        "annotator_notes": [{"id": n.id, "target": n.target} for n in document.notes],
        "equivalences": [{"type": q.type, "members": list(q.members)} for q in document.equivalences],
        "label": document.label,
    }


def edit_changes_structure(annotation_set_id: int, changes: dict) -> dict:
    """The annotations one fine-grained edit touched, before and after, for an audit record: the same keys
    and shapes as `annotation_structure` (plus each entity's and relation's decision), restricted to
    the rows the edit changed, created or deleted (a deleted row is in "before" only, a created one in
    "after" only). A few queries whatever the set's size; no clinical text (entity texts are left out).

    `changes` is `EditResult.changes`: {"before": {kind: [row dicts]}, "created": {kind: [pks]}}.
    """
    from annotations.models import Attribute, Entity, Normalization, NoteLabel, Relation

    before_rows: dict[str, list[dict]] = changes.get("before", {})
    created: dict[str, list[int]] = changes.get("created", {})
    models = {"entity": Entity, "relation": Relation, "attribute": Attribute, "normalization": Normalization,
              "label": NoteLabel}
    after_rows = {}
    for kind, model in models.items():
        ids = [r["id"] for r in before_rows.get(kind, [])] + list(created.get(kind, []))
        if ids:
            after_rows[kind] = list(model.objects.filter(pk__in=ids, annotation_set_id=annotation_set_id).values())
    from annotations.models import Event, EventArgument

    for kind, model, lookup in (("event", Event, "annotation_set_id"),
                                ("event_argument", EventArgument, "event__annotation_set_id")):
        ids = [r["id"] for r in before_rows.get(kind, [])] + list(created.get(kind, []))
        if ids:
            after_rows[kind] = list(model.objects.filter(pk__in=ids, **{lookup: annotation_set_id}).values())
    entity_pks = {r.get(f) for rows in (*before_rows.values(), *after_rows.values()) for r in rows
                  for f in ("arg1_entity_id", "arg2_entity_id", "entity_id", "trigger_id")} - {None}
    event_pks = {r.get(f) for rows in (*before_rows.values(), *after_rows.values()) for r in rows
                 for f in ("event_id", "target_event_id", "arg1_event_id", "arg2_event_id")} - {None}
    event_local = dict(Event.objects.filter(pk__in=event_pks).values_list("pk", "local_id")) if event_pks else {}
    event_local.update({r["id"]: r["local_id"] for r in before_rows.get("event", [])})
    local = {r["id"]: r["local_id"] for r in before_rows.get("entity", [])}
    missing = entity_pks - set(local)
    if missing:
        local.update(Entity.objects.filter(pk__in=missing).values_list("pk", "local_id"))
    relation_local = {r["id"]: r["local_id"] for rows in (before_rows.get("relation", []), after_rows.get("relation", []))
                      for r in rows}

    def target(row: dict) -> str | None:
        if row.get("entity_id"):
            return local.get(row["entity_id"])
        if row.get("relation_id"):
            return relation_local.get(row["relation_id"]) or f"relation:{row['relation_id']}"
        return f"event:{row['event_id']}" if row.get("event_id") else None

    def shape(rows: dict[str, list[dict]]) -> dict:
        out = {
            "entities": [{"id": r["local_id"], "type": r["type"], "fragments": r["fragments"],
                          "decision": r.get("decision", "")} for r in rows.get("entity", [])],
            "relations": [{"id": r["local_id"], "type": r["type"],
                           "arg1": local.get(r["arg1_entity_id"]) or (r["arg1_event_id"] and f"event:{r['arg1_event_id']}"),
                           "arg2": local.get(r["arg2_entity_id"]) or (r["arg2_event_id"] and f"event:{r['arg2_event_id']}"),
                           "decision": r.get("decision", "")} for r in rows.get("relation", [])],
            "attributes": [{"id": r["local_id"], "name": r["name"], "target": target(r), "value": r["value"]}
                           for r in rows.get("attribute", [])],
            "normalizations": [{"id": r["local_id"], "target": target(r), "resource": r["resource"],
                                "resource_id": r["resource_id"]} for r in rows.get("normalization", [])],
        }
        if "event" in rows or "event_argument" in rows:  # events only where the edit touched them
            out["events"] = [{"id": r["local_id"], "type": r["type"], "trigger": local.get(r["trigger_id"])}
                             for r in rows.get("event", [])]
            out["event_arguments"] = [{"event": event_local.get(r["event_id"]), "role": r["role"],
                                       "position": r["position"],
                                       "target": local.get(r["entity_id"]) or event_local.get(r["target_event_id"])}
                                      for r in rows.get("event_argument", [])]
        if "label" in rows:
            out["label"] = rows["label"][0]["value"] if rows["label"] else None
        return out

    return {"before": shape(before_rows), "after": shape(after_rows)}


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


@receiver(user_logged_in, dispatch_uid="annotations.audit.login_success")
def _on_login(sender, request, user, **kwargs):
    audit_record(action=AuditAction.LOGIN_SUCCESS, request=request, actor=user)


@receiver(user_login_failed, dispatch_uid="annotations.audit.login_failure")
def _on_login_failed(sender, credentials, request=None, **kwargs):
    # credentials arrive with the password already masked by Django; only the username is kept.
    username = str(credentials.get("username", ""))[:150]
    audit_record(action=AuditAction.LOGIN_FAILURE, request=request, actor_username=username)
