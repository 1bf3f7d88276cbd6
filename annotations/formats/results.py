"""What a reader yields for one document."""

from __future__ import annotations

from dataclasses import dataclass, field

from .document import Document, ParseProblem


@dataclass(frozen=True)
class ReadResult:
    """One document read from a corpus, or why it could not be read.

    `source` is the file name shown to users (the `.ann` path inside the corpus, the `.rel` file, ...);
    `document` is None when any problem was found; `lines` maps an annotation id to its 1-based line in
    the source (equivalences, which have no id, are keyed "*1", "*2", ... in file order) so that later
    schema problems can be reported as file:line.
    """

    source: str
    document: Document | None
    problems: list[ParseProblem] = field(default_factory=list)
    lines: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.document is not None and not self.problems
