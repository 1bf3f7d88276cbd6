"""Curation (adjudication, issue 17): a reviewer or admin merges the sets two or more annotators submitted
for a note into one curation set, which becomes the note's gold when finished (annotations.gold).

- `curation_start` creates the note's curation set (one per note; `user` = the curator) holding what every
  annotator agrees on (annotations.formats.curation), or returns the one that exists.
- `curation_decide` decides one disagreement: take one annotator's version, every annotator's ("both"),
  none, or "edit" (the curator fixes it by hand in the editor, which edits the curation set like any set).
  A decision is one edit of the curation set through `editing.annotation_set_merge_in`: the version check,
  the access rule, one undo step (undo also takes the decision back) and the audit record hold as for
  every edit. A new decision on the same disagreement first takes out what the previous one added.
- `curation_finish` makes the curation set gold once every disagreement is decided and it has a verdict;
  `curation_reopen` takes it back to in progress.
Each service checks the role (annotations.permissions.curation_refusal) and writes its own audit record.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from annotations.audit.models import AuditAction
from annotations.audit.services import audit_record
from annotations.curation.selectors import (
    CurationState,
    curation_set_get,
    curation_sources,
    curation_state,
    sources_signature,
)
from annotations.errors import ApplicationError
from annotations.formats.curation import ALL, NONE, CurationConflict, curation_resolve
from annotations.formats.document import Document
from annotations.models import (
    AnnotationEdit,
    AnnotationSet,
    AnnotationSetSource,
    AnnotationSetStatus,
    CurationChoice,
    CurationDecision,
    Note,
    Origin,
)
from annotations.permissions import annotation_set_check_editable, curation_refusal
from annotations.signals import gold_changed

from .annotation_sets import annotation_set_check, annotation_set_lock
from .document_store import annotation_sets_to_documents, annotation_sets_write
from .editing import EditResult, annotation_set_merge_in
from .schemas import project_schema_get

MIN_SOURCES = 2


def _refuse(by, note: Note) -> None:
    refusal = curation_refusal(user=by, project=note.project)
    if refusal is not None:
        raise refusal


def _audit(by, curation: AnnotationSet, operation: str, **details) -> None:
    audit_record(
        action=AuditAction.ANNOTATION_CHANGE, actor=by if getattr(by, "is_authenticated", False) else None,
        project=curation.note.project, note=curation.note, object_type="annotation_set", object_id=curation.pk,
        details={"operation": operation, **details},
    )


def curation_start(*, note: Note, by) -> tuple[AnnotationSet, bool]:
    """The note's curation set, created (with the annotations every source agrees on, and the verdict when
    they all gave the same) when nobody started one yet; (set, created). Audited when created.

    Errors: ApplicationError "forbidden" (403: annotators), "archived", "too_few_sources" (fewer than two
    submitted sets)."""
    _refuse(by, note)
    existing = curation_set_get(note=note)
    if existing is not None:
        existing.note = note
        return existing, False
    sources = curation_sources(note=note)
    if len(sources) < MIN_SOURCES:
        raise ApplicationError("too_few_sources", "Curation merges two or more annotators' submitted sets; this "
                               f"note has {len(sources)}.", status=409)
    state = curation_state(note=note)
    try:
        with transaction.atomic():
            curation = AnnotationSet.objects.create(
                note=note, source_kind=AnnotationSetSource.CURATION, user=by, source_name=by.get_username(),
                status=AnnotationSetStatus.IN_PROGRESS, curated_from=sources_signature(state.sources),
            )
            curation.note = note
            annotation_sets_write([(curation, state.merge.agreed)], origin=Origin.HUMAN)
            _audit(by, curation, "curation_start", version_before=0, version_after=curation.version,
                   curated_from=curation.curated_from, agreed={
                       "entities": len(state.merge.agreed.entities), "relations": len(state.merge.agreed.relations),
                       "events": len(state.merge.agreed.events), "label": state.merge.agreed.label,
                   }, disagreements=len(state.merge.disagreements))
    except IntegrityError:  # started twice at once: the other request made it
        curation = curation_set_get(note=note)
        curation.note = note
        return curation, False
    return curation, True


def _choice(state: CurationState, choice: str, source_set_id: int | None) -> int | str | None:
    """The core's choice (a source index, ALL or NONE; None for "edit")."""
    if choice == CurationChoice.SOURCE:
        index = state.source_index(source_set_id) if source_set_id is not None else None
        if index is None:
            raise ApplicationError("bad_source", "Take one of this note's annotators' sets (source).")
        return index
    if choice == CurationChoice.ALL:
        return ALL
    if choice == CurationChoice.NONE:
        return NONE
    if choice == CurationChoice.EDIT:
        return None
    raise ApplicationError("bad_choice", "Choose source (with its set), all, none or edit.")


def curation_decide(
    *, note: Note, unit: str, choice: str, expected_version: int, by, source_set_id: int | None = None,
    state: CurationState | None = None,
) -> EditResult:
    """Decide disagreement `unit` of the note's curation: take source `source_set_id` ("source"), every
    source ("all"), none ("none"), or leave it to be edited by hand ("edit"); one edit of the curation set.

    Errors: "forbidden"/"archived"/the access rule (403), "not_started" (404), "unknown_unit" (404: the
    sources changed, reload), "bad_choice", "bad_source", "cannot_take_all" (the sources' verdicts or an
    attribute's values differ), ConflictError (409: a stale version), "invalid_annotations"."""
    _refuse(by, note)
    state = state or curation_state(note=note)
    if state.curation is None:
        raise ApplicationError("not_started", "Start curating this note first.", status=404)
    disagreement = state.merge.unit(unit)
    if disagreement is None:
        raise ApplicationError("unknown_unit", "No such disagreement: the annotators' sets changed since the page "
                               "was read. Reload.", status=404)
    core_choice = _choice(state, choice, source_set_id)
    previous = state.decisions.get(unit)
    if core_choice is None:  # edit by hand: what is there stays
        resolution, remove = None, ()
    else:
        try:
            resolution = curation_resolve(state.merge, disagreement, core_choice)
        except CurationConflict as exc:
            raise ApplicationError("cannot_take_all", str(exc)) from exc
        remove = tuple(previous.added) if previous is not None else ()
    now = timezone.now()

    def record(locked: AnnotationSet, recorder, added: list[str]) -> dict:
        kept = list(previous.added) if previous is not None and core_choice is None else []
        values = {"kind": disagreement.kind, "choice": choice,
                  "source_set_id": source_set_id if choice == CurationChoice.SOURCE else None,
                  "added": kept + added, "decided_by": by if getattr(by, "pk", None) else None, "decided_at": now}
        row = CurationDecision.objects.filter(annotation_set=locked, unit=unit).first()
        if row is not None:
            recorder.touch("curation_decision", CurationDecision.objects.filter(pk=row.pk))
            CurationDecision.objects.filter(pk=row.pk).update(**values)
        else:
            row = CurationDecision.objects.create(annotation_set=locked, unit=unit, **values)
            recorder.create("curation_decision", row.pk)
        return {"curation": {"unit": unit, "kind": disagreement.kind, "choice": choice,
                             "source_set": values["source_set_id"], "added": values["added"]}}

    add = resolution.add if resolution is not None else Document(id=state.merge.agreed.id, text=state.merge.agreed.text)
    kwargs = {"label": resolution.label} if resolution is not None and resolution.sets_label else {}
    return annotation_set_merge_in(
        annotation_set=state.curation, expected_version=expected_version, user=by, add=add, remove=remove,
        replace_attributes_of=resolution.replace_attributes_of if resolution is not None else (),
        action="curation_decide", also=record, **kwargs,
    )


def curation_finish(*, note: Note, expected_version: int, by) -> AnnotationSet:
    """Finish the note's curation: its set becomes gold (the note's gold, annotations.gold), recording the
    source versions it merged. Audited; the retrain policy hears of the new gold after commit.

    Errors: the role and access rule (403), "not_started" (404), "too_few_sources" (409: an annotator
    reopened their set), ConflictError (409), "open_disagreements" (409, details: their keys), "no_verdict",
    "invalid_annotations"."""
    _refuse(by, note)
    state = curation_state(note=note)
    if state.curation is None:
        raise ApplicationError("not_started", "Start curating this note first.", status=404)
    if len(state.sources) < MIN_SOURCES:  # an annotator reopened their set meanwhile
        raise ApplicationError("too_few_sources", "Fewer than two annotators' sets are submitted now: wait until "
                               "they submit again.", status=409)
    with transaction.atomic():
        locked = annotation_set_lock(annotation_set=state.curation, expected_version=expected_version)
        locked.note = note
        annotation_set_check_editable(user=by, annotation_set=locked)
        open_units = state.open_units
        if open_units:
            raise ApplicationError(
                "open_disagreements", f"{len(open_units)} disagreement(s) are not decided yet: decide each one "
                "(take a side, both, neither, or edit).", details=[u.key for u in open_units], status=409)
        document = annotation_sets_to_documents([locked])[locked.pk]
        if document.label is None:
            raise ApplicationError("no_verdict", "Give the note verdict (ADE / no ADE / uncertain) before finishing.")
        problems = annotation_set_check(document=document, schema=project_schema_get(project=note.project))
        if problems:
            raise ApplicationError("invalid_annotations", "; ".join(str(p) for p in problems[:5]),
                                   details=[str(p) for p in problems])
        now = timezone.now()
        signature = sources_signature(state.sources)
        AnnotationSet.objects.filter(pk=locked.pk).update(
            status=AnnotationSetStatus.GOLD, submitted_at=now, updated_at=now, version=F("version") + 1,
            curated_from=signature,
        )
        # A finished curation is read-only: its undo steps end here (reopening starts a new chain).
        AnnotationEdit.objects.filter(annotation_set=locked).delete()
        _audit(by, locked, "curation_finish", version_before=locked.version, version_after=locked.version + 1,
               status_before=locked.status, status=AnnotationSetStatus.GOLD, curated_from=signature,
               decisions=len(state.decisions), label=document.label)
        project_id, note_id = note.project_id, note.pk
        transaction.on_commit(lambda: gold_changed.send(sender=AnnotationSet, project_id=project_id, note_ids=[note_id]))
    locked.refresh_from_db()
    locked.note = note
    return locked


def curation_reopen(*, note: Note, expected_version: int, by) -> AnnotationSet:
    """Take a finished curation back to in progress (it stops being the note's gold until finished again).
    Errors: the role (403), "not_started" (404), ConflictError (409), "not_finished" (409), "not_your_set"."""
    _refuse(by, note)
    curation = curation_set_get(note=note)
    if curation is None:
        raise ApplicationError("not_started", "Nobody has curated this note yet.", status=404)
    with transaction.atomic():
        locked = annotation_set_lock(annotation_set=curation, expected_version=expected_version)
        locked.note = note
        if locked.status != AnnotationSetStatus.GOLD:
            raise ApplicationError("not_finished", "This curation is not finished; there is nothing to reopen.",
                                   status=409)
        # The edit rule with the status it will have: the curator's or an admin's.
        locked.status = AnnotationSetStatus.IN_PROGRESS
        annotation_set_check_editable(user=by, annotation_set=locked)
        AnnotationSet.objects.filter(pk=locked.pk).update(status=AnnotationSetStatus.IN_PROGRESS,
                                                          updated_at=timezone.now(), version=F("version") + 1)
        _audit(by, locked, "curation_reopen", version_before=locked.version, version_after=locked.version + 1,
               status_before=AnnotationSetStatus.GOLD, status=AnnotationSetStatus.IN_PROGRESS)
        project_id, note_id = note.project_id, note.pk
        transaction.on_commit(lambda: gold_changed.send(sender=AnnotationSet, project_id=project_id, note_ids=[note_id]))
    locked.refresh_from_db()
    locked.note = note
    return locked
