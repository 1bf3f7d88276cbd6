"""Inter-annotator agreement (framework-free): chance-corrected agreement on note verdicts, and entity,
relation and event F1 between two annotators' Documents of the same note.

Figures are accumulated note by note (`AgreementCounter.add_note` with Documents, or `add_rated` with
`RatedSet`s, the leaner form a database reader builds without the text), so memory holds counts only, never
the notes: a selector can stream a project of any size through one counter.

Verdicts (each annotator's `Document.label`; None is a missing rating):
- Cohen's kappa per annotator pair, over the notes both gave a verdict (as scikit-learn's
  `cohen_kappa_score`): (p_o - p_e) / (1 - p_e).
- Fleiss' kappa over the notes rated by exactly `n` annotators, `n` the number of annotators of the
  project (each item must be rated by the same number; as statsmodels' `fleiss_kappa`).
- Krippendorff's alpha, nominal, missing ratings allowed (as `krippendorff.alpha(level_of_measurement=
  "nominal")`), from the coincidence matrix: units with fewer than two ratings are not pairable and drop out.
A figure whose chance agreement is perfect (everyone always said the same thing) is undefined: None.

Spans follow the project's scorer (`inference.core.extraction.evaluation`; both match with
`annotations.formats.matching`, and a test holds the figures equal): strict = same type and identical
fragment sets; relaxed = same type and at least one shared character, matched one-to-one by a maximum
matching; identical items counted as multisets. One annotator plays "gold", the other "prediction"; F1 is symmetric, so the order does not
matter. Relations: same type, arguments (event arguments by their trigger) with equal types and exact
(strict) or overlapping (relaxed) spans, direction kept. Events: same type, trigger and every (role,
argument) exact (strict) or overlapping (relaxed, arguments compared in role order).
Type confusion: entities with identical fragments in both sets, paired same type first, counted by
(type of A, type of B). Boundary disagreements: same type, overlapping, different fragments (relaxed
matches that are not strict).

Over time: a pair's note counts in a week (ISO, from Monday) or month when both sets were submitted in it;
per period, entity F1 (micro) and the mean of the pairs' Cohen's kappa.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import combinations
from operator import attrgetter
from typing import NamedTuple

from annotations.formats.document import Document
from annotations.formats.matching import Frags, fragments, max_matching, overlap

__all__ = [
    "MODES",
    "AgreementCounter",
    "AgreementReport",
    "GRANULARITIES",
    "PairReport",
    "PeriodReport",
    "RatedSet",
    "SpanCounts",
    "cohen_kappa",
    "fleiss_kappa",
    "krippendorff_alpha",
    "f1",
    "period_start",
    "rated_set_of",
]

MODES = ("strict", "relaxed")
KINDS = ("entity", "relation", "event")
GRANULARITIES = ("week", "month")
_Frags = Frags


def f1(tp: int, fp: int, fn: int) -> float:
    """F1 from counts; 0/0 is 0.0, as the project's scorer defines it."""
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


# --------------------------------------------------------------------------- verdicts


def _cohen_from_confusion(confusion: Mapping[tuple[Hashable, Hashable], int]) -> float | None:
    n = sum(confusion.values())
    if not n:
        return None
    rows: Counter = Counter()
    cols: Counter = Counter()
    for (a, b), c in confusion.items():
        rows[a] += c
        cols[b] += c
    p_o = sum(c for (a, b), c in confusion.items() if a == b) / n
    p_e = sum(rows[k] * cols[k] for k in rows) / (n * n)
    return (p_o - p_e) / (1 - p_e) if p_e < 1 else None


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float | None:
    """Cohen's kappa of two raters' labels of the same items (None: undefined, see the module docstring)."""
    if len(a) != len(b):
        raise ValueError("both raters must label the same items")
    return _cohen_from_confusion(Counter(zip(a, b, strict=True)))


@dataclass
class _FleissCounts:
    """Per number of ratings n: items, the sum over items of sum_j n_ij^2, and category totals."""

    items: int = 0
    squares: int = 0
    totals: Counter = field(default_factory=Counter)

    def add(self, labels: Sequence[Hashable]) -> None:
        counts = Counter(labels)
        self.items += 1
        self.squares += sum(c * c for c in counts.values())
        self.totals.update(counts)

    def kappa(self, n: int) -> float | None:
        if self.items == 0 or n < 2:
            return None
        p_bar = (self.squares - self.items * n) / (self.items * n * (n - 1))
        p_e = sum((t / (self.items * n)) ** 2 for t in self.totals.values())
        return (p_bar - p_e) / (1 - p_e) if p_e < 1 else None


def fleiss_kappa(items: Iterable[Sequence[Hashable]]) -> float | None:
    """Fleiss' kappa of items each rated by the same number of raters (each item: its labels).

    Errors: ValueError when the items have different numbers of ratings."""
    counts = _FleissCounts()
    sizes = set()
    for labels in items:
        sizes.add(len(labels))
        counts.add(labels)
    if len(sizes) > 1:
        raise ValueError("every item must be rated by the same number of raters")
    return counts.kappa(sizes.pop()) if sizes else None


def _add_coincidences(coincidence: Counter, labels: Sequence[Hashable]) -> None:
    m = len(labels)
    if m < 2:
        return  # a unit with one rating is not pairable
    counts = Counter(labels)
    for c, n_c in counts.items():
        for k, n_k in counts.items():
            pairs = n_c * (n_k - (c == k))
            if pairs:
                coincidence[(c, k)] += pairs / (m - 1)


def _alpha_from_coincidence(coincidence: Mapping[tuple[Hashable, Hashable], float]) -> float | None:
    n_c: Counter = Counter()
    for (c, _), o in coincidence.items():
        n_c[c] += o
    n = sum(n_c.values())
    observed = sum(o for (c, k), o in coincidence.items() if c != k)
    expected = (n * n - sum(v * v for v in n_c.values())) / (n - 1) if n > 1 else 0.0
    return 1 - observed / expected if expected > 0 else None


def krippendorff_alpha(units: Iterable[Sequence[Hashable | None]]) -> float | None:
    """Krippendorff's alpha, nominal; each unit lists its ratings, None for a missing one."""
    coincidence: Counter = Counter()
    for unit in units:
        _add_coincidences(coincidence, [v for v in unit if v is not None])
    return _alpha_from_coincidence(coincidence)


# --------------------------------------------------------------------------- what is compared


@dataclass(frozen=True, slots=True)
class RatedSet:
    """One annotator's set of one note, reduced to what agreement compares (no text, no attributes).

    entities: id -> (type, fragments as sorted (start, end) pairs); relations: (type, arg1 id, arg2 id);
    events: (id, type, trigger id, ((role, argument id), ...)). An argument id names an entity or an event
    (an event is compared by its trigger); ids are anything hashable, unique within the set. label: the
    verdict (None: missing). submitted: the day the set was submitted (agreement over time; None: unknown).
    name: what an error message calls the set's note.
    """

    label: Hashable | None
    entities: Mapping[Hashable, tuple[str, Frags]]
    relations: Sequence[tuple[str, Hashable, Hashable]] = ()
    events: Sequence[tuple[Hashable, str, Hashable, tuple[tuple[str, Hashable], ...]]] = ()
    submitted: date | None = None
    name: str = ""


def rated_set_of(doc: Document, *, submitted: date | None = None) -> RatedSet:
    """A Document as the RatedSet agreement compares (its entities, relations, events and verdict)."""
    return RatedSet(
        label=doc.label,
        entities={e.id: (e.type, fragments(e.spans)) for e in doc.entities},
        relations=[(r.type, r.arg1, r.arg2) for r in doc.relations],
        events=[(ev.id, ev.type, ev.trigger, tuple(ev.args)) for ev in doc.events],
        submitted=submitted,
        name=doc.id,
    )


def period_start(day: date, granularity: str) -> date:
    """The first day of the week (ISO: Monday) or month `day` falls in."""
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    raise ValueError(f"granularity must be one of {', '.join(GRANULARITIES)}")


# --------------------------------------------------------------------------- spans


class _Item(NamedTuple):
    """An entity, relation or event reduced to what matching compares (a tuple: millions are made)."""

    type: str
    strict: Hashable  # identical keys = a strict match
    parts: tuple[tuple[str, _Frags], ...]  # (type or role, fragments) that must each overlap for a relaxed match
    box: tuple[int, int]  # the span every part lies in: a cheap filter before computing overlaps


def _box(parts: Iterable[_Frags]) -> tuple[int, int]:
    flat = [f for frags in parts for f in frags]
    return (min(s for s, _ in flat), max(e for _, e in flat)) if flat else (0, 0)


def _items(rated: RatedSet) -> dict[str, list[_Item]]:
    """The set's entities, relations and events as matchable items."""
    ents: dict[Hashable, tuple[str, _Frags]] = dict(rated.entities)
    for ev_id, _, trigger, _ in rated.events:  # an event used as an argument is compared by its trigger
        if trigger in ents and ev_id not in ents:
            ents[ev_id] = ents[trigger]
    out: dict[str, list[_Item]] = {kind: [] for kind in KINDS}
    entities = out["entity"]
    for t, fr in rated.entities.values():
        # one fragment (most entities): its box is the fragment itself
        entities.append(_Item(t, fr, ((t, fr),), fr[0] if len(fr) == 1 else _box([fr])))
    for type_, arg1, arg2 in rated.relations:
        if arg1 not in ents or arg2 not in ents:
            raise ValueError(f"document {rated.name!r}: a {type_} relation has an argument that is not an entity")
        a1, a2 = ents[arg1], ents[arg2]
        out["relation"].append(_Item(type_, (a1, a2), (a1, a2), _box([a1[1], a2[1]])))
    for ev_id, type_, trigger, ev_args in rated.events:
        if trigger not in ents or any(a not in ents for _, a in ev_args):
            raise ValueError(f"document {rated.name!r}: event {ev_id} has an argument that is not an entity")
        trig = ents[trigger]
        args = tuple(sorted((role, *ents[a]) for role, a in ev_args))
        parts = (trig, *((f"{role}:{t}", fr) for role, t, fr in args))
        out["event"].append(_Item(type_, (trig, args), parts, _box(p[1] for p in parts)))
    return out


def _relaxed_weight(g: _Item, p: _Item) -> float:
    if len(g.parts) != len(p.parts):
        return 0.0
    total = 0
    for (gk, gf), (pk, pf) in zip(g.parts, p.parts, strict=True):
        ov = overlap(gf, pf) if gk == pk else 0
        if not ov:
            return 0.0
        total += ov
    return total + (1e6 if g.strict == p.strict else 0.0)  # exact matches are tried first, as the scorer does


def _entity_weight(g: _Item, p: _Item) -> float:
    """_relaxed_weight for two entities of the same type (what `_compare` pairs), without its loop."""
    gf, pf = g.strict, p.strict
    if len(gf) == 1 and len(pf) == 1:
        (gs, ge), (ps, pe) = gf[0], pf[0]
        ov = (ge if ge < pe else pe) - (gs if gs > ps else ps)
        if ov <= 0:
            return 0.0
    else:
        ov = overlap(gf, pf)
        if not ov:
            return 0.0
    return ov + (1e6 if gf == pf else 0.0)


_box_of = attrgetter("box")


@dataclass
class SpanCounts:
    """tp/fp/fn per mode and type of one kind (entity, relation or event), summed over notes."""

    counts: dict[str, dict[str, list[int]]] = field(default_factory=lambda: {m: defaultdict(lambda: [0, 0, 0]) for m in MODES})

    def add(self, mode: str, type_: str, tp: int, fp: int, fn: int) -> None:
        c = self.counts[mode][type_]
        c[0] += tp
        c[1] += fp
        c[2] += fn

    def types(self) -> list[str]:
        return sorted(set(self.counts["strict"]) | set(self.counts["relaxed"]))

    def micro(self, mode: str) -> tuple[int, int, int]:
        per = self.counts[mode].values()
        return sum(c[0] for c in per), sum(c[1] for c in per), sum(c[2] for c in per)

    def f1(self, mode: str, type_: str | None = None) -> float:
        """Micro F1 over types, or the F1 of one type."""
        return f1(*(self.micro(mode) if type_ is None else self.counts[mode].get(type_, [0, 0, 0])))

    def merge(self, other: SpanCounts) -> None:
        for mode in MODES:
            for t, (tp, fp, fn) in other.counts[mode].items():
                self.add(mode, t, tp, fp, fn)


class _Rated:
    """One annotator's items of one note, grouped once for every pair the annotator is in."""

    __slots__ = ("by_type", "strict_keys", "confusion_keys")

    def __init__(self, items: dict[str, list[_Item]]) -> None:
        self.by_type: dict[str, dict[str, list[_Item]]] = {}
        self.strict_keys: dict[str, dict[str, Counter]] = {}
        for kind, kind_items in items.items():
            by: dict[str, list[_Item]] = defaultdict(list)
            for i in kind_items:
                by[i.type].append(i)
            self.by_type[kind] = by
            self.strict_keys[kind] = {t: Counter(i.strict for i in its) for t, its in by.items()}
        self.confusion_keys = Counter((i.strict, i.type) for i in items["entity"])


def _compare(kind_counts: SpanCounts, kind: str, a: _Rated, b: _Rated) -> tuple[int, int, int, int]:
    """Add one note's counts of one kind (A plays gold); returns (strict tp, relaxed tp, items of A, of B)."""
    g_by, p_by = a.by_type[kind], b.by_type[kind]
    g_keys, p_keys = a.strict_keys[kind], b.strict_keys[kind]
    strict_sum = relaxed_sum = n_g = n_p = 0
    for t in g_by.keys() | p_by.keys():
        g_t, p_t = g_by.get(t, ()), p_by.get(t, ())
        # the multiset matching of strict_matching, counted without building its pairs
        strict = sum((g_keys[t] & p_keys[t]).values()) if g_t and p_t else 0
        if strict == min(len(g_t), len(p_t)):
            # A strict pair is also a relaxed one (identical parts overlap), and no matching is larger than
            # the smaller side: the maximum relaxed matching has exactly this size.
            relaxed = strict
        else:
            relaxed = len(max_matching(g_t, p_t, _entity_weight if kind == "entity" else _relaxed_weight, box=_box_of))
        kind_counts.add("strict", t, strict, len(p_t) - strict, len(g_t) - strict)
        kind_counts.add("relaxed", t, relaxed, len(p_t) - relaxed, len(g_t) - relaxed)
        strict_sum += strict
        relaxed_sum += relaxed
        n_g += len(g_t)
        n_p += len(p_t)
    return strict_sum, relaxed_sum, n_g, n_p


def _confusion(confusion: Counter, a: _Rated, b: _Rated) -> None:
    """Pair entities with identical fragments (same type first) and count (type in A, type in B)."""
    in_a, in_b = a.confusion_keys, b.confusion_keys
    for (_, t), n in (in_a & in_b).items():
        confusion[(t, t)] += n
    # what is left differs in type (or has no same-span partner): pair it by fragments, in type order
    left_b: dict[_Frags, list[str]] = defaultdict(list)
    for (frags, t), n in sorted((in_b - in_a).items()):
        left_b[frags].extend([t] * n)
    if not left_b:
        return
    for (frags, t), n in sorted((in_a - in_b).items()):
        partners = left_b.get(frags)
        while partners and n:
            confusion[(t, partners.pop(0))] += 1
            n -= 1


# --------------------------------------------------------------------------- the counter


@dataclass
class _PairCounts:
    notes: int = 0
    spans: dict[str, SpanCounts] = field(default_factory=lambda: {k: SpanCounts() for k in KINDS})
    verdicts: Counter = field(default_factory=Counter)  # (verdict of A, verdict of B) -> notes
    confusion: Counter = field(default_factory=Counter)  # (entity type of A, of B) -> entities
    boundary: int = 0


@dataclass
class _PeriodCounts:
    """One week's or month's pairs of sets both submitted in it: entity counts and verdicts per pair."""

    pair_notes: int = 0
    entities: dict[str, list[int]] = field(default_factory=lambda: {m: [0, 0, 0] for m in MODES})  # tp, fp, fn
    verdicts: dict[tuple[str, str], Counter] = field(default_factory=lambda: defaultdict(Counter))


@dataclass(frozen=True)
class PairReport:
    """Agreement of two annotators (a < b) over the notes both annotated."""

    a: str
    b: str
    notes: int
    verdict_notes: int
    verdict_kappa: float | None
    entity_f1_strict: float
    entity_f1_relaxed: float
    relation_f1_strict: float
    relation_f1_relaxed: float
    event_f1_strict: float
    event_f1_relaxed: float
    boundary_disagreements: int
    type_disagreements: int


@dataclass(frozen=True)
class TypeReport:
    """Entity F1 of one type, counts summed over every annotator pair."""

    type: str
    tp_strict: int
    f1_strict: float
    tp_relaxed: int
    f1_relaxed: float
    fp_strict: int
    fn_strict: int


@dataclass(frozen=True)
class PeriodReport:
    """Agreement over time: the pairs of sets both submitted in one week or month (`start`: its first day).

    pair_notes: (note, annotator pair) units; entity F1: micro over them; verdict_kappa: the mean of the pairs'
    Cohen's kappa on those notes where it is defined (None: nowhere), over `verdict_notes` units."""

    granularity: str
    start: date
    pair_notes: int
    entity_f1_strict: float
    entity_f1_relaxed: float
    verdict_notes: int
    verdict_kappa: float | None


@dataclass(frozen=True)
class AgreementReport:
    """Everything the agreement page, CSV and API show."""

    notes: int  # notes with at least one annotator
    raters: tuple[str, ...]
    verdict_units: int  # notes with two or more verdicts (what alpha pairs)
    alpha: float | None
    fleiss_kappa: float | None
    fleiss_notes: int  # notes rated by every annotator (Fleiss needs the same number per note)
    mean_cohen_kappa: float | None  # over the pairs where it is defined
    pairs: tuple[PairReport, ...]
    entity_types: tuple[TypeReport, ...]
    confusion: tuple[tuple[str, str, int], ...]  # (type of the first annotator, of the second, entities)
    entity_f1_strict: float  # micro over every pair
    entity_f1_relaxed: float
    over_time: tuple[PeriodReport, ...] = ()  # by granularity, then period

    def periods(self, granularity: str) -> tuple[PeriodReport, ...]:
        return tuple(p for p in self.over_time if p.granularity == granularity)

    def to_dict(self) -> dict:
        """The report as JSON-ready values (a job stores it; `from_dict` reads it back equal)."""
        return {
            **{f: getattr(self, f) for f in ("notes", "verdict_units", "alpha", "fleiss_kappa", "fleiss_notes",
                                            "mean_cohen_kappa", "entity_f1_strict", "entity_f1_relaxed")},
            "raters": list(self.raters),
            "pairs": [list(astuple_shallow(p)) for p in self.pairs],
            "entity_types": [list(astuple_shallow(t)) for t in self.entity_types],
            "confusion": [list(c) for c in self.confusion],
            "over_time": [[p.granularity, p.start.isoformat(), *astuple_shallow(p)[2:]] for p in self.over_time],
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> AgreementReport:
        """Errors: ValueError, KeyError or TypeError when `data` is not what `to_dict` wrote."""
        return cls(
            notes=int(data["notes"]), raters=tuple(str(r) for r in data["raters"]),
            verdict_units=int(data["verdict_units"]), alpha=data["alpha"], fleiss_kappa=data["fleiss_kappa"],
            fleiss_notes=int(data["fleiss_notes"]), mean_cohen_kappa=data["mean_cohen_kappa"],
            pairs=tuple(PairReport(*p) for p in data["pairs"]),
            entity_types=tuple(TypeReport(*t) for t in data["entity_types"]),
            confusion=tuple((str(a), str(b), int(n)) for a, b, n in data["confusion"]),
            entity_f1_strict=data["entity_f1_strict"], entity_f1_relaxed=data["entity_f1_relaxed"],
            over_time=tuple(PeriodReport(g, date.fromisoformat(s), *rest) for g, s, *rest in data["over_time"]),
        )


def astuple_shallow(record) -> tuple:
    """A report dataclass's fields in order (dataclasses.astuple would deep-copy)."""
    return tuple(getattr(record, f) for f in record.__dataclass_fields__)


class AgreementCounter:
    """Accumulates agreement counts note by note; `report()` turns them into figures.

    Usage: for each note, `add_note({annotator: Document})` or `add_rated({annotator: RatedSet})`; rater names
    sort, pairs are (a, b) with a < b.
    Memory: counts per pair, type, verdict value and period; nothing per note.
    """

    def __init__(self) -> None:
        self.notes = 0
        self.raters: set[str] = set()
        self._pairs: dict[tuple[str, str], _PairCounts] = defaultdict(_PairCounts)
        self._coincidence: Counter = Counter()
        self._verdict_units = 0
        self._fleiss: dict[int, _FleissCounts] = defaultdict(_FleissCounts)
        self._periods: dict[tuple[str, date], _PeriodCounts] = defaultdict(_PeriodCounts)

    def add_note(self, documents: Mapping[str, Document], *, submitted: Mapping[str, date] | None = None) -> None:
        """Add one note: each annotator's Document of it (its `label` is the verdict, None when missing), and
        optionally the day each one was submitted (agreement over time).

        Errors: ValueError when the documents' texts differ (they must be the same note)."""
        if not documents:
            return
        texts = {d.text for d in documents.values()}
        if len(texts) > 1:
            raise ValueError("the documents of one note must share its text")
        submitted = submitted or {}
        self.add_rated({r: rated_set_of(d, submitted=submitted.get(r)) for r, d in documents.items()})

    def add_rated(self, sets: Mapping[str, RatedSet]) -> None:
        """Add one note: each annotator's RatedSet of it (the caller vouches they are of the same note).

        Errors: ValueError when a relation or event argument is not in its set."""
        if not sets:
            return
        self.notes += 1
        self.raters.update(sets)
        labels = [s.label for s in sets.values() if s.label is not None]
        if len(labels) >= 2:
            self._verdict_units += 1
        _add_coincidences(self._coincidence, labels)
        self._fleiss[len(labels)].add(labels)
        if len(sets) < 2:
            return
        rated = {rater: _Rated(_items(s)) for rater, s in sets.items()}
        for a, b in combinations(sorted(sets), 2):
            pc = self._pairs[(a, b)]
            pc.notes += 1
            sa, sb = sets[a], sets[b]
            both = sa.label is not None and sb.label is not None
            if both:
                pc.verdicts[(sa.label, sb.label)] += 1
            entity = (0, 0, 0, 0)
            for kind in KINDS:
                counts = _compare(pc.spans[kind], kind, rated[a], rated[b])
                if kind == "entity":
                    entity = counts
                    pc.boundary += counts[1] - counts[0]
            _confusion(pc.confusion, rated[a], rated[b])
            if sa.submitted is None or sb.submitted is None:
                continue
            for granularity in GRANULARITIES:
                start = period_start(sa.submitted, granularity)
                if start != period_start(sb.submitted, granularity):
                    continue
                period = self._periods[(granularity, start)]
                period.pair_notes += 1
                strict, relaxed, n_a, n_b = entity
                for mode, tp in (("strict", strict), ("relaxed", relaxed)):
                    c = period.entities[mode]
                    c[0] += tp
                    c[1] += n_b - tp
                    c[2] += n_a - tp
                if both:
                    period.verdicts[(a, b)][(sa.label, sb.label)] += 1

    def report(self) -> AgreementReport:
        raters = tuple(sorted(self.raters))
        pairs = []
        entities = SpanCounts()
        confusion: Counter = Counter()
        for (a, b), pc in sorted(self._pairs.items()):
            ent, rel, ev = pc.spans["entity"], pc.spans["relation"], pc.spans["event"]
            entities.merge(ent)
            confusion.update(pc.confusion)
            pairs.append(
                PairReport(
                    a=a, b=b, notes=pc.notes, verdict_notes=sum(pc.verdicts.values()),
                    verdict_kappa=_cohen_from_confusion(pc.verdicts),
                    entity_f1_strict=ent.f1("strict"), entity_f1_relaxed=ent.f1("relaxed"),
                    relation_f1_strict=rel.f1("strict"), relation_f1_relaxed=rel.f1("relaxed"),
                    event_f1_strict=ev.f1("strict"), event_f1_relaxed=ev.f1("relaxed"),
                    boundary_disagreements=pc.boundary,
                    type_disagreements=sum(c for (ta, tb), c in pc.confusion.items() if ta != tb),
                )
            )
        types = []
        for t in entities.types():
            tp, fp, fn = entities.counts["strict"].get(t, [0, 0, 0])
            rtp, rfp, rfn = entities.counts["relaxed"].get(t, [0, 0, 0])
            types.append(TypeReport(t, tp, f1(tp, fp, fn), rtp, f1(rtp, rfp, rfn), fp, fn))
        kappas = [p.verdict_kappa for p in pairs if p.verdict_kappa is not None]
        n = len(raters)
        fleiss = self._fleiss.get(n)
        over_time = []
        for (granularity, start), pc in sorted(self._periods.items(), key=lambda kv: (GRANULARITIES.index(kv[0][0]),
                                                                                     kv[0][1])):
            period_kappas = [k for v in pc.verdicts.values() if (k := _cohen_from_confusion(v)) is not None]
            over_time.append(PeriodReport(
                granularity=granularity, start=start, pair_notes=pc.pair_notes,
                entity_f1_strict=f1(*pc.entities["strict"]), entity_f1_relaxed=f1(*pc.entities["relaxed"]),
                verdict_notes=sum(sum(v.values()) for v in pc.verdicts.values()),
                verdict_kappa=sum(period_kappas) / len(period_kappas) if period_kappas else None,
            ))
        return AgreementReport(
            notes=self.notes,
            raters=raters,
            verdict_units=self._verdict_units,
            alpha=_alpha_from_coincidence(self._coincidence),
            fleiss_kappa=fleiss.kappa(n) if fleiss else None,
            fleiss_notes=fleiss.items if fleiss else 0,
            mean_cohen_kappa=sum(kappas) / len(kappas) if kappas else None,
            pairs=tuple(pairs),
            entity_types=tuple(types),
            confusion=tuple((ta, tb, c) for (ta, tb), c in sorted(confusion.items())),
            entity_f1_strict=entities.f1("strict"),
            entity_f1_relaxed=entities.f1("relaxed"),
            over_time=tuple(over_time),
        )
