"""What a corpus is and what went wrong with it, for people: the format its file names point to, and a
summary of the problems an import found (counts per reason, the types the schema lacks, what to do).

Framework-free: the import service, the job page, the API and the CLI all call these.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

from .document import ParseProblem

__all__ = [
    "detect_format",
    "format_mismatch_hint",
    "problem_parse",
    "problems_summarise",
    "ProblemSummary",
    "ReasonCount",
    "UnknownType",
    "UNKNOWN_TYPE_ADVICE",
]

_PUBTATOR_LINE = re.compile(rb"^\s*[^|\s]+\|[ta]\|")
_JSON_SUFFIXES = (".jsonl", ".ndjson", ".json")


def detect_format(names: Iterable[str], *, peek: Callable[[str], bytes] | None = None) -> str | None:
    """The import format the member names of a corpus point to, or None when they point to none.

    Args: `names`: the corpus's member paths (a .zip's members, a folder's files, or one file's name);
    `peek(name)`: optionally the first bytes of a member, to tell PubTator from plain notes among `.txt`.
    Result: "ade" (a DRUG-AE.rel), "brat" (any `.ann`, or plain `.txt` notes), "fhir" (`.json` / `.ndjson`
    whose first bytes name a FHIR `resourceType`), "jsonl" (other `.jsonl`, `.ndjson`, `.json`), "pubtator"
    (`.pubtator`, or `.txt` whose first line is `PMID|t|...`), or None.
    """
    paths = [PurePosixPath(n) for n in names if n and not PurePosixPath(n).name.startswith(".")]
    basenames = {p.name for p in paths}
    suffixes = Counter(p.suffix.lower() for p in paths)
    if "DRUG-AE.rel" in basenames:
        return "ade"
    if suffixes[".ann"]:
        return "brat"
    jsons = [p for p in paths if p.suffix.lower() in _JSON_SUFFIXES]
    if jsons:
        # FHIR (a Bundle, or NDJSON of resources) and our JSON lines share suffixes: the first bytes tell.
        if peek is not None and any(_peeks_fhir(peek, str(p)) for p in jsons[:3]):
            return "fhir"
        return "jsonl"
    if suffixes[".pubtator"]:
        return "pubtator"
    texts = [p for p in paths if p.suffix.lower() == ".txt" and p.name.lower() != "readme.txt"]
    if not texts:
        return None
    if peek is not None:
        try:
            head = peek(str(texts[0]))
        except Exception:  # noqa: BLE001 - an unreadable member says nothing about the format
            head = b""
        if _PUBTATOR_LINE.match(head or b""):
            return "pubtator"
    return "brat"


def _peeks_fhir(peek: Callable[[str], bytes], name: str) -> bool:
    try:
        head = peek(name)
    except Exception:  # noqa: BLE001 - an unreadable member says nothing about the format
        return False
    return b'"resourceType"' in (head or b"")[:1024]


def format_mismatch_hint(fmt: str, detected: str | None) -> str:
    """A sentence for an import that read nothing as `fmt`: which format the files look like instead."""
    if detected and detected != fmt:
        return f"the files look like {detected}: import again with format {detected} (or auto)"
    expected = {
        "brat": ".txt/.ann pairs",
        "ade": "DRUG-AE.rel (ADE-Corpus-V2)",
        "jsonl": ".jsonl files, one JSON document per line",
        "pubtator": ".txt or .pubtator files of PMID|t| / PMID|a| blocks",
        "fhir": "a FHIR R4 Bundle (.json) or NDJSON (.ndjson) of DocumentReference resources",
    }.get(fmt, "files of that format")
    return f"a {fmt} corpus holds {expected}"


# ------------------------------------------------------------------------------------------- problems

UNKNOWN_TYPE_ADVICE = (
    "These types are not in the project's schema. Give the corpus an annotation.conf (at the root of the "
    ".zip) that declares them, or extend the project's schema, then import again."
)
_PROBLEM = re.compile(r"^(?P<file>[^\s:][^:]*?):(?:(?P<line>\d+):)? (?P<message>.+)$", re.DOTALL)
_UNKNOWN = re.compile(r"\b(?P<kind>entity|relation|event) type (?P<name>\S+) is not in the schema")
_UNKNOWN_ATTRIBUTE = re.compile(r"\battribute (?P<name>\S+) is not in the schema")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_ID = re.compile(r"\b[TREAN]\d+\b|#\d+|\*\d+")
_NUMBER = re.compile(r"\b\d+\b")


def problem_parse(text: str) -> ParseProblem:
    """The (file, line, message) of a problem stored as text (`str(ParseProblem)`: "file:line: message" or
    "file: message"); text of another shape is a message without a file."""
    match = _PROBLEM.match(text or "")
    if match is None:
        return ParseProblem("", 0, text or "")
    return ParseProblem(match["file"], int(match["line"] or 0), match["message"])


@dataclass(frozen=True)
class ReasonCount:
    reason: str
    count: int


@dataclass(frozen=True)
class UnknownType:
    kind: str  # entity | relation | event | attribute
    name: str
    count: int


@dataclass(frozen=True)
class ProblemSummary:
    """Problems grouped: `reasons` most frequent first, each type the schema lacks once, and what to do."""

    total: int
    reasons: tuple[ReasonCount, ...]
    unknown_types: tuple[UnknownType, ...]
    advice: str

    def to_dict(self) -> dict:
        return {
            "total": self.total,
            "reasons": [{"reason": r.reason, "count": r.count} for r in self.reasons],
            "unknown_types": [{"kind": u.kind, "name": u.name, "count": u.count} for u in self.unknown_types],
            "advice": self.advice,
        }


def _reason(message: str) -> tuple[str, tuple[str, str] | None]:
    unknown = _UNKNOWN.search(message)
    if unknown:
        return f"{unknown['kind']} type not in the schema", (unknown["kind"], unknown["name"])
    attribute = _UNKNOWN_ATTRIBUTE.search(message)
    if attribute:
        return "attribute not in the schema", ("attribute", attribute["name"])
    generic = _NUMBER.sub("N", _ID.sub("ID", _QUOTED.sub("'…'", message))).strip()
    return generic[:300], None


def problems_summarise(problems: Iterable[ParseProblem | str]) -> ProblemSummary:
    """Group problems by reason (the message without its file, line, ids, numbers and quoted values).

    Args: ParseProblems, or their text (`str(ParseProblem)`, parsed back with `problem_parse`).
    Result: a ProblemSummary; `advice` says what to do when some types are not in the schema, else "".
    """
    reasons: Counter[str] = Counter()
    unknown: Counter[tuple[str, str]] = Counter()
    total = 0
    for problem in problems:
        message = (problem_parse(problem) if isinstance(problem, str) else problem).message
        total += 1
        reason, missing = _reason(message)
        reasons[reason] += 1
        if missing is not None:
            unknown[missing] += 1
    return ProblemSummary(
        total=total,
        reasons=tuple(ReasonCount(r, n) for r, n in sorted(reasons.items(), key=lambda x: (-x[1], x[0]))),
        unknown_types=tuple(UnknownType(k, name, n) for (k, name), n in sorted(unknown.items())),
        advice=UNKNOWN_TYPE_ADVICE if unknown else "",
    )
