"""The rule check every writer calls before it stores or exports a document.

`document_problems` checks structure always (offsets, fragment texts, unique ids, references) and,
when a Schema is given, types, roles, argument types, attribute targets and values. Messages start with
the annotation id and say what is wrong and what is allowed, e.g.
"R3: relation Adverse-Effect: Arg1 T5 is a Disease, the schema allows Drug".
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from .document import Document, Entity, Event, ParseProblem
from .names import is_local_id, is_name
from .schema import Schema
from .text import span_text, text_field_matches

__all__ = ["document_problems", "SchemaIndex"]

ANY, ENTITY, RELATION, EVENT, OVERLAP = "<ANY>", "<ENTITY>", "<RELATION>", "<EVENT>", "<OVERLAP>"
_ROLE_NUMBER = re.compile(r"\d+$")
_BLANK = re.compile(r"\s")


def _base_role(role: str) -> str:
    """brat numbers repeated roles ("Theme2"); the schema names the base role ("Theme")."""
    return _ROLE_NUMBER.sub("", role) or role


def _allowed_text(types: Iterable[str]) -> str:
    types = list(dict.fromkeys(types))
    return " or ".join(types) if types else "nothing"


class SchemaIndex:
    """Lookups over a Schema (parents, kinds) used by the checks; build once per schema."""

    def __init__(self, schema: Schema):
        self.schema = schema
        self.entity_types = {t.name: t for t in schema.entity_types}
        self.event_types = {t.name: t for t in schema.event_types}
        self.parent: dict[str, str | None] = {t.name: t.parent for t in schema.entity_types}
        self.parent.update({t.name: t.parent for t in schema.event_types})
        self.relations: dict[str, list] = {}
        for rt in schema.relation_types:
            if rt.name != OVERLAP:
                self.relations.setdefault(rt.name, []).append(rt)
        self.attributes = {a.name: a for a in schema.attribute_types}

    def ancestors(self, name: str) -> list[str]:
        """`name` and its parents, nearest first (guarded against cycles)."""
        out = [name]
        seen = {name}
        parent = self.parent.get(name)
        while parent and parent not in seen:
            out.append(parent)
            seen.add(parent)
            parent = self.parent.get(parent)
        return out

    def allows(self, allowed: Iterable[str], type_name: str, kind: str) -> bool:
        """Whether an annotation of `kind` ("entity", "relation", "event") and `type_name` fits `allowed`."""
        allowed = set(allowed)
        if ANY in allowed:
            return True
        if kind == "entity" and ENTITY in allowed:
            return True
        if kind == "event" and EVENT in allowed:
            return True
        if kind == "relation" and RELATION in allowed:
            return True
        return any(t in allowed for t in self.ancestors(type_name))


def document_problems(
    doc: Document, schema: Schema | None = None, *, source: str = "", lines: dict[str, int] | None = None
) -> list[ParseProblem]:
    """Every rule `doc` breaks, structural and (when `schema` is given) against the schema.

    Args: `source` names the file in each ParseProblem; `lines` maps ids to 1-based lines (0 if absent).
    Result: problems grouped by check (empty when the document is fine). Never raises.
    """
    lines = lines or {}
    problems: list[ParseProblem] = []

    def bad(ann_id: str, message: str) -> None:
        problems.append(ParseProblem(source, lines.get(ann_id, 0), f"{ann_id}: {message}"))

    text_len = len(doc.text)
    entities = {e.id: e for e in doc.entities}
    events = {e.id: e for e in doc.events}
    relations = {r.id: r for r in doc.relations}

    # Ids are unique across all kinds.
    all_ids = [
        *(e.id for e in doc.entities),
        *(r.id for r in doc.relations),
        *(e.id for e in doc.events),
        *(a.id for a in doc.attributes),
        *(n.id for n in doc.normalizations),
        *(n.id for n in doc.notes),
    ]
    for ann_id, count in Counter(all_ids).items():
        if count > 1:
            bad(ann_id, f"duplicate id ({count} annotations use it)")
    id_set = set(all_ids)

    # Ids, types, roles and values must be writable as brat: the id letter says the kind, and no
    # whitespace (which separates fields) may occur in a name. Ids and names must also match the one
    # pattern of `names` (the API's): they are written into HTML attributes and CSS selectors, and a
    # document that breaks it is refused whole rather than escaped into something else (issue 13).
    for prefix, kind, group in (
        ("T", "entity", doc.entities),
        ("R", "relation", doc.relations),
        ("E", "event", doc.events),
        ("AM", "attribute", doc.attributes),
        ("N", "normalization", doc.normalizations),
        ("#", "note", doc.notes),
    ):
        for item in group:
            if len(item.id) < 2 or item.id[0] not in prefix or _BLANK.search(item.id):
                bad(
                    item.id,
                    f"{kind} id must be {' or '.join(prefix)} followed by a number or name, without spaces",
                )
            elif not is_local_id(item.id):
                problems.append(
                    ParseProblem(
                        source,
                        lines.get(item.id, 0),
                        f"{kind} id {item.id[:40]!r} may hold only letters, digits and _ # * . - (at most 32)",
                    )
                )
    names: list[tuple[str, str, str]] = [  # (owner id, what, name)
        *((e.id, "entity type", e.type) for e in doc.entities),
        *((r.id, "relation type", r.type) for r in doc.relations),
        *((r.id, "relation role", x) for r in doc.relations for x in (r.arg1_role, r.arg2_role)),
        *((e.id, "event type", e.type) for e in doc.events),
        *((e.id, "event role", role) for e in doc.events for role, _ in e.args),
        *((a.id, "attribute name", a.name) for a in doc.attributes),
        *((n.id, "normalization type", n.type) for n in doc.normalizations),
        *((n.id, "note type", n.type) for n in doc.notes),
        *((f"*{i}", "equivalence type", eq.type) for i, eq in enumerate(doc.equivalences, start=1)),
    ]
    for owner, label, name in names:
        if not is_name(name):
            problems.append(
                ParseProblem(
                    source,
                    lines.get(owner, 0),
                    f"{owner[:40]}: {label} {name[:60]!r} may hold only letters, digits and _ . : + / - "
                    "(at most 100, starting with a letter, digit or _)",
                )
            )
    for label, values in (
        ("relation role", [x for r in doc.relations for x in (r.arg1_role, r.arg2_role)]),
        ("event type", [e.type for e in doc.events]),
        ("event role", [role for e in doc.events for role, _ in e.args]),
        ("attribute value", [a.value for a in doc.attributes if a.value is not None]),
        ("normalization resource", [n.resource for n in doc.normalizations]),
        ("normalization id", [n.resource_id for n in doc.normalizations]),
    ):
        for name in values:
            if (
                not name
                or _BLANK.search(name)
                or (":" in name and label in ("event type", "relation role", "event role", "normalization resource"))
            ):
                problems.append(
                    ParseProblem(source, 0, f"{label} {name!r} is empty or contains a space or ':'")
                )
                break

    for e in doc.entities:
        if not e.spans:
            bad(e.id, "entity has no span")
            continue
        ok = True
        for s in e.spans:
            if s.start < 0 or s.end < 0:
                bad(e.id, f"negative offset in {s.start}-{s.end}")
                ok = False
            elif s.start >= s.end:
                bad(e.id, f"empty or reversed span {s.start}-{s.end} (start must be < end)")
                ok = False
            elif s.end > text_len:
                bad(e.id, f"offset {s.end} is past the end of the text (length {text_len})")
                ok = False
        if ok:
            actual = span_text(doc.text, e.spans)
            if not text_field_matches(e.text, actual):
                where = ";".join(f"{s.start}-{s.end}" for s in e.spans)
                # Offsets and lengths only: these messages end up in job errors, and quoting either text
                # would copy clinical text out of the note (issue 13).
                bad(e.id, f"the entity's text (length {len(e.text)}) does not match the note's text at {where} "
                          f"(length {len(actual)})")

    def is_arg(ann_id: str) -> bool:
        return ann_id in entities or ann_id in events

    def check_arg(owner: str, role: str, arg: str) -> None:
        if arg not in id_set:
            bad(owner, f"{role} refers to {arg}, which does not exist")
        elif not is_arg(arg):
            bad(owner, f"{role} refers to {arg}, which is not an entity or event")

    for r in doc.relations:
        check_arg(r.id, r.arg1_role, r.arg1)
        check_arg(r.id, r.arg2_role, r.arg2)
    for ev in doc.events:
        if ev.trigger not in id_set:
            bad(ev.id, f"trigger {ev.trigger} does not exist")
        elif ev.trigger not in entities:
            bad(ev.id, f"trigger {ev.trigger} is not a text-bound annotation")
        for role, arg in ev.args:
            check_arg(ev.id, role, arg)
            if arg == ev.id:
                bad(ev.id, f"{role} refers to the event itself")
    for a in doc.attributes:
        if a.target not in id_set:
            bad(a.id, f"attribute {a.name} targets {a.target}, which does not exist")
        elif not (a.target in entities or a.target in events or a.target in relations):
            bad(a.id, f"attribute {a.name} targets {a.target}, which is not an entity, relation or event")
    for n in doc.normalizations:
        if n.target not in id_set:
            bad(n.id, f"normalization targets {n.target}, which does not exist")
        elif not (n.target in entities or n.target in events or n.target in relations):
            bad(n.id, f"normalization targets {n.target}, which is not an entity, relation or event")
    for note in doc.notes:
        if note.target not in id_set:
            bad(note.id, f"note targets {note.target}, which does not exist")
    for i, eq in enumerate(doc.equivalences, start=1):
        for m in eq.members:
            if not is_arg(m):
                problems.append(
                    ParseProblem(
                        source, lines.get(f"*{i}", 0), f"*: {eq.type} member {m} is not an entity or event"
                    )
                )

    if schema is not None:
        problems.extend(_schema_problems(doc, SchemaIndex(schema), source, lines))
    return problems


def _schema_problems(
    doc: Document, idx: SchemaIndex, source: str, lines: dict[str, int]
) -> list[ParseProblem]:
    problems: list[ParseProblem] = []

    def bad(ann_id: str, message: str) -> None:
        problems.append(ParseProblem(source, lines.get(ann_id, 0), f"{ann_id}: {message}"))

    entities: dict[str, Entity] = {e.id: e for e in doc.entities}
    events: dict[str, Event] = {e.id: e for e in doc.events}
    relations = {r.id: r for r in doc.relations}

    def kind_and_type(ann_id: str) -> tuple[str, str] | None:
        if ann_id in entities:
            return "entity", entities[ann_id].type
        if ann_id in events:
            return "event", events[ann_id].type
        if ann_id in relations:
            return "relation", relations[ann_id].type
        return None

    for e in doc.entities:
        known = idx.entity_types.get(e.type) or idx.event_types.get(e.type)
        if known is None:
            bad(e.id, f"entity type {e.type} is not in the schema")
        elif not known.annotatable:
            bad(e.id, f"entity type {e.type} is a grouping type of the schema and cannot be annotated")

    for r in doc.relations:
        candidates = idx.relations.get(r.type)
        if not candidates:
            bad(r.id, f"relation type {r.type} is not in the schema")
            continue
        a1, a2 = kind_and_type(r.arg1), kind_and_type(r.arg2)
        if a1 is None or a2 is None:
            continue  # dangling reference, reported by the structural check
        fits = [
            rt
            for rt in candidates
            if rt.arg1_role == r.arg1_role
            and rt.arg2_role == r.arg2_role
            and (
                (idx.allows(rt.arg1_types, a1[1], a1[0]) and idx.allows(rt.arg2_types, a2[1], a2[0]))
                or (  # a symmetric relation may be stored in either direction
                    rt.symmetric
                    and idx.allows(rt.arg1_types, a2[1], a2[0])
                    and idx.allows(rt.arg2_types, a1[1], a1[0])
                )
            )
        ]
        if fits:
            continue
        role_ok = [rt for rt in candidates if rt.arg1_role == r.arg1_role and rt.arg2_role == r.arg2_role]
        if not role_ok:
            expected = candidates[0]
            bad(
                r.id,
                f"relation {r.type}: roles are {r.arg1_role}/{r.arg2_role}, "
                f"the schema expects {expected.arg1_role}/{expected.arg2_role}",
            )
            continue
        reported = False
        for role, (kind, tname), arg, attr in (
            (r.arg1_role, a1, r.arg1, "arg1_types"),
            (r.arg2_role, a2, r.arg2, "arg2_types"),
        ):
            allowed = [t for rt in role_ok for t in getattr(rt, attr)]
            if not idx.allows(allowed, tname, kind):
                bad(
                    r.id,
                    f"relation {r.type}: {role} {arg} is a {tname}, the schema allows {_allowed_text(allowed)}",
                )
                reported = True
        if not reported:  # each argument fits some line, but no single line fits both
            pairs = "; ".join(
                f"{_allowed_text(rt.arg1_types)} -> {_allowed_text(rt.arg2_types)}" for rt in role_ok
            )
            bad(r.id, f"relation {r.type}: {a1[1]} -> {a2[1]} is not allowed, the schema allows {pairs}")

    for ev in doc.events:
        et = idx.event_types.get(ev.type)
        if et is None:
            bad(ev.id, f"event type {ev.type} is not in the schema")
            continue
        if not et.annotatable:
            bad(ev.id, f"event type {ev.type} is a grouping type of the schema and cannot be annotated")
        trigger = entities.get(ev.trigger)
        if trigger is not None and trigger.type != ev.type:
            bad(ev.id, f"event {ev.type}: trigger {ev.trigger} is a {trigger.type}, expected a {ev.type}")
        roles = {role.name: role for role in et.roles}
        counts: Counter[str] = Counter()
        for role, arg in ev.args:
            base = _base_role(role)
            spec = roles.get(base)
            if spec is None:
                allowed = ", ".join(roles) or "none"
                bad(ev.id, f"event {ev.type} has no role {base} (allowed roles: {allowed})")
                continue
            counts[base] += 1
            kt = kind_and_type(arg)
            if kt is not None and not idx.allows(spec.types, kt[1], kt[0]):
                bad(
                    ev.id,
                    f"event {ev.type}: {role} {arg} is a {kt[1]}, the schema allows {_allowed_text(spec.types)}",
                )
        for spec in et.roles:
            n = counts[spec.name]
            if spec.cardinality in ("", "+") and n == 0:
                bad(ev.id, f"event {ev.type} needs a {spec.name} argument")
            if spec.cardinality in ("", "?") and n > 1:
                bad(ev.id, f"event {ev.type} allows one {spec.name} argument, it has {n}")

    for a in doc.attributes:
        at = idx.attributes.get(a.name)
        if at is None:
            bad(a.id, f"attribute {a.name} is not in the schema")
            continue
        kt = kind_and_type(a.target)
        if kt is not None and not idx.allows(at.targets, kt[1], kt[0]):
            bad(
                a.id,
                f"attribute {a.name} on {a.target}, a {kt[1]}: the schema allows it on {_allowed_text(at.targets)}",
            )
        if not at.values:
            if a.value is not None:
                bad(a.id, f"attribute {a.name} is binary and takes no value (got {a.value!r})")
        elif a.value is None:
            bad(a.id, f"attribute {a.name} needs a value: {_allowed_text(at.values)}")
        elif a.value not in at.values:
            bad(
                a.id,
                f"attribute {a.name} value {a.value!r} is not allowed, the schema allows {_allowed_text(at.values)}",
            )
    return problems
