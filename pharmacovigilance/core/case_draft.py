"""A case drafted from a confirmed note's annotations: the drugs (suspect when the annotations relate them to a
reaction as its adverse effect, else concomitant) with dose, route, frequency and duration from the relations
to them, the reactions, which drug each reaction is related to, the evidence spans of all of it, the onset
(the earliest note's date) and a narrative drafted from the evidence sentences, for the reviewer to edit.

Schemas differ: the demo's `Drug -Adverse-Effect-> Adverse-Effect` with a `Dose` relation; n2c2 2018's
`ADE-Drug` (reaction first) with `Dosage-Drug`, `Route-Drug`, `Frequency-Drug`, `Duration-Drug`,
`Strength-Drug`, `Form-Drug`; ADE-Corpus-V2's `Adverse-Effect`. So roles are read from entity type names and
from what the relations connect, never from one schema's spelling. Framework-free.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from .causality import sentence_spans
from .report import DrugRole

DRUG_TYPE_NAMES = frozenset({"drug", "drugs", "medication", "medicine", "chemical", "substance", "drugname"})
REACTION_TYPE_NAMES = frozenset({
    "ade", "adr", "adverse-effect", "adverse_effect", "adverse effect", "adverseeffect", "adverse-event",
    "adverse_event", "adverseevent", "adverse-reaction", "adverse_reaction", "reaction", "side-effect",
    "side_effect", "sideeffect",
})
# Entity types whose text describes how a drug was given, by the case field they fill. Strength, dosage and
# form together make the dose as written ("500 mg" "2 tablets").
FIELD_TYPE_NAMES = {
    "dose": "dose", "dosage": "dose", "strength": "dose", "form": "dose",
    "route": "route", "frequency": "frequency", "duration": "duration",
}
DRUG_FIELDS = ("dose", "route", "frequency", "duration")
NEGATION_ATTRIBUTES = frozenset({"negation", "negated", "polarity", "negative"})
_NEGATED_VALUES = frozenset({"", "true", "yes", "negated", "negative", "neg", "1"})


@dataclass(frozen=True)
class SourceEntity:
    id: str
    type: str
    spans: tuple[tuple[int, int], ...]
    text: str
    attributes: tuple[tuple[str, str], ...] = ()  # (name, value); "" for a binary attribute

    @property
    def start(self) -> int:
        return min(s for s, _ in self.spans)

    @property
    def end(self) -> int:
        return max(e for _, e in self.spans)


@dataclass(frozen=True)
class SourceRelation:
    id: str
    type: str
    arg1: str
    arg2: str


@dataclass(frozen=True)
class SourceNote:
    """One note's text and the annotations a case is drafted from (its gold set)."""

    external_id: str
    text: str
    written_at: datetime | None = None
    entities: tuple[SourceEntity, ...] = ()
    relations: tuple[SourceRelation, ...] = ()
    annotation_set: str = ""  # which set of the note the annotations come from (its id, for the evidence)


@dataclass(frozen=True)
class DraftEvidence:
    """A span a drafted statement comes from. `kind`: drug, reaction, dose, route, frequency, duration (the
    entity's own span) or relation (a span over both arguments of a drug-reaction relation)."""

    note_external_id: str
    start: int
    end: int
    kind: str
    annotation_id: str  # the entity's or the relation's local id in its set ("T3", "R1")
    attributes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class DraftDrug:
    name: str
    role: DrugRole
    dose: str = ""
    route: str = ""
    frequency: str = ""
    duration: str = ""
    evidence: tuple[DraftEvidence, ...] = ()


@dataclass(frozen=True)
class DraftReaction:
    term: str
    evidence: tuple[DraftEvidence, ...] = ()


@dataclass(frozen=True)
class DraftLink:
    """The annotations relate drug `drug` to reaction `reaction` (indexes into the draft's lists)."""

    drug: int
    reaction: int
    evidence: DraftEvidence


@dataclass(frozen=True)
class CaseDraft:
    drugs: tuple[DraftDrug, ...] = ()
    reactions: tuple[DraftReaction, ...] = ()
    links: tuple[DraftLink, ...] = ()
    onset: date | None = None
    narrative: str = ""
    sentences: tuple[DraftEvidence, ...] = field(default=())  # the evidence sentences the narrative quotes


_SPACES = re.compile(r"\s+")
_EDGE_PUNCTUATION = " \t\n.,;:()[]{}\"'"


def name_key(text: str) -> str:
    """What two mentions of one drug or reaction share: case-folded, white space collapsed, punctuation at the
    ends dropped ("Warfarin " and "warfarin." are one drug)."""
    return _SPACES.sub(" ", text.casefold()).strip(_EDGE_PUNCTUATION)


def _display(text: str) -> str:
    return _SPACES.sub(" ", text).strip(_EDGE_PUNCTUATION)


def is_negated(entity: SourceEntity) -> bool:
    """A mention the annotators marked as negated ("no rash"): not a reaction the patient had."""
    for name, value in entity.attributes:
        if name.casefold() in NEGATION_ATTRIBUTES and (value or "").strip().casefold() in _NEGATED_VALUES:
            return True
    return False


def _role(type_name: str) -> str | None:
    key = type_name.casefold()
    if key in DRUG_TYPE_NAMES:
        return "drug"
    if key in REACTION_TYPE_NAMES:
        return "reaction"
    return FIELD_TYPE_NAMES.get(key)


def case_draft(notes: Sequence[SourceNote], *, ade_relation_types: Iterable[str] | None = None) -> CaseDraft:
    """Draft a case from notes and their annotations (notes in time order; the first one's date is the onset).

    Args: `ade_relation_types`: the relation types that say "this drug caused this reaction" (the project's
    ADE evidence types); None: any relation between a drug and a reaction does. Entities of a reaction type
    that are negated are left out; so are entity types that are neither drug, reaction nor a dose field.
    Result: a CaseDraft; drugs and reactions merged by `name_key` across mentions and notes, in order of first
    mention."""
    ade_types = frozenset(ade_relation_types) if ade_relation_types is not None else None
    drugs: dict[str, dict] = {}
    reactions: dict[str, dict] = {}
    links: dict[tuple[str, str], DraftEvidence] = {}
    sentences: list[DraftEvidence] = []

    for note in notes:
        by_id = {e.id: e for e in note.entities}
        drug_of: dict[str, str] = {}  # entity id -> drug key
        reaction_of: dict[str, str] = {}
        for entity in sorted(note.entities, key=lambda e: (e.start, e.end)):
            role = _role(entity.type)
            name = _display(entity.text)
            if not name:
                continue
            evidence = DraftEvidence(note.external_id, entity.start, entity.end, role or "", entity.id,
                                     entity.attributes)
            if role == "drug":
                key = name_key(name)
                drug = drugs.setdefault(key, {"name": name, "evidence": [], **{f: [] for f in DRUG_FIELDS}})
                drug["evidence"].append(evidence)
                drug_of[entity.id] = key
            elif role == "reaction" and not is_negated(entity):
                key = name_key(name)
                reaction = reactions.setdefault(key, {"term": name, "evidence": []})
                reaction["evidence"].append(evidence)
                reaction_of[entity.id] = key
        # A relation between a drug and something else: a reaction (the adverse effect) or a dose field.
        for relation in note.relations:
            a, b = by_id.get(relation.arg1), by_id.get(relation.arg2)
            if a is None or b is None:
                continue  # an argument that is an event, or a rejected one
            if b.id in drug_of and a.id not in drug_of:
                a, b = b, a  # n2c2 writes the reaction / the dose first
            if a.id not in drug_of:
                continue
            key = drug_of[a.id]
            if b.id in reaction_of and (ade_types is None or relation.type in ade_types):
                span = DraftEvidence(note.external_id, min(a.start, b.start), max(a.end, b.end), "relation",
                                     relation.id)
                links.setdefault((key, reaction_of[b.id]), span)
                continue
            field_name = FIELD_TYPE_NAMES.get(b.type.casefold())
            if field_name is not None and b.id not in reaction_of:
                value = _display(b.text)
                bucket = drugs[key][field_name]
                if value and value.casefold() not in (v.casefold() for v, _ in bucket):
                    bucket.append((value, b.start))
                drugs[key]["evidence"].append(DraftEvidence(note.external_id, b.start, b.end, field_name, b.id,
                                                            b.attributes))
        # The narrative's sentences: those holding a reaction or a drug-reaction relation, in text order.
        spans = [(e.start, e.end) for e in note.entities if e.id in reaction_of]
        spans += [(ev.start, ev.end) for ev in links.values() if ev.note_external_id == note.external_id]
        for s, e in sentence_spans(note.text):
            if any(a < e and b > s for a, b in spans):
                sentences.append(DraftEvidence(note.external_id, s, e, "sentence", ""))

    drug_keys, reaction_keys = list(drugs), list(reactions)
    suspects = {d for d, _ in links}
    out_drugs = []
    for key in drug_keys:
        d = drugs[key]
        # With no drug-reaction relation at all, every drug of a confirmed note is a suspect until the
        # reviewer says otherwise; with some, the drugs outside them are concomitant.
        role = DrugRole.SUSPECT if (key in suspects or not suspects) else DrugRole.CONCOMITANT
        fields = {f: " ".join(v for v, _ in sorted(d[f], key=lambda p: p[1])) for f in DRUG_FIELDS}
        out_drugs.append(DraftDrug(name=d["name"], role=role, evidence=tuple(d["evidence"]), **fields))
    out_reactions = [DraftReaction(term=reactions[k]["term"], evidence=tuple(reactions[k]["evidence"]))
                     for k in reaction_keys]
    out_links = [DraftLink(drug_keys.index(d), reaction_keys.index(r), ev) for (d, r), ev in links.items()]
    dated = [n.written_at for n in notes if n.written_at is not None]
    onset = min(dated).date() if dated else None
    return CaseDraft(drugs=tuple(out_drugs), reactions=tuple(out_reactions), links=tuple(out_links), onset=onset,
                     narrative=narrative_draft(notes, sentences), sentences=tuple(sentences))


def narrative_draft(notes: Sequence[SourceNote], sentences: Sequence[DraftEvidence]) -> str:
    """The evidence sentences, one paragraph per note ("<note> (<date>): <sentences>"), for the reviewer to
    edit into the case narrative."""
    texts = {n.external_id: n for n in notes}
    paragraphs: dict[str, list[str]] = {}
    for ev in sentences:
        note = texts.get(ev.note_external_id)
        if note is None:
            continue
        sentence = _SPACES.sub(" ", note.text[ev.start:ev.end]).strip()
        bucket = paragraphs.setdefault(ev.note_external_id, [])
        if sentence and sentence not in bucket:
            bucket.append(sentence)
    out = []
    for external_id, found in paragraphs.items():
        written = texts[external_id].written_at
        when = f" ({written.date().isoformat()})" if written else ""
        out.append(f"{external_id}{when}: {' '.join(found)}")
    return "\n\n".join(out)
