"""Projects: create, change settings, archive, delete. Every write audits itself (AuditAction.PROJECT_CHANGE).

Who may do it is decided in `annotations.permissions` (creating: `user_may_create_project`; the rest: the
project's MANAGE capability, checked by the door before calling here). A project never exists without an
admin: its creator becomes one in the same transaction.
"""

from __future__ import annotations

import re
import unicodedata

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.text import slugify

from annotations.audit.models import AuditAction, AuditEvent
from annotations.audit.services import audit_record
from annotations.errors import ApplicationError
from annotations.formats.brat_conf import load_schema
from annotations.formats.document import FormatError
from annotations.formats.names import is_name
from annotations.formats.schema import Schema
from annotations.models import AnnotationSet, Note, Project, ProjectMembership, ProjectRole
from annotations.permissions import user_may_create_project
from annotations.services.schema_templates import schema_template_get
from annotations.services.schemas import project_schema_get, project_schema_set

MAX_NAME = 200
MAX_DESCRIPTION = 5000
MAX_SLUG = 80
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,78}[a-z0-9])?$")
# BCP 47 as people type it: "en", "zh", "zh-Hans", "pt-BR".
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8}){0,3}$")
MAX_EVIDENCE_TYPES = 50
# Short names that are pages of their own (/projects/new/).
RESERVED_SLUGS = frozenset({"new"})


def _clean_text(value: str, *, field: str, limit: int, required: bool, multiline: bool = False) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ApplicationError("bad_input", f"The project's {field} may not be empty.")
    if len(value) > limit:
        raise ApplicationError("bad_input", f"The project's {field} is limited to {limit} characters.")
    allowed = "\n\r\t" if multiline else ""
    if any(unicodedata.category(c) == "Cc" and c not in allowed for c in value):
        raise ApplicationError("bad_input", f"The project's {field} may not hold control characters.")
    return value


def _clean_slug(slug: str, name: str) -> str:
    if slug:
        slug = slug.strip()
        if not _SLUG.fullmatch(slug):
            raise ApplicationError(
                "bad_input", "A project's short name (slug) is 1-80 lower-case letters, digits and dashes, "
                "starting and ending with a letter or digit.")
        if slug in RESERVED_SLUGS or Project.objects.filter(slug=slug).exists():
            raise ApplicationError("slug_taken", f"A project with the short name {slug!r} exists already.", status=409)
        return slug
    base = (slugify(name)[:MAX_SLUG - 4].strip("-") or "project")
    candidate, n = base, 2
    while candidate in RESERVED_SLUGS or Project.objects.filter(slug=candidate).exists():
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def _clean_language(language: str) -> str:
    language = (language or "en").strip()
    if not _LANGUAGE.fullmatch(language):
        raise ApplicationError("bad_input", "The notes' language is a language tag such as en, zh or pt-BR.")
    return language


def _clean_threshold(value) -> float:
    try:
        threshold = float(value)
    except (TypeError, ValueError):
        raise ApplicationError("bad_input", "The ADE decision threshold is a number from 0 to 1.") from None
    if not 0.0 <= threshold <= 1.0:
        raise ApplicationError("bad_input", "The ADE decision threshold is a number from 0 to 1.")
    return threshold


def _clean_evidence_types(names, schema: Schema | None) -> list[str]:
    names = [n.strip() for n in (names or []) if n and n.strip()]
    if len(names) > MAX_EVIDENCE_TYPES:
        raise ApplicationError("bad_input", f"At most {MAX_EVIDENCE_TYPES} ADE evidence relation types.")
    bad = [n for n in names if not is_name(n)]
    if bad:
        raise ApplicationError("bad_input", f"Not a type name: {bad[0]!r}.")
    if schema is not None:
        known = {r.name for r in schema.relation_types}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ApplicationError(
                "bad_input", f"The schema has no relation type {unknown[0]!r}; ADE evidence must be one of its "
                f"relation types ({', '.join(sorted(known)) or 'none yet'}).")
    return list(dict.fromkeys(names))


def _initial_schema(*, template: str, copy_from: Project | None, annotation_conf: str, visual_conf: str):
    """(schema, annotation.conf text, visual.conf text) for a new project, or None: inferred from the first
    import. Errors: ApplicationError `bad_schema` with file:line problems."""
    if annotation_conf.strip():
        try:
            schema = load_schema(annotation_conf, visual_conf or None, source="annotation.conf",
                                 visual_source="visual.conf")
        except FormatError as exc:
            raise ApplicationError(
                "bad_schema", "The schema files have problems: " + "; ".join(str(p) for p in exc.problems[:20]),
                details={"problems": [str(p) for p in exc.problems[:200]]},
            ) from None
        return schema, annotation_conf, visual_conf
    if copy_from is not None:
        stored = getattr(copy_from, "schema", None)
        schema = project_schema_get(project=copy_from)
        if schema is None:
            raise ApplicationError("bad_input", "That project has no schema to copy yet.")
        return schema, stored.annotation_conf, stored.visual_conf
    if template:
        found = schema_template_get(template)
        if found is None:
            raise ApplicationError("bad_input", f"No schema template {template!r}.")
        return found.build(), "", ""
    return None


def project_create(
    *,
    by,
    name: str,
    slug: str = "",
    description: str = "",
    language: str = "en",
    ade_threshold=0.5,
    template: str = "",
    copy_from: Project | None = None,
    annotation_conf: str = "",
    visual_conf: str = "",
    trusted: bool = False,
) -> Project:
    """A new project whose admin is `by` (`trusted`: the command line, whose operator vouches for it, so `by`
    need not be allowed to create projects themselves). Its schema comes from `annotation_conf`/`visual_conf`, else a copy
    of `copy_from`'s (the caller checked that `by` may read it), else a built-in `template`, else none yet
    (the first import infers it). Errors: ApplicationError (403 when `by` may not create projects)."""
    if not trusted and not user_may_create_project(by):
        raise ApplicationError("forbidden", "Only site staff, or people a site administrator allowed, may create "
                               "projects.", status=403)
    name = _clean_text(name, field="name", limit=MAX_NAME, required=True)
    description = _clean_text(description, field="description", limit=MAX_DESCRIPTION, required=False, multiline=True)
    language = _clean_language(language)
    threshold = _clean_threshold(ade_threshold)
    initial = _initial_schema(template=template, copy_from=copy_from, annotation_conf=annotation_conf or "",
                              visual_conf=visual_conf or "")
    with transaction.atomic():
        project = Project.objects.create(slug=_clean_slug(slug, name), name=name, description=description,
                                         language=language, ade_threshold=threshold)
        ProjectMembership.objects.create(project=project, user=by, role=ProjectRole.ADMIN)
        if initial is not None:
            schema, conf, visual = initial
            project_schema_set(project=project, schema=schema, inferred=False, annotation_conf=conf,
                               visual_conf=visual)
        source = ("annotation.conf" if annotation_conf.strip() else f"copy of {copy_from.slug}" if copy_from
                  else f"template {template}" if template else "inferred from the first import")
        audit_record(action=AuditAction.PROJECT_CHANGE, actor=by, project=project, object_type="project",
                     object_id=project.pk, details={"change": "created", "slug": project.slug, "schema": source})
    return project


def project_update(
    *, by, project: Project, name=None, description=None, language=None, ade_threshold=None,
    ade_evidence_relation_types=None,
) -> Project:
    """Change the fields given (None: unchanged). Audited with the fields' old and new values (names and
    settings only)."""
    changes: dict[str, list] = {}
    values = {}
    if name is not None:
        values["name"] = _clean_text(name, field="name", limit=MAX_NAME, required=True)
    if description is not None:
        values["description"] = _clean_text(description, field="description", limit=MAX_DESCRIPTION,
                                             required=False, multiline=True)
    if language is not None:
        values["language"] = _clean_language(language)
    if ade_threshold is not None:
        values["ade_threshold"] = _clean_threshold(ade_threshold)
    if ade_evidence_relation_types is not None:
        values["ade_evidence_relation_types"] = _clean_evidence_types(
            ade_evidence_relation_types, project_schema_get(project=project))
    with transaction.atomic():
        locked = Project.objects.select_for_update().get(pk=project.pk)
        for field, value in values.items():
            old = getattr(locked, field)
            if old != value:
                changes[field] = ["(text)" if field == "description" else old,
                                  "(text)" if field == "description" else value]
                setattr(locked, field, value)
        if changes:
            locked.save(update_fields=list(changes))
            audit_record(action=AuditAction.PROJECT_CHANGE, actor=by, project=locked, object_type="project",
                         object_id=locked.pk, details={"change": "settings", "fields": changes})
    return locked


def project_archive(*, by, project: Project, archived: bool) -> Project:
    """Archive (read-only, left out of lists and queues) or unarchive."""
    with transaction.atomic():
        locked = Project.objects.select_for_update().get(pk=project.pk)
        if (locked.archived_at is not None) == archived:
            return locked
        locked.archived_at = timezone.now() if archived else None
        locked.save(update_fields=["archived_at"])
        audit_record(action=AuditAction.PROJECT_CHANGE, actor=by, project=locked, object_type="project",
                     object_id=locked.pk, details={"change": "archived" if archived else "unarchived"})
    return locked


def project_delete_refusal(*, project: Project) -> str | None:
    """Why the project may not be deleted yet, or None. A project with notes is deleted only after an export
    that is newer than its last change (its annotations are then kept somewhere): the audit trail's export
    records (export command, API export, export job) against the newest note and annotation-set change."""
    notes = Note.objects.filter(project=project)
    if not notes.exists():
        return None
    last_export = AuditEvent.objects.filter(project=project, action=AuditAction.EXPORT).aggregate(t=Max("created_at"))["t"]
    if last_export is None:
        return ("The project holds notes and was never exported: export it first (an export job, or "
                "export_corpus), then delete it.")
    newest = max(filter(None, [
        notes.aggregate(t=Max("created_at"))["t"],
        AnnotationSet.objects.filter(note__project=project).aggregate(t=Max("updated_at"))["t"],
    ]), default=None)
    if newest is not None and newest > last_export:
        return (f"The project changed after its last export ({last_export:%Y-%m-%d %H:%M} UTC): export it "
                "again, then delete it.")
    return None


def project_delete(*, by, project: Project, confirm: str) -> None:
    """Delete the project and everything in it. `confirm` must be the project's slug, typed (the doors ask
    for it). The audit record outlives the project (the trail has no foreign-key constraint)."""
    if (confirm or "").strip() != project.slug:
        raise ApplicationError("confirm", f"Type the project's short name ({project.slug}) to confirm the deletion.")
    refusal = project_delete_refusal(project=project)
    if refusal:
        raise ApplicationError("not_exported", refusal, status=409)
    with transaction.atomic():
        counts = {"notes": Note.objects.filter(project=project).count()}
        audit_record(action=AuditAction.PROJECT_CHANGE, actor=by, project=project, object_type="project",
                     object_id=project.pk, details={"change": "deleted", "slug": project.slug, **counts})
        project.delete()
