"""Annotation schema with brat annotation.conf / visual.conf semantics (framework-free)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Relation types that state an adverse drug event (drug -> reaction): a note's ADE evidence, what the note
# classifier learns as positive, and what a reviewer may cite. A project's schema may name either.
ADE_RELATION_NAMES = ("Adverse-Effect", "ADE")

# The 148 named colours of CSS Color Module Level 4 (lower case; CSS names are case-insensitive).
CSS_NAMED_COLOURS = frozenset(
    """
    aliceblue antiquewhite aqua aquamarine azure beige bisque black blanchedalmond blue blueviolet brown
    burlywood cadetblue chartreuse chocolate coral cornflowerblue cornsilk crimson cyan darkblue darkcyan
    darkgoldenrod darkgray darkgreen darkgrey darkkhaki darkmagenta darkolivegreen darkorange darkorchid
    darkred darksalmon darkseagreen darkslateblue darkslategray darkslategrey darkturquoise darkviolet
    deeppink deepskyblue dimgray dimgrey dodgerblue firebrick floralwhite forestgreen fuchsia gainsboro
    ghostwhite gold goldenrod gray green greenyellow grey honeydew hotpink indianred indigo ivory khaki
    lavender lavenderblush lawngreen lemonchiffon lightblue lightcoral lightcyan lightgoldenrodyellow
    lightgray lightgreen lightgrey lightpink lightsalmon lightseagreen lightskyblue lightslategray
    lightslategrey lightsteelblue lightyellow lime limegreen linen magenta maroon mediumaquamarine
    mediumblue mediumorchid mediumpurple mediumseagreen mediumslateblue mediumspringgreen
    mediumturquoise mediumvioletred midnightblue mintcream mistyrose moccasin navajowhite navy oldlace
    olive olivedrab orange orangered orchid palegoldenrod palegreen paleturquoise palevioletred
    papayawhip peachpuff peru pink plum powderblue purple rebeccapurple red rosybrown royalblue
    saddlebrown salmon sandybrown seagreen seashell sienna silver skyblue slateblue slategray slategrey
    snow springgreen steelblue tan teal thistle tomato turquoise violet wheat white whitesmoke yellow
    yellowgreen
    """.split()
)
_HEX_COLOUR = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")


def css_colour(value: str | None) -> str | None:
    """`value` if it is a colour the app writes into CSS (`#rgb`, `#rrggbb` or a CSS colour name), else None.

    The one colour rule: visual.conf is checked with it on parse and the editor's stylesheet on render, so
    a colour can never carry other CSS (`red}#note-text{...}`, `url(...)`)."""
    if not isinstance(value, str):
        return None
    if _HEX_COLOUR.fullmatch(value) or value.lower() in CSS_NAMED_COLOURS:
        return value
    return None


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
    """`colour` passed `css_colour` when read from visual.conf; a stored one is checked again on render."""

    label: str | None = None
    colour: str | None = None


@dataclass(frozen=True)
class Schema:
    entity_types: tuple[EntityType, ...] = ()
    relation_types: tuple[RelationType, ...] = ()
    event_types: tuple[EventType, ...] = ()
    attribute_types: tuple[AttributeType, ...] = ()
    visual: dict[str, VisualStyle] = field(default_factory=dict)

    def display_name(self, name: str) -> str:
        """The name people read for a type (entity, event, relation, attribute): its visual.conf label, else
        the name as the schema spells it. The one place that decides it: toolbar, panels and lists all ask."""
        style = self.visual.get(name)
        return style.label if style is not None and style.label else name

    def text_types(self) -> list[str]:
        """The annotatable types of text-bound annotations: entity types, then event types (an event's
        trigger is a text span of its event's type), in schema order, each once."""
        names = [t.name for t in self.entity_types if t.annotatable]
        names += [t.name for t in self.event_types if t.annotatable and t.name not in names]
        return names
