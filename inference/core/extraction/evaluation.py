"""Scorers for NER, RE and note-level ADE detection (framework-free); the error report is error_report.py.

Everyone scores with these functions: the transformer models, the baselines, the benchmarks, the
product's evaluation screens. Inputs are `Document` records; gold and predicted documents are matched by
`Document.id` (order does not matter).

Conventions (those of the published ADE benchmarks we compare with):

- NER **strict**: same type and identical fragments (every fragment of a discontinuous entity, compared
  as a sorted set of (start, end)). **Relaxed**: same type and at least one character of overlap between
  any fragment of the gold and any fragment of the prediction. Relaxed matching is *one-to-one*: the
  relaxed true positives are the size of a maximum matching between gold and predicted entities (exact
  matches are preferred, then larger overlaps), so one long prediction covering two gold entities counts
  one TP, one FN and no FP, and two predictions inside one gold entity count one TP and one FP.
- RE **strict**: same relation type, both argument spans exact and, when `with_entity_types`, both
  argument entity types equal. **Relaxed**: same relation type, argument spans overlap (argument types
  still compared when `with_entity_types`); also one-to-one. Direction matters (arg1 with arg1) unless
  the relation type is listed in `symmetric`. An argument that is an event id is scored by its trigger.
- Identical items are counted as a multiset: two identical predictions against one gold give 1 TP, 1 FP.
- Division by zero is defined as 0: precision with no predictions is 0, recall with no gold is 0, F1 is
  0 when precision + recall is 0. So empty predictions score p = r = f1 = 0, never an exception.
- Micro = P/R/F1 of the counts summed over types; macro = unweighted mean of the per-type P, R and F1
  (macro F1 is the mean of per-type F1s, as SpERT/PFN report it), over `types` when given, else over the
  sorted union of gold and predicted types. When `types` is given, items of other types are ignored.
- A gold document without a prediction counts as predicted empty; a predicted document whose id is not
  in gold, a duplicated id, or a predicted text different from the gold text raises ValueError; a
  prediction with an empty text is read against the gold text.

Every scorer returns a flat `dict[str, float]` with keys `"{mode}_{type}_{p|r|f1|tp|fp|fn}"` and
`"{mode}_{micro|macro}_{p|r|f1}"` (plus `"{mode}_micro_{tp|fp|fn}"`), mode in ("strict", "relaxed").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Hashable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from annotations.formats.document import Document
from annotations.formats.matching import max_matching, overlap, strict_matching

__all__ = [
    "MODES",
    "prf",
    "ner_scores",
    "re_scores",
    "note_scores",
]

MODES = ("strict", "relaxed")
_Frags = tuple[tuple[int, int], ...]


# --------------------------------------------------------------------------- shared helpers


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    """Precision, recall and F1 from counts; every 0/0 is defined as 0.0."""
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f1


@dataclass(frozen=True, slots=True)
class _Ent:
    id: str
    type: str
    frags: _Frags
    text: str


@dataclass(frozen=True, slots=True)
class _Rel:
    id: str
    type: str
    arg1: _Ent
    arg2: _Ent


def _overlaps(a: _Frags, b: _Frags) -> int:
    """Number of characters shared by two fragment sets (0 when disjoint)."""
    return overlap(a, b)


def _entities(doc: Document) -> dict[str, _Ent]:
    out: dict[str, _Ent] = {}
    for e in doc.entities:
        frags = tuple(sorted((s.start, s.end) for s in e.spans))
        out[e.id] = _Ent(e.id, e.type, frags, " ".join(doc.text[s:t] for s, t in frags) or e.text)
    for ev in doc.events:  # an event used as a relation argument is scored by its trigger
        if ev.trigger in out and ev.id not in out:
            out[ev.id] = out[ev.trigger]
    return out


def _relations(doc: Document) -> list[_Rel]:
    ents = _entities(doc)
    rels: list[_Rel] = []
    for r in doc.relations:
        for arg in (r.arg1, r.arg2):
            if arg not in ents:
                raise ValueError(f"document {doc.id!r}: relation {r.id} argument {arg!r} is not an entity")
        rels.append(_Rel(r.id, r.type, ents[r.arg1], ents[r.arg2]))
    return rels


def _pairs(gold: Sequence[Document], pred: Sequence[Document]) -> list[tuple[Document, Document]]:
    """Gold documents with their prediction (an empty copy when none was given)."""
    by_id: dict[str, Document] = {}
    for d in pred:
        if d.id in by_id:
            raise ValueError(f"predicted document id {d.id!r} occurs twice")
        by_id[d.id] = d
    gold_ids: set[str] = set()
    out: list[tuple[Document, Document]] = []
    for g in gold:
        if g.id in gold_ids:
            raise ValueError(f"gold document id {g.id!r} occurs twice")
        gold_ids.add(g.id)
        p = by_id.get(g.id)
        if p is None:
            p = Document(id=g.id, text=g.text)
        elif not p.text and g.text:
            p = replace(p, text=g.text)  # a prediction may leave the text out; offsets refer to gold's
        elif p.text != g.text:
            raise ValueError(f"document {g.id!r}: predicted text differs from the gold text")
        out.append((g, p))
    unknown = sorted(set(by_id) - gold_ids)
    if unknown:
        raise ValueError(
            f"predicted documents not in gold: {unknown[:5]}{' ...' if len(unknown) > 5 else ''}"
        )
    return out


def _strict_match(
    gold: Sequence[Any], pred: Sequence[Any], key: Callable[[Any], Hashable]
) -> list[tuple[int, int]]:
    """Multiset matching on equal keys; returns (gold index, pred index) pairs (the shared matcher)."""
    return strict_matching(gold, pred, key)


def _max_match(
    gold: Sequence[Any], pred: Sequence[Any], weight: Callable[[Any, Any], float], *,
    box: Callable[[Any], tuple[int, int]] | None = None,
) -> list[tuple[int, int]]:
    """Maximum one-to-one matching over pairs with weight > 0 (the shared matcher, annotations.formats.
    matching): candidates best-first, so exact matches and larger overlaps are preferred; the number of
    pairs is always maximal. `box` (`_box` for the scorers' weights, which need shared characters) lets
    the matcher weigh only items whose spans meet."""
    return max_matching(gold, pred, weight, box=box)


def _box(item: Any) -> tuple[int, int]:
    """The span an entity or a relation (its two arguments) lies in."""
    frags = item.frags if isinstance(item, _Ent) else item.arg1.frags + item.arg2.frags
    return (min(s for s, _ in frags), max(e for _, e in frags)) if frags else (0, 0)


def _flatten(counts: dict[str, dict[str, list[int]]], types: Sequence[str]) -> dict[str, float]:
    """counts[mode][type] = [tp, fp, fn] -> the flat metrics dict."""
    out: dict[str, float] = {}
    for mode in MODES:
        per = counts[mode]
        sums = [0, 0, 0]
        ps, rs, fs = [], [], []
        for t in types:
            tp, fp, fn = per.get(t, [0, 0, 0])
            p, r, f1 = prf(tp, fp, fn)
            out.update({f"{mode}_{t}_p": p, f"{mode}_{t}_r": r, f"{mode}_{t}_f1": f1})
            out.update({f"{mode}_{t}_tp": tp, f"{mode}_{t}_fp": fp, f"{mode}_{t}_fn": fn})
            sums = [sums[0] + tp, sums[1] + fp, sums[2] + fn]
            ps.append(p)
            rs.append(r)
            fs.append(f1)
        p, r, f1 = prf(*sums)
        out.update({f"{mode}_micro_p": p, f"{mode}_micro_r": r, f"{mode}_micro_f1": f1})
        out.update({f"{mode}_micro_tp": sums[0], f"{mode}_micro_fp": sums[1], f"{mode}_micro_fn": sums[2]})
        n = len(types)
        out.update(
            {
                f"{mode}_macro_p": sum(ps) / n if n else 0.0,
                f"{mode}_macro_r": sum(rs) / n if n else 0.0,
                f"{mode}_macro_f1": sum(fs) / n if n else 0.0,
            }
        )
    return out


def _resolve_types(types: Sequence[str] | None, seen: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(types)) if types is not None else sorted(set(seen))


# --------------------------------------------------------------------------- NER


def _ner_strict_key(e: _Ent) -> Hashable:
    return (e.type, e.frags)


def _ner_relaxed_weight(g: _Ent, p: _Ent) -> float:
    if g.type != p.type:
        return 0.0
    ov = _overlaps(g.frags, p.frags)
    return ov + (1e6 if g.frags == p.frags else 0.0) if ov else 0.0


def ner_scores(
    gold: Sequence[Document], pred: Sequence[Document], *, types: Sequence[str] | None = None
) -> dict[str, float]:
    """Entity-level P/R/F1, strict and relaxed, per type, micro and macro (see the module docstring).

    Args: gold, pred: documents matched by id; types: the entity types to score (default: the union of
    gold and predicted types). Returns: flat dict, e.g. "strict_Drug_f1", "relaxed_macro_f1",
    "strict_micro_tp". Errors: ValueError on unknown/duplicated ids or mismatched texts.
    """
    docs = _pairs(gold, pred)
    allowed = set(types) if types is not None else None
    counts: dict[str, dict[str, list[int]]] = {m: defaultdict(lambda: [0, 0, 0]) for m in MODES}
    seen: set[str] = set()
    for g_doc, p_doc in docs:
        g_all = [e for e in _entities(g_doc).values() if allowed is None or e.type in allowed]
        p_all = [e for e in _entities(p_doc).values() if allowed is None or e.type in allowed]
        # events aliasing triggers appear twice in _entities(); count each entity once
        g_all = list({e.id: e for e in g_all}.values())
        p_all = list({e.id: e for e in p_all}.values())
        for t in {e.type for e in g_all} | {e.type for e in p_all}:
            seen.add(t)
            g_t = [e for e in g_all if e.type == t]
            p_t = [e for e in p_all if e.type == t]
            for mode, pairs in (
                ("strict", _strict_match(g_t, p_t, _ner_strict_key)),
                ("relaxed", _max_match(g_t, p_t, _ner_relaxed_weight, box=_box)),
            ):
                c = counts[mode][t]
                c[0] += len(pairs)
                c[1] += len(p_t) - len(pairs)
                c[2] += len(g_t) - len(pairs)
    return _flatten(counts, _resolve_types(types, seen))


# --------------------------------------------------------------------------- RE


def _arg_key(e: _Ent, with_types: bool) -> Hashable:
    return (e.frags, e.type if with_types else None)


def _re_strict_key(with_types: bool, symmetric: Collection[str]) -> Callable[[_Rel], Hashable]:
    def key(r: _Rel) -> Hashable:
        a, b = _arg_key(r.arg1, with_types), _arg_key(r.arg2, with_types)
        if r.type in symmetric:
            a, b = sorted((a, b), key=repr)
        return (r.type, a, b)

    return key


def _re_relaxed_weight(with_types: bool, symmetric: Collection[str]) -> Callable[[_Rel, _Rel], float]:
    def arg_ov(g: _Ent, p: _Ent) -> int:
        if with_types and g.type != p.type:
            return 0
        return _overlaps(g.frags, p.frags)

    exact = _re_strict_key(with_types, symmetric)

    def weight(g: _Rel, p: _Rel) -> float:
        if g.type != p.type:
            return 0.0
        best = 0.0
        a1, a2 = arg_ov(g.arg1, p.arg1), arg_ov(g.arg2, p.arg2)
        if a1 and a2:
            best = float(a1 + a2)
        if g.type in symmetric:
            b1, b2 = arg_ov(g.arg1, p.arg2), arg_ov(g.arg2, p.arg1)
            if b1 and b2:
                best = max(best, float(b1 + b2))
        if best and exact(g) == exact(p):
            best += 1e6
        return best

    return weight


def _re_counts(
    docs: list[tuple[Document, Document]],
    allowed: set[str] | None,
    with_entity_types: bool,
    symmetric: Collection[str],
) -> tuple[dict[str, dict[str, list[int]]], set[str]]:
    counts: dict[str, dict[str, list[int]]] = {m: defaultdict(lambda: [0, 0, 0]) for m in MODES}
    seen: set[str] = set()
    key = _re_strict_key(with_entity_types, symmetric)
    weight = _re_relaxed_weight(with_entity_types, symmetric)
    for g_doc, p_doc in docs:
        g_all = [r for r in _relations(g_doc) if allowed is None or r.type in allowed]
        p_all = [r for r in _relations(p_doc) if allowed is None or r.type in allowed]
        for t in {r.type for r in g_all} | {r.type for r in p_all}:
            seen.add(t)
            g_t = [r for r in g_all if r.type == t]
            p_t = [r for r in p_all if r.type == t]
            for mode, pairs in (
                ("strict", _strict_match(g_t, p_t, key)),
                ("relaxed", _max_match(g_t, p_t, weight, box=_box)),
            ):
                c = counts[mode][t]
                c[0] += len(pairs)
                c[1] += len(p_t) - len(pairs)
                c[2] += len(g_t) - len(pairs)
    return counts, seen


def re_scores(
    gold: Sequence[Document],
    pred: Sequence[Document],
    *,
    types: Sequence[str] | None = None,
    with_entity_types: bool = True,
    symmetric: Collection[str] = (),
) -> dict[str, float]:
    """Relation-level P/R/F1, strict and relaxed, per relation type, micro and macro.

    Args: gold, pred: documents matched by id (relations refer to their own document's entities);
    types: relation types to score (default: union of gold and predicted); with_entity_types: argument
    entity types must also be equal; symmetric: relation types whose argument order does not matter.
    Returns: flat dict, e.g. "strict_Adverse-Effect_f1", "strict_micro_f1", "relaxed_macro_f1".
    Errors: ValueError on unknown/duplicated ids, mismatched texts, or an argument that is not an entity.
    """
    allowed = set(types) if types is not None else None
    counts, seen = _re_counts(_pairs(gold, pred), allowed, with_entity_types, set(symmetric))
    return _flatten(counts, _resolve_types(types, seen))


# --------------------------------------------------------------------------- note level


def _positive(doc: Document, positive_label: str, relation_type: str) -> bool:
    if doc.label is not None:
        return doc.label == positive_label
    return any(r.type == relation_type for r in doc.relations)


def note_scores(
    gold: Sequence[Document],
    pred: Sequence[Document],
    *,
    positive_label: str = "ade",
    relation_type: str = "Adverse-Effect",
) -> dict[str, float]:
    """Note-level ADE detection: label-only and evidence-grounded P/R/F1.

    A document is positive when its `label` equals `positive_label`; when `label` is None it is positive
    when it has a relation of `relation_type`. Label-only keys: "label_{p,r,f1,accuracy,tp,fp,fn,tn}".
    Evidence-grounded keys "evidence_{strict,relaxed}_{p,r,f1,tp,fp,fn}": a predicted positive is a TP
    only when the gold is positive and at least one predicted `relation_type` relation matches a gold one
    (strict: exact argument spans and types; relaxed: overlapping arguments, same types). FP = predicted
    positives - TP (a right label with wrong or no evidence is an FP), FN = gold positives - TP; so a
    wrong-evidence note lowers both precision and recall. Also "n_docs". Zero divisions give 0.
    """
    docs = _pairs(gold, pred)
    lab = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    grounded = {"strict": 0, "relaxed": 0}
    n_pred_pos = n_gold_pos = 0
    key = _re_strict_key(True, ())
    weight = _re_relaxed_weight(True, ())
    for g_doc, p_doc in docs:
        g_pos = _positive(g_doc, positive_label, relation_type)
        p_pos = _positive(p_doc, positive_label, relation_type)
        n_gold_pos += g_pos
        n_pred_pos += p_pos
        lab["tp" if g_pos and p_pos else "fp" if p_pos else "fn" if g_pos else "tn"] += 1
        if g_pos and p_pos:
            g_rels = [r for r in _relations(g_doc) if r.type == relation_type]
            p_rels = [r for r in _relations(p_doc) if r.type == relation_type]
            gold_keys = {key(r) for r in g_rels}
            if any(key(r) in gold_keys for r in p_rels):
                grounded["strict"] += 1
            if any(weight(g, p) > 0 for g in g_rels for p in p_rels):
                grounded["relaxed"] += 1
    p, r, f1 = prf(lab["tp"], lab["fp"], lab["fn"])
    n = len(docs)
    out: dict[str, float] = {
        "n_docs": n,
        "label_p": p,
        "label_r": r,
        "label_f1": f1,
        "label_accuracy": (lab["tp"] + lab["tn"]) / n if n else 0.0,
    }
    out.update({f"label_{k}": v for k, v in lab.items()})
    for mode in MODES:
        tp = grounded[mode]
        fp, fn = n_pred_pos - tp, n_gold_pos - tp
        p, r, f1 = prf(tp, fp, fn)
        out.update({f"evidence_{mode}_p": p, f"evidence_{mode}_r": r, f"evidence_{mode}_f1": f1})
        out.update({f"evidence_{mode}_tp": tp, f"evidence_{mode}_fp": fp, f"evidence_{mode}_fn": fn})
    return out
