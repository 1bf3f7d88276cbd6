"""Reads for agreement: every annotator's submitted (or signed-off gold) set of a project, note by note."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterator

from django.conf import settings
from django.db.models import TextField
from django.db.models.functions import Cast
from django.utils import timezone

from annotations.formats.agreement import AgreementCounter, AgreementReport, RatedSet
from annotations.models import (
    AnnotationSet,
    AnnotationSetSource,
    AnnotationSetStatus,
    Decision,
    Entity,
    Event,
    EventArgument,
    NoteLabel,
    Project,
    Relation,
)

CHUNK_NOTES = 500
# Up to this many rated notes the agreement page computes the figures while it answers (a few seconds at
# most); above, it runs them as a job with a progress bar and Cancel and shows the stored result.
INLINE_MAX_NOTES = 1000


def agreement_inline_max_notes() -> int:
    """The cut-over: setting ADE_REVIEW_AGREEMENT_INLINE_NOTES (from the environment; INLINE_MAX_NOTES when a
    settings module leaves it out)."""
    return int(getattr(settings, "ADE_REVIEW_AGREEMENT_INLINE_NOTES", INLINE_MAX_NOTES))


def _rated_sets(project: Project):
    # A person's work counts once it is submitted; a reviewer's sign-off turns it gold and it still counts.
    # Model and import sets are no annotator's.
    return AnnotationSet.objects.filter(
        note__project=project,
        source_kind=AnnotationSetSource.USER,
        status__in=[AnnotationSetStatus.SUBMITTED, AnnotationSetStatus.GOLD],
    )


def _note_id_chunks(project: Project, chunk_notes: int) -> Iterator[list[int]]:
    """The ids of the notes with a rated set, `chunk_notes` at a time, in id order (keyset: one query each)."""
    last = 0
    while True:
        note_ids = list(
            _rated_sets(project).filter(note_id__gt=last).order_by("note_id").values_list("note_id", flat=True)
            .distinct()[:chunk_notes]
        )
        if not note_ids:
            return
        yield note_ids
        last = note_ids[-1]


def project_rated_note_count(*, project: Project) -> int:
    """How many notes have at least one submitted or signed-off annotator set (what agreement reads)."""
    return _rated_sets(project).values("note_id").distinct().count()


def _fragments(start: int, end: int, stored: str):
    # Most entities have one fragment: then start and end (kept with every write) are it, and the JSON of
    # `fragments` is not parsed (json.loads was a fifth of the time of a large project's agreement).
    if "]," not in stored:
        return ((start, end),)
    return tuple(sorted((int(s), int(e)) for s, e in json.loads(stored)))


def agreement_rated_iter(*, project: Project, chunk_notes: int = CHUNK_NOTES) -> Iterator[dict[str, RatedSet]]:
    """Per note of the project (in note id order), each annotator's set as the RatedSet agreement compares,
    keyed by username: only the columns the comparison needs (no note text, no attributes or normalizations).

    Rejected pre-labels are left out as the Documents leave them out (a relation or event that needs one too).
    `chunk_notes` notes at a time, seven queries each, so memory holds one chunk whatever the project's size.
    Caller: the project's VIEW check is the view's."""
    tz = timezone.get_current_timezone()
    for note_ids in _note_id_chunks(project, chunk_notes):
        sets = list(
            _rated_sets(project).filter(note_id__in=note_ids).order_by("note_id", "pk")
            .values_list("pk", "note_id", "user__username", "submitted_at", "note__external_id")
        )
        ids = [s[0] for s in sets]
        entities: dict[int, dict[int, tuple]] = defaultdict(dict)
        for set_id, pk, type_, start, end, stored in (
            Entity.objects.filter(annotation_set_id__in=ids).exclude(decision=Decision.REJECTED).order_by("pk")
            .values_list("annotation_set_id", "pk", "type", "start", "end", Cast("fragments", TextField()))
        ):
            entities[set_id][pk] = (type_, _fragments(start, end, stored))
        # Events are keyed by their negated id so that they never collide with an entity's.
        args: dict[int, list[tuple[str, int]]] = defaultdict(list)
        for event_id, role, entity_id, target_id in (
            EventArgument.objects.filter(event__annotation_set_id__in=ids).order_by("event_id", "position")
            .values_list("event_id", "role", "entity_id", "target_event_id")
        ):
            args[event_id].append((role, entity_id if entity_id else -target_id))
        events: dict[int, list[tuple]] = defaultdict(list)
        for set_id, pk, type_, trigger in (
            Event.objects.filter(annotation_set_id__in=ids).order_by("pk")
            .values_list("annotation_set_id", "pk", "type", "trigger_id")
        ):
            ev_args = tuple(args[pk])
            kept = entities[set_id]
            if trigger in kept and all(a in kept or a < 0 for _, a in ev_args):
                events[set_id].append((-pk, type_, trigger, ev_args))
        relations: dict[int, list[tuple]] = defaultdict(list)
        for set_id, type_, ent1, ev1, ent2, ev2 in (
            Relation.objects.filter(annotation_set_id__in=ids).exclude(decision=Decision.REJECTED).order_by("pk")
            .values_list("annotation_set_id", "type", "arg1_entity_id", "arg1_event_id", "arg2_entity_id",
                         "arg2_event_id")
        ):
            if (ent1 and ent1 not in entities[set_id]) or (ent2 and ent2 not in entities[set_id]):
                continue  # an argument was rejected
            relations[set_id].append((type_, ent1 or -ev1, ent2 or -ev2))
        labels = dict(NoteLabel.objects.filter(annotation_set_id__in=ids).values_list("annotation_set_id", "value"))
        by_note: dict[int, dict[str, RatedSet]] = defaultdict(dict)
        for set_id, note_id, username, submitted_at, external_id in sets:
            by_note[note_id][username] = RatedSet(
                label=labels.get(set_id), entities=entities.get(set_id, {}), relations=relations.get(set_id, ()),
                events=events.get(set_id, ()),
                submitted=timezone.localtime(submitted_at, tz).date() if submitted_at else None, name=external_id,
            )
        for note_id in note_ids:
            yield by_note[note_id]


def project_agreement(
    *, project: Project, chunk_notes: int = CHUNK_NOTES, progress: Callable[[int], None] | None = None,
) -> AgreementReport:
    """Agreement of the project's annotators: verdict kappa/alpha, pairwise and per-type F1, type confusion,
    and the same over time (by the week and month both sets of a pair were submitted).

    progress(notes done) is called after each chunk (a job's progress bar; it may raise to stop)."""
    counter = AgreementCounter()
    done = 0
    for sets in agreement_rated_iter(project=project, chunk_notes=chunk_notes):
        counter.add_rated(sets)
        done += 1
        if progress is not None and done % chunk_notes == 0:
            progress(done)
    if progress is not None:
        progress(done)
    return counter.report()
