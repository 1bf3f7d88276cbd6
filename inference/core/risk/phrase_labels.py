"""Phrase-state labels as entities of the annotation schema, and training patients from them (framework-free).

Annotators label phrase states in the normal editor: a state is an entity type, and labelling a phrase is
drawing an entity of that type over it (or over a word of it). No table of its own is needed.

- **Types.** The state types are the annotatable children of the grouping type :data:`STATE_GROUP`
  (``!Phrase_state`` in annotation.conf) in the order the schema lists them; a state's name is the type's
  visual label when it has one, else the type name. Entity type names may not contain spaces (brat), so
  :func:`state_entity_type` turns a state name into a type name ("drug-related + abnormal reaction" ->
  "drug-related+abnormal_reaction") and :func:`state_schema` writes the types with the state names as
  labels, so the editor shows the state names.
- **Phrase labels.** :func:`phrase_states`: a phrase takes the state of the state entity that overlaps it
  by at least half of the shorter of the two (so a word labelled inside a phrase labels the phrase, an
  entity spanning several phrases labels each, and a selection that spills a few characters into the
  next phrase does not label it); when several qualify, the largest overlap wins, then the first given.
  A phrase no state entity covers is :data:`~inference.core.risk.risk_bundle.UNLABELLED`.
- **Patients.** :func:`labelled_patient` splits a patient's notes into phrases
  (:func:`inference.core.risk.phrases.split_notes`, the monitor's rules), labels them and measures times in
  hours since the first phrase: the record :func:`inference.core.risk.risk_bundle.train_risk_bundle` takes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from annotations.formats.schema import EntityType, Schema, VisualStyle
from inference.core.risk.phrase_classifier import STUDY_STATES
from inference.core.risk.phrases import NursingNote, PhraseConfig, split_notes
from inference.core.risk.risk_bundle import UNLABELLED

__all__ = [
    "STATE_COLOURS",
    "STATE_GROUP",
    "LabelledNote",
    "LabelledPatient",
    "StateTypes",
    "labelled_patient",
    "phrase_states",
    "state_entity_type",
    "state_schema",
    "state_types",
    "state_types_from_schema",
]

#: The grouping entity type whose children are the phrase states.
STATE_GROUP = "Phrase_state"
#: One colour per state index (the risk timeline and the editor use the same).
STATE_COLOURS = ("#9aa4b2", "#4c8bf5", "#e8590c", "#7048e8", "#2f9e44", "#c92a2a", "#d6336c")

Fragments = Sequence[Sequence[int]]


def state_entity_type(state: str) -> str:
    """The entity type name of a state: no spaces ("subjective response + drug-related" ->
    "subjective_response+drug-related"). Errors: ValueError for an empty name."""
    name = re.sub(r"\s+", "_", re.sub(r"\s*\+\s*", "+", state.strip()))
    if not name:
        raise ValueError("a state needs a name")
    return name


@dataclass(frozen=True, slots=True)
class StateTypes:
    """A project's phrase states: their names and the entity type of each (same order, index = state)."""

    states: tuple[str, ...]
    types: tuple[str, ...]

    def index(self) -> dict[str, int]:
        """Entity type -> state index."""
        return {t: i for i, t in enumerate(self.types)}


def state_types(states: Sequence[str] = STUDY_STATES) -> StateTypes:
    """The entity types of these states (the nursing-notes study's 7 states by default). Errors: ValueError for duplicates."""
    types = tuple(state_entity_type(s) for s in states)
    if len(set(types)) != len(types):
        raise ValueError(f"two states share an entity type name: {types}")
    return StateTypes(tuple(states), types)


def state_types_from_schema(schema: Schema | None) -> StateTypes | None:
    """The states a schema defines under :data:`STATE_GROUP`, or None when it defines none."""
    if schema is None:
        return None
    children = [t.name for t in schema.entity_types if t.parent == STATE_GROUP and t.annotatable]
    if not children:
        return None
    names = tuple((schema.visual.get(t) or VisualStyle()).label or t for t in children)
    return StateTypes(names, tuple(children))


def state_schema(states: Sequence[str] = STUDY_STATES) -> Schema:
    """A schema holding only the state types: the grouping type, one child per state with the state name
    as its label and the timeline's colour (merge it into a project's schema)."""
    types = state_types(states)
    visual = {
        t: VisualStyle(label=name, colour=STATE_COLOURS[i % len(STATE_COLOURS)])
        for i, (name, t) in enumerate(zip(types.states, types.types, strict=True))
    }
    return Schema(
        entity_types=(
            EntityType(STATE_GROUP, annotatable=False),
            *(EntityType(t, parent=STATE_GROUP) for t in types.types),
        ),
        visual=visual,
    )


def _overlap(start: int, end: int, fragments: Fragments) -> int:
    return sum(max(0, min(end, int(f[1])) - max(start, int(f[0]))) for f in fragments)


def phrase_states(
    spans: Sequence[tuple[int, int]], entities: Iterable[tuple[str, Fragments]], index: dict[str, int]
) -> list[int]:
    """The state of each phrase from the state entities over its note (module docstring for the rule).

    Args:
        spans: the phrases' ``(start, end)`` offsets in the note.
        entities: ``(type, fragments)`` of the note's entities, the preferred first; types not in
            ``index`` are ignored.
        index: entity type -> state index (:meth:`StateTypes.index`).

    Returns:
        One state index per phrase, :data:`UNLABELLED` where none applies.
    """
    labelled = [
        (index[t], frags, sum(int(f[1]) - int(f[0]) for f in frags)) for t, frags in entities if t in index
    ]
    out = []
    for start, end in spans:
        best, best_overlap = UNLABELLED, 0
        for state, frags, length in labelled:
            overlap = _overlap(start, end, frags)
            if overlap > best_overlap and 2 * overlap >= min(end - start, length):
                best, best_overlap = state, overlap
        out.append(best)
    return out


@dataclass(frozen=True, slots=True)
class LabelledNote:
    """A note with the state entities of its chosen annotation sets (the preferred set's first)."""

    note: NursingNote
    entities: tuple[tuple[str, Fragments], ...] = ()


@dataclass(frozen=True, slots=True)
class LabelledPatient:
    """A patient for :func:`inference.core.risk.risk_bundle.train_risk_bundle`: phrases in time order, their
    states (:data:`UNLABELLED` where nobody labelled one), times in hours since the first phrase, the ADR
    outcome and when it was recorded (hours, None if unknown)."""

    id: str
    adr: bool
    report_time: float | None
    texts: tuple[str, ...]
    states: tuple[int, ...]
    times: tuple[float, ...]
    synthetic: bool = False

    @property
    def labelled(self) -> int:
        return sum(s != UNLABELLED for s in self.states)


def labelled_patient(
    patient_id: str,
    notes: Sequence[LabelledNote],
    *,
    index: dict[str, int],
    adr: bool,
    reported_at: datetime | None = None,
    synthetic: bool = False,
    config: PhraseConfig | None = None,
) -> LabelledPatient:
    """Split, label and time a patient's notes.

    Args:
        patient_id: the patient's id.
        notes: the patient's notes with their state entities.
        index: entity type -> state index.
        adr: the ADR outcome.
        reported_at: when the ADR was recorded (becomes ``report_time``), if known.
        synthetic: whether the notes are synthetic.
        config: phrase rules (the monitor's default).

    Returns:
        The patient; phrases without a time take the last time seen (0 before any).
    """
    by_id = {ln.note.id: ln for ln in notes}
    phrases = split_notes([ln.note for ln in notes], config)
    states = [UNLABELLED] * len(phrases)
    positions: dict[str, list[int]] = {}
    for k, p in enumerate(phrases):
        positions.setdefault(p.note_id or "", []).append(k)
    for note_id, ks in positions.items():
        labelled = by_id[note_id]
        found = phrase_states([(phrases[k].start, phrases[k].end) for k in ks], labelled.entities, index)
        for k, state in zip(ks, found, strict=True):
            states[k] = state
    origin = next((p.time for p in phrases if p.time is not None), None)
    times, last = [], 0.0
    for p in phrases:
        if p.time is not None and origin is not None:
            last = (p.time - origin).total_seconds() / 3600.0
        times.append(last)
    report_time = None
    if reported_at is not None and origin is not None:
        report_time = (reported_at - origin).total_seconds() / 3600.0
    return LabelledPatient(
        id=patient_id,
        adr=adr,
        report_time=report_time,
        texts=tuple(p.text for p in phrases),
        states=tuple(states),
        times=tuple(times),
        synthetic=synthetic,
    )
