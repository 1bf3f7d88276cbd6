"""Reads for curation (adjudication, issue 17): which notes await it, a note's annotators' sets merged
(annotations.formats.curation) with the curator's decisions so far, and how often each annotator's work
survives adjudication. Callers check the role first (annotations.permissions.curation_refusal)."""

from __future__ import annotations

import threading
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field

from django.db.models import QuerySet

from annotations.formats.curation import Disagreement, Merge, curation_merge, survival
from annotations.gold import gold_sets
from annotations.models import (
    AnnotationSet,
    AnnotationSetSource,
    AnnotationSetStatus,
    CurationDecision,
    Note,
    Project,
)
from annotations.services.document_store import annotation_sets_to_documents

CHUNK_NOTES = 200


def curation_sources(*, note: Note) -> list[AnnotationSet]:
    """The annotators' sets a curation of `note` merges: every person's submitted or signed-off (gold) set,
    in a fixed order (by id) so that "source 1" stays the same person."""
    return list(
        AnnotationSet.objects.filter(
            note=note, source_kind=AnnotationSetSource.USER,
            status__in=[AnnotationSetStatus.SUBMITTED, AnnotationSetStatus.GOLD],
        ).select_related("user").order_by("pk")
    )


def curation_set_get(*, note: Note) -> AnnotationSet | None:
    """The note's curation set (one per note), or None before anyone started curating it."""
    return AnnotationSet.objects.filter(note=note, source_kind=AnnotationSetSource.CURATION).select_related(
        "user").first()


def sources_signature(sources: list[AnnotationSet]) -> list[dict]:
    """What a curation merged, as `AnnotationSet.curated_from` keeps it."""
    return [{"set": s.pk, "version": s.version, "user": s.user.username} for s in sources]


@dataclass
class CurationState:
    """A note's curation as the page, the API and the services read it."""

    note: Note
    sources: list[AnnotationSet]
    merge: Merge
    curation: AnnotationSet | None
    decisions: dict[str, CurationDecision] = field(default_factory=dict)

    @property
    def open_units(self) -> list[Disagreement]:
        return [u for u in self.merge.disagreements if u.key not in self.decisions]

    @property
    def decided(self) -> int:
        return sum(1 for u in self.merge.disagreements if u.key in self.decisions)

    @property
    def stale(self) -> bool:
        """A source changed (or one was added or reopened) since the curation started or finished."""
        return self.curation is not None and self.curation.curated_from != sources_signature(self.sources)

    def source_index(self, set_id: int) -> int | None:
        return next((i for i, s in enumerate(self.sources) if s.pk == set_id), None)


# Merges of the notes curated lately, per process: a curator decides one disagreement after another on one
# note, and the sources stay as they are meanwhile, so each decision (and each page) would otherwise read and
# merge thousands of annotations again. The key holds every source's id, version and last change: any write
# to a source bumps its version, so a changed source is a new key. A Merge is immutable.
_MERGES: OrderedDict[tuple, Merge] = OrderedDict()
_MERGES_KEEP = 8
_MERGES_LOCK = threading.Lock()


def _merge_of(note: Note, sources: list[AnnotationSet]) -> Merge:
    key = (note.pk, note.text_hash, tuple((s.pk, s.version, s.updated_at, s.user.username) for s in sources))
    with _MERGES_LOCK:
        merge = _MERGES.get(key)
        if merge is not None:
            _MERGES.move_to_end(key)
            return merge
    if sources:
        documents = annotation_sets_to_documents(sources)
        merge = curation_merge([(s.user.username, documents[s.pk]) for s in sources])
    else:
        merge = curation_merge([("", _empty(note))])
    with _MERGES_LOCK:
        _MERGES[key] = merge
        while len(_MERGES) > _MERGES_KEEP:
            _MERGES.popitem(last=False)
    return merge


def curation_state(*, note: Note) -> CurationState:
    """The note's sources merged, its curation set and the decisions taken (a fixed number of queries; the
    merge itself is kept for the next request while no source changes)."""
    sources = curation_sources(note=note)
    for s in sources:
        s.note = note
    merge = _merge_of(note, sources)
    curation = curation_set_get(note=note)
    decisions = {}
    if curation is not None:
        curation.note = note
        decisions = {d.unit: d for d in CurationDecision.objects.filter(annotation_set=curation)}
    return CurationState(note=note, sources=sources, merge=merge, curation=curation, decisions=decisions)


def _empty(note: Note):
    from annotations.formats.document import Document

    return Document(id=note.external_id, text=note.text)


@dataclass(frozen=True)
class QueueRow:
    note_id: int
    external_id: str
    annotators: tuple[str, ...]
    curation_set_id: int | None
    curator: str | None
    curation_status: str | None  # in_progress; a finished one has left the queue
    decided: int


def curation_queue(*, project: Project) -> list[QueueRow]:
    """The notes that await adjudication (two or more people submitted, no gold yet: annotations.gold), in
    note id order, with who submitted and whether someone is curating them. A few queries whatever the
    number of notes."""
    note_ids = sorted(gold_sets(project=project).awaiting_adjudication)
    if not note_ids:
        return []
    annotators: dict[int, list[str]] = defaultdict(list)
    for note_id, username in (
        AnnotationSet.objects.filter(note_id__in=note_ids, source_kind=AnnotationSetSource.USER,
                                     status__in=[AnnotationSetStatus.SUBMITTED, AnnotationSetStatus.GOLD])
        .order_by("note_id", "pk").values_list("note_id", "user__username")
    ):
        annotators[note_id].append(username)
    curations = {
        row[0]: row[1:] for row in AnnotationSet.objects.filter(
            note_id__in=note_ids, source_kind=AnnotationSetSource.CURATION).values_list(
            "note_id", "pk", "user__username", "status")
    }
    decided: dict[int, int] = defaultdict(int)
    for set_id in CurationDecision.objects.filter(annotation_set_id__in=[c[0] for c in curations.values()]).values_list(
            "annotation_set_id", flat=True):
        decided[set_id] += 1
    external = dict(Note.objects.filter(pk__in=note_ids).values_list("pk", "external_id"))
    rows = []
    for note_id in note_ids:
        set_id, curator, status = curations.get(note_id, (None, None, None))
        rows.append(QueueRow(note_id, external[note_id], tuple(annotators[note_id]), set_id, curator, status,
                             decided.get(set_id, 0)))
    return rows


def curation_notes_awaiting(*, project: Project) -> QuerySet[Note]:
    """The awaiting notes as a queryset (the API paginates it)."""
    return Note.objects.filter(pk__in=gold_sets(project=project).awaiting_adjudication).order_by("pk")


@dataclass(frozen=True)
class SurvivalRow:
    """How much of one annotator's work survived adjudication, over the notes curated so far."""

    annotator: str
    notes: int
    entities_kept: int
    entities: int
    relations_kept: int
    relations: int
    events_kept: int
    events: int
    verdicts_kept: int
    verdicts: int

    @property
    def entity_rate(self) -> float | None:
        return self.entities_kept / self.entities if self.entities else None

    @property
    def relation_rate(self) -> float | None:
        return self.relations_kept / self.relations if self.relations else None

    @property
    def verdict_rate(self) -> float | None:
        return self.verdicts_kept / self.verdicts if self.verdicts else None


def curation_survival(*, project: Project, chunk: int = CHUNK_NOTES) -> list[SurvivalRow]:
    """Per annotator, how many of their entities, relations, events and verdicts are in the adjudicated gold
    of the notes a curator finished (strict identity: annotations.formats.curation.survival), over the
    sets each curation merged. Reads `chunk` curations at a time."""
    totals: dict[str, list[int]] = defaultdict(lambda: [0] * 9)
    finished = AnnotationSet.objects.filter(note__project=project, source_kind=AnnotationSetSource.CURATION,
                                            status=AnnotationSetStatus.GOLD).order_by("pk")
    last = 0
    while True:
        curations = list(finished.filter(pk__gt=last).select_related("note")[:chunk])
        if not curations:
            break
        last = curations[-1].pk
        merged = {c.pk: [entry["set"] for entry in c.curated_from if isinstance(entry, dict) and "set" in entry]
                  for c in curations}
        sources = list(AnnotationSet.objects.filter(
            pk__in=[i for ids in merged.values() for i in ids], source_kind=AnnotationSetSource.USER,
        ).select_related("note", "user"))
        documents = annotation_sets_to_documents([*curations, *sources])
        by_id = {s.pk: s for s in sources}
        for c in curations:
            gold = documents[c.pk]
            for set_id in merged[c.pk]:
                source = by_id.get(set_id)
                if source is None:
                    continue
                kept = survival(documents[set_id], gold)
                row = totals[source.user.username]
                row[0] += 1
                for i, kind in enumerate(("entity", "relation", "event", "verdict")):
                    row[1 + 2 * i] += kept[kind][0]
                    row[2 + 2 * i] += kept[kind][1]
    return [SurvivalRow(name, *values) for name, values in sorted(totals.items())]
