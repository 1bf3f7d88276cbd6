"""What counts as a note's gold: the one rule that training, held-out scoring, risk training and
`export_corpus --source gold` all read (a selector; nothing here writes).

Per note, among the sets people made or imported (never a model's) whose status is gold or submitted (a
curation set only once finished, i.e. gold):
1. a finished curation (annotations.services.curation: a curator's adjudication of the annotators' sets)
   is the gold, whatever else the note holds;
2. an import set that holds nothing (no entity, relation, event or verdict: what importing raw notes
   leaves) says nothing and is ignored when the note has any other candidate;
3. the newest gold set (an imported gold corpus, or the set a reviewer signed off) is the gold;
4. else the one submitted set, when exactly one set was submitted (single-annotator gold);
5. else (two or more people submitted, nobody curated the note nor signed one set off) the note awaits
   adjudication and has no gold, however far a curation of it has got.
A sign-off never makes a set gold whose verdict contradicts the reviewer's (annotations.services.review),
so rule 3 never picks a contradicted set.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Exists, OuterRef

from .models import (
    AnnotationSet,
    AnnotationSetSource,
    AnnotationSetStatus,
    Entity,
    Event,
    NoteLabel,
    Project,
    Relation,
)


@dataclass(frozen=True)
class GoldSet:
    """A note's gold: the note, the set that is its gold, and when that set last changed."""

    note_id: int
    external_id: str
    annotation_set_id: int
    changed_at: datetime


@dataclass
class GoldSelection:
    gold: list[GoldSet] = field(default_factory=list)  # in note id order
    awaiting_adjudication: list[int] = field(default_factory=list)  # note ids

    def set_ids(self) -> dict[int, int]:
        """note id -> gold set id."""
        return {g.note_id: g.annotation_set_id for g in self.gold}


def gold_sets(*, project: Project, note_ids: Iterable[int] | None = None) -> GoldSelection:
    """The gold set of each of the project's notes (or of `note_ids`), by the rule in the module docstring.
    Two queries whatever the number of notes."""
    candidates = AnnotationSet.objects.filter(
        note__project=project, status__in=[AnnotationSetStatus.GOLD, AnnotationSetStatus.SUBMITTED]
    ).exclude(source_kind=AnnotationSetSource.MODEL).exclude(
        source_kind=AnnotationSetSource.CURATION, status=AnnotationSetStatus.SUBMITTED
    )
    if note_ids is not None:
        candidates = candidates.filter(note_id__in=list(note_ids))
    holds = OuterRef("pk")
    rows = (
        candidates.annotate(
            empty=~(
                Exists(Entity.objects.filter(annotation_set=holds))
                | Exists(Relation.objects.filter(annotation_set=holds))
                | Exists(Event.objects.filter(annotation_set=holds))
                | Exists(NoteLabel.objects.filter(annotation_set=holds))
            )
        )
        .values_list("pk", "note_id", "note__external_id", "status", "source_kind", "updated_at", "empty")
        .order_by("note_id", "-updated_at", "-pk")
    )
    by_note: dict[int, list[tuple]] = {}
    for row in rows:
        by_note.setdefault(row[1], []).append(row)
    selection = GoldSelection()
    for note_id, sets in by_note.items():
        curated = [r for r in sets if r[4] == AnnotationSetSource.CURATION]
        if curated:
            chosen = curated[0]
            selection.gold.append(GoldSet(note_id, chosen[2], chosen[0], chosen[5]))
            continue
        meaningful = [r for r in sets if not (r[4] == AnnotationSetSource.IMPORT and r[6])]
        sets = meaningful or sets
        gold = [r for r in sets if r[3] == AnnotationSetStatus.GOLD]
        if gold:
            chosen = gold[0]
        elif len(sets) == 1:
            chosen = sets[0]
        else:
            selection.awaiting_adjudication.append(note_id)
            continue
        selection.gold.append(GoldSet(note_id, chosen[2], chosen[0], chosen[5]))
    return selection
