"""Single notes: create one note the way an import would (for scripts that feed notes as they are written)."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from annotations.audit.models import AuditAction
from annotations.audit.services import audit_record
from annotations.errors import ApplicationError
from annotations.models import Note, Patient, Project
from annotations.signals import notes_imported

from .corpus_import import text_hash

logger = logging.getLogger(__name__)

# The database's column sizes (annotations.models).
MAX_EXTERNAL_ID = 300
MAX_PATIENT_ID = 200
MAX_FIELD = 100


def note_create(
    *,
    project: Project,
    external_id: str,
    text: str,
    patient_external_id: str | None = None,
    timestamp: datetime | str | None = None,
    unit: str = "",
    note_type: str = "",
    author_role: str = "",
    metadata: dict[str, Any] | None = None,
    actor=None,
) -> Note:
    """Create one note in `project`, audited (note_create: ids and a hash, never the text) in the same
    transaction; after it commits, `notes_imported` is sent for it (so a monitored patient's risk is
    updated, as after an import).

    Args:
        project: the project.
        external_id: the note's id, unique in the project.
        text: the note's text, stored exactly as given (it is immutable afterwards).
        patient_external_id: the patient's id in the project; the patient is created when new.
        timestamp: when the note was written: a datetime or an ISO 8601 string (a time without a zone is
            taken in the site's time zone).
        unit, note_type, author_role: short descriptive fields.
        metadata: a JSON object stored with the note.
        actor: the user who adds it (None for a command: the audit record names the command and OS user).

    Result: the new Note (with its patient).

    Errors: ApplicationError with code `empty_text` (blank text), `bad_text` (a NUL character or text that
    is not valid Unicode), `bad_external_id` (blank or too long), `note_exists` (status 409: the project
    has a note with this id), `bad_patient`, `bad_timestamp`, `field_too_long`, `bad_metadata`.
    """
    _check_text(text)
    external_id = _check_id(external_id, "bad_external_id", "note id", MAX_EXTERNAL_ID)
    if patient_external_id is not None:
        patient_external_id = _check_id(patient_external_id, "bad_patient", "patient id", MAX_PATIENT_ID)
    when = _parse_timestamp(timestamp)
    fields = {"unit": unit or "", "note_type": note_type or "", "author_role": author_role or ""}
    for name, value in fields.items():
        if not isinstance(value, str) or len(value) > MAX_FIELD or "\x00" in value:
            raise ApplicationError(
                "field_too_long", f"{name} must be text of at most {MAX_FIELD} characters."
            )
    metadata = _check_metadata(metadata)
    exists = ApplicationError(
        "note_exists", f"This project already has a note {external_id!r}; note ids are unique.", status=409
    )
    if Note.objects.filter(project=project, external_id=external_id).exists():
        raise exists
    with transaction.atomic():
        patient = None
        if patient_external_id:
            patient, _ = Patient.objects.get_or_create(project=project, external_id=patient_external_id)
        try:
            with transaction.atomic():
                note = Note.objects.create(
                    project=project,
                    patient=patient,
                    external_id=external_id,
                    text=text,
                    text_hash=text_hash(text),
                    timestamp=when,
                    metadata=metadata,
                    **fields,
                )
        except IntegrityError:  # created by someone else since the check above
            raise exists from None
        audit_record(
            action=AuditAction.NOTE_CREATE, actor=actor, project=project, note=note, object_type="note",
            object_id=note.pk,
            details={"external_id": note.external_id, "patient": patient_external_id or None,
                     "text_hash": note.text_hash, "length": len(note.text)},
        )
        transaction.on_commit(
            lambda: notes_imported.send(
                sender=Note,
                project=project,
                note_ids=[note.pk],
                patient_ids=[patient.pk] if patient is not None else [],
            )
        )
    logger.info("note %s created in project %s", note.pk, project.slug)
    return note


def _check_text(text: str) -> None:
    if not isinstance(text, str) or not text.strip():
        raise ApplicationError("empty_text", "A note needs a text.")
    if "\x00" in text:
        raise ApplicationError("bad_text", "The text contains a NUL character.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ApplicationError("bad_text", "The text is not valid Unicode (a lone surrogate).") from None


def _check_id(value: str, code: str, what: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > limit or "\x00" in value:
        raise ApplicationError(code, f"The {what} must be non-blank text of at most {limit} characters.")
    return value


def _parse_timestamp(value: datetime | str | None) -> datetime | None:
    if value is None or value == "":
        return None
    when = value if isinstance(value, datetime) else None
    if isinstance(value, str):
        try:
            when = parse_datetime(value)
        except ValueError:
            when = None
    if when is None:
        raise ApplicationError(
            "bad_timestamp", f"{value!r} is not an ISO 8601 time, e.g. 2026-04-01T07:30:00Z."
        )
    return timezone.make_aware(when) if timezone.is_naive(when) else when


def _check_metadata(metadata: dict[str, Any] | None) -> dict[str, Any]:
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise ApplicationError("bad_metadata", "metadata must be a JSON object.")
    try:
        encoded = json.dumps(metadata, ensure_ascii=False, allow_nan=False)
        encoded.encode("utf-8")
    except (TypeError, ValueError):
        raise ApplicationError(
            "bad_metadata", "metadata must be plain JSON (no NaN, valid Unicode)."
        ) from None
    if "\x00" in encoded or "\\u0000" in encoded:
        raise ApplicationError("bad_metadata", "metadata may not contain NUL characters.")
    return metadata
