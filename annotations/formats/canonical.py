"""Id-free statements of a document, to tell whether two annotation sets say exactly the same things.

An entity is (type, spans); a relation is (type, role1, arg1, role2, arg2) with its arguments replaced by
their own canonical forms; an event is (type, trigger, sorted (role, arg) pairs), recursively; attributes,
normalizations, notes and equivalences are keyed by the canonical form of what they point at. Role
numbers of events ("Theme2") are dropped and arguments sorted, since brat's numbering is an artefact of
ordering. Ids, line order and `M` vs `A` attribute ids do not matter; confidences are ignored.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from .document import Document

__all__ = ["canonical_form", "canonical_diff"]


def _base_role(role: str) -> str:
    return role.rstrip("0123456789") or role


def canonical_form(doc: Document) -> Counter:
    """A multiset of hashable, id-free statements for everything annotated on `doc` (and its label)."""
    entities = {e.id: e for e in doc.entities}
    events = {e.id: e for e in doc.events}
    relations = {r.id: r for r in doc.relations}
    memo: dict[str, Any] = {}

    def ref(ann_id: str, stack: frozenset[str] = frozenset()) -> Any:
        if ann_id in memo:
            return memo[ann_id]
        if ann_id in stack:  # a cycle: cannot be expanded, keep it recognisable
            return ("cycle",)
        stack = stack | {ann_id}
        if ann_id in entities:
            e = entities[ann_id]
            out: Any = ("entity", e.type, tuple((s.start, s.end) for s in e.spans))
        elif ann_id in events:
            ev = events[ann_id]
            args = sorted(((_base_role(role), ref(arg, stack)) for role, arg in ev.args), key=repr)
            out = ("event", ev.type, ref(ev.trigger, stack), tuple(args))
        elif ann_id in relations:
            r = relations[ann_id]
            out = ("relation", r.type, r.arg1_role, ref(r.arg1, stack), r.arg2_role, ref(r.arg2, stack))
        else:
            out = ("unknown", ann_id)
        memo[ann_id] = out
        return out

    form: Counter = Counter()
    for e in doc.entities:
        form[ref(e.id)] += 1
    for r in doc.relations:
        form[ref(r.id)] += 1
    for ev in doc.events:
        form[ref(ev.id)] += 1
    for a in doc.attributes:
        form[("attribute", a.name, ref(a.target), a.value)] += 1
    for n in doc.normalizations:
        form[("normalization", n.type, ref(n.target), n.resource, n.resource_id, n.text)] += 1
    for note in doc.notes:
        form[("note", note.type, ref(note.target), note.text)] += 1
    for eq in doc.equivalences:
        form[("equivalence", eq.type, tuple(sorted((ref(m) for m in eq.members), key=repr)))] += 1
    if doc.label is not None:
        form[("label", doc.label)] += 1
    return form


def canonical_diff(a: Document, b: Document) -> list[str]:
    """Human-readable differences between what `a` and `b` say; empty when they say the same things.

    Also reports a text difference, since offsets only mean the same on the same text.
    """
    out: list[str] = []
    if a.text != b.text:
        out.append(f"texts differ (lengths {len(a.text)} and {len(b.text)})")
    fa, fb = canonical_form(a), canonical_form(b)
    for statement, n in sorted((fa - fb).items(), key=lambda kv: repr(kv[0])):
        out.append(f"only in first ({n}x): {statement!r}" if n > 1 else f"only in first: {statement!r}")
    for statement, n in sorted((fb - fa).items(), key=lambda kv: repr(kv[0])):
        out.append(f"only in second ({n}x): {statement!r}" if n > 1 else f"only in second: {statement!r}")
    return out
