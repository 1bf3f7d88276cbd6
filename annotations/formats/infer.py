"""Infer a Schema from annotated documents (for corpora without annotation.conf, e.g. MACCROBAT)."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

from .document import Document
from .schema import AttributeType, EntityType, EventRole, EventType, RelationType, Schema

__all__ = ["schema_infer"]

_ROLE_NUMBER = re.compile(r"\d+$")


def _cardinality(counts: list[int]) -> str:
    lo, hi = min(counts), max(counts)
    if lo >= 1:
        return "" if hi == 1 else "+"
    return "?" if hi <= 1 else "*"


def schema_infer(documents: Iterable[Document]) -> Schema:
    """The narrowest Schema that every document satisfies.

    Entity types: types of text-bound annotations that are not event triggers (trigger types become
    event types, as in brat). Relation types: one per (type, role1, role2), allowing the argument types
    seen per role. Event types: roles (numbers stripped) with the argument types seen and a
    cardinality from the per-event counts. Attributes: the target types and the values seen (binary when
    no value was ever seen). Everything is sorted, so the result is deterministic. Streams the documents.
    """
    entity_names: set[str] = set()
    event_names: set[str] = set()
    rel_args: dict[tuple[str, str, str], tuple[set[str], set[str]]] = {}
    role_types: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    role_counts: dict[str, list[dict[str, int]]] = defaultdict(list)
    attr_targets: dict[str, set[str]] = defaultdict(set)
    attr_values: dict[str, set[str]] = defaultdict(set)

    for doc in documents:
        types: dict[str, str] = {e.id: e.type for e in doc.entities}
        types.update({e.id: e.type for e in doc.events})
        types.update({r.id: r.type for r in doc.relations})
        triggers = {ev.trigger for ev in doc.events}
        for e in doc.entities:
            if e.id not in triggers:
                entity_names.add(e.type)
        for r in doc.relations:
            a1, a2 = rel_args.setdefault((r.type, r.arg1_role, r.arg2_role), (set(), set()))
            if r.arg1 in types:
                a1.add(types[r.arg1])
            if r.arg2 in types:
                a2.add(types[r.arg2])
        for ev in doc.events:
            event_names.add(ev.type)
            counts: dict[str, int] = defaultdict(int)
            for role, arg in ev.args:
                base = _ROLE_NUMBER.sub("", role) or role
                counts[base] += 1
                if arg in types:
                    role_types[ev.type][base].add(types[arg])
                else:
                    role_types[ev.type][base]  # noqa: B018 - register the role even if the arg dangles
            role_counts[ev.type].append(counts)
        for a in doc.attributes:
            if a.target in types:
                attr_targets[a.name].add(types[a.target])
            else:
                attr_targets[a.name]  # noqa: B018
            if a.value is not None:
                attr_values[a.name].add(a.value)

    event_types = []
    for name in sorted(event_names):
        roles = []
        for role in sorted(role_types[name]):
            card = _cardinality([c.get(role, 0) for c in role_counts[name]])
            roles.append(EventRole(name=role, types=tuple(sorted(role_types[name][role])), cardinality=card))
        event_types.append(EventType(name=name, roles=tuple(roles)))
    return Schema(
        entity_types=tuple(EntityType(name=n) for n in sorted(entity_names - event_names)),
        relation_types=tuple(
            RelationType(
                name=k[0],
                arg1_role=k[1],
                arg1_types=tuple(sorted(v[0])),
                arg2_role=k[2],
                arg2_types=tuple(sorted(v[1])),
            )
            for k, v in sorted(rel_args.items())
        ),
        event_types=tuple(event_types),
        attribute_types=tuple(
            AttributeType(
                name=n, targets=tuple(sorted(attr_targets[n])), values=tuple(sorted(attr_values[n]))
            )
            for n in sorted(attr_targets)
        ),
    )
