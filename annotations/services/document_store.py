"""Translate framework-free `Document` records to annotation rows and back, in bulk.

Writes take many (annotation set, document) pairs at once so that an import of
thousands of notes costs a handful of INSERTs per batch, not per annotation.
The caller validates the documents first (`annotation_set_check`) and owns the
transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from django.db import connection

from annotations.formats.document import (
    AnnotatorNote as AnnotatorNoteRecord,
)
from annotations.formats.document import (
    Attribute as AttributeRecord,
)
from annotations.formats.document import (
    Document,
    Span,
)
from annotations.formats.document import (
    Entity as EntityRecord,
)
from annotations.formats.document import (
    Equivalence as EquivalenceRecord,
)
from annotations.formats.document import (
    Event as EventRecord,
)
from annotations.formats.document import (
    Normalization as NormalizationRecord,
)
from annotations.formats.document import (
    Relation as RelationRecord,
)
from annotations.models import (
    AnnotationSet,
    AnnotatorNote,
    Attribute,
    Decision,
    Entity,
    Equivalence,
    EquivalenceMember,
    Event,
    EventArgument,
    Normalization,
    NoteLabel,
    Relation,
)
from annotations.services.bulk_rows import ids_reserve, rows_insert

BATCH = 5000


def annotation_sets_write(pairs: Sequence[tuple[AnnotationSet, Document]], *, origin: str) -> None:
    """Insert every annotation of each document into its saved, empty annotation set.

    Rows are plain tuples with ids reserved up front (see bulk_rows): a corpus import writes hundreds of
    thousands of them, and model instances would cost more than the database does.
    """
    n_entities = sum(len(d.entities) for _, d in pairs)
    n_events = sum(len(d.events) for _, d in pairs)
    n_relations = sum(len(d.relations) for _, d in pairs)
    entity_ids = iter(ids_reserve(Entity, n_entities))
    event_ids = iter(ids_reserve(Event, n_events))
    relation_ids = iter(ids_reserve(Relation, n_relations))

    entities: dict[tuple[int, str], int] = {}
    events: dict[tuple[int, str], int] = {}
    relations: dict[tuple[int, str], int] = {}
    entity_rows, event_rows, argument_rows, relation_rows = [], [], [], []
    for aset, doc in pairs:
        for e in doc.entities:
            pk = entities[(aset.pk, e.id)] = next(entity_ids)
            entity_rows.append(
                (pk, aset.pk, e.id, e.type, [[s.start, s.end] for s in e.spans], e.start, e.end, e.text, e.confidence,
                 origin)
            )
        for ev in doc.events:
            events[(aset.pk, ev.id)] = next(event_ids)
        for r in doc.relations:
            relations[(aset.pk, r.id)] = next(relation_ids)

    def entity_or_event(aset_pk: int, ref: str) -> tuple[int | None, int | None]:
        key = (aset_pk, ref)
        return (entities[key], None) if key in entities else (None, events[key])

    def target(aset_pk: int, ref: str) -> tuple[int | None, int | None, int | None]:
        key = (aset_pk, ref)
        if key in entities:
            return entities[key], None, None
        if key in relations:
            return None, relations[key], None
        return None, None, events[key]

    for aset, doc in pairs:
        for ev in doc.events:
            event_pk = events[(aset.pk, ev.id)]
            event_rows.append((event_pk, aset.pk, ev.id, ev.type, entities[(aset.pk, ev.trigger)]))
            for position, (role, ref) in enumerate(ev.args):
                argument_rows.append((event_pk, role, position, *entity_or_event(aset.pk, ref)))
        for r in doc.relations:
            relation_rows.append(
                (relations[(aset.pk, r.id)], aset.pk, r.id, r.type, r.arg1_role, r.arg2_role,
                 *entity_or_event(aset.pk, r.arg1), *entity_or_event(aset.pk, r.arg2), r.confidence, origin)
            )
    rows_insert(
        Entity,
        ["id", "annotation_set_id", "local_id", "type", "fragments", "start", "end", "text", "confidence", "origin"],
        entity_rows,
    )
    rows_insert(Event, ["id", "annotation_set_id", "local_id", "type", "trigger_id"], event_rows)
    rows_insert(EventArgument, ["event_id", "role", "position", "entity_id", "target_event_id"], argument_rows)
    rows_insert(
        Relation,
        ["id", "annotation_set_id", "local_id", "type", "arg1_role", "arg2_role", "arg1_entity_id", "arg1_event_id",
         "arg2_entity_id", "arg2_event_id", "confidence", "origin"],
        relation_rows,
    )
    targeted = ["entity_id", "relation_id", "event_id"]
    rows_insert(
        Attribute,
        ["annotation_set_id", "local_id", "name", "value", *targeted],
        [(aset.pk, a.id, a.name, a.value, *target(aset.pk, a.target)) for aset, doc in pairs for a in doc.attributes],
    )
    rows_insert(
        Normalization,
        ["annotation_set_id", "local_id", "type", "resource", "resource_id", "text", *targeted],
        [
            (aset.pk, n.id, n.type, n.resource, n.resource_id, n.text, *target(aset.pk, n.target))
            for aset, doc in pairs
            for n in doc.normalizations
        ],
    )
    rows_insert(
        AnnotatorNote,
        ["annotation_set_id", "local_id", "type", "text", *targeted],
        [(aset.pk, n.id, n.type, n.text, *target(aset.pk, n.target)) for aset, doc in pairs for n in doc.notes],
    )
    equivalences = [(aset.pk, i, q) for aset, doc in pairs for i, q in enumerate(doc.equivalences)]
    equivalence_ids = ids_reserve(Equivalence, len(equivalences))
    rows_insert(
        Equivalence,
        ["id", "annotation_set_id", "type", "position"],
        [(pk, aset_pk, q.type, i) for pk, (aset_pk, i, q) in zip(equivalence_ids, equivalences, strict=True)],
    )
    rows_insert(
        EquivalenceMember,
        ["equivalence_id", "entity_id", "event_id", "position"],
        [
            (pk, *entity_or_event(aset_pk, member), position)
            for pk, (aset_pk, _, q) in zip(equivalence_ids, equivalences, strict=True)
            for position, member in enumerate(q.members)
        ],
    )
    NoteLabel.objects.bulk_create(
        (
            NoteLabel(annotation_set=aset, value=doc.label, confidence=doc.metadata.get("ade_probability"))
            for aset, doc in pairs
            if doc.label
        ),
        batch_size=BATCH,
    )


def annotation_sets_clear(set_ids: Sequence[int]) -> None:
    """Delete every annotation of these sets (the sets themselves stay).

    Children go first, so plain DELETEs suffice: every row that points at an annotation belongs to the same
    set (the audit trail keeps ids without constraints), and Django's cascade collection would load each row.
    """
    NoteLabel.objects.filter(annotation_set_id__in=set_ids).delete()
    EquivalenceMember.objects.filter(equivalence__annotation_set_id__in=set_ids)._raw_delete(EquivalenceMember.objects.db)
    EventArgument.objects.filter(event__annotation_set_id__in=set_ids)._raw_delete(EventArgument.objects.db)
    for model in (Equivalence, AnnotatorNote, Normalization, Attribute, Relation, Event, Entity):
        model.objects.filter(annotation_set_id__in=set_ids)._raw_delete(model.objects.db)


def annotation_set_clear(annotation_set: AnnotationSet) -> None:
    """Delete every annotation of one set (the set itself stays)."""
    annotation_sets_clear([annotation_set.pk])


def annotation_sets_to_documents(annotation_sets: Iterable[AnnotationSet]) -> dict[int, Document]:
    """Read the annotations of many sets (with their notes) as Documents, keyed by annotation set id.

    A fixed number of queries whatever the number of sets; rows keep their insertion order.
    """
    sets = {s.pk: s for s in annotation_sets}
    if not sets:
        return {}
    ids = list(sets)
    parts: dict[int, dict[str, list]] = {pk: defaultdict(list) for pk in ids}
    entity_ids: dict[int, str] = {}
    # values_list rather than model instances: exports read tens of thousands of rows per chunk.
    # Rejected pre-labels stay in their set for provenance but are never exported or trained on.
    for pk, set_id, local_id, type_, fragments, text, confidence in (
        Entity.objects.filter(annotation_set_id__in=ids)
        .exclude(decision=Decision.REJECTED)
        .order_by("pk")
        .values_list("pk", "annotation_set_id", "local_id", "type", "fragments", "text", "confidence")
    ):
        entity_ids[pk] = local_id
        parts[set_id]["entities"].append(
            EntityRecord(
                id=local_id,
                type=type_,
                spans=tuple(Span(s, t) for s, t in fragments),
                text=text,
                confidence=confidence,
            )
        )
    present = _kinds_present(ids)
    event_rows = list(Event.objects.filter(annotation_set_id__in=ids).order_by("pk")) if present["event"] else []
    event_ids = {ev.pk: ev.local_id for ev in event_rows}
    args_by_event: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for a in (EventArgument.objects.filter(event__annotation_set_id__in=ids).order_by("event_id", "position")
              if event_rows else ()):
        ref = entity_ids[a.entity_id] if a.entity_id else event_ids[a.target_event_id]
        args_by_event[a.event_id].append((a.role, ref))
    for ev in event_rows:
        parts[ev.annotation_set_id]["events"].append(
            EventRecord(id=ev.local_id, type=ev.type, trigger=entity_ids[ev.trigger_id], args=tuple(args_by_event[ev.pk]))
        )
    relation_ids: dict[int, str] = {}
    for pk, set_id, local_id, type_, role1, role2, ent1, ev1, ent2, ev2, confidence in () if not present["relation"] else (
        Relation.objects.filter(annotation_set_id__in=ids)
        .exclude(decision=Decision.REJECTED)
        .order_by("pk")
        .values_list(
            "pk", "annotation_set_id", "local_id", "type", "arg1_role", "arg2_role", "arg1_entity_id",
            "arg1_event_id", "arg2_entity_id", "arg2_event_id", "confidence",
        )
    ):
        if (ent1 and ent1 not in entity_ids) or (ent2 and ent2 not in entity_ids):
            continue  # an argument was rejected
        relation_ids[pk] = local_id
        parts[set_id]["relations"].append(
            RelationRecord(
                id=local_id,
                type=type_,
                arg1=entity_ids[ent1] if ent1 else event_ids[ev1],
                arg2=entity_ids[ent2] if ent2 else event_ids[ev2],
                arg1_role=role1,
                arg2_role=role2,
                confidence=confidence,
            )
        )

    def target_of(row) -> str | None:
        """The target's local id; None when the target is a rejected pre-label."""
        if row.entity_id:
            return entity_ids.get(row.entity_id)
        if row.relation_id:
            return relation_ids.get(row.relation_id)
        return event_ids[row.event_id]

    for a in (Attribute.objects.filter(annotation_set_id__in=ids).order_by("pk") if present["attribute"] else ()):
        if target_of(a) is None:
            continue
        parts[a.annotation_set_id]["attributes"].append(
            AttributeRecord(id=a.local_id, name=a.name, target=target_of(a), value=a.value)
        )
    for n in (Normalization.objects.filter(annotation_set_id__in=ids).order_by("pk") if present["normalization"] else ()):
        if target_of(n) is None:
            continue
        parts[n.annotation_set_id]["normalizations"].append(
            NormalizationRecord(
                id=n.local_id, target=target_of(n), resource=n.resource, resource_id=n.resource_id, text=n.text, type=n.type
            )
        )
    for n in (AnnotatorNote.objects.filter(annotation_set_id__in=ids).order_by("pk") if present["annotatornote"] else ()):
        if target_of(n) is None:
            continue
        parts[n.annotation_set_id]["notes"].append(
            AnnotatorNoteRecord(id=n.local_id, target=target_of(n), text=n.text, type=n.type)
        )
    members: dict[int, list[str]] = defaultdict(list)
    if present["equivalence"]:
        for m in EquivalenceMember.objects.filter(equivalence__annotation_set_id__in=ids).order_by(
            "equivalence_id", "position"
        ):
            members[m.equivalence_id].append(entity_ids[m.entity_id] if m.entity_id else event_ids[m.event_id])
        for q in Equivalence.objects.filter(annotation_set_id__in=ids).order_by("position", "pk"):
            parts[q.annotation_set_id]["equivalences"].append(
                EquivalenceRecord(type=q.type, members=tuple(members[q.pk]))
            )
    labels = (dict(NoteLabel.objects.filter(annotation_set_id__in=ids).values_list("annotation_set_id", "value"))
              if present["notelabel"] else {})

    documents = {}
    for pk, aset in sets.items():
        note = aset.note
        documents[pk] = Document(
            id=note.external_id,
            text=note.text,
            label=labels.get(pk),
            metadata=note_metadata(note),
            **{key: tuple(values) for key, values in parts[pk].items()},
        )
    return documents


# Kinds of annotation a set may hold besides entities; most sets hold two or three of them.
_OPTIONAL_KINDS = {
    "event": Event, "relation": Relation, "attribute": Attribute, "normalization": Normalization,
    "annotatornote": AnnotatorNote, "equivalence": Equivalence, "notelabel": NoteLabel,
}
_PRESENCE_CHECK_MAX_SETS = 200


def _kinds_present(ids: list[int]) -> dict[str, bool]:
    """Which optional kinds these sets hold at all, in one query, so that reading a set (the editor's and
    the API's most frequent read) skips the queries of the kinds it does not have. Large batches (exports)
    read every kind: one more query there saves nothing."""
    if len(ids) > _PRESENCE_CHECK_MAX_SETS:
        return dict.fromkeys(_OPTIONAL_KINDS, True)
    placeholders = ", ".join(["%s"] * len(ids))
    columns = ", ".join(
        f"EXISTS (SELECT 1 FROM {model._meta.db_table} WHERE annotation_set_id IN ({placeholders}))"
        for model in _OPTIONAL_KINDS.values()
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns}", ids * len(_OPTIONAL_KINDS))
        row = cursor.fetchone()
    return {kind: bool(flag) for kind, flag in zip(_OPTIONAL_KINDS, row, strict=True)}


def note_metadata(note) -> dict:
    metadata = dict(note.metadata)
    for field in ("unit", "author_role", "note_type"):
        if getattr(note, field):
            metadata[field] = getattr(note, field)
    if note.timestamp:
        metadata["timestamp"] = note.timestamp.isoformat()
    return metadata
