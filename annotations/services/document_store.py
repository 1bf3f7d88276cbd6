"""Translate framework-free `Document` records to annotation rows and back, in bulk.

Writes take many (annotation set, document) pairs at once so that an import of
thousands of notes costs a handful of INSERTs per batch, not per annotation.
The caller validates the documents first (`annotation_set_check`) and owns the
transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

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
    Entity,
    Equivalence,
    EquivalenceMember,
    Event,
    EventArgument,
    Normalization,
    NoteLabel,
    Relation,
)

BATCH = 5000


def annotation_sets_write(pairs: Sequence[tuple[AnnotationSet, Document]], *, origin: str) -> None:
    """Insert every annotation of each document into its saved, empty annotation set."""
    entities: dict[tuple[int, str], Entity] = {}
    for aset, doc in pairs:
        for e in doc.entities:
            entities[(aset.pk, e.id)] = Entity(
                annotation_set=aset,
                local_id=e.id,
                type=e.type,
                fragments=[[s.start, s.end] for s in e.spans],
                start=e.start,
                end=e.end,
                text=e.text,
                confidence=e.confidence,
                origin=origin,
            )
    Entity.objects.bulk_create(entities.values(), batch_size=BATCH)

    events: dict[tuple[int, str], Event] = {}
    for aset, doc in pairs:
        for ev in doc.events:
            events[(aset.pk, ev.id)] = Event(
                annotation_set=aset, local_id=ev.id, type=ev.type, trigger=entities[(aset.pk, ev.trigger)]
            )
    Event.objects.bulk_create(events.values(), batch_size=BATCH)

    arguments = []
    for aset, doc in pairs:
        for ev in doc.events:
            for position, (role, ref) in enumerate(ev.args):
                key = (aset.pk, ref)
                arguments.append(
                    EventArgument(
                        event=events[(aset.pk, ev.id)],
                        role=role,
                        position=position,
                        entity=entities.get(key),
                        target_event=None if key in entities else events[key],
                    )
                )
    EventArgument.objects.bulk_create(arguments, batch_size=BATCH)

    relations: dict[tuple[int, str], Relation] = {}
    for aset, doc in pairs:
        for r in doc.relations:
            k1, k2 = (aset.pk, r.arg1), (aset.pk, r.arg2)
            relations[(aset.pk, r.id)] = Relation(
                annotation_set=aset,
                local_id=r.id,
                type=r.type,
                arg1_role=r.arg1_role,
                arg2_role=r.arg2_role,
                arg1_entity=entities.get(k1),
                arg1_event=None if k1 in entities else events[k1],
                arg2_entity=entities.get(k2),
                arg2_event=None if k2 in entities else events[k2],
                confidence=r.confidence,
                origin=origin,
            )
    Relation.objects.bulk_create(relations.values(), batch_size=BATCH)

    def targeted(aset_pk: int, ref: str) -> dict:
        key = (aset_pk, ref)
        if key in entities:
            return {"entity": entities[key]}
        if key in relations:
            return {"relation": relations[key]}
        return {"event": events[key]}

    Attribute.objects.bulk_create(
        (
            Attribute(annotation_set=aset, local_id=a.id, name=a.name, value=a.value, **targeted(aset.pk, a.target))
            for aset, doc in pairs
            for a in doc.attributes
        ),
        batch_size=BATCH,
    )
    Normalization.objects.bulk_create(
        (
            Normalization(
                annotation_set=aset,
                local_id=n.id,
                type=n.type,
                resource=n.resource,
                resource_id=n.resource_id,
                text=n.text,
                **targeted(aset.pk, n.target),
            )
            for aset, doc in pairs
            for n in doc.normalizations
        ),
        batch_size=BATCH,
    )
    AnnotatorNote.objects.bulk_create(
        (
            AnnotatorNote(annotation_set=aset, local_id=n.id, type=n.type, text=n.text, **targeted(aset.pk, n.target))
            for aset, doc in pairs
            for n in doc.notes
        ),
        batch_size=BATCH,
    )

    equivalences = [
        (Equivalence(annotation_set=aset, type=q.type, position=i), aset.pk, q.members)
        for aset, doc in pairs
        for i, q in enumerate(doc.equivalences)
    ]
    Equivalence.objects.bulk_create((q for q, _, _ in equivalences), batch_size=BATCH)
    EquivalenceMember.objects.bulk_create(
        (
            EquivalenceMember(
                equivalence=q,
                entity=entities.get((aset_pk, member)),
                event=None if (aset_pk, member) in entities else events[(aset_pk, member)],
                position=pos,
            )
            for q, aset_pk, members in equivalences
            for pos, member in enumerate(members)
        ),
        batch_size=BATCH,
    )

    NoteLabel.objects.bulk_create(
        (
            NoteLabel(annotation_set=aset, value=doc.label, confidence=doc.metadata.get("ade_probability"))
            for aset, doc in pairs
            if doc.label
        ),
        batch_size=BATCH,
    )


def annotation_set_clear(annotation_set: AnnotationSet) -> None:
    """Delete every annotation of a set (the set itself stays)."""
    for model in (NoteLabel, Equivalence, AnnotatorNote, Normalization, Attribute, Relation, EventArgument):
        if model is EventArgument:
            model.objects.filter(event__annotation_set=annotation_set).delete()
        else:
            model.objects.filter(annotation_set=annotation_set).delete()
    Event.objects.filter(annotation_set=annotation_set).delete()
    Entity.objects.filter(annotation_set=annotation_set).delete()


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
    for e in Entity.objects.filter(annotation_set_id__in=ids).order_by("pk"):
        entity_ids[e.pk] = e.local_id
        parts[e.annotation_set_id]["entities"].append(
            EntityRecord(
                id=e.local_id,
                type=e.type,
                spans=tuple(Span(s, t) for s, t in e.fragments),
                text=e.text,
                confidence=e.confidence,
            )
        )
    event_rows = list(Event.objects.filter(annotation_set_id__in=ids).order_by("pk"))
    event_ids = {ev.pk: ev.local_id for ev in event_rows}
    args_by_event: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for a in EventArgument.objects.filter(event__annotation_set_id__in=ids).order_by("event_id", "position"):
        ref = entity_ids[a.entity_id] if a.entity_id else event_ids[a.target_event_id]
        args_by_event[a.event_id].append((a.role, ref))
    for ev in event_rows:
        parts[ev.annotation_set_id]["events"].append(
            EventRecord(id=ev.local_id, type=ev.type, trigger=entity_ids[ev.trigger_id], args=tuple(args_by_event[ev.pk]))
        )
    relation_ids: dict[int, str] = {}
    for r in Relation.objects.filter(annotation_set_id__in=ids).order_by("pk"):
        relation_ids[r.pk] = r.local_id
        parts[r.annotation_set_id]["relations"].append(
            RelationRecord(
                id=r.local_id,
                type=r.type,
                arg1=entity_ids[r.arg1_entity_id] if r.arg1_entity_id else event_ids[r.arg1_event_id],
                arg2=entity_ids[r.arg2_entity_id] if r.arg2_entity_id else event_ids[r.arg2_event_id],
                arg1_role=r.arg1_role,
                arg2_role=r.arg2_role,
                confidence=r.confidence,
            )
        )

    def target_of(row) -> str:
        if row.entity_id:
            return entity_ids[row.entity_id]
        if row.relation_id:
            return relation_ids[row.relation_id]
        return event_ids[row.event_id]

    for a in Attribute.objects.filter(annotation_set_id__in=ids).order_by("pk"):
        parts[a.annotation_set_id]["attributes"].append(
            AttributeRecord(id=a.local_id, name=a.name, target=target_of(a), value=a.value)
        )
    for n in Normalization.objects.filter(annotation_set_id__in=ids).order_by("pk"):
        parts[n.annotation_set_id]["normalizations"].append(
            NormalizationRecord(
                id=n.local_id, target=target_of(n), resource=n.resource, resource_id=n.resource_id, text=n.text, type=n.type
            )
        )
    for n in AnnotatorNote.objects.filter(annotation_set_id__in=ids).order_by("pk"):
        parts[n.annotation_set_id]["notes"].append(
            AnnotatorNoteRecord(id=n.local_id, target=target_of(n), text=n.text, type=n.type)
        )
    members: dict[int, list[str]] = defaultdict(list)
    for m in EquivalenceMember.objects.filter(equivalence__annotation_set_id__in=ids).order_by("equivalence_id", "position"):
        members[m.equivalence_id].append(entity_ids[m.entity_id] if m.entity_id else event_ids[m.event_id])
    for q in Equivalence.objects.filter(annotation_set_id__in=ids).order_by("position", "pk"):
        parts[q.annotation_set_id]["equivalences"].append(EquivalenceRecord(type=q.type, members=tuple(members[q.pk])))
    labels = dict(NoteLabel.objects.filter(annotation_set_id__in=ids).values_list("annotation_set_id", "value"))

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


def note_metadata(note) -> dict:
    metadata = dict(note.metadata)
    for field in ("unit", "author_role", "note_type"):
        if getattr(note, field):
            metadata[field] = getattr(note, field)
    if note.timestamp:
        metadata["timestamp"] = note.timestamp.isoformat()
    return metadata
