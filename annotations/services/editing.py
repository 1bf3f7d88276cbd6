"""Fine-grained edits of one annotation set, for the editor UI and the REST API.

Every edit (keyword-only; `schema=` may pass the project's Schema when the caller has it, else it is
loaded): locks the set, refuses a stale `expected_version` with ConflictError (no lost update, no
silent merge), refuses a signed-off note unless the user is a project admin, checks the changed
annotations and what they point at with `annotation_set_check` against the project schema (the same
rule check imports use), writes only the rows it changes, bumps `AnnotationSet.version` and records
what undoing it needs (the touched rows as they were) in an AnnotationEdit, and appends its audit record
(the rows touched, before and after; no text) in the same transaction, whatever the door. Undo puts
those rows back as they were, in place, so rows the edit never touched stay as they are.

A submitted set refuses every edit, undo included ("submitted"), until its annotator reopens it
(`annotation_set_reopen`): a stray key never un-submits a set behind the reviewer's back.

Pre-labels are the model's annotations copied into a user's set (origin=model, confidence kept,
decision blank = pending). Accepting sets decision=accepted; rejecting keeps the row with
decision=rejected for provenance: rejected rows are never exported or trained on.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from django.db import IntegrityError, router, transaction
from django.db.models import F, Q
from django.db.models.deletion import Collector
from django.utils import timezone

from annotations.audit.models import AuditAction
from annotations.audit.services import audit_record
from annotations.audit.structures import annotation_structure, edit_changes_structure
from annotations.errors import ApplicationError
from annotations.formats.document import Attribute as AttributeRecord
from annotations.formats.document import Document, Span
from annotations.formats.document import Entity as EntityRecord
from annotations.formats.document import Event as EventRecord
from annotations.formats.document import Normalization as NormalizationRecord
from annotations.formats.document import Relation as RelationRecord
from annotations.formats.text import span_text
from annotations.models import (
    AnnotationEdit,
    AnnotationSet,
    AnnotationSetSource,
    AnnotationSetStatus,
    AnnotatorNote,
    Attribute,
    CurationDecision,
    Decision,
    Entity,
    EquivalenceMember,
    Event,
    EventArgument,
    Normalization,
    Note,
    NoteLabel,
    NoteLabelValue,
    Origin,
    Relation,
    ReviewStatus,
)
from annotations.permissions import annotation_set_check_editable, annotation_set_visible, prelabels_visible
from annotations.signals import gold_changed

from .annotation_sets import (
    annotation_set_check,
    annotation_set_lock,
    annotation_set_replace,
    version_conflict,
)
from .assignment import assignment_touch
from .document_store import annotation_sets_to_documents, annotation_sets_write
from .schemas import project_schema_get

UNDO_KEEP = 20
# Children after parents: restore in this order, delete in the reverse one.
_MODELS = {
    "entity": Entity,
    "event": Event,
    "event_argument": EventArgument,
    "relation": Relation,
    "attribute": Attribute,
    "normalization": Normalization,
    "note": AnnotatorNote,
    "equivalence_member": EquivalenceMember,
    "label": NoteLabel,
    # A curation set's decisions (annotations.services.curation) are part of its state: undo restores them.
    "curation_decision": CurationDecision,
}
_KINDS = {model: key for key, model in _MODELS.items()}
# How a row of each kind belongs to a set (an event's arguments and an equivalence's members through them).
_SET_LOOKUP = {"event_argument": "event__annotation_set", "equivalence_member": "equivalence__annotation_set"}


def _of_set(key: str, locked: AnnotationSet, **filters):
    return _MODELS[key].objects.filter(**{_SET_LOOKUP.get(key, "annotation_set"): locked}, **filters)
_LIVE = ~Q(decision=Decision.REJECTED)
# Time spent on a set is the sum of the gaps between its edits (from opening it), each capped here: a
# person who leaves a note open over lunch has not spent an hour on it.
IDLE_CAP_S = 120.0
_LOAD = object()  # "schema not given: load the project's"


@dataclass
class EditResult:
    """What an edit changed, so a view can re-render only that (and an API can report the version)."""

    annotation_set: AnnotationSet
    version: int
    action: str
    selected: str | None = None  # local id of the entity/relation the edit was about
    regions: list[tuple[int, int]] = field(default_factory=list)  # text regions whose rendering changed
    relations_changed: bool = False
    label_changed: bool = False
    events_changed: bool = False
    # What the edit touched, for the audit trail: {"before": {kind: [row dicts as they were]}, "created":
    # {kind: [pks]}} (kinds: entity, relation, attribute, normalization, label). None: not recorded (undo).
    changes: dict | None = None


class _Recorder:
    """Remembers the rows an edit touches (as they were) and the rows it creates, for undo."""

    def __init__(self) -> None:
        self.before: dict[str, dict[int, dict]] = defaultdict(dict)
        self.created: dict[str, list[int]] = defaultdict(list)

    def touch(self, key: str, queryset) -> None:
        for row in queryset.values():
            self.before[key].setdefault(row["id"], row)

    def create(self, key: str, pk: int) -> None:
        self.created[key].append(pk)

    def as_json(self, extra: dict) -> dict:
        # Full precision (DjangoJSONEncoder keeps milliseconds only): undo puts back the times as they were.
        before = {
            key: [{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()} for r in rows.values()]
            for key, rows in self.before.items()
        }
        return {"before": before, "created": dict(self.created), **extra}


# --- helpers -------------------------------------------------------------------------------------------


def _lock(annotation_set: AnnotationSet, expected_version: int, user) -> AnnotationSet:
    """The set locked at `expected_version` (the one version check) if `user` may change it (the one
    access rule, annotations.permissions)."""
    locked = annotation_set_lock(annotation_set=annotation_set, expected_version=expected_version)
    annotation_set_check_editable(user=user, annotation_set=locked)
    return locked


def _lock_unsubmitted(annotation_set: AnnotationSet, expected_version: int, user) -> AnnotationSet:
    """`_lock` for the editor's fine-grained edits (and undo), which refuse a submitted set: a stray key
    must never un-submit it silently; the annotator reopens it first (`annotation_set_reopen`)."""
    locked = _lock(annotation_set, expected_version, user)
    if locked.status == AnnotationSetStatus.SUBMITTED:
        raise ApplicationError(
            "submitted", "These annotations are submitted and read-only: reopen them to edit.", status=409
        )
    return locked


def _finish(locked: AnnotationSet, user, action: str, recorder: _Recorder, *, audit_extra: dict | None = None,
            **result) -> EditResult:
    """Bump the version, move statuses forward, add the time since the set's last change to the time
    spent on it (idle gaps count as IDLE_CAP_S at most), record the undo step; `audit_extra` adds to the
    audit record's details."""
    now = timezone.now()
    gap = max(0.0, min(IDLE_CAP_S, (now - locked.updated_at).total_seconds())) if locked.updated_at else 0.0
    updates = {"version": F("version") + 1, "updated_at": now, "seconds_spent": F("seconds_spent") + round(gap)}
    previous_status = locked.status
    if locked.status == AnnotationSetStatus.PRE_ANNOTATED:  # a submitted set is reopened explicitly, never here
        updates["status"] = AnnotationSetStatus.IN_PROGRESS
    AnnotationSet.objects.filter(pk=locked.pk).update(**updates)
    assignment_touch(annotation_set=locked, now=now)  # the assignee's edit keeps their assignment of the note
    note = locked.note
    previous_note_status = note.review_status
    # A curator's edit is not an annotator's: the note stays submitted while its curation goes on.
    if note.review_status in (ReviewStatus.UNREVIEWED, ReviewStatus.SUBMITTED) and (
        locked.source_kind != AnnotationSetSource.CURATION
    ):
        Note.objects.filter(pk=note.pk).update(review_status=ReviewStatus.IN_PROGRESS)
        note.review_status = ReviewStatus.IN_PROGRESS
    version = locked.version + 1
    locked.version = version
    locked.status = updates.get("status", locked.status)
    AnnotationEdit.objects.create(
        annotation_set=locked,
        user=user if getattr(user, "pk", None) else None,
        action=action,
        version_after=version,
        undo=recorder.as_json({"status": previous_status, "note_status": previous_note_status}),
    )
    if version % 10 == 0:
        keep = list(AnnotationEdit.objects.filter(annotation_set=locked).order_by("-id").values_list("id", flat=True)[:UNDO_KEEP])
        AnnotationEdit.objects.filter(annotation_set=locked).exclude(id__in=keep).delete()
    changes = {"before": {k: list(v.values()) for k, v in recorder.before.items()}, "created": dict(recorder.created)}
    _audit_edit(locked, user, action, version_before=version - 1, version_after=version, changes=changes,
                **(audit_extra or {}))
    return EditResult(annotation_set=locked, version=version, action=action, changes=changes, **result)


def _audit_edit(locked: AnnotationSet, user, operation: str, *, version_before: int, version_after: int,
                changes: dict, **extra) -> None:
    """The edit's audit record, in the edit's transaction and of one shape whatever the door (editor page,
    API, command): the annotations it touched before and after (ids, types, offsets; no text)."""
    delta = edit_changes_structure(locked.pk, changes)
    _audit_change(locked, user, operation, version_before=version_before, version_after=version_after,
                  before=delta["before"], after=delta["after"], **extra)


def _audit_change(locked: AnnotationSet, user, operation: str, *, version_before: int, version_after: int,
                  before: dict, after: dict, **extra) -> None:
    """The one shape of an annotation-change audit record (fine-grained edits and whole-set replaces)."""
    audit_record(
        action=AuditAction.ANNOTATION_CHANGE,
        actor=user if getattr(user, "is_authenticated", False) else None,
        project=locked.note.project,
        note=locked.note,
        object_type="annotation_set",
        object_id=locked.pk,
        details={"operation": operation, "version_before": version_before, "version_after": version_after,
                 **extra, "before": before, "after": after},
    )


def _next_id(locked: AnnotationSet, model, prefix: str) -> str:
    numbers = [
        int(x[len(prefix):])
        for x in model.objects.filter(annotation_set=locked, local_id__startswith=prefix).values_list("local_id", flat=True)
        if x[len(prefix):].isdigit()
    ]
    return f"{prefix}{max(numbers, default=0) + 1}"


def _entity(locked: AnnotationSet, local_id: str) -> Entity:
    entity = Entity.objects.filter(annotation_set=locked, local_id=local_id).first()
    if entity is None or entity.decision == Decision.REJECTED:
        raise ApplicationError("not_found", f"No entity {local_id} in these annotations (was it undone?).", status=404)
    return entity


def _relation(locked: AnnotationSet, local_id: str) -> Relation:
    relation = Relation.objects.filter(annotation_set=locked, local_id=local_id).first()
    if relation is None or relation.decision == Decision.REJECTED:
        raise ApplicationError("not_found", f"No relation {local_id} in these annotations.", status=404)
    return relation


def _spans(spans) -> list[tuple[int, int]]:
    cleaned = sorted({(int(s), int(e)) for s, e in spans})
    if not cleaned:
        raise ApplicationError("no_selection", "Select some text first.")
    for (_s1, e1), (s2, _) in zip(cleaned, cleaned[1:], strict=False):
        if s2 < e1:
            raise ApplicationError("overlapping_fragments", "The fragments of one entity must not overlap.")
    return cleaned


def _entity_record(e: Entity) -> EntityRecord:
    return EntityRecord(
        id=e.local_id, type=e.type, spans=tuple(Span(s, t) for s, t in e.fragments), text=e.text, confidence=e.confidence
    )


def _relation_record(r: Relation) -> RelationRecord:
    return RelationRecord(
        id=r.local_id,
        type=r.type,
        arg1=r.arg1_entity.local_id if r.arg1_entity_id else r.arg1_event.local_id,
        arg2=r.arg2_entity.local_id if r.arg2_entity_id else r.arg2_event.local_id,
        arg1_role=r.arg1_role,
        arg2_role=r.arg2_role,
        confidence=r.confidence,
    )


# An event may lack a required argument while it is being edited (brat makes the event, then its
# arguments); submit checks the whole set, so a missing argument is refused there, not at each step.
_INCOMPLETE_EVENT = re.compile(r"^E\S*: event \S+ needs a \S+ argument$")


def _check(
    locked: AnnotationSet, *, schema=_LOAD, entities=(), relations=(), attributes=(), normalizations=(),
    events=(), incomplete_events_ok: bool = False,
) -> None:
    """The rule check of the changed annotations together with everything they point at.

    `events` are checked whole (their trigger and arguments, loaded here); an event that a changed relation
    or event only points at is present as context (its type and trigger) and not checked itself."""
    note = locked.note
    entities = [e for e in entities if e is not None]  # a relation's argument that is an event has no entity
    event_records: dict[str, EventRecord] = {}
    context: dict[int, Event] = {}
    for event in events:
        args = []
        for arg in event.arguments.select_related("entity", "target_event__trigger").order_by("position"):
            if arg.entity_id:
                entities.append(arg.entity)
                args.append((arg.role, arg.entity.local_id))
            else:
                context.setdefault(arg.target_event_id, arg.target_event)
                args.append((arg.role, arg.target_event.local_id))
        entities.append(event.trigger)
        event_records[event.local_id] = EventRecord(
            id=event.local_id, type=event.type, trigger=event.trigger.local_id, args=tuple(args)
        )
    for r in relations:
        for ev in (r.arg1_event, r.arg2_event):
            if ev is not None:
                context.setdefault(ev.pk, ev)
    context_ids = set()
    for ev in context.values():
        if ev.local_id not in event_records:
            context_ids.add(ev.local_id)
            entities.append(ev.trigger)
            event_records[ev.local_id] = EventRecord(id=ev.local_id, type=ev.type, trigger=ev.trigger.local_id)
    document = Document(
        id=note.external_id,
        text=note.text,
        entities=tuple(_entity_record(e) for e in {e.local_id: e for e in entities}.values()),
        relations=tuple(_relation_record(r) for r in relations),
        events=tuple(event_records.values()),
        attributes=tuple(
            AttributeRecord(id=a.local_id, name=a.name, target=a.entity.local_id, value=a.value) for a in attributes
        ),
        normalizations=tuple(
            NormalizationRecord(
                id=n.local_id, target=n.entity.local_id, resource=n.resource, resource_id=n.resource_id, text=n.text
            )
            for n in normalizations
        ),
    )
    if schema is _LOAD:
        schema = project_schema_get(project=note.project)
    problems = [
        p for p in annotation_set_check(document=document, schema=schema)
        if p.message.split(":", 1)[0] not in context_ids
        and not (incomplete_events_ok and _INCOMPLETE_EVENT.match(p.message))
    ]
    if problems:
        message = "; ".join(p.message if hasattr(p, "message") else str(p) for p in problems[:5])
        raise ApplicationError("invalid_annotations", message, details=[str(p) for p in problems])


def _regions(*entities: Entity) -> list[tuple[int, int]]:
    return [(s, e) for entity in entities for s, e in entity.fragments]


def _relations_of(entity: Entity):
    return Relation.objects.filter(Q(arg1_entity=entity) | Q(arg2_entity=entity)).select_related(
        "arg1_entity", "arg2_entity", "arg1_event__trigger", "arg2_event__trigger"
    )


def _touch_cascade(recorder: _Recorder, *objects) -> Collector:
    """Record every row that deleting `objects` removes with them, as Django's own delete collects them
    (relations, attributes, normalizations, annotator notes, events and their arguments, equivalence
    members...), so that undo can make each one again. Returns the collector: the caller deletes with
    `collector.delete()` (what `Model.delete` does) rather than walking the cascade a second time."""
    collector = Collector(using=router.db_for_write(type(objects[0])), origin=objects[0])
    collector.collect(list(objects))
    for queryset in collector.fast_deletes:
        if queryset.model in _KINDS:
            recorder.touch(_KINDS[queryset.model], queryset)
    for model, instances in collector.data.items():
        if model in _KINDS:
            recorder.touch(_KINDS[model], model.objects.filter(pk__in=[o.pk for o in instances]))
    return collector


def _modified(entity: Entity) -> None:
    if entity.origin != Origin.HUMAN:
        entity.decision = Decision.MODIFIED
        entity.decided_at = timezone.now()


# --- the editor's set ----------------------------------------------------------------------------------


def annotation_set_for_editor(*, note: Note, user) -> AnnotationSet:
    """The user's own annotation set for a note, created when it does not exist yet (the API's
    "my set" call; the editor page creates it on the first edit, `annotation_set_first_edit`).

    A new set starts from the newest model set of the note (its annotations become pending pre-labels,
    origin=model, confidence kept) or else empty.
    """
    return _own_set_get_or_create(note=note, user=user)[0]


def _own_set_get_or_create(*, note: Note, user) -> tuple[AnnotationSet, bool]:
    own = AnnotationSet.objects.filter(note=note, source_kind=AnnotationSetSource.USER, user=user).first()
    if own is not None:
        return own, False
    # Blind pre-labels (Project.blind_prelabels): a person who may not see the model's sets starts empty.
    model_set = (
        AnnotationSet.objects.filter(note=note, source_kind=AnnotationSetSource.MODEL)
        .select_related("note")
        .order_by("-created_at", "-pk")
        .first()
    ) if prelabels_visible(user=user, project=note.project) else None
    try:
        with transaction.atomic():
            own = AnnotationSet.objects.create(
                note=note,
                source_kind=AnnotationSetSource.USER,
                user=user,
                source_name=user.get_username(),
                status=AnnotationSetStatus.PRE_ANNOTATED if model_set else AnnotationSetStatus.IN_PROGRESS,
                prelabel_model_version_id=model_set.model_version_id if model_set else None,
            )
            if model_set is not None:
                document = annotation_sets_to_documents([model_set])[model_set.pk]
                annotation_sets_write([(own, document)], origin=Origin.MODEL)
                NoteLabel.objects.filter(annotation_set=own).delete()  # the verdict is the person's to give
    except IntegrityError:  # opened twice at once: the other request made it
        return AnnotationSet.objects.get(note=note, source_kind=AnnotationSetSource.USER, user=user), False
    return own, True


def annotation_set_copy_for_correction(*, note: Note, user, source: AnnotationSet) -> AnnotationSet:
    """Start the user's own set of `note` as a copy of an imported or gold set ("Correct these"), audited.

    Every annotation is copied (entities, events, relations, attributes, normalizations, annotator notes,
    equivalences) with origin=import and no decision, so each one the person changes says so (modified);
    the set records what it was copied from (`copied_from`). The verdict is not copied: it is the
    person's to give. The source stays as it was.

    Raises ApplicationError("not_copyable") when `source` is not an import or gold set of the note,
    ("already_started", 409) when the user has a set of the note already, and the one access rule's
    refusal (annotations.permissions) when the user may not annotate it (role, signed-off note).
    """
    if source.note_id != note.pk or not (
        source.source_kind == AnnotationSetSource.IMPORT or source.status == AnnotationSetStatus.GOLD
    ):
        raise ApplicationError("not_copyable", "Only this note's imported or gold annotations can be corrected.")
    if not annotation_set_visible(user=user, annotation_set=source, project=note.project):
        raise ApplicationError("not_found", "No such annotation set.", status=404)  # blind annotation
    own = AnnotationSet(note=note, source_kind=AnnotationSetSource.USER, user=user, source_name=user.get_username())
    annotation_set_check_editable(user=user, annotation_set=own)
    already = ApplicationError(
        "already_started", "You already have your own annotations of this note: open them (reload).", status=409
    )
    try:
        with transaction.atomic():
            if AnnotationSet.objects.filter(note=note, source_kind=AnnotationSetSource.USER, user=user).exists():
                raise already
            source.note = note
            document = replace(annotation_sets_to_documents([source])[source.pk], label=None)
            own.status, own.copied_from = AnnotationSetStatus.IN_PROGRESS, source
            own.save()
            annotation_sets_write([(own, document)], origin=Origin.IMPORT)
            audit_record(
                action=AuditAction.ANNOTATION_CHANGE,
                actor=user if getattr(user, "is_authenticated", False) else None,
                project=note.project,
                note=note,
                object_type="annotation_set",
                object_id=own.pk,
                details={
                    "operation": "copy_for_correction",
                    "copied_from": {
                        "annotation_set": source.pk, "source_kind": source.source_kind,
                        "source_name": source.source_name, "status": source.status, "version": source.version,
                    },
                    "version_before": 0,
                    "version_after": own.version,
                    "after": annotation_structure(document),
                },
            )
    except IntegrityError as exc:  # two requests at once: the other one made the set
        raise already from exc
    return own


def annotation_set_first_edit(
    *, note: Note, user, expected_version: int, edit: Callable[[AnnotationSet, int], EditResult]
) -> EditResult:
    """A user's first edit of a note from an editor page that showed no set of theirs (a GET creates no
    rows, so such a page carries version 0): creates their set as `annotation_set_for_editor` does and
    applies `edit(set, its version)` in one transaction, so a refused edit leaves no set behind.

    Raises ConflictError (the one version check's error) when the page is stale: the set exists already
    (made by another tab or request, even one racing this) or `expected_version` is not 0; else what
    `edit` raises.
    """
    with transaction.atomic():
        own, created = (None, False) if expected_version != 0 else _own_set_get_or_create(note=note, user=user)
        if not created:
            if own is None:
                own = AnnotationSet.objects.filter(note=note, source_kind=AnnotationSetSource.USER, user=user).first()
            raise version_conflict(current_version=own.version if own else 0, expected_version=expected_version)
        own.note = note
        return edit(own, own.version)


# --- entities ------------------------------------------------------------------------------------------


def entity_create(
    *, annotation_set: AnnotationSet, expected_version: int, type: str, spans, user, schema=_LOAD
) -> EditResult:
    """Create an entity over `spans` ([(start, end), ...], code points; several = discontinuous).

    Raises ConflictError on a stale version, ApplicationError("invalid_annotations") when the schema or
    the offsets do not allow it.
    """
    fragments = _spans(spans)
    with transaction.atomic():
        locked = _lock_unsubmitted(annotation_set, expected_version, user)
        text = locked.note.text
        entity = Entity(
            annotation_set=locked,
            local_id=_next_id(locked, Entity, "T"),
            type=type,
            fragments=[list(f) for f in fragments],
            start=fragments[0][0],
            end=max(e for _, e in fragments),
            text=span_text(text, [Span(s, e) for s, e in fragments]),
            origin=Origin.HUMAN,
            decision=Decision.ADDED,
            decided_at=timezone.now(),
        )
        _check(locked, schema=schema, entities=[entity])
        entity.save()
        recorder = _Recorder()
        recorder.create("entity", entity.pk)
        return _finish(locked, user, "entity_create", recorder, selected=entity.local_id, regions=_regions(entity))


def entity_add_fragment(
    *, annotation_set: AnnotationSet, expected_version: int, entity_id: str, span, user, schema=_LOAD
) -> EditResult:
    """Add a fragment to an entity (making it discontinuous)."""
    with transaction.atomic():
        locked = _lock_unsubmitted(annotation_set, expected_version, user)
        entity = _entity(locked, entity_id)
        recorder = _Recorder()
        recorder.touch("entity", Entity.objects.filter(pk=entity.pk))
        old = _regions(entity)
        fragments = _spans([*entity.fragments, span])
        entity.fragments = [list(f) for f in fragments]
        entity.start, entity.end = fragments[0][0], max(e for _, e in fragments)
        entity.text = span_text(locked.note.text, [Span(s, e) for s, e in fragments])
        _modified(entity)
        _check(locked, schema=schema, entities=[entity])
        entity.save()
        return _finish(locked, user, "entity_add_fragment", recorder, selected=entity.local_id, regions=old + _regions(entity))


def entity_update(
    *,
    annotation_set: AnnotationSet,
    expected_version: int,
    entity_id: str,
    user,
    type: str | None = None,
    attributes: dict[str, str | bool | None] | None = None,
    normalization: tuple[str, str, str] | None = None,
    schema=_LOAD,
) -> EditResult:
    """Change an entity's type, attributes and/or normalization.

    `attributes` maps names to a value (valued attributes), True (binary: set) or None/False (remove);
    names not given stay as they are. `normalization` is (resource, id, text); ("", "", "") removes it.
    """
    with transaction.atomic():
        locked = _lock_unsubmitted(annotation_set, expected_version, user)
        entity = _entity(locked, entity_id)
        recorder = _Recorder()
        recorder.touch("entity", Entity.objects.filter(pk=entity.pk))
        recorder.touch("attribute", Attribute.objects.filter(entity=entity))
        recorder.touch("normalization", Normalization.objects.filter(entity=entity))
        if type and type != entity.type:
            triggered = list(Event.objects.filter(trigger=entity).values_list("local_id", flat=True))
            if triggered:
                raise ApplicationError(
                    "trigger_type",
                    f"{entity.local_id} is the trigger of {', '.join(triggered)}: an event's trigger has the event's "
                    "type. Delete the event first to change it.",
                )
            entity.type = type
        _modified(entity)
        entity.save()
        for name, value in (attributes or {}).items():
            existing = Attribute.objects.filter(entity=entity, name=name).first()
            if value in (None, False, ""):
                if existing:
                    existing.delete()
                continue
            stored = None if value is True else str(value)
            if existing:
                existing.value = stored
                existing.save(update_fields=["value"])
            else:
                created = Attribute.objects.create(
                    annotation_set=locked, local_id=_next_id(locked, Attribute, "A"), entity=entity, name=name, value=stored
                )
                recorder.create("attribute", created.pk)
        if normalization is not None:
            resource, resource_id, norm_text = normalization
            Normalization.objects.filter(entity=entity).delete()
            if resource and resource_id:
                created = Normalization.objects.create(
                    annotation_set=locked,
                    local_id=_next_id(locked, Normalization, "N"),
                    entity=entity,
                    resource=resource,
                    resource_id=resource_id,
                    text=norm_text,
                )
                recorder.create("normalization", created.pk)
        relations = list(_relations_of(entity).filter(_LIVE))
        _check(
            locked,
            schema=schema,
            entities=[entity, *(r.arg1_entity for r in relations), *(r.arg2_entity for r in relations)],
            relations=relations,
            attributes=list(Attribute.objects.filter(entity=entity).select_related("entity")),
            normalizations=list(Normalization.objects.filter(entity=entity).select_related("entity")),
        )
        return _finish(
            locked, user, "entity_update", recorder, selected=entity.local_id, regions=_regions(entity),
            relations_changed=bool(relations),
        )


def entity_delete(*, annotation_set: AnnotationSet, expected_version: int, entity_id: str, user) -> EditResult:
    """Delete an entity with its relations and attributes; a model pre-label is rejected instead (kept for
    provenance, never exported)."""
    with transaction.atomic():
        locked = _lock_unsubmitted(annotation_set, expected_version, user)
        entity = _entity(locked, entity_id)
        if entity.origin == Origin.MODEL:
            return _reject(locked, user, entity=entity, action="entity_delete")
        recorder = _Recorder()
        recorder.touch("label", NoteLabel.objects.filter(annotation_set=locked))
        # The entity and everything the delete cascades to (its relations, their and its attributes,
        # normalizations, notes, events...), as Django's delete collects them: undo gives each one back.
        collector = _touch_cascade(recorder, entity)
        had_relations = bool(recorder.before.get("relation"))
        collector.delete()
        return _finish(
            locked, user, "entity_delete", recorder, regions=_regions(entity), relations_changed=had_relations,
            label_changed=True,
        )


# --- pre-labels ----------------------------------------------------------------------------------------


def _reject(locked: AnnotationSet, user, *, entity: Entity | None = None, relation: Relation | None = None,
            action: str = "prelabel_reject") -> EditResult:
    recorder = _Recorder()
    regions: list[tuple[int, int]] = []
    relations = Relation.objects.none()
    if entity is not None:
        recorder.touch("entity", Entity.objects.filter(pk=entity.pk))
        relations = _relations_of(entity).filter(_LIVE)  # already rejected ones keep their decision time
        entity.decision, entity.decided_at = Decision.REJECTED, timezone.now()
        entity.save(update_fields=["decision", "decided_at"])
        regions = _regions(entity)
    if relation is not None:
        relations = Relation.objects.filter(pk=relation.pk)
    recorder.touch("relation", relations)
    recorder.touch("label", NoteLabel.objects.filter(annotation_set=locked))
    rejected = list(relations.values_list("pk", flat=True))
    Relation.objects.filter(pk__in=rejected).update(decision=Decision.REJECTED, decided_at=timezone.now())
    NoteLabel.objects.filter(annotation_set=locked, evidence_id__in=rejected).update(evidence=None)
    selected = entity.local_id if entity is not None else relation.local_id
    return _finish(locked, user, action, recorder, selected=selected, regions=regions, relations_changed=bool(rejected),
                   label_changed=True)


def prelabel_accept(*, annotation_set: AnnotationSet, expected_version: int, local_id: str, user) -> EditResult:
    """Accept a model pre-label (entity "T.." or relation "R.."); accepting a relation accepts its arguments."""
    with transaction.atomic():
        locked = _lock_unsubmitted(annotation_set, expected_version, user)
        recorder = _Recorder()
        if local_id.startswith("R"):
            relation = _relation(locked, local_id)
            args = Entity.objects.filter(pk__in=[relation.arg1_entity_id, relation.arg2_entity_id], decision="")
            recorder.touch("relation", Relation.objects.filter(pk=relation.pk))
            recorder.touch("entity", args)
            regions = [(s, e) for entity in args for s, e in entity.fragments]
            now = timezone.now()
            args.update(decision=Decision.ACCEPTED, decided_at=now)
            Relation.objects.filter(pk=relation.pk, decision="").update(decision=Decision.ACCEPTED, decided_at=now)
            return _finish(locked, user, "prelabel_accept", recorder, selected=local_id, regions=regions,
                           relations_changed=True)
        entity = _entity(locked, local_id)
        recorder.touch("entity", Entity.objects.filter(pk=entity.pk))
        if entity.origin == Origin.MODEL and not entity.decision:
            entity.decision, entity.decided_at = Decision.ACCEPTED, timezone.now()
            entity.save(update_fields=["decision", "decided_at"])
        return _finish(locked, user, "prelabel_accept", recorder, selected=local_id, regions=_regions(entity))


def prelabel_reject(*, annotation_set: AnnotationSet, expected_version: int, local_id: str, user) -> EditResult:
    """Reject a model pre-label (with the relations that use it): kept for provenance, never exported."""
    with transaction.atomic():
        locked = _lock_unsubmitted(annotation_set, expected_version, user)
        if local_id.startswith("R"):
            return _reject(locked, user, relation=_relation(locked, local_id))
        entity = _entity(locked, local_id)
        if entity.origin != Origin.MODEL:
            raise ApplicationError("not_a_prelabel", f"{local_id} is not a model pre-label; delete it instead.")
        return _reject(locked, user, entity=entity)


def prelabels_decide_type(
    *, annotation_set: AnnotationSet, expected_version: int, type: str, decision: str, user
) -> EditResult:
    """Accept or reject every pending pre-label entity of one type."""
    if decision not in (Decision.ACCEPTED, Decision.REJECTED):
        raise ApplicationError("bad_decision", "Choose accept or reject.")
    with transaction.atomic():
        locked = _lock_unsubmitted(annotation_set, expected_version, user)
        pending = Entity.objects.filter(annotation_set=locked, origin=Origin.MODEL, decision="", type=type)
        recorder = _Recorder()
        recorder.touch("entity", pending)
        regions = [(s, e) for fragments in pending.values_list("fragments", flat=True) for s, e in fragments]
        relations_changed = False
        if decision == Decision.REJECTED:
            relations = Relation.objects.filter(Q(arg1_entity__in=pending) | Q(arg2_entity__in=pending))
            recorder.touch("relation", relations)
            recorder.touch("label", NoteLabel.objects.filter(annotation_set=locked))
            ids = list(relations.values_list("pk", flat=True))
            Relation.objects.filter(pk__in=ids).update(decision=Decision.REJECTED, decided_at=timezone.now())
            NoteLabel.objects.filter(annotation_set=locked, evidence_id__in=ids).update(evidence=None)
            relations_changed = bool(ids)
        Entity.objects.filter(pk__in=list(recorder.before["entity"])).update(decision=decision, decided_at=timezone.now())
        return _finish(locked, user, f"prelabels_{decision}", recorder, regions=regions, relations_changed=relations_changed,
                       label_changed=relations_changed)


def prelabels_accept_type(*, annotation_set: AnnotationSet, expected_version: int, type: str, user) -> EditResult:
    """Accept every pending pre-label entity of one type."""
    return prelabels_decide_type(
        annotation_set=annotation_set, expected_version=expected_version, type=type, decision=Decision.ACCEPTED, user=user
    )


# --- relations -----------------------------------------------------------------------------------------


def relation_create(
    *, annotation_set: AnnotationSet, expected_version: int, type: str, head: str, tail: str, user, schema=_LOAD
) -> EditResult:
    """Create a relation `type` from entity `head` (Arg1) to entity `tail` (Arg2), if the schema allows it."""
    if head == tail:
        raise ApplicationError("self_relation", "A relation needs two different entities.")
    with transaction.atomic():
        locked = _lock_unsubmitted(annotation_set, expected_version, user)
        arg1, arg2 = _entity(locked, head), _entity(locked, tail)
        relation = Relation(
            annotation_set=locked,
            local_id=_next_id(locked, Relation, "R"),
            type=type,
            arg1_entity=arg1,
            arg2_entity=arg2,
            origin=Origin.HUMAN,
            decision=Decision.ADDED,
            decided_at=timezone.now(),
        )
        _check(locked, schema=schema, entities=[arg1, arg2], relations=[relation])
        relation.save()
        recorder = _Recorder()
        recorder.create("relation", relation.pk)
        return _finish(locked, user, "relation_create", recorder, selected=relation.local_id, relations_changed=True)


def relation_delete(*, annotation_set: AnnotationSet, expected_version: int, relation_id: str, user) -> EditResult:
    """Delete a relation; a model pre-label relation is rejected instead."""
    with transaction.atomic():
        locked = _lock_unsubmitted(annotation_set, expected_version, user)
        relation = _relation(locked, relation_id)
        if relation.origin == Origin.MODEL:
            return _reject(locked, user, relation=relation, action="relation_delete")
        recorder = _Recorder()
        recorder.touch("relation", Relation.objects.filter(pk=relation.pk))
        recorder.touch("attribute", Attribute.objects.filter(relation=relation))
        recorder.touch("normalization", Normalization.objects.filter(relation=relation))
        collector = _touch_cascade(recorder, relation)
        recorder.touch("label", NoteLabel.objects.filter(annotation_set=locked))
        collector.delete()
        return _finish(locked, user, "relation_delete", recorder, relations_changed=True, label_changed=True)


# --- events (brat E lines: a trigger entity and role arguments, each an entity or another event) ----------


def _event(locked: AnnotationSet, local_id: str) -> Event:
    event = Event.objects.filter(annotation_set=locked, local_id=local_id).select_related("trigger").first()
    if event is None:
        raise ApplicationError("not_found", f"No event {local_id} in these annotations (was it undone?).", status=404)
    return event


def event_create(*, annotation_set: AnnotationSet, expected_version: int, trigger: str, user, schema=_LOAD) -> EditResult:
    """Make entity `trigger` the trigger of a new event of the trigger's type (as in brat, an event's type
    is its trigger's), without arguments yet (`event_argument_add`).

    Raises ApplicationError("invalid_annotations") when the schema has no such event type, and what
    every edit raises (ConflictError, "submitted", the access rule).
    """
    with transaction.atomic():
        locked = _lock_unsubmitted(annotation_set, expected_version, user)
        entity = _entity(locked, trigger)
        event = Event.objects.create(
            annotation_set=locked, local_id=_next_id(locked, Event, "E"), type=entity.type, trigger=entity
        )
        _check(locked, schema=schema, entities=[entity], events=[event], incomplete_events_ok=True)
        recorder = _Recorder()
        recorder.create("event", event.pk)
        return _finish(locked, user, "event_create", recorder, selected=event.local_id, regions=_regions(entity),
                       events_changed=True)


def event_delete(*, annotation_set: AnnotationSet, expected_version: int, event_id: str, user) -> EditResult:
    """Delete an event with what points at it (its arguments, arguments of other events that are this
    event, relations, attributes); its trigger entity stays. Undo brings every row back."""
    with transaction.atomic():
        locked = _lock_unsubmitted(annotation_set, expected_version, user)
        event = _event(locked, event_id)
        recorder = _Recorder()
        recorder.touch("event", Event.objects.filter(pk=event.pk))
        recorder.touch("label", NoteLabel.objects.filter(annotation_set=locked))
        collector = _touch_cascade(recorder, event)
        had_relations = bool(recorder.before.get("relation"))
        collector.delete()
        return _finish(locked, user, "event_delete", recorder, regions=_regions(event.trigger),
                       relations_changed=had_relations, label_changed=had_relations, events_changed=True)


def event_argument_add(
    *, annotation_set: AnnotationSet, expected_version: int, event_id: str, role: str, target: str, user,
    schema=_LOAD,
) -> EditResult:
    """Add a role argument to an event: `target` is an entity ("T..") or another event ("E..") of the set;
    `role` is a role of the event's type in the schema (a repeated role is numbered, Theme2, as brat
    writes it). Raises ApplicationError("invalid_annotations") when the schema does not allow it."""
    with transaction.atomic():
        locked = _lock_unsubmitted(annotation_set, expected_version, user)
        event = _event(locked, event_id)
        entity = target_event = None
        if target == event.local_id:
            raise ApplicationError("self_argument", "An event cannot be its own argument.")
        if target.startswith("E"):
            target_event = _event(locked, target)
        else:
            entity = _entity(locked, target)
        existing = list(event.arguments.values_list("role", "position"))
        base = re.sub(r"\d+$", "", role) or role
        same = sum(1 for r, _ in existing if (re.sub(r"\d+$", "", r) or r) == base)
        argument = EventArgument.objects.create(
            event=event, role=base if not same else f"{base}{same + 1}",
            position=max((p for _, p in existing), default=-1) + 1, entity=entity, target_event=target_event,
        )
        _check(locked, schema=schema, events=[event], incomplete_events_ok=True)
        recorder = _Recorder()
        recorder.create("event_argument", argument.pk)
        regions = _regions(event.trigger) + (_regions(entity) if entity is not None else [])
        return _finish(locked, user, "event_argument_add", recorder, selected=event.local_id, regions=regions,
                       events_changed=True)


def event_argument_remove(
    *, annotation_set: AnnotationSet, expected_version: int, event_id: str, position: int, user
) -> EditResult:
    """Remove the argument at `position` of an event (the event may then lack a required role until it
    gets another one: submit checks it)."""
    with transaction.atomic():
        locked = _lock_unsubmitted(annotation_set, expected_version, user)
        event = _event(locked, event_id)
        arguments = EventArgument.objects.filter(event=event, position=position)
        if not arguments.exists():
            raise ApplicationError("not_found", f"{event.local_id} has no such argument (was it undone?).", status=404)
        recorder = _Recorder()
        recorder.touch("event_argument", arguments)
        arguments.delete()
        return _finish(locked, user, "event_argument_remove", recorder, selected=event.local_id,
                       regions=_regions(event.trigger), events_changed=True)


# --- the note verdict, submit, undo --------------------------------------------------------------------


def evidence_relation_types(schema, project=None) -> frozenset[str] | None:
    """The relation types that can be a note verdict's evidence: the project's setting when it names some
    (project settings: "relation types that count as ADE evidence"), else the schema's ADE relation types,
    by the rule inference uses to find a note's ADE relations (`ADE_RELATION_NAMES`); None (any type) when
    the schema has none, as inference then counts every relation type."""
    from annotations.formats.schema import ADE_RELATION_NAMES

    if project is not None and project.ade_evidence_relation_types:
        return frozenset(project.ade_evidence_relation_types)

    names = frozenset(r.name for r in schema.relation_types if r.name in ADE_RELATION_NAMES) if schema else frozenset()
    return names or None


def note_label_set(
    *, annotation_set: AnnotationSet, expected_version: int, value: str, evidence: str | None, user, schema=_LOAD
) -> EditResult:
    """Set the note verdict (ade / no_ade / uncertain) and its evidence relation ("R.." or None).

    Raises ApplicationError("not_evidence") when the relation's type cannot be ADE evidence (a Dose
    relation, say; `evidence_relation_types`)."""
    if value not in NoteLabelValue.values:
        raise ApplicationError("bad_label", f"The verdict must be one of {', '.join(NoteLabelValue.values)}.")
    with transaction.atomic():
        locked = _lock_unsubmitted(annotation_set, expected_version, user)
        relation = _relation(locked, evidence) if evidence else None
        if relation is not None:
            project = locked.note.project
            types = evidence_relation_types(project_schema_get(project=project) if schema is _LOAD else schema, project)
            if types is not None and relation.type not in types:
                raise ApplicationError(
                    "not_evidence",
                    f"{relation.local_id} is a {relation.type} relation; a verdict's evidence is an ADE relation "
                    f"({', '.join(sorted(types))}).",
                )
        recorder = _Recorder()
        existing = NoteLabel.objects.filter(annotation_set=locked).first()
        if existing:
            recorder.touch("label", NoteLabel.objects.filter(pk=existing.pk))
            existing.value, existing.evidence, existing.labelled_by, existing.confidence = value, relation, user, None
            existing.save()
        else:
            created = NoteLabel.objects.create(annotation_set=locked, value=value, evidence=relation, labelled_by=user)
            recorder.create("label", created.pk)
        return _finish(locked, user, "note_label_set", recorder, label_changed=True)


def annotation_set_submit(*, annotation_set: AnnotationSet, expected_version: int, user) -> EditResult:
    """Submit the set for review: every pre-label decided, a verdict given, the whole set valid."""
    with transaction.atomic():
        locked = _lock_unsubmitted(annotation_set, expected_version, user)
        if locked.source_kind == AnnotationSetSource.CURATION:
            raise ApplicationError("curation_submit", "A curation is not submitted: finish it on its curation page, "
                                   "and it becomes the note's gold.")
        pending = [
            *Entity.objects.filter(annotation_set=locked, origin=Origin.MODEL, decision="")
            .order_by("start", "pk").values_list("local_id", "type"),
            *Relation.objects.filter(annotation_set=locked, origin=Origin.MODEL, decision="")
            .order_by("pk").values_list("local_id", "type"),
        ]
        if pending:  # named, relations included: the annotator must be able to find each one
            named = ", ".join(f"{local_id} {type_}" for local_id, type_ in pending[:10])
            more = f" and {len(pending) - 10} more" if len(pending) > 10 else ""
            raise ApplicationError(
                "pending_prelabels",
                f"{len(pending)} pre-label(s) are neither accepted nor rejected: {named}{more}. Decide them first "
                "(p goes to the next one).",
                details=[local_id for local_id, _ in pending],
            )
        if not NoteLabel.objects.filter(annotation_set=locked).exists():
            raise ApplicationError("no_verdict", "Give the note verdict (ADE / no ADE / uncertain) before submitting.")
        document = annotation_sets_to_documents([locked])[locked.pk]
        problems = annotation_set_check(document=document, schema=project_schema_get(project=locked.note.project))
        if problems:
            raise ApplicationError("invalid_annotations", "; ".join(str(p) for p in problems[:5]))
        result = _finish(locked, user, "submit", _Recorder())
        now = timezone.now()
        AnnotationSet.objects.filter(pk=locked.pk).update(status=AnnotationSetStatus.SUBMITTED, submitted_at=now)
        locked.status, locked.submitted_at = AnnotationSetStatus.SUBMITTED, now
        assignment_touch(annotation_set=locked, now=now, completed=True)  # submitting completes the assignment
        Note.objects.filter(pk=locked.note_id).exclude(review_status=ReviewStatus.SIGNED_OFF).update(
            review_status=ReviewStatus.SUBMITTED
        )
        project_id, note_id = locked.note.project_id, locked.note_id
        transaction.on_commit(lambda: gold_changed.send(sender=AnnotationSet, project_id=project_id, note_ids=[note_id]))
        return result


def annotation_set_reopen(*, annotation_set: AnnotationSet, expected_version: int, user) -> EditResult:
    """Return a submitted set to in progress so that it can be edited again (the editor's Reopen), audited.

    The submit leaves the undo chain, so undo then takes back the last change of content, never the
    submit itself. Raises ConflictError on a stale version, ApplicationError("not_submitted") when the
    set is not submitted, and what `_lock` raises (someone else's set, a signed-off note).
    """
    with transaction.atomic():
        locked = _lock(annotation_set, expected_version, user)
        if locked.status != AnnotationSetStatus.SUBMITTED:
            raise ApplicationError("not_submitted", "These annotations are not submitted; there is nothing to reopen.")
        version = locked.version + 1
        steps = list(AnnotationEdit.objects.filter(annotation_set=locked).order_by("-id")[:2])
        if steps and steps[0].action == "submit" and steps[0].version_after == locked.version:
            steps[0].delete()
            if len(steps) > 1 and steps[1].version_after == locked.version - 1:
                AnnotationEdit.objects.filter(pk=steps[1].pk).update(version_after=version)
        now = timezone.now()
        AnnotationSet.objects.filter(pk=locked.pk).update(
            status=AnnotationSetStatus.IN_PROGRESS, version=version, updated_at=now
        )
        assignment_touch(annotation_set=locked, now=now, completed=False)  # the assignment is open again
        others_submitted = AnnotationSet.objects.filter(
            note_id=locked.note_id, source_kind=AnnotationSetSource.USER, status=AnnotationSetStatus.SUBMITTED
        ).exclude(pk=locked.pk).exists()
        if not others_submitted:
            Note.objects.filter(pk=locked.note_id, review_status=ReviewStatus.SUBMITTED).update(
                review_status=ReviewStatus.IN_PROGRESS
            )
        version_before = locked.version
        locked.version, locked.status = version, AnnotationSetStatus.IN_PROGRESS
        changes: dict = {"before": {}, "created": {}}
        _audit_edit(locked, user, "reopen", version_before=version_before, version_after=version, changes=changes)
        # The set no longer counts as a submission: let the retrain policy recount.
        project_id, note_id = locked.note.project_id, locked.note_id
        transaction.on_commit(lambda: gold_changed.send(sender=AnnotationSet, project_id=project_id, note_ids=[note_id]))
        return EditResult(annotation_set=locked, version=version, action="reopen", changes=changes)


def annotation_set_replace_edit(
    *,
    annotation_set: AnnotationSet,
    expected_version: int,
    change,
    user,
    status: str | None = None,
    operation: str = "replace",
) -> AnnotationSet:
    """Replace every annotation of a user's set with `change(current document)` (the API's PUT), audited.

    The same rules as the editor's edits: the one access rule and version check, a content change to a
    submitted set returns it to in progress (a reviewer signs off only what they saw), and a status change
    goes through the same services as the editor's buttons: "submitted" runs `annotation_set_submit`'s
    checks, "in_progress" reopens; "gold" is refused (gold comes only from a sign-off, never from its
    author). Raises ConflictError, ApplicationError ("forbidden_status", "invalid_annotations", ...).
    """
    if status == AnnotationSetStatus.GOLD:
        raise ApplicationError(
            "forbidden_status", "A set becomes gold only when a reviewer signs it off, never by its author.", status=403
        )
    if status not in (None, "", AnnotationSetStatus.IN_PROGRESS, AnnotationSetStatus.SUBMITTED):
        raise ApplicationError("bad_status", "The status may be in_progress or submitted.")
    with transaction.atomic():
        locked = _lock(annotation_set, expected_version, user)
        before = annotation_sets_to_documents([locked])[locked.pk]
        after = change(before)
        content_changed = annotation_structure(after) != annotation_structure(before)
        previous_status = locked.status
        updated = annotation_set_replace(
            annotation_set=locked, document=after, schema=project_schema_get(project=locked.note.project),
            expected_version=expected_version, origin=Origin.HUMAN,
            status=AnnotationSetStatus.IN_PROGRESS if content_changed or status else None,
        )
        # A submitted set that changes is in progress again, and so is its assignment (a submit below completes it).
        reopened = bool(content_changed or status) and previous_status == AnnotationSetStatus.SUBMITTED
        assignment_touch(annotation_set=locked, now=timezone.now(), completed=False if reopened else None)
        if content_changed or status:
            Note.objects.filter(pk=locked.note_id, review_status=ReviewStatus.SUBMITTED).update(
                review_status=ReviewStatus.IN_PROGRESS
            )
        # Older undo steps refer to rows the replace removed; they can no longer be undone.
        AnnotationEdit.objects.filter(annotation_set=locked).delete()
        _audit_change(locked, user, operation, version_before=expected_version, version_after=updated.version,
                      status_before=previous_status, status=updated.status,
                      before=annotation_structure(before), after=annotation_structure(after))
        if status == AnnotationSetStatus.SUBMITTED:
            annotation_set_submit(annotation_set=updated, expected_version=updated.version, user=user)
            updated.refresh_from_db()
    return updated


def edit_undo(*, annotation_set: AnnotationSet, expected_version: int, user) -> EditResult:
    """Undo the set's last edit: restore the rows it touched and drop the ones it created."""
    with transaction.atomic():
        locked = _lock_unsubmitted(annotation_set, expected_version, user)
        steps = list(AnnotationEdit.objects.filter(annotation_set=locked).order_by("-id")[:2])
        if not steps:
            raise ApplicationError("nothing_to_undo", "There is no edit to undo.")
        step = steps[0]
        if step.version_after != locked.version:
            raise ApplicationError(
                "undo_unavailable",
                "These annotations were replaced since the last edit here (an import or the API); it cannot be undone.",
            )
        before = step.undo.get("before", {})
        created = step.undo.get("created", {})
        regions: list[tuple[int, int]] = []
        for row in before.get("entity", []):
            regions += [tuple(f) for f in row["fragments"]]
        created_entities = Entity.objects.filter(pk__in=created.get("entity", []))
        regions += [tuple(f) for fragments in created_entities.values_list("fragments", flat=True) for f in fragments]
        current_entities = Entity.objects.filter(pk__in=[r["id"] for r in before.get("entity", [])])
        regions += [tuple(f) for fragments in current_entities.values_list("fragments", flat=True) for f in fragments]
        touched = {
            key: list(_of_set(key, locked, pk__in=[*created.get(key, []), *(r["id"] for r in before.get(key, []))]).values())
            for key in _MODELS
        }
        changes = {
            "before": {key: rows for key, rows in touched.items() if rows},
            "created": {key: [r["id"] for r in rows] for key, rows in before.items() if rows},
        }
        try:
            with transaction.atomic():
                for key in reversed(_MODELS):  # what the edit created goes, children first
                    _of_set(key, locked, pk__in=created.get(key, [])).delete()
                # The rows the edit changed are put back in place, never deleted and made again: deleting an
                # entity cascades to the relations, attributes and verdict evidence that point at it, rows the
                # edit never touched (undoing a Negation used to delete the entity's relations). Rows the edit
                # deleted are made again with their ids, parents first, then every row gets its old values.
                for key, model in _MODELS.items():
                    rows = before.get(key, [])
                    if not rows:
                        continue
                    existing = set(_of_set(key, locked, pk__in=[r["id"] for r in rows]).values_list("pk", flat=True))
                    model.objects.bulk_create([model(**row) for row in rows if row["id"] not in existing])
                    # bulk_update writes the stored values as they are (bulk_create stamps auto_now fields).
                    fields = [name for name in rows[0] if name != "id"]
                    model.objects.bulk_update([model(**row) for row in rows], fields, batch_size=500)
        except IntegrityError as exc:
            raise ApplicationError(
                "undo_unavailable", "The annotations were replaced since that edit; it can no longer be undone."
            ) from exc
        step.delete()
        if len(steps) > 1:  # the edit before becomes the one to undo next
            AnnotationEdit.objects.filter(pk=steps[1].pk).update(version_after=locked.version + 1)
        now = timezone.now()
        AnnotationSet.objects.filter(pk=locked.pk).update(
            version=F("version") + 1, updated_at=now, status=step.undo.get("status", locked.status)
        )
        assignment_touch(annotation_set=locked, now=now)
        if step.action == "submit" and step.undo.get("note_status"):
            Note.objects.filter(pk=locked.note_id).exclude(review_status=ReviewStatus.SIGNED_OFF).update(
                review_status=step.undo["note_status"]
            )
        version_before = locked.version
        locked.refresh_from_db()
        _audit_edit(locked, user, "undo", version_before=version_before, version_after=locked.version, changes=changes)
        return EditResult(
            annotation_set=locked, version=locked.version, action="undo", regions=regions, relations_changed=True,
            label_changed=True, events_changed=True, changes=changes,
        )


# --- several annotations in one edit (curation's decisions) ---------------------------------------------

_KEEP = object()  # "leave the verdict as it is"


def annotation_set_merge_in(
    *,
    annotation_set: AnnotationSet,
    expected_version: int,
    user,
    add: Document,
    remove: Sequence[str] = (),
    replace_attributes_of: Sequence[str] = (),
    label=_KEEP,
    action: str = "merge_in",
    also: Callable[[AnnotationSet, _Recorder, list[str]], dict | None] | None = None,
    schema=_LOAD,
) -> EditResult:
    """Take a partial Document's annotations into a set as one edit: one version, one undo step, one audit
    record, the one version check and access rule (a curator's decision, annotations.services.curation).

    `remove`: local ids (T.., R.., E..) to delete first, with what their delete cascades to (ids no longer in
    the set are skipped). Then `add`'s entities (one equal in type and fragments to a live entity of the set
    is that entity), events, relations (one equal to a live relation is not added twice), and attributes and
    normalizations on their targets; a target listed in `replace_attributes_of` (ids of `add`) keeps only
    those. `label`: the verdict to set, None to remove it; left as it is unless given. `also(locked, recorder,
    added)`: the caller's own rows in the same edit (touched or created on the recorder, so undo covers
    them), given the local ids this edit added; returns details for the audit record.

    Raises ConflictError, ApplicationError("invalid_annotations") when the schema refuses the result, and
    what every edit raises ("submitted", the access rule).
    """
    with transaction.atomic():
        locked = _lock_unsubmitted(annotation_set, expected_version, user)
        recorder = _Recorder()
        regions: list[tuple[int, int]] = []
        removed_relations = False
        if remove:
            recorder.touch("label", NoteLabel.objects.filter(annotation_set=locked))
        for local_id in remove:
            model = {"T": Entity, "R": Relation, "E": Event}.get(local_id[:1])
            row = model.objects.filter(annotation_set=locked, local_id=local_id).first() if model else None
            if row is None:
                continue
            if isinstance(row, Entity):
                regions += _regions(row)
            collector = _touch_cascade(recorder, row)
            removed_relations = removed_relations or bool(recorder.before.get("relation"))
            collector.delete()
        text = locked.note.text
        now = timezone.now()
        numbers: dict[str, int] = {}

        def next_id(model, prefix: str) -> str:
            if prefix not in numbers:
                numbers[prefix] = int(_next_id(locked, model, prefix)[len(prefix):]) - 1
            numbers[prefix] += 1
            return f"{prefix}{numbers[prefix]}"

        live = {
            (type_, tuple(tuple(f) for f in fragments)): pk
            for pk, type_, fragments in Entity.objects.filter(annotation_set=locked).exclude(
                decision=Decision.REJECTED).values_list("pk", "type", "fragments")
        }
        entity_pk: dict[str, int] = {}
        created_entities: list[Entity] = []
        for e in add.entities:
            frags = _spans([(s.start, s.end) for s in e.spans])
            key = (e.type, tuple(tuple(f) for f in frags))
            if key not in live:
                entity = Entity(
                    annotation_set=locked, local_id=next_id(Entity, "T"), type=e.type,
                    fragments=[list(f) for f in frags], start=frags[0][0], end=max(t for _, t in frags),
                    text=span_text(text, [Span(s, t) for s, t in frags]), origin=Origin.HUMAN,
                    decision=Decision.ADDED, decided_at=now,
                )
                entity.save()
                recorder.create("entity", entity.pk)
                created_entities.append(entity)
                regions += _regions(entity)
                live[key] = entity.pk
            entity_pk[e.id] = live[key]
        event_pk: dict[str, int] = {}
        created_events: list[Event] = []
        for ev in add.events:
            event = Event.objects.create(annotation_set=locked, local_id=next_id(Event, "E"), type=ev.type,
                                         trigger_id=entity_pk[ev.trigger])
            recorder.create("event", event.pk)
            for position, (role, ref) in enumerate(ev.args):
                argument = EventArgument.objects.create(
                    event=event, role=role, position=position, entity_id=entity_pk.get(ref),
                    target_event_id=None if ref in entity_pk else event_pk[ref],
                )
                recorder.create("event_argument", argument.pk)
            event_pk[ev.id] = event.pk
            created_events.append(event)
        existing_relations = set(
            Relation.objects.filter(annotation_set=locked).exclude(decision=Decision.REJECTED).values_list(
                "type", "arg1_entity_id", "arg1_event_id", "arg2_entity_id", "arg2_event_id")
        )
        relation_pk: dict[str, int] = {}
        created_relations: list[Relation] = []
        for r in add.relations:
            args = (entity_pk.get(r.arg1), event_pk.get(r.arg1), entity_pk.get(r.arg2), event_pk.get(r.arg2))
            if (r.type, *args) in existing_relations:
                found = Relation.objects.filter(annotation_set=locked, type=r.type, arg1_entity_id=args[0],
                                                arg1_event_id=args[1], arg2_entity_id=args[2],
                                                arg2_event_id=args[3]).exclude(decision=Decision.REJECTED).first()
                relation_pk[r.id] = found.pk
                continue
            relation = Relation.objects.create(
                annotation_set=locked, local_id=next_id(Relation, "R"), type=r.type, arg1_role=r.arg1_role,
                arg2_role=r.arg2_role, arg1_entity_id=args[0], arg1_event_id=args[1], arg2_entity_id=args[2],
                arg2_event_id=args[3], origin=Origin.HUMAN, decision=Decision.ADDED, decided_at=now,
            )
            recorder.create("relation", relation.pk)
            existing_relations.add((r.type, *args))
            relation_pk[r.id] = relation.pk
            created_relations.append(relation)

        def target(ref: str) -> dict:
            if ref in entity_pk:
                return {"entity_id": entity_pk[ref]}
            if ref in relation_pk:
                return {"relation_id": relation_pk[ref]}
            return {"event_id": event_pk[ref]}

        touched_targets = [target(ref) for ref in replace_attributes_of]
        for where in touched_targets:
            for key, model in (("attribute", Attribute), ("normalization", Normalization)):
                rows = model.objects.filter(annotation_set=locked, **where)
                recorder.touch(key, rows)
                rows.delete()
        for a in add.attributes:
            where = target(a.target)
            existing = Attribute.objects.filter(annotation_set=locked, name=a.name, **where).first()
            if existing is not None:
                if existing.value != a.value:
                    recorder.touch("attribute", Attribute.objects.filter(pk=existing.pk))
                    existing.value = a.value
                    existing.save(update_fields=["value"])
                continue
            created = Attribute.objects.create(annotation_set=locked, local_id=next_id(Attribute, "A"), name=a.name,
                                               value=a.value, **where)
            recorder.create("attribute", created.pk)
        for x in add.normalizations:
            where = target(x.target)
            if Normalization.objects.filter(annotation_set=locked, resource=x.resource, resource_id=x.resource_id,
                                            **where).exists():
                continue
            created = Normalization.objects.create(
                annotation_set=locked, local_id=next_id(Normalization, "N"), type=x.type, resource=x.resource,
                resource_id=x.resource_id, text=x.text, **where,
            )
            recorder.create("normalization", created.pk)
        label_changed = label is not _KEEP
        if label_changed:
            existing = NoteLabel.objects.filter(annotation_set=locked).first()
            if existing is not None:
                recorder.touch("label", NoteLabel.objects.filter(pk=existing.pk))
                if label is None:
                    existing.delete()
                elif existing.value != label:
                    existing.value, existing.labelled_by, existing.confidence = label, user, None
                    existing.save()
            elif label is not None:
                if label not in NoteLabelValue.values:
                    raise ApplicationError("bad_label", f"The verdict must be one of {', '.join(NoteLabelValue.values)}.")
                created = NoteLabel.objects.create(annotation_set=locked, value=label, labelled_by=user)
                recorder.create("label", created.pk)
        attribute_rows = list(
            Attribute.objects.filter(annotation_set=locked, entity_id__in=[w["entity_id"] for w in touched_targets
                                                                           if "entity_id" in w]
                                     + [e.pk for e in created_entities]).select_related("entity")
        )
        relations = list(Relation.objects.filter(pk__in=[r.pk for r in created_relations]).select_related(
            "arg1_entity", "arg2_entity", "arg1_event__trigger", "arg2_event__trigger"))
        checked_entities = [*created_entities, *(a.entity for a in attribute_rows)]
        for r in relations:
            checked_entities += [r.arg1_entity, r.arg2_entity]
            regions += _regions(*(x for x in (r.arg1_entity, r.arg2_entity) if x is not None))
        _check(locked, schema=schema, entities=checked_entities, relations=relations, attributes=attribute_rows,
               events=list(Event.objects.filter(pk__in=[e.pk for e in created_events]).select_related("trigger")),
               incomplete_events_ok=True)
        for where in touched_targets:
            if "entity_id" in where:
                regions += [tuple(f) for f in Entity.objects.get(pk=where["entity_id"]).fragments]
        added = [x.local_id for x in (*created_entities, *created_events, *created_relations)]
        extra = also(locked, recorder, added) if also is not None else None
        return _finish(
            locked, user, action, recorder, audit_extra=extra, regions=regions,
            relations_changed=bool(created_relations) or removed_relations, label_changed=label_changed or bool(remove),
            events_changed=bool(created_events) or bool(recorder.before.get("event")),
        )
