"""Plain, framework-free records for one annotated document.

Every format reader produces these and every writer consumes them; the Django
services translate them to and from rows, and the ML core reads them directly.
Offsets are 0-based, end-exclusive, in Unicode code points of the decoded text.
IDs are the document-local brat ids ("T1", "R3", "E2", ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Entity:
    """A text-bound annotation; more than one span makes it discontinuous."""

    id: str
    type: str
    spans: tuple[Span, ...]
    text: str
    confidence: float | None = None

    @property
    def start(self) -> int:
        return min(s.start for s in self.spans)

    @property
    def end(self) -> int:
        return max(s.end for s in self.spans)


@dataclass(frozen=True, slots=True)
class Relation:
    """A binary relation; arguments are ids of entities or events."""

    id: str
    type: str
    arg1: str
    arg2: str
    arg1_role: str = "Arg1"
    arg2_role: str = "Arg2"
    confidence: float | None = None


@dataclass(frozen=True, slots=True)
class Event:
    """A brat event: a trigger entity and role arguments (entities or events).

    Roles are kept verbatim, including numbered repeats such as "Theme2".
    """

    id: str
    type: str
    trigger: str
    args: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Attribute:
    """An attribute of an entity, relation or event; value None means binary."""

    id: str
    name: str
    target: str
    value: str | None = None


@dataclass(frozen=True, slots=True)
class Normalization:
    """A link to a knowledge base, e.g. MedDRA:10019211."""

    id: str
    target: str
    resource: str
    resource_id: str
    text: str = ""
    type: str = "Reference"


@dataclass(frozen=True, slots=True)
class AnnotatorNote:
    id: str
    target: str
    text: str
    type: str = "AnnotatorNotes"


@dataclass(frozen=True, slots=True)
class Equivalence:
    type: str
    members: tuple[str, ...]


@dataclass(frozen=True)
class Document:
    """One note and everything annotated on it.

    `id` is the external id (the brat file stem, a PubMed id, ...). `label` is a
    note-level ADE verdict ("ade", "no_ade", "uncertain") when the source has one.
    """

    id: str
    text: str
    entities: tuple[Entity, ...] = ()
    relations: tuple[Relation, ...] = ()
    events: tuple[Event, ...] = ()
    attributes: tuple[Attribute, ...] = ()
    normalizations: tuple[Normalization, ...] = ()
    notes: tuple[AnnotatorNote, ...] = ()
    equivalences: tuple[Equivalence, ...] = ()
    label: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ParseProblem:
    """Why a line of an input file could not be used; `line` is 1-based, 0 when the whole file."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}" if self.line else f"{self.file}: {self.message}"


class FormatError(ValueError):
    """A document that cannot be read; carries every problem found in it."""

    def __init__(self, problems: list[ParseProblem] | ParseProblem):
        self.problems = problems if isinstance(problems, list) else [problems]
        super().__init__("; ".join(str(p) for p in self.problems))
