"""The error report: each model mistake (false positive, false negative, wrong boundary, wrong type, wrong
direction) with its context, for the evaluation screens and `ade-review evaluate` (framework-free). It
pairs gold and predictions with the scorers' own matching (evaluation.py)."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Hashable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from annotations.formats.document import Document
from inference.core.extraction.evaluation import (
    _Ent,
    _entities,
    _Frags,
    _max_match,
    _ner_relaxed_weight,
    _ner_strict_key,
    _pairs,
    _re_relaxed_weight,
    _re_strict_key,
    _Rel,
    _relations,
    _strict_match,
)

_CATEGORIES = ("fp", "fn", "boundary", "type", "direction")


@dataclass(frozen=True, slots=True)
class ErrorItem:
    """One model mistake.

    task: "ner" or "re". category: "fp" (spurious prediction), "fn" (missed gold), "boundary" (relaxed
    match but not strict: overlapping spans / arguments), "type" (same span(s) or arguments, other
    entity/relation type or other argument types), "direction" (RE: arguments swapped). type: the gold
    type (the predicted one for "fp"). gold / pred: the span text ("arg1 -> arg2" for relations), None
    when absent. context: the text around the item, gold spans in [[ ]] (the prediction's for "fp"),
    for relations arg1 in [[ ]] and arg2 in {{ }}; line breaks shown as spaces.
    """

    task: str
    category: str
    type: str
    doc_id: str
    gold: str | None
    pred: str | None
    gold_type: str | None
    pred_type: str | None
    context: str
    gold_spans: tuple[tuple[int, int], ...] = ()
    pred_spans: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class ErrorReport:
    """False positives / negatives and near misses of NER and RE, listed by type."""

    items: tuple[ErrorItem, ...] = field(default_factory=tuple)

    def counts(self) -> dict[str, dict[str, dict[str, int]]]:
        """{task: {type: {category: n}}}."""
        out: dict[str, dict[str, dict[str, int]]] = {}
        for it in self.items:
            cat = out.setdefault(it.task, {}).setdefault(it.type, dict.fromkeys(_CATEGORIES, 0))
            cat[it.category] += 1
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable: {"counts": ..., "errors": [item dicts]} (spans as lists)."""
        d = {"counts": self.counts(), "errors": [asdict(it) for it in self.items]}
        return json.loads(json.dumps(d))

    def to_text(self) -> str:
        """Readable listing grouped by task, type and category."""
        lines: list[str] = []
        for task, title in (("ner", "NER"), ("re", "RE")):
            items = [it for it in self.items if it.task == task]
            lines.append(f"== {title} errors: {len(items)}")
            for t in sorted({it.type for it in items}):
                of_type = [it for it in items if it.type == t]
                summary = ", ".join(
                    f"{c} {sum(it.category == c for it in of_type)}"
                    for c in _CATEGORIES
                    if any(it.category == c for it in of_type)
                )
                lines.append(f"-- {t}: {summary}")
                for c in _CATEGORIES:
                    for it in (it for it in of_type if it.category == c):
                        what = {
                            "fp": f"predicted {it.pred!r}",
                            "fn": f"missed {it.gold!r}",
                            "boundary": f"gold {it.gold!r} / predicted {it.pred!r}",
                            "type": f"{it.gold!r} is {it.gold_type}, predicted {it.pred_type}",
                            "direction": f"gold {it.gold!r} / predicted {it.pred!r}",
                        }[c]
                        lines.append(f"   [{c}] doc {it.doc_id}: {what}")
                        lines.append(f"        ... {it.context} ...")
        return "\n".join(lines) + "\n"


def _context(text: str, marks: list[tuple[_Frags, str, str]], chars: int) -> str:
    frags = [f for fr, _, _ in marks for f in fr]
    if not frags:
        return ""
    lo = max(0, min(s for s, _ in frags) - chars)
    hi = min(len(text), max(e for _, e in frags) + chars)
    inserts: list[tuple[int, int, str]] = []
    for fr, opening, closing in marks:
        for s, e in fr:
            inserts.append((s, 1, opening))
            inserts.append((e, 0, closing))
    out, pos = [], lo
    for at, _, mark in sorted(inserts):
        out.append(text[pos:at])
        out.append(mark)
        pos = at
    out.append(text[pos:hi])
    return " ".join("".join(out).split())


def _rel_text(r: _Rel) -> str:
    return f"{r.arg1.text} [{r.arg1.type}] -> {r.arg2.text} [{r.arg2.type}]"


def _rel_spans(r: _Rel) -> _Frags:
    return r.arg1.frags + r.arg2.frags


def _pair_off(gold: list[Any], pred: list[Any], ok: Callable[[Any, Any], float]) -> list[tuple[Any, Any]]:
    """Pair remaining gold and predicted items (maximum matching) and remove them from the lists."""
    pairs = _max_match(gold, pred, ok)
    out = [(gold[i], pred[j]) for i, j in pairs]
    for i in sorted((i for i, _ in pairs), reverse=True):
        del gold[i]
    for j in sorted((j for _, j in pairs), reverse=True):
        del pred[j]
    return out


def _ent_item(cat: str, doc: Document, g: _Ent | None, p: _Ent | None, chars: int) -> ErrorItem:
    main = g if g is not None else p
    assert main is not None
    return ErrorItem(
        task="ner",
        category=cat,
        type=main.type,
        doc_id=doc.id,
        gold=g.text if g else None,
        pred=p.text if p else None,
        gold_type=g.type if g else None,
        pred_type=p.type if p else None,
        context=_context(doc.text, [(main.frags, "[[", "]]")], chars),
        gold_spans=g.frags if g else (),
        pred_spans=p.frags if p else (),
    )


def _rel_item(cat: str, doc: Document, g: _Rel | None, p: _Rel | None, chars: int) -> ErrorItem:
    main = g if g is not None else p
    assert main is not None
    return ErrorItem(
        task="re",
        category=cat,
        type=main.type,
        doc_id=doc.id,
        gold=_rel_text(g) if g else None,
        pred=_rel_text(p) if p else None,
        gold_type=g.type if g else None,
        pred_type=p.type if p else None,
        context=_context(doc.text, [(main.arg1.frags, "[[", "]]"), (main.arg2.frags, "{{", "}}")], chars),
        gold_spans=_rel_spans(g) if g else (),
        pred_spans=_rel_spans(p) if p else (),
    )


def _same_span_other_type(g: _Ent, p: _Ent) -> float:
    return float(g.frags == p.frags and g.type != p.type)


def _same_args_other_type(g: _Rel, p: _Rel) -> float:
    same = g.arg1.frags == p.arg1.frags and g.arg2.frags == p.arg2.frags
    return float(same and (g.type != p.type or (g.arg1.type, g.arg2.type) != (p.arg1.type, p.arg2.type)))


def _swapped(g: _Rel, p: _Rel) -> float:
    return float(g.type == p.type and g.arg1.frags == p.arg2.frags and g.arg2.frags == p.arg1.frags)


def _unmatched(
    gold: list[Any], pred: list[Any], key: Callable[[Any], Hashable]
) -> tuple[list[Any], list[Any]]:
    matched = _strict_match(gold, pred, key)
    gi, pj = {i for i, _ in matched}, {j for _, j in matched}
    return [x for i, x in enumerate(gold) if i not in gi], [x for j, x in enumerate(pred) if j not in pj]


def error_report(
    gold: Sequence[Document],
    pred: Sequence[Document],
    *,
    context_chars: int = 60,
    symmetric: Collection[str] = (),
) -> ErrorReport:
    """List the strict NER and RE errors of `pred` against `gold`, with text and context.

    Items left unmatched by strict matching are paired, in this order, into "type" errors (same spans,
    other type), then "direction" errors (RE: same type, swapped arguments), then "boundary" errors
    (relaxed match); what remains is "fp" / "fn". A paired error is listed once, not also as fp and fn.
    Argument types are compared for RE (as `re_scores(with_entity_types=True)`).
    """
    items: list[ErrorItem] = []
    sym = set(symmetric)
    key = _re_strict_key(True, sym)
    weight = _re_relaxed_weight(True, sym)
    for g_doc, p_doc in _pairs(gold, pred):
        g_ents, p_ents = _unmatched(
            list({e.id: e for e in _entities(g_doc).values()}.values()),
            list({e.id: e for e in _entities(p_doc).values()}.values()),
            _ner_strict_key,
        )
        for g, p in _pair_off(g_ents, p_ents, _same_span_other_type):
            items.append(_ent_item("type", g_doc, g, p, context_chars))
        for g, p in _pair_off(g_ents, p_ents, _ner_relaxed_weight):
            items.append(_ent_item("boundary", g_doc, g, p, context_chars))
        items.extend(_ent_item("fn", g_doc, g, None, context_chars) for g in g_ents)
        items.extend(_ent_item("fp", g_doc, None, p, context_chars) for p in p_ents)

        g_rels, p_rels = _unmatched(_relations(g_doc), _relations(p_doc), key)
        for g, p in _pair_off(g_rels, p_rels, _same_args_other_type):
            items.append(_rel_item("type", g_doc, g, p, context_chars))
        for g, p in _pair_off(g_rels, p_rels, lambda g, p: 0.0 if g.type in sym else _swapped(g, p)):
            items.append(_rel_item("direction", g_doc, g, p, context_chars))
        for g, p in _pair_off(g_rels, p_rels, weight):
            items.append(_rel_item("boundary", g_doc, g, p, context_chars))
        items.extend(_rel_item("fn", g_doc, g, None, context_chars) for g in g_rels)
        items.extend(_rel_item("fp", g_doc, None, p, context_chars) for p in p_rels)
    return ErrorReport(tuple(items))
