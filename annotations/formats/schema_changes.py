"""Changes to a Schema as plain functions (framework-free): a type's display name and colour, renaming or
merging a type together with every reference to it, adding types, and the check that says which
annotations of a document a changed schema would break.

The services in `annotations.services.schema_editing` lock, write the rows and audit; everything here is
pure, so the rules are the same for the schema page, the API and any script. Errors are
`SchemaChangeError(code, message)`; the services turn them into the application error.

Kinds: "entity", "event", "relation", "attribute". An event's trigger is a text-bound annotation of its
event's type (brat), so an event type names entities too (see `document_type_rename`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace

from .document import Document
from .names import is_name
from .schema import (
    AttributeType,
    EntityType,
    EventRole,
    EventType,
    RelationType,
    Schema,
    VisualStyle,
    css_colour,
)
from .validation import document_problems

__all__ = [
    "KINDS",
    "LABEL_MAX",
    "Break",
    "SchemaChangeError",
    "breaking_annotations",
    "document_type_rename",
    "kinds_of",
    "label_problem",
    "names_of",
    "same_rules",
    "type_rename",
    "type_style_set",
    "types_add",
]

KINDS = ("entity", "event", "relation", "attribute")
LABEL_MAX = 60
_NAME_RULE = "may hold only letters, digits and _ . : + / - (at most 100, starting with a letter, digit or _)"


class SchemaChangeError(ValueError):
    """A schema change that cannot be made as asked; `code` is stable, `message` says what to do."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


# --- lookups -------------------------------------------------------------------------------------------


def names_of(schema: Schema, kind: str) -> tuple[str, ...]:
    """The type names of one kind, in schema order, each once (a relation type may have several lines)."""
    items = {
        "entity": schema.entity_types,
        "event": schema.event_types,
        "relation": [r for r in schema.relation_types if r.name != "<OVERLAP>"],
        "attribute": schema.attribute_types,
    }[kind]
    return tuple(dict.fromkeys(item.name for item in items))


def kinds_of(schema: Schema, name: str) -> tuple[str, ...]:
    """The kinds that define `name` (usually one; empty when the schema lacks it)."""
    return tuple(kind for kind in KINDS if name in names_of(schema, kind))


def same_rules(a: Schema | None, b: Schema | None) -> bool:
    """Whether two schemas accept the same annotations (everything but visual.conf is equal)."""
    if a is None or b is None:
        return a is b
    return (a.entity_types, a.relation_types, a.event_types, a.attribute_types) == (
        b.entity_types, b.relation_types, b.event_types, b.attribute_types,
    )


# --- display name and colour ---------------------------------------------------------------------------


def label_problem(label: str) -> str | None:
    """Why `label` cannot be a display name, or None when it can.

    At most LABEL_MAX characters, no control or format characters (a newline would start a new visual.conf
    line, a bidi override would make a label read as something else) and no `|` (visual.conf's separator).
    Markup is allowed: every page escapes labels."""
    if len(label) > LABEL_MAX:
        return f"A display name may have at most {LABEL_MAX} characters (this one has {len(label)})."
    if any(unicodedata.category(c)[0] == "C" or unicodedata.category(c) in ("Zl", "Zp") for c in label):
        return "A display name may not contain control characters (line breaks, tabs, direction overrides)."
    if "|" in label:
        return "A display name may not contain '|' (visual.conf separates labels with it)."
    return None


def type_style_set(schema: Schema, name: str, *, label: str | None, colour: str | None) -> Schema:
    """`schema` with the display name and colour of type `name` replaced (None or "" clears either).

    Errors: `unknown_type`, `bad_label` (`label_problem`), `bad_colour` (not `#rgb`, `#rrggbb` or a CSS
    colour name: `schema.css_colour`, the one colour rule)."""
    if not kinds_of(schema, name):
        raise SchemaChangeError("unknown_type", f"The schema has no type {name!r}.")
    label = (label or "").strip() or None
    if label is not None and (problem := label_problem(label)):
        raise SchemaChangeError("bad_label", problem)
    colour = (colour or "").strip() or None
    if colour is not None and css_colour(colour) is None:
        raise SchemaChangeError(
            "bad_colour", f"{colour[:40]!r} is not a colour: use #rgb, #rrggbb or a CSS colour name such as teal."
        )
    visual = dict(schema.visual)
    if label is None and colour is None:
        visual.pop(name, None)
    else:
        visual[name] = VisualStyle(label=label, colour=colour)
    return replace(schema, visual=dict(sorted(visual.items())))


# --- rename and merge ----------------------------------------------------------------------------------


def _sub(names: tuple[str, ...], old: str, new: str) -> tuple[str, ...]:
    """`names` with `old` replaced by `new`, each name once (a merge can make `Drug|Drug`)."""
    return tuple(dict.fromkeys(new if n == old else n for n in names))


def _ancestors(items, name: str) -> set[str]:
    parent = {i.name: i.parent for i in items}
    out: set[str] = set()
    current = parent.get(name)
    while current and current not in out:
        out.add(current)
        current = parent.get(current)
    return out


def _renamed_tree(items: tuple, old: str, new: str, merge: bool) -> tuple:
    """Entity or event types with `old` renamed (or, merging, dropped) and its children moved under `new`.

    Merging into one of `old`'s own descendants would make a cycle: the child of `old` on the way to `new`
    (or `new` itself) moves up to `old`'s parent instead."""
    old_item = next(i for i in items if i.name == old)
    above_new = _ancestors(items, new) | {new}
    out = []
    for item in items:
        if item.name == old:
            if merge:
                continue
            item = replace(item, name=new)
        if item.parent == old:
            item = replace(item, parent=old_item.parent if merge and item.name in above_new else new)
        out.append(item)
    return tuple(out)


def type_rename(schema: Schema, kind: str, old: str, new: str) -> Schema:
    """`schema` with type `old` of `kind` called `new` everywhere: its own definition, the hierarchy,
    relation argument types, event role types, attribute targets and visual.conf.

    When `new` is already a type of the same kind this is a merge: `new` keeps its own definition (and its
    display name and colour, else takes `old`'s), `old`'s children move under `new`, and every reference
    to `old` now names `new`. Whether the annotations then still fit is for `breaking_annotations` to say.

    Errors: `bad_kind`, `unknown_type`, `bad_name`, `same_name`, `cross_kind` (`new` is a type of another
    kind), `ambiguous_type` (`old` is both an entity and an event type), `grouping_target` (merging into
    a `!Type` grouping node, which cannot be annotated)."""
    if kind not in KINDS:
        raise SchemaChangeError("bad_kind", f"The kind must be one of {', '.join(KINDS)}.")
    if old not in names_of(schema, kind):
        raise SchemaChangeError("unknown_type", f"The schema has no {kind} type {old!r}.")
    if not is_name(new):
        raise SchemaChangeError("bad_name", f"The new name {new[:60]!r} {_NAME_RULE}.")
    if new == old:
        raise SchemaChangeError("same_name", f"{old} is already called {new}.")
    others = [k for k in kinds_of(schema, new) if k != kind]
    if others and new not in names_of(schema, kind):
        raise SchemaChangeError(
            "cross_kind", f"{new} is {'an' if others[0][0] in 'aeiou' else 'a'} {others[0]} type: a {kind} type "
            "can only be merged into another type of its own kind.",
        )
    if kind in ("entity", "event") and set(kinds_of(schema, old)) >= {"entity", "event"}:
        raise SchemaChangeError(
            "ambiguous_type", f"{old} is both an entity and an event type; fix annotation.conf before renaming it."
        )
    merge = new in names_of(schema, kind)
    shared = any(k != kind for k in kinds_of(schema, old))
    if merge and kind in ("entity", "event"):
        target = next(t for t in (schema.entity_types if kind == "entity" else schema.event_types) if t.name == new)
        if not target.annotatable:
            raise SchemaChangeError(
                "grouping_target", f"{new} is a grouping type (!{new}) and cannot be annotated: merge into one of its "
                "annotatable types.",
            )

    entity_types, event_types = schema.entity_types, schema.event_types
    relation_types, attribute_types = schema.relation_types, schema.attribute_types
    if kind == "entity":
        entity_types = _renamed_tree(entity_types, old, new, merge)
    elif kind == "event":
        event_types = _renamed_tree(event_types, old, new, merge)
    if kind in ("entity", "event"):  # types of text: relation and event arguments name them
        relation_types = tuple(
            replace(r, arg1_types=_sub(r.arg1_types, old, new), arg2_types=_sub(r.arg2_types, old, new))
            for r in relation_types
        )
        event_types = tuple(
            replace(e, roles=tuple(EventRole(r.name, _sub(r.types, old, new), r.cardinality) for r in e.roles))
            for e in event_types
        )
    if kind == "relation":  # every line of `old` (a type may have several); merging, the target's lines only
        relation_types = tuple(
            replace(r, name=new) if r.name == old else r for r in relation_types if not (merge and r.name == old)
        )
    if kind == "attribute":
        if merge:
            attribute_types = tuple(a for a in attribute_types if a.name != old)
        else:
            attribute_types = tuple(replace(a, name=new) if a.name == old else a for a in attribute_types)
    elif kind in ("entity", "event", "relation"):  # attributes may target any of these
        # A target names a type of any kind: when `old` stays the name of a type of another kind (brat
        # schemas name an entity and a relation "Adverse-Effect"), the target keeps naming that one too.
        keep = (new, old) if shared else (new,)
        attribute_types = tuple(
            replace(a, targets=tuple(dict.fromkeys(t for n in a.targets for t in (keep if n == old else (n,)))))
            for a in attribute_types
        )

    # visual.conf is keyed by name alone: a name shared with another kind keeps its style there as well.
    visual = dict(schema.visual)
    style = visual.get(old) if shared else visual.pop(old, None)
    if style is not None and new not in visual:
        visual[new] = style
    return Schema(
        entity_types=entity_types,
        relation_types=relation_types,
        event_types=event_types,
        attribute_types=attribute_types,
        visual=dict(sorted(visual.items())),
    )


def document_type_rename(doc: Document, kind: str, old: str, new: str) -> Document:
    """`doc` with its annotations of type `old` (`kind`) called `new`, as `type_rename` does to the rows.

    An event type also names its triggers (text-bound annotations of the event's type)."""
    if kind in ("entity", "event"):
        doc = replace(doc, entities=tuple(replace(e, type=new) if e.type == old else e for e in doc.entities))
    if kind == "event":
        doc = replace(doc, events=tuple(replace(e, type=new) if e.type == old else e for e in doc.events))
    if kind == "relation":
        doc = replace(
            doc,
            relations=tuple(replace(r, type=new) if r.type == old else r for r in doc.relations),
            equivalences=tuple(replace(q, type=new) if q.type == old else q for q in doc.equivalences),
        )
    if kind == "attribute":
        doc = replace(doc, attributes=tuple(replace(a, name=new) if a.name == old else a for a in doc.attributes))
    return doc


# --- adding types --------------------------------------------------------------------------------------


def types_add(
    schema: Schema | None,
    *,
    entity_types: Iterable[EntityType | str] = (),
    relation_types: Iterable[RelationType | str] = (),
    event_types: Iterable[EventType | str] = (),
    attribute_types: Iterable[AttributeType | str] = (),
) -> tuple[Schema, list[tuple[str, str]]]:
    """`schema` with the types it lacks added; returns it and the (kind, name) pairs added.

    A bare name becomes the loosest type of its kind (a top-level entity, a relation between any types, an
    event without roles, a binary attribute of anything). A type the schema already has is left as it is.
    Errors: `bad_name`, `cross_kind` (the name is a type of another kind), `unknown_parent`."""
    schema = schema or Schema()
    given = {
        "entity": [EntityType(t) if isinstance(t, str) else t for t in entity_types],
        "relation": [RelationType(t) if isinstance(t, str) else t for t in relation_types],
        "event": [EventType(t) if isinstance(t, str) else t for t in event_types],
        "attribute": [AttributeType(t, ("<ANY>",)) if isinstance(t, str) else t for t in attribute_types],
    }
    added: list[tuple[str, str]] = []
    new_items: dict[str, list] = {kind: [] for kind in KINDS}
    for kind in KINDS:
        for item in given[kind]:
            if not is_name(item.name):
                raise SchemaChangeError("bad_name", f"The type name {item.name[:60]!r} {_NAME_RULE}.")
            if item.name in names_of(schema, kind) or (kind, item.name) in added:
                continue
            other = [k for k in kinds_of(schema, item.name) if k != kind]
            other += [k for k, n in added if n == item.name and k != kind]
            if other:
                raise SchemaChangeError("cross_kind", f"{item.name} is already a {other[0]} type.")
            new_items[kind].append(item)
            added.append((kind, item.name))
    for kind in ("entity", "event"):
        known = set(names_of(schema, kind)) | {i.name for i in new_items[kind]}
        for item in new_items[kind]:
            if item.parent and item.parent not in known:
                raise SchemaChangeError("unknown_parent", f"{item.name}: its parent {item.parent} is not a {kind} type.")
    return (
        replace(
            schema,
            entity_types=schema.entity_types + tuple(new_items["entity"]),
            relation_types=schema.relation_types + tuple(new_items["relation"]),
            event_types=schema.event_types + tuple(new_items["event"]),
            attribute_types=schema.attribute_types + tuple(new_items["attribute"]),
        ),
        added,
    )


# --- what a change breaks ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Break:
    """An annotation that fits the old schema and not the new one: its id, kind, type (as it was) and why
    (the rule check's message: ids and type names, never text)."""

    id: str
    kind: str
    type: str
    message: str


def _problems_by_id(doc: Document, schema: Schema | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for problem in document_problems(doc, schema):
        ann_id, sep, _ = problem.message.partition(": ")
        out.setdefault(ann_id if sep else "", problem.message)
    return out


def breaking_annotations(
    before: Document, before_schema: Schema | None, after: Document, after_schema: Schema
) -> list[Break]:
    """The annotations of `after` that break `after_schema` although `before` fit `before_schema`.

    `after` is `before` with any renames applied (same ids). An annotation that broke a rule already before
    is not counted: a change is refused for what it breaks, not for what was broken."""
    already = _problems_by_id(before, before_schema)
    kinds = {
        **{e.id: ("entity", e.type) for e in before.entities},
        **{r.id: ("relation", r.type) for r in before.relations},
        **{e.id: ("event", e.type) for e in before.events},
        **{a.id: ("attribute", a.name) for a in before.attributes},
    }
    out = []
    for ann_id, message in _problems_by_id(after, after_schema).items():
        if ann_id in already or ann_id not in kinds:
            continue
        kind, type_ = kinds[ann_id]
        out.append(Break(ann_id, kind, type_, message))
    return out
