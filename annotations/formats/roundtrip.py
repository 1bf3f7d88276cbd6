"""Format-level round trip of a whole corpus: read -> write brat -> parse -> compare (canonical form).

Run as a script: `python -m annotations.formats.roundtrip PATH [FORMAT]` prints the counts and any
difference; the exit status is 1 when a document could not be read or did not round-trip.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, field

from .brat import parse_ann, write_ann
from .canonical import canonical_diff
from .registry import read_corpus

__all__ = ["RoundTripReport", "round_trip_corpus"]


@dataclass
class RoundTripReport:
    """`counts` of documents and annotations by kind, `problems` from reading, `differences` by source."""

    counts: Counter = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    differences: dict[str, list[str]] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems and not self.differences


def round_trip_corpus(
    path: str | os.PathLike, fmt: str = "brat", *, limit: int | None = None
) -> RoundTripReport:
    """Read every document of the corpus, write it as `.ann`, parse that back and compare.

    The note label is not part of brat and is left out of the comparison. Streams the corpus.
    """
    report = RoundTripReport()
    started = time.perf_counter()
    for i, result in enumerate(read_corpus(path, fmt)):
        if limit is not None and i >= limit:
            break
        report.problems.extend(str(p) for p in result.problems)
        doc = result.document
        if doc is None:
            continue
        again, problems, _ = parse_ann(write_ann(doc), doc.text, doc_id=doc.id, source=result.source)
        diff = [str(p) for p in problems] + canonical_diff(dataclasses.replace(doc, label=None), again)
        if diff:
            report.differences[result.source] = diff
        report.counts["documents"] += 1
        for kind, group in (
            ("T", doc.entities),
            ("R", doc.relations),
            ("E", doc.events),
            ("A", doc.attributes),
            ("N", doc.normalizations),
            ("#", doc.notes),
            ("*", doc.equivalences),
        ):
            report.counts[kind] += len(group)
        report.counts["discontinuous"] += sum(len(e.spans) > 1 for e in doc.entities)
    report.seconds = time.perf_counter() - started
    return report


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print("usage: python -m annotations.formats.roundtrip PATH [FORMAT]", file=sys.stderr)
        return 2
    report = round_trip_corpus(argv[0], argv[1] if len(argv) > 1 else "brat")
    print(f"{argv[0]}: {dict(report.counts)} in {report.seconds:.2f}s")
    for problem in report.problems:
        print(f"problem: {problem}")
    for source, diff in report.differences.items():
        print(f"{source}: " + "; ".join(diff[:5]))
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
