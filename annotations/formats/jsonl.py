"""Our own lossless JSON-lines format: one Document per line, every field of every record in it.

Shape of one line (keys always present when written; optional ones may be omitted when read):
{"id", "text", "label", "metadata", "entities": [{"id", "type", "spans": [[start, end], ...], "text",
"confidence"}], "relations": [{"id", "type", "arg1", "arg2", "arg1_role", "arg2_role", "confidence"}],
"events": [{"id", "type", "trigger", "args": [[role, id], ...]}], "attributes": [{"id", "name", "target",
"value"}], "normalizations": [{"id", "type", "target", "resource", "resource_id", "text"}],
"notes": [{"id", "type", "target", "text"}], "equivalences": [{"type", "members": [...]}]}
"""

from __future__ import annotations

import json
from typing import Any

from .document import (
    AnnotatorNote,
    Attribute,
    Document,
    Entity,
    Equivalence,
    Event,
    Normalization,
    Relation,
    Span,
)

__all__ = ["document_to_dict", "document_from_dict", "dumps_document", "loads_document"]


def document_to_dict(doc: Document) -> dict[str, Any]:
    """A JSON-ready dict holding everything in `doc`."""
    return {
        "id": doc.id,
        "text": doc.text,
        "label": doc.label,
        "metadata": doc.metadata,
        "entities": [
            {
                "id": e.id,
                "type": e.type,
                "spans": [[s.start, s.end] for s in e.spans],
                "text": e.text,
                "confidence": e.confidence,
            }
            for e in doc.entities
        ],
        "relations": [
            {
                "id": r.id,
                "type": r.type,
                "arg1": r.arg1,
                "arg2": r.arg2,
                "arg1_role": r.arg1_role,
                "arg2_role": r.arg2_role,
                "confidence": r.confidence,
            }
            for r in doc.relations
        ],
        "events": [
            {"id": e.id, "type": e.type, "trigger": e.trigger, "args": [[role, arg] for role, arg in e.args]}
            for e in doc.events
        ],
        "attributes": [
            {"id": a.id, "name": a.name, "target": a.target, "value": a.value} for a in doc.attributes
        ],
        "normalizations": [
            {
                "id": n.id,
                "type": n.type,
                "target": n.target,
                "resource": n.resource,
                "resource_id": n.resource_id,
                "text": n.text,
            }
            for n in doc.normalizations
        ],
        "notes": [{"id": n.id, "type": n.type, "target": n.target, "text": n.text} for n in doc.notes],
        "equivalences": [{"type": q.type, "members": list(q.members)} for q in doc.equivalences],
    }


def _str(d: dict, key: str, default: str | None = None) -> str:
    value = d.get(key, default)
    if not isinstance(value, str):
        raise ValueError(f"{key!r} must be a string, got {type(value).__name__}")
    return value


def _opt_float(d: dict, key: str) -> float | None:
    value = d.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise ValueError(f"{key!r} must be a number or null")
    return None if value is None else float(value)


def document_from_dict(d: Any) -> Document:
    """Build a Document from `document_to_dict` output; raises ValueError saying which field is wrong."""
    if not isinstance(d, dict):
        raise ValueError("each line must be a JSON object")
    try:
        entities = []
        for e in d.get("entities", []):
            spans = tuple(Span(int(s), int(t)) for s, t in e["spans"])
            entities.append(
                Entity(
                    id=_str(e, "id"),
                    type=_str(e, "type"),
                    spans=spans,
                    text=_str(e, "text", ""),
                    confidence=_opt_float(e, "confidence"),
                )
            )
        relations = [
            Relation(
                id=_str(r, "id"),
                type=_str(r, "type"),
                arg1=_str(r, "arg1"),
                arg2=_str(r, "arg2"),
                arg1_role=_str(r, "arg1_role", "Arg1"),
                arg2_role=_str(r, "arg2_role", "Arg2"),
                confidence=_opt_float(r, "confidence"),
            )
            for r in d.get("relations", [])
        ]
        events = [
            Event(
                id=_str(e, "id"),
                type=_str(e, "type"),
                trigger=_str(e, "trigger"),
                args=tuple((str(role), str(arg)) for role, arg in e.get("args", [])),
            )
            for e in d.get("events", [])
        ]
        attributes = []
        for a in d.get("attributes", []):
            value = a.get("value")
            if value is not None and not isinstance(value, str):
                raise ValueError("attribute 'value' must be a string or null")
            attributes.append(
                Attribute(id=_str(a, "id"), name=_str(a, "name"), target=_str(a, "target"), value=value)
            )
        normalizations = [
            Normalization(
                id=_str(n, "id"),
                target=_str(n, "target"),
                resource=_str(n, "resource"),
                resource_id=_str(n, "resource_id"),
                text=_str(n, "text", ""),
                type=_str(n, "type", "Reference"),
            )
            for n in d.get("normalizations", [])
        ]
        notes = [
            AnnotatorNote(
                id=_str(n, "id"),
                target=_str(n, "target"),
                text=_str(n, "text", ""),
                type=_str(n, "type", "AnnotatorNotes"),
            )
            for n in d.get("notes", [])
        ]
        equivalences = [
            Equivalence(type=_str(q, "type"), members=tuple(str(m) for m in q["members"]))
            for q in d.get("equivalences", [])
        ]
        label = d.get("label")
        if label is not None and not isinstance(label, str):
            raise ValueError("'label' must be a string or null")
        metadata = d.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise ValueError("'metadata' must be an object")
        return Document(
            id=_str(d, "id"),
            text=_str(d, "text"),
            entities=tuple(entities),
            relations=tuple(relations),
            events=tuple(events),
            attributes=tuple(attributes),
            normalizations=tuple(normalizations),
            notes=tuple(notes),
            equivalences=tuple(equivalences),
            label=label,
            metadata=metadata,
        )
    except KeyError as exc:
        raise ValueError(f"missing field {exc.args[0]!r}") from exc
    except (TypeError, AttributeError) as exc:
        raise ValueError(f"wrong shape: {exc}") from exc


def dumps_document(doc: Document) -> str:
    """One JSON line (no newline) for `doc`; non-ASCII kept as is."""
    return json.dumps(document_to_dict(doc), ensure_ascii=False, separators=(",", ":"))


def loads_document(line: str) -> Document:
    """Parse one JSON line; raises ValueError."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON: {exc.msg} at column {exc.colno}") from exc
    return document_from_dict(data)
