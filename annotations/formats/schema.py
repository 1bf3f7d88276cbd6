"""Annotation schema with brat annotation.conf / visual.conf semantics (framework-free)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class EntityType:
    """`annotatable` False is brat's `!Type`: a grouping node of the hierarchy, not usable on text."""

    name: str
    parent: str | None = None
    annotatable: bool = True


@dataclass(frozen=True, slots=True)
class RelationType:
    """Allowed argument types per role; "<ANY>" allows any type (brat)."""

    name: str
    arg1_role: str = "Arg1"
    arg1_types: tuple[str, ...] = ("<ANY>",)
    arg2_role: str = "Arg2"
    arg2_types: tuple[str, ...] = ("<ANY>",)
    symmetric: bool = False
    # Extra `<KEY>:value` parts of the annotation.conf line, verbatim (e.g. "<OVL-TYPE>:contain").
    options: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class EventRole:
    """A role of an event type; `cardinality` is "", "?", "*" or "+" as in annotation.conf."""

    name: str
    types: tuple[str, ...]
    cardinality: str = ""


@dataclass(frozen=True, slots=True)
class EventType:
    name: str
    roles: tuple[EventRole, ...] = ()
    parent: str | None = None
    annotatable: bool = True


@dataclass(frozen=True, slots=True)
class AttributeType:
    """`targets` are entity / relation / event type names (or "<ENTITY>", "<RELATION>", "<EVENT>");
    empty `values` means a binary attribute."""

    name: str
    targets: tuple[str, ...]
    values: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class VisualStyle:
    label: str | None = None
    colour: str | None = None


@dataclass(frozen=True)
class Schema:
    entity_types: tuple[EntityType, ...] = ()
    relation_types: tuple[RelationType, ...] = ()
    event_types: tuple[EventType, ...] = ()
    attribute_types: tuple[AttributeType, ...] = ()
    visual: dict[str, VisualStyle] = field(default_factory=dict)
