"""brat `annotation.conf` and `visual.conf`: parse into a Schema, write back.

Supported: sections [entities] (tab/space indented hierarchy, `!Type` non-annotatable), [relations]
(`Type Arg1:A|B, Arg2:C[, <REL-TYPE>:symmetric-transitive]`; `<OVERLAP>` lines are kept as a
RelationType named "<OVERLAP>" and ignored by validation; a type listed on several lines gets one
RelationType per line, and an argument pair is allowed when any line allows it), [events] (roles with
cardinality `Role?:`, `Role*:`, `Role+:`, hierarchy, `!`), [attributes] (`Name Arg:T1|T2[, Value:a|b]`;
no Value means binary), `#` comments, and macros (`<NAME>=A|B` defines, later `<NAME>` expands).
`visual.conf`: [labels] `Type | Long | Short ...` (the long label is kept) and [drawing]
`Type bgColor:#hex, ...` (`bgColor`, else `color`, is kept as the colour); other drawing options are
not kept. A kept colour must be `#rgb`, `#rrggbb` or a CSS colour name (`schema.css_colour`), and type
names must match `names.NAME_PATTERN`: anything else is a problem of its line, so a conf carrying CSS or
markup (`red}#note-text{...}`, `url(...)`) is refused whole rather than quietly changed.
Problems are ParseProblem(file, line, message); the load functions raise FormatError.
"""

from __future__ import annotations

import re

from .document import FormatError, ParseProblem
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

__all__ = [
    "parse_annotation_conf",
    "parse_visual_conf",
    "load_schema",
    "write_annotation_conf",
    "write_visual_conf",
]

_SECTIONS = ("entities", "relations", "events", "attributes")
_MACRO_DEF = re.compile(r"^(<[A-Za-z0-9_-]+>)\s*=\s*(.*)$")
_BUILTINS = {"<ANY>", "<ENTITY>", "<RELATION>", "<EVENT>", "<OVERLAP>", "<REL-TYPE>", "<OVL-TYPE>"}
_NAME_RULE = "may hold only letters, digits and _ . : + / - (at most 100, starting with a letter, digit or _)"


def _depth(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _split_args(rest: str) -> list[tuple[str, str]] | None:
    """'Arg1:A|B, Arg2:C' -> [('Arg1', 'A|B'), ('Arg2', 'C')]; None if a part has no ':'."""
    out = []
    for part in rest.split(","):
        part = part.strip()
        if not part:
            continue
        key, sep, value = part.partition(":")
        if not sep or not key.strip():
            return None
        out.append((key.strip(), value.strip()))
    return out


def _types(value: str) -> tuple[str, ...]:
    return tuple(t.strip() for t in value.split("|") if t.strip())


def parse_annotation_conf(content: str, source: str = "annotation.conf") -> tuple[Schema, list[ParseProblem]]:
    """Parse annotation.conf text; returns the Schema (best effort) and every problem found."""
    problems: list[ParseProblem] = []
    macros: dict[str, str] = {}
    entity_types: list[EntityType] = []
    relation_types: list[RelationType] = []
    event_types: list[EventType] = []
    attribute_types: list[AttributeType] = []
    section: str | None = None
    stacks: dict[str, list[tuple[int, str]]] = {"entities": [], "events": []}

    for number, raw in enumerate(content.split("\n"), start=1):
        line = raw.rstrip()
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped[1:-1].strip().lower()
            if section not in _SECTIONS:
                problems.append(ParseProblem(source, number, f"unknown section [{section}]"))
                section = None
            continue
        m = _MACRO_DEF.match(stripped)
        if m:
            macros[m.group(1)] = m.group(2).strip()
            continue
        for name, value in macros.items():
            line = line.replace(name, value)
        if section is None:
            problems.append(ParseProblem(source, number, f"line outside a known section: {stripped[:60]!r}"))
            continue
        depth = _depth(line)
        body = line.strip()
        name, _, rest = body.replace("\t", " ", 1).partition(" ")
        annotatable = not name.startswith("!")
        name = name.lstrip("!")
        if not name:
            problems.append(ParseProblem(source, number, "missing type name"))
            continue
        if name not in _BUILTINS and not is_name(name):
            problems.append(ParseProblem(source, number, f"type name {name[:60]!r} {_NAME_RULE}"))
            continue

        parent = None
        if section in stacks:
            stack = stacks[section]
            while stack and stack[-1][0] >= depth:
                stack.pop()
            parent = stack[-1][1] if stack else None
            stack.append((depth, name))

        args = _split_args(rest)
        if args is None:
            problems.append(
                ParseProblem(source, number, f"{name}: malformed arguments (expected 'Role:Type|Type, ...')")
            )
            continue
        if section == "entities":
            if args:
                problems.append(ParseProblem(source, number, f"{name}: entity lines take no arguments"))
            entity_types.append(EntityType(name=name, parent=parent, annotatable=annotatable))
        elif section == "relations":
            roles = [(k, v) for k, v in args if not k.startswith("<")]
            options = tuple(f"{k}:{v}" for k, v in args if k.startswith("<"))
            if not annotatable and not roles:
                continue  # an abstract grouping node of the relation hierarchy
            if len(roles) != 2:
                problems.append(
                    ParseProblem(source, number, f"{name}: a relation needs exactly two arguments")
                )
                continue
            symmetric = any(o.startswith("<REL-TYPE>:") and "symmetric" in o for o in options)
            relation_types.append(
                RelationType(
                    name=name,
                    arg1_role=roles[0][0],
                    arg1_types=_types(roles[0][1]),
                    arg2_role=roles[1][0],
                    arg2_types=_types(roles[1][1]),
                    symmetric=symmetric,
                    options=options,
                )
            )
        elif section == "events":
            event_roles = []
            for key, value in args:
                card = key[-1] if key[-1] in "?*+" else ""
                event_roles.append(
                    EventRole(name=key[:-1] if card else key, types=_types(value), cardinality=card)
                )
            event_types.append(
                EventType(name=name, roles=tuple(event_roles), parent=parent, annotatable=annotatable)
            )
        else:  # attributes
            targets: tuple[str, ...] = ()
            values: tuple[str, ...] = ()
            for key, value in args:
                if key == "Arg":
                    targets = _types(value)
                elif key == "Value":
                    values = _types(value)
                else:
                    problems.append(
                        ParseProblem(source, number, f"{name}: unknown attribute key {key!r} (Arg or Value)")
                    )
            if not targets:
                problems.append(ParseProblem(source, number, f"{name}: attribute needs 'Arg:Type'"))
                continue
            attribute_types.append(AttributeType(name=name, targets=targets, values=values))

    schema = Schema(
        entity_types=tuple(entity_types),
        relation_types=tuple(relation_types),
        event_types=tuple(event_types),
        attribute_types=tuple(attribute_types),
    )
    return schema, problems


def parse_visual_conf(
    content: str, source: str = "visual.conf"
) -> tuple[dict[str, VisualStyle], list[ParseProblem]]:
    """Parse visual.conf text into type name -> VisualStyle (label and colour) and problems."""
    problems: list[ParseProblem] = []
    labels: dict[str, str] = {}
    colours: dict[str, str] = {}
    section: str | None = None
    for number, raw in enumerate(content.split("\n"), start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped[1:-1].strip().lower()
            if section not in ("labels", "drawing", "options"):
                problems.append(ParseProblem(source, number, f"unknown section [{section}]"))
                section = None
            continue
        if section is None:
            problems.append(ParseProblem(source, number, f"line outside a known section: {stripped[:60]!r}"))
        elif section == "labels":
            parts = [p.strip() for p in stripped.split("|")]
            if len(parts) < 2 or not parts[0] or not parts[1]:
                problems.append(
                    ParseProblem(source, number, "malformed label line (expected 'Type | Long | Short')")
                )
                continue
            if not is_name(parts[0]):
                problems.append(ParseProblem(source, number, f"type name {parts[0][:60]!r} {_NAME_RULE}"))
                continue
            labels[parts[0]] = parts[1]
        elif section == "drawing":
            name, _, rest = stripped.replace("\t", " ", 1).partition(" ")
            args = _split_args(rest)
            if args is None:
                problems.append(
                    ParseProblem(
                        source, number, f"{name}: malformed drawing line (expected 'Type key:value, ...')"
                    )
                )
                continue
            if not is_name(name):
                problems.append(ParseProblem(source, number, f"type name {name[:60]!r} {_NAME_RULE}"))
                continue
            opts = dict(args)
            colour = opts.get("bgColor") or opts.get("color")
            if colour and css_colour(colour) is None:
                problems.append(
                    ParseProblem(
                        source, number, f"{name}: colour {colour[:60]!r} is not #rgb, #rrggbb or a CSS colour name"
                    )
                )
            elif colour:
                colours[name] = colour
    visual = {
        name: VisualStyle(label=labels.get(name), colour=colours.get(name)) for name in {*labels, *colours}
    }
    return dict(sorted(visual.items())), problems


def load_schema(
    annotation_conf: str,
    visual_conf: str | None = None,
    *,
    source: str = "annotation.conf",
    visual_source: str = "visual.conf",
) -> Schema:
    """Parse both files into one Schema; raises FormatError with every problem of both."""
    schema, problems = parse_annotation_conf(annotation_conf, source)
    visual: dict[str, VisualStyle] = {}
    if visual_conf is not None:
        visual, vproblems = parse_visual_conf(visual_conf, visual_source)
        problems += vproblems
    if problems:
        raise FormatError(problems)
    return Schema(
        entity_types=schema.entity_types,
        relation_types=schema.relation_types,
        event_types=schema.event_types,
        attribute_types=schema.attribute_types,
        visual=visual,
    )


def _tree(items: list, out: list[str]) -> None:
    """Write named items with a `parent` as a tab-indented hierarchy, children after their parent."""
    children: dict[str | None, list] = {}
    names = {i.name for i in items}
    for item in items:
        parent = item.parent if item.parent in names else None
        children.setdefault(parent, []).append(item)

    def walk(parent: str | None, depth: int, seen: set[str]) -> None:
        for item in children.get(parent, []):
            if item.name in seen:
                continue
            seen.add(item.name)
            out.append("\t" * depth + ("" if item.annotatable else "!") + item.name + _suffix(item))
            walk(item.name, depth + 1, seen)

    walk(None, 0, set())


def _suffix(item) -> str:
    if isinstance(item, EventType) and item.roles:
        return "\t" + ", ".join(f"{r.name}{r.cardinality}:{'|'.join(r.types)}" for r in item.roles)
    return ""


def write_annotation_conf(schema: Schema) -> str:
    """annotation.conf text for `schema` (all four sections, hierarchy as tab indentation)."""
    out = ["[entities]"]
    _tree(list(schema.entity_types), out)
    out += ["", "[relations]"]
    for rt in schema.relation_types:
        parts = [f"{rt.arg1_role}:{'|'.join(rt.arg1_types)}", f"{rt.arg2_role}:{'|'.join(rt.arg2_types)}"]
        options = list(rt.options)
        if rt.symmetric and not any(o.startswith("<REL-TYPE>:") for o in options):
            options.append("<REL-TYPE>:symmetric")
        out.append(f"{rt.name}\t" + ", ".join(parts + options))
    out += ["", "[events]"]
    _tree(list(schema.event_types), out)
    out += ["", "[attributes]"]
    for at in schema.attribute_types:
        line = f"{at.name}\tArg:{'|'.join(at.targets)}"
        if at.values:
            line += f", Value:{'|'.join(at.values)}"
        out.append(line)
    return "\n".join(out) + "\n"


def write_visual_conf(schema: Schema) -> str:
    """visual.conf text for the labels and colours of `schema.visual`."""
    out = ["[labels]"]
    for name, style in schema.visual.items():
        if style.label:
            out.append(f"{name} | {style.label}")
    out += ["", "[drawing]"]
    for name, style in schema.visual.items():
        if style.colour:
            out.append(f"{name}\tbgColor:{style.colour}")
    return "\n".join(out) + "\n"
