"""Terminologies the hospital supplies, as plain data: readers for the MedDRA ASCII distribution, an ATC
code list and SNOMED CT's RF2 description snapshot, the normalisation every look-up compares on, and the
string-similarity scorer that orders look-up candidates.

Licensed content (MedDRA, SNOMED CT) is never shipped: these readers take the hospital's own files, and the
tests use tiny made-up files in the same layouts.

Readers take `Source`s (a name people see and a callable giving numbered lines of bytes, so a service can
stream a member of a zip and a test can pass bytes) and yield `TermRecord`s and `HierarchyRecord`s; every
problem is appended to the caller's list as a `Problem` (file, line, reason) and reading goes on, so one
load reports all it can. Whoever stores the records loads nothing when any problem was found.

Nothing here imports Django: the load service, the command, the benchmark and the tests all call it.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePosixPath
from typing import TypeVar

from pharmacovigilance.core.report import Coded

T = TypeVar("T")


class System(StrEnum):
    MEDDRA = "meddra"
    ATC = "atc"
    SNOMED = "snomed"

    @property
    def label(self) -> str:
        return {"meddra": "MedDRA", "atc": "ATC", "snomed": "SNOMED CT"}[self.value]

    @property
    def resource(self) -> str:
        """The resource name of a brat normalization (`MedDRA:10019211`) coded in this system."""
        return {"meddra": "MedDRA", "atc": "ATC", "snomed": "SNOMEDCT"}[self.value]


class Level(StrEnum):
    """Where a term sits in its terminology."""

    LLT = "LLT"
    PT = "PT"
    HLT = "HLT"
    HLGT = "HLGT"
    SOC = "SOC"
    ATC1 = "ATC1"  # anatomical main group (A)
    ATC2 = "ATC2"  # therapeutic subgroup (A10)
    ATC3 = "ATC3"  # pharmacological subgroup (A10B)
    ATC4 = "ATC4"  # chemical subgroup (A10BA)
    ATC5 = "ATC5"  # chemical substance (A10BA02)
    FSN = "FSN"  # SNOMED CT fully specified name
    SYNONYM = "SYN"  # SNOMED CT synonym


# What a look-up offers for coding: MedDRA codes at the LLT (the reported PT follows from it), ATC at any
# level (a class when the substance is unknown), SNOMED CT by any of its concepts' descriptions.
SEARCH_LEVELS: dict[str, tuple[str, ...]] = {
    System.MEDDRA: (Level.LLT,),
    System.ATC: (Level.ATC1, Level.ATC2, Level.ATC3, Level.ATC4, Level.ATC5),
    System.SNOMED: (Level.FSN, Level.SYNONYM),
}


@dataclass(frozen=True)
class Problem:
    """Why a line of a terminology file could not be used; `line` is 1-based, 0 for the whole file."""

    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}" if self.line else f"{self.file}: {self.reason}"


@dataclass(frozen=True)
class TermRecord:
    """One term: for a MedDRA LLT its PT (`pt_code`, `pt_text`) and whether it is current (LLTs marked
    non-current stay loaded, so old codes still resolve, but are never suggested)."""

    code: str
    text: str
    level: str
    pt_code: str = ""
    pt_text: str = ""
    current: bool = True


@dataclass(frozen=True)
class HierarchyRecord:
    """A MedDRA PT's place: one row per (PT, HLT, HLGT, SOC) path, `primary` on its primary SOC's paths."""

    pt_code: str
    hlt_code: str
    hlgt_code: str
    soc_code: str
    primary: bool


class TooManyProblems(Exception):
    """Raised by a `ProblemLog` that is full: a wrong file gives a problem per line, and no one reads more."""


class ProblemLog(list):
    """A list of problems that holds at most `limit`; the next one raises TooManyProblems (reading stops)."""

    def __init__(self, limit: int, problems: Iterable[Problem] = ()):
        super().__init__(problems)
        self.limit = limit

    def append(self, problem: Problem) -> None:
        if len(self) >= self.limit:
            raise TooManyProblems(self.limit)
        super().append(problem)


Record = TermRecord | HierarchyRecord
Lines = Iterable[tuple[int, bytes | None]]  # (1-based number, bytes without the newline; None: too long)


@dataclass(frozen=True)
class Source:
    """A file to read: `name` as people see it (an archive member, never a server path) and `lines`, a
    callable giving its numbered lines (called once per read)."""

    name: str
    lines: Callable[[], Lines]


def lines_of(data: bytes) -> Iterator[tuple[int, bytes]]:
    """The numbered lines of a small file held in memory (tests; the service streams archive members)."""
    for number, line in enumerate(data.split(b"\n"), start=1):
        if line or number == 1:
            yield number, line


def _texts(source: Source, problems: list[Problem]) -> Iterator[tuple[int, str]]:
    """(number, text) for each non-blank line, decoded as UTF-8 (a BOM on the first line dropped); a line
    that is too long or not UTF-8 is reported and skipped."""
    for number, raw in source.lines():
        if raw is None:
            problems.append(Problem(source.name, number, "line too long"))
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            problems.append(Problem(source.name, number, f"not UTF-8 text (byte {exc.start + 1}); save the "
                                                         "file as UTF-8"))
            continue
        if number == 1:
            text = text.removeprefix("\ufeff")
        text = text.rstrip("\r")
        if "\x00" in text:
            problems.append(Problem(source.name, number, "NUL character in the line"))
            continue
        if text.strip():
            yield number, text


# --- MedDRA ASCII distribution --------------------------------------------------------------------------
#
# Layouts: MedDRA's "Distribution File Format Document" (MSSO-DI-6281), section "Table definition", as the
# OHDSI vocabulary loader reads them (github.com/OHDSI/Vocabulary-v5.0, MedDRA/create_source_tables.sql and
# the SQL*Loader control files MedDRA/llt.ctl, pt.ctl, mdhier.ctl ...): `$`-separated fields, each record
# ending in `$`. Field counts without the empty field after the final `$`:
#   llt.asc      11  llt_code, llt_name, pt_code, llt_whoart_code, llt_harts_code, llt_costart_sym,
#                    llt_icd9_code, llt_icd9cm_code, llt_icd10_code, llt_currency (Y/N), llt_jart_code
#   pt.asc       11  pt_code, pt_name, null_field, pt_soc_code (primary SOC), pt_whoart_code, pt_harts_code,
#                    pt_costart_sym, pt_icd9_code, pt_icd9cm_code, pt_icd10_code, pt_jart_code
#   hlt.asc       9  hlt_code, hlt_name, hlt_whoart_code, hlt_harts_code, hlt_costart_sym, hlt_icd9_code,
#                    hlt_icd9cm_code, hlt_icd10_code, hlt_jart_code
#   hlgt.asc      9  hlgt_code, hlgt_name, (the same seven mapping codes)
#   soc.asc      10  soc_code, soc_name, soc_abbrev, (the same seven mapping codes)
#   hlt_pt.asc    2  hlt_code, pt_code
#   hlgt_hlt.asc  2  hlgt_code, hlt_code
#   soc_hlgt.asc  2  soc_code, hlgt_code
#   mdhier.asc   12  pt_code, hlt_code, hlgt_code, soc_code, pt_name, hlt_name, hlgt_name, soc_name,
#                    soc_abbrev, null_field, pt_soc_code, primary_soc_fg (Y/N)

MEDDRA_FIELDS = {"soc.asc": 10, "hlgt.asc": 9, "hlt.asc": 9, "pt.asc": 11, "llt.asc": 11, "soc_hlgt.asc": 2,
                 "hlgt_hlt.asc": 2, "hlt_pt.asc": 2, "mdhier.asc": 12}
MEDDRA_REQUIRED = ("soc.asc", "hlgt.asc", "hlt.asc", "pt.asc", "llt.asc", "mdhier.asc")
_MEDDRA_CODE = re.compile(r"[0-9]{8}")
_YES_NO = {"Y": True, "N": False}


def _meddra_rows(source: Source, problems: list[Problem]) -> Iterator[tuple[int, list[str]]]:
    expected = MEDDRA_FIELDS[PurePosixPath(source.name).name.lower()]
    for number, text in _texts(source, problems):
        fields = text.split("$")
        if len(fields) == expected + 1 and fields[-1] == "":
            fields.pop()  # the empty field after the record's final `$`
        if len(fields) != expected:
            count = len(fields) - 1 if text.endswith("$") else len(fields)
            problems.append(Problem(source.name, number, f"{count} fields, expected {expected} "
                                                         "($-separated, ending in $)"))
            continue
        yield number, [f.strip() for f in fields]


def _meddra_code(source: Source, number: int, value: str, what: str, problems: list[Problem]) -> bool:
    if _MEDDRA_CODE.fullmatch(value):
        return True
    problems.append(Problem(source.name, number, f"{what} {value[:20]!r} is not an 8-digit MedDRA code"))
    return False


def read_meddra(files: Mapping[str, Source], *, problems: list[Problem]) -> Iterator[Record]:
    """The terms (SOC, HLGT, HLT, PT, LLT) and the PT hierarchy of a MedDRA ASCII distribution.

    Args: `files` maps the lower-case file name ("llt.asc", ...; see `terminology_files`) to its source;
    the files of MEDDRA_REQUIRED must be there, the three link files are checked when present.
    Problems: a missing file, a wrong field count, a code that is not 8 digits, an empty name, a code given
    twice, a reference to a code the distribution lacks (an LLT's PT, a PT's primary SOC, a hierarchy
    row's HLT ...), a currency or primary flag other than Y/N, an undecodable or overlong line.
    """
    for name in MEDDRA_REQUIRED:
        if name not in files:
            problems.append(Problem(name, 0, "missing from the MedDRA files (MedAscii folder of the distribution)"))
    if any(name not in files for name in MEDDRA_REQUIRED):
        return
    names: dict[str, dict[str, str]] = {"SOC": {}, "HLGT": {}, "HLT": {}, "PT": {}, "LLT": {}}

    def known(source: Source, number: int, level: str, code: str, what: str) -> bool:
        if code in names[level]:
            return True
        problems.append(Problem(source.name, number, f"{what} {code} is not in {level.lower()}.asc"))
        return False

    for level in ("SOC", "HLGT", "HLT", "PT", "LLT"):
        source = files[f"{level.lower()}.asc"]
        for number, fields in _meddra_rows(source, problems):
            code, text = fields[0], fields[1]
            if not _meddra_code(source, number, code, f"{level} code", problems):
                continue
            if not text:
                problems.append(Problem(source.name, number, f"{level} {code} has no name"))
                continue
            if code in names[level]:
                problems.append(Problem(source.name, number, f"{level} code {code} given twice"))
                continue
            if level == "PT":
                if fields[3] and not (_meddra_code(source, number, fields[3], "primary SOC", problems)
                                      and known(source, number, "SOC", fields[3], "primary SOC")):
                    continue
                names[level][code] = text
                yield TermRecord(code, text, Level.PT, pt_code=code, pt_text=text)
            elif level == "LLT":
                pt, currency = fields[2], fields[9].upper()
                if not (_meddra_code(source, number, pt, "PT code", problems)
                        and known(source, number, "PT", pt, "PT")):
                    continue
                if currency not in _YES_NO:
                    problems.append(Problem(source.name, number, f"llt_currency {currency[:5]!r} is not Y or N"))
                    continue
                names[level][code] = text
                yield TermRecord(code, text, Level.LLT, pt_code=pt, pt_text=names["PT"][pt],
                                 current=_YES_NO[currency])
            else:
                names[level][code] = text
                yield TermRecord(code, text, level)
    links = (("soc_hlgt.asc", "SOC", "HLGT"), ("hlgt_hlt.asc", "HLGT", "HLT"), ("hlt_pt.asc", "HLT", "PT"))
    for name, upper, lower in links:
        if name not in files:
            continue
        source = files[name]
        for number, (a, b) in _meddra_rows(source, problems):
            if _meddra_code(source, number, a, f"{upper} code", problems) and _meddra_code(
                source, number, b, f"{lower} code", problems
            ) and known(source, number, upper, a, upper):
                known(source, number, lower, b, lower)
    source = files["mdhier.asc"]
    for number, fields in _meddra_rows(source, problems):
        codes = dict(zip(("PT", "HLT", "HLGT", "SOC"), fields[:4], strict=True))
        if not all(_meddra_code(source, number, c, f"{lvl} code", problems) for lvl, c in codes.items()):
            continue
        if not all(known(source, number, lvl, c, lvl) for lvl, c in codes.items()):
            continue
        flag = fields[11].upper()
        if flag not in _YES_NO:
            problems.append(Problem(source.name, number, f"primary_soc_fg {flag[:5]!r} is not Y or N"))
            continue
        yield HierarchyRecord(codes["PT"], codes["HLT"], codes["HLGT"], codes["SOC"], _YES_NO[flag])


# --- ATC ----------------------------------------------------------------------------------------------
#
# WHO's ATC index is distributed by the WHO Collaborating Centre (licensed for some uses); hospitals hold it
# as a spreadsheet export. We read a CSV or TSV (`;` also) whose first two columns are the code and the
# name, with or without a header row; further columns (DDD, unit, route: the ATC/DDD index's layout) are
# ignored, and a code repeated with the same name (one row per DDD) is read once. The level follows from
# the code's length: 1 (A), 3 (A10), 4 (A10B), 5 (A10BA), 7 (A10BA02).

_ATC_CODE = re.compile(r"[A-Z]([0-9]{2}([A-Z]([A-Z]([0-9]{2})?)?)?)?")
_ATC_LEVELS = {1: Level.ATC1, 3: Level.ATC2, 4: Level.ATC3, 5: Level.ATC4, 7: Level.ATC5}


def atc_level(code: str) -> str | None:
    """The ATC level of a code ("ATC1" ... "ATC5"), None when it is no ATC code."""
    return _ATC_LEVELS.get(len(code)) if _ATC_CODE.fullmatch(code) else None


def _delimiter(line: str) -> str:
    """The first line's separator: tab, else `;` when it outnumbers `,` (a European spreadsheet's export,
    where a comma may be a decimal one: "B01AA03;warfarin;7,5;mg"), else `,`."""
    if "\t" in line:
        return "\t"
    return ";" if line.count(";") > line.count(",") else ","


def read_atc(files: Mapping[str, Source], *, problems: list[Problem]) -> Iterator[Record]:
    """The codes of ATC list files (CSV or TSV of code, name).

    Problems: no file, fewer than two columns, a code that is not ATC, an empty name, a code given twice
    with different names, an undecodable or overlong line.
    """
    if not files:
        problems.append(Problem("ATC", 0, "no ATC file (a .csv, .tsv or .txt of code, name)"))
        return
    seen: dict[str, str] = {}
    for source in files.values():
        delimiter = None
        for number, text in _texts(source, problems):
            delimiter = delimiter or _delimiter(text)
            try:
                fields = next(csv.reader([text], delimiter=delimiter))
            except csv.Error as exc:
                problems.append(Problem(source.name, number, f"not CSV: {exc}"))
                continue
            fields = [f.strip() for f in fields]
            code = fields[0].upper() if fields else ""
            if number == 1 and not atc_level(code) and code.lower() in ("atc", "code", "atc code", "atc_code"):
                continue  # the header row
            if len(fields) < 2:
                problems.append(Problem(source.name, number, f"{len(fields)} column(s), expected code and name"))
                continue
            level, text_ = atc_level(code), fields[1]
            if level is None:
                problems.append(Problem(source.name, number, f"{fields[0][:20]!r} is not an ATC code "
                                                             "(A, A10, A10B, A10BA or A10BA02)"))
                continue
            if not text_:
                problems.append(Problem(source.name, number, f"{code} has no name"))
                continue
            if code in seen:
                if seen[code].casefold() != text_.casefold():
                    problems.append(Problem(source.name, number, f"{code} given twice with different names"))
                continue
            seen[code] = text_
            yield TermRecord(code, text_, level)


# --- SNOMED CT RF2 description snapshot ------------------------------------------------------------------
#
# SNOMED International's "Release File Specification" (RF2), Description file: tab-separated UTF-8 with a
# header row, one description per row; columns id, effectiveTime, active, moduleId, conceptId, languageCode,
# typeId, term, caseSignificanceId. A snapshot holds each description's latest state: we keep active rows
# ("1") of the two term types (typeId): fully specified name 900000000000003001, synonym 900000000000013009.

SNOMED_COLUMNS = ("id", "effectiveTime", "active", "moduleId", "conceptId", "languageCode", "typeId", "term",
                  "caseSignificanceId")
SNOMED_FSN = "900000000000003001"
SNOMED_SYNONYM = "900000000000013009"
_SCTID = re.compile(r"[0-9]{6,18}")
_SNOMED_FILE = re.compile(r"sct2_description_.*snapshot.*\.txt", re.IGNORECASE)


def read_snomed(files: Mapping[str, Source], *, problems: list[Problem]) -> Iterator[Record]:
    """The active FSNs and synonyms of SNOMED CT RF2 description snapshot files (code: the concept id).

    Problems: no file, a header that is not RF2's, a wrong column count, an id that is no SCTID, an active
    flag other than 0/1, an empty term, an undecodable or overlong line.
    """
    if not files:
        problems.append(Problem("SNOMED CT", 0, "no description snapshot (sct2_Description_Snapshot-en_*.txt)"))
        return
    levels = {SNOMED_FSN: Level.FSN, SNOMED_SYNONYM: Level.SYNONYM}
    for source in files.values():
        header_seen = False
        for number, text in _texts(source, problems):
            fields = text.split("\t")
            if not header_seen:
                header_seen = True
                if tuple(fields) != SNOMED_COLUMNS:
                    problems.append(Problem(source.name, number, "the header is not RF2's description header ("
                                                                 + ", ".join(SNOMED_COLUMNS) + ")"))
                    break
                continue
            if len(fields) != len(SNOMED_COLUMNS):
                problems.append(Problem(source.name, number, f"{len(fields)} columns, expected "
                                                             f"{len(SNOMED_COLUMNS)} (tab-separated)"))
                continue
            row = dict(zip(SNOMED_COLUMNS, fields, strict=True))
            bad = next((c for c in ("id", "conceptId", "typeId") if not _SCTID.fullmatch(row[c])), None)
            if bad:
                problems.append(Problem(source.name, number, f"{bad} {row[bad][:20]!r} is not a SNOMED CT id"))
                continue
            if row["active"] not in ("0", "1"):
                problems.append(Problem(source.name, number, f"active {row['active'][:5]!r} is not 0 or 1"))
                continue
            if row["active"] != "1" or row["typeId"] not in levels:
                continue
            if not row["term"].strip():
                problems.append(Problem(source.name, number, f"description {row['id']} has no term"))
                continue
            yield TermRecord(row["conceptId"], row["term"].strip(), levels[row["typeId"]])


READERS: dict[str, Callable[..., Iterator[Record]]] = {
    System.MEDDRA: read_meddra,
    System.ATC: read_atc,
    System.SNOMED: read_snomed,
}


def terminology_files(system: str, members: Iterable[str]) -> tuple[dict[str, str], list[Problem]]:
    """Which members of a folder or archive hold `system`'s files: {key: member}, and problems.

    MedDRA: keyed by lower-case file name (llt.asc ...), other files ignored (SMQ, .seq, docs); a name found
    twice is a problem. ATC: every .csv, .tsv or .txt. SNOMED CT: every sct2_Description_*Snapshot*.txt.
    """
    found: dict[str, str] = {}
    problems: list[Problem] = []
    for member in sorted(members):
        base = PurePosixPath(member).name
        if system == System.MEDDRA:
            key = base.lower()
            if key not in MEDDRA_FIELDS:
                continue
            if key in found:
                problems.append(Problem(member, 0, f"a second {key} (the first is {found[key]})"))
                continue
            found[key] = member
        elif system == System.ATC:
            if PurePosixPath(base).suffix.lower() in (".csv", ".tsv", ".txt"):
                found[member] = member
        elif system == System.SNOMED:
            if _SNOMED_FILE.fullmatch(base):
                found[member] = member
        else:
            raise ValueError(f"unknown terminology {system!r}")
    return found, problems


# --- look-up: normalisation and ranking ------------------------------------------------------------------

_NON_WORD = re.compile(r"[^0-9a-z]+")


def normalize_text(text: str) -> str:
    """What look-ups compare: case folded, accents dropped, anything but letters and digits a single space
    ("Hépatite  (aiguë)" -> "hepatite aigue"). The database stores it per term for its trigram index."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NON_WORD.sub(" ", plain).strip()


def trigrams(text: str) -> set[str]:
    """The character trigrams of normalised text, word by word, each word padded as PostgreSQL's pg_trgm
    pads it (two spaces before, one after), so this scorer and the database's index agree on what is near."""
    grams: set[str] = set()
    for word in text.split():
        padded = f"  {word} "
        grams.update(padded[i : i + 3] for i in range(len(padded) - 2))
    return grams


def trigram_similarity(a: str, b: str) -> float:
    """pg_trgm's similarity of two normalised texts: shared trigrams over all trigrams (0..1)."""
    ta, tb = trigrams(a), trigrams(b)
    if not ta or not tb:
        return 0.0
    return len(ta & tb) / len(ta | tb)


def _word_match(q: str, words: list[str]) -> tuple[float, int]:
    """How well one typed word matches the best word of a term, and that word's index: 1 the same word,
    0.9 the start of one (typing goes left to right), else their trigram similarity (a typo), at most 0.8."""
    best, where = 0.0, -1
    for i, w in enumerate(words):
        if w == q:
            return 1.0, i
        s = 0.9 if len(q) >= 2 and w.startswith(q) else min(0.8, trigram_similarity(q, w))
        if s > best:
            best, where = s, i
    return best, where


def similarity(query: str, text: str) -> float:
    """How well `text` answers what was typed (0..1): 1 for the same words.

    The words typed, each matched to its best word of the term (whole word, its start, or a near spelling),
    weigh most; then how much of the term those words cover (a short exact term before a long one that
    contains it), the trigram similarity of the whole strings, and whether the term starts with the query.
    Both texts are normalised first (`normalize_text`).
    """
    q, t = normalize_text(query), normalize_text(text)
    if not q or not t:
        return 0.0
    if q == t:
        return 1.0
    q_words, t_words = q.split(), t.split()
    matched: set[int] = set()
    total = 0.0
    for word in q_words:
        score, where = _word_match(word, t_words)
        total += score
        if score >= 0.5:
            matched.add(where)
    words = total / len(q_words)
    coverage = len(matched) / len(t_words)
    prefix = 1.0 if t.startswith(q) else 0.0
    return round(min(0.99, 0.45 * words + 0.2 * coverage + 0.25 * trigram_similarity(q, t) + 0.1 * prefix), 4)


def rank(query: str, candidates: Iterable[T], *, text: Callable[[T], str], limit: int = 10,
         minimum: float = 0.0) -> list[tuple[float, T]]:
    """The `limit` best candidates for `query` by `similarity`, best first (ties: the shorter text, then
    alphabetical), those under `minimum` left out."""
    scored = [(similarity(query, text(c)), c) for c in candidates]
    scored = [(s, c) for s, c in scored if s > 0 and s >= minimum]
    scored.sort(key=lambda sc: (-sc[0], len(text(sc[1])), text(sc[1]).casefold()))
    return scored[:limit]


@dataclass(frozen=True)
class TermHit:
    """A look-up's suggestion: the code to record, its text and level, for a MedDRA LLT its PT (what is
    reported), the terminology version it comes from, and how well it matched (0..1)."""

    system: str
    code: str
    text: str
    level: str
    pt_code: str = ""
    pt_text: str = ""
    version: str = ""
    score: float = 0.0

    def coded(self, written: str = "") -> Coded:
        """The case report's Coded value for this suggestion (`written`: the text as the note has it)."""
        return Coded(text=written or self.text, code=self.code, system=self.system,
                     preferred_term_code=self.pt_code, preferred_term=self.pt_text, version=self.version)
