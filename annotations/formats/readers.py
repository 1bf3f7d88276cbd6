"""Corpus readers: each is a generator of ReadResult, one per document, so a bad document never drops
the rest. Corpus-level refusals (unsafe archive, size limit) raise FormatError from `archive.Corpus`.

- `read_brat`: `.txt` / `.ann` pairs anywhere under a directory or .zip (recursively). The document id
  is the relative path without extension ("train/10021369"). A `.txt` without `.ann` is an
  unannotated note; an `.ann` without `.txt` is a problem.
- `read_ade`: ADE-Corpus-V2 (DRUG-AE.rel, DRUG-DOSE.rel, ADE-NEG.txt), see `read_ade`.
- `read_pubtator`: BC5CDR PubTator files, see `read_pubtator`.
- `read_jsonl`: our JSON-lines format (`jsonl.py`), streamed line by line; problems give the line number.

Each document is built in isolation (`_isolated`): whatever goes wrong while one is parsed (a line nested
too deeply for the JSON parser, a bug), it becomes that document's problem and the reader goes on.
"""

from __future__ import annotations

import functools
import os
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import PurePosixPath

from .archive import DEFAULT_MAX_BYTES, DEFAULT_MAX_MEMBER_BYTES, Corpus
from .brat import read_brat_document
from .document import Document, Entity, FormatError, Normalization, ParseProblem, Relation, Span
from .jsonl import loads_document
from .results import ReadResult
from .text import decode_utf8
from .validation import document_problems

__all__ = ["ReadResult", "read_brat", "read_ade", "read_pubtator", "read_jsonl"]


def _isolated(
    source: str, line: int, build: Callable[..., ReadResult], *args, nested: str = "the document is nested too deeply"
) -> ReadResult:
    """`build(*args)`, or a ReadResult holding the reason it failed (its kind only: an exception's text
    may quote the note)."""
    try:
        return build(*args)
    except FormatError as exc:
        return ReadResult(source, None, exc.problems)
    except RecursionError:
        return ReadResult(source, None, [ParseProblem(source, line, nested)])
    except Exception as exc:  # noqa: BLE001 - one document's failure, whatever it is, costs only that document
        return ReadResult(source, None, [ParseProblem(source, line, f"could not be read ({type(exc).__name__})")])


def read_brat(
    path: str | os.PathLike, *, max_bytes: int = DEFAULT_MAX_BYTES, max_member_bytes: int = DEFAULT_MAX_MEMBER_BYTES
) -> Iterator[ReadResult]:
    """Read every brat document under `path` (directory or .zip), in sorted path order."""
    with Corpus(path, max_bytes=max_bytes, max_member_bytes=max_member_bytes) as corpus:
        stems: dict[str, set[str]] = {}
        for member in corpus.members:
            p = PurePosixPath(member)
            if p.suffix in (".txt", ".ann"):
                stems.setdefault(str(p.with_suffix("")), set()).add(p.suffix)
        for stem in sorted(stems):
            have = stems[stem]
            txt_name, ann_name = f"{stem}.txt", f"{stem}.ann"
            txt = corpus.read(txt_name) if ".txt" in have else None
            ann = corpus.read(ann_name) if ".ann" in have else None
            yield _isolated(
                ann_name if ann is not None else txt_name,
                0,
                functools.partial(read_brat_document, doc_id=stem, txt_name=txt_name, ann_name=ann_name),
                txt,
                ann,
            )


# --------------------------------------------------------------------------------------------- ADE


def _ade_locate(sentence: str, mention: str, abs_begin: int, anchor: int | None) -> int | None:
    """Start of `mention` in `sentence`: the only occurrence, else the one at `abs_begin - anchor`,
    else the first; case-insensitive search as a last resort; None if absent."""
    first = sentence.find(mention)
    if first < 0:
        lower = sentence.lower().find(mention.lower())
        return lower if lower >= 0 else None
    if sentence.find(mention, first + 1) < 0:
        return first
    if anchor is not None:
        pos = abs_begin - anchor
        if 0 <= pos and sentence[pos : pos + len(mention)] == mention:
            return pos
    return first


def read_ade(
    path: str | os.PathLike, *, max_bytes: int = DEFAULT_MAX_BYTES, max_member_bytes: int = DEFAULT_MAX_MEMBER_BYTES
) -> Iterator[ReadResult]:
    """Read ADE-Corpus-V2: one Document per distinct (PubMed id, sentence).

    Entities: Drug, Adverse-Effect, Dose (one entity per distinct type and span, shared by relations).
    Relations: one per `.rel` row (none are dropped, so the corpus gives exactly 6,821 and 279):
    "Adverse-Effect" with Arg1 = Drug, Arg2 = Adverse-Effect; "Dose" with Arg1 = Drug, Arg2 = Dose
    (the drug is the head in both, as "drug causes effect" / "drug given at dose").
    Label "ade" for sentences with an Adverse-Effect relation (4,272 distinct (PMID, sentence) pairs),
    "no_ade" for ADE-NEG sentences: one document per NEG line, so the corpus gives the published 16,695
    negatives (7 lines repeat an earlier (PMID, sentence) pair: a sentence that occurs twice in its
    abstract; each occurrence is kept as its own document).
    Document ids are "<pmid>_<n>" (n counts sentences per PubMed id from 1, in file order: DRUG-AE,
    DRUG-DOSE, ADE-NEG); metadata holds {"pmid": ...}.

    Mention rule: `.rel` offsets are relative to the abstract, so mentions are found in the sentence by
    text. A mention that occurs once is taken there. For a repeated mention, the sentence's offset in
    the abstract (the anchor) is estimated as the `abstract_begin - position` value, over all
    occurrences of all mentions of that sentence, that places the most mentions exactly (smallest on
    ties), and the occurrence at `abstract_begin - anchor` is taken; if that does not point at the
    mention, the first occurrence is taken. On the real corpus every one of the 758 repeated-mention
    look-ups is resolved by the anchor (38 of them in 10 sentences where every mention is repeated).
    Problems use the `.rel` file name and line.
    """
    with Corpus(path, max_bytes=max_bytes, max_member_bytes=max_member_bytes) as corpus:
        by_name = {PurePosixPath(m).name: m for m in corpus.members}
        if "DRUG-AE.rel" not in by_name:
            raise FormatError(
                ParseProblem(corpus.name, 0, "no DRUG-AE.rel found (is this an ADE-Corpus-V2 folder?)")
            )
        # (pmid, sentence) -> list of (file, line, kind, fields)
        sentences: dict[tuple[str, str], list[tuple[str, int, str, list[str]]]] = {}
        for fname, kind in (("DRUG-AE.rel", "Adverse-Effect"), ("DRUG-DOSE.rel", "Dose")):
            if fname not in by_name:
                continue
            text, problems = decode_utf8(corpus.read(by_name[fname]), fname)
            if text is None:
                yield ReadResult(fname, None, problems)
                continue
            for number, line in enumerate(text.split("\n"), start=1):
                line = line.rstrip("\r")
                if not line.strip():
                    continue
                fields = line.split("|")
                if len(fields) != 8 or not all(
                    f.strip().isdigit() for f in (fields[3], fields[4], fields[6], fields[7])
                ):
                    yield ReadResult(
                        fname,
                        None,
                        [
                            ParseProblem(
                                fname,
                                number,
                                "expected 8 '|'-separated fields "
                                "(PMID|sentence|mention|begin|end|drug|begin|end)",
                            )
                        ],
                    )
                    continue
                sentences.setdefault((fields[0], fields[1]), []).append((fname, number, kind, fields))

        counter: Counter[str] = Counter()
        for (pmid, sentence), rows in sentences.items():
            counter[pmid] += 1
            doc_id = f"{pmid}_{counter[pmid]}"
            yield _isolated(rows[0][0], rows[0][1], _ade_document, doc_id, pmid, sentence, rows)

        if "ADE-NEG.txt" in by_name:
            text, problems = decode_utf8(corpus.read(by_name["ADE-NEG.txt"]), "ADE-NEG.txt")
            if text is None:
                yield ReadResult("ADE-NEG.txt", None, problems)
                return
            for number, line in enumerate(text.split("\n"), start=1):
                line = line.rstrip("\r")
                if not line.strip():
                    continue
                parts = line.split(" ", 2)
                if len(parts) != 3 or parts[1] != "NEG" or not parts[0].isdigit():
                    yield ReadResult(
                        "ADE-NEG.txt",
                        None,
                        [ParseProblem("ADE-NEG.txt", number, "expected 'PMID NEG sentence'")],
                    )
                    continue
                counter[parts[0]] += 1
                doc = Document(
                    id=f"{parts[0]}_{counter[parts[0]]}",
                    text=parts[2],
                    label="no_ade",
                    metadata={"pmid": parts[0]},
                )
                yield ReadResult("ADE-NEG.txt", doc, [], {})


def _ade_document(
    doc_id: str, pmid: str, sentence: str, rows: list[tuple[str, int, str, list[str]]]
) -> ReadResult:
    # Anchor: the sentence's offset in the abstract, the one that puts the most mentions of this
    # sentence exactly where the abstract offsets say (see read_ade).
    pairs = {(f[c], int(f[c + 1])) for _, _, _, f in rows for c in (2, 5)}
    candidates: set[int] = set()
    for mention, begin in pairs:
        pos = sentence.find(mention)
        while pos >= 0:
            candidates.add(begin - pos)
            pos = sentence.find(mention, pos + 1)

    def fits(anchor: int) -> int:
        return sum(1 for m, b in pairs if 0 <= b - anchor and sentence[b - anchor : b - anchor + len(m)] == m)

    anchor = max(sorted(candidates), key=fits) if candidates else None

    source = rows[0][0]
    problems: list[ParseProblem] = []
    lines: dict[str, int] = {}
    entity_ids: dict[tuple[str, int, int], str] = {}
    entities: list[Entity] = []
    relations: list[Relation] = []

    def entity(etype: str, mention: str, begin: str, fname: str, number: int) -> str | None:
        start = _ade_locate(sentence, mention, int(begin), anchor)
        if start is None:
            problems.append(
                # The mention's offsets and length, not its text: problems end up in job errors (issue 13).
                ParseProblem(fname, number, f"{etype} at {begin} (length {len(mention)}) does not occur in the sentence")
            )
            return None
        key = (etype, start, start + len(mention))
        if key not in entity_ids:
            eid = f"T{len(entities) + 1}"
            entity_ids[key] = eid
            entities.append(
                Entity(id=eid, type=etype, spans=(Span(key[1], key[2]),), text=sentence[key[1] : key[2]])
            )
            if fname == source:
                lines[eid] = number
        return entity_ids[key]

    for fname, number, kind, f in rows:
        other = entity("Adverse-Effect" if kind == "Adverse-Effect" else "Dose", f[2], f[3], fname, number)
        drug = entity("Drug", f[5], f[6], fname, number)
        if other is None or drug is None:
            continue
        rid = f"R{len(relations) + 1}"
        relations.append(Relation(id=rid, type=kind, arg1=drug, arg2=other))
        if fname == source:
            lines[rid] = number
    label = "ade" if any(kind == "Adverse-Effect" for _, _, kind, _ in rows) else None
    doc = Document(
        id=doc_id,
        text=sentence,
        entities=tuple(entities),
        relations=tuple(relations),
        label=label,
        metadata={"pmid": pmid},
    )
    problems += document_problems(doc, None, source=source, lines=lines)
    problems.sort(key=lambda p: (p.file, p.line))
    return ReadResult(source, None if problems else doc, problems, lines)


# ---------------------------------------------------------------------------------------- PubTator


def read_pubtator(
    path: str | os.PathLike, *, max_bytes: int = DEFAULT_MAX_BYTES, max_member_bytes: int = DEFAULT_MAX_MEMBER_BYTES
) -> Iterator[ReadResult]:
    """Read PubTator files (a file, or every `*.txt` / `*.pubtator` file under a folder or .zip).

    Text = title + " " + abstract (the offsets in PubTator assume this). Each mention line
    `PMID<TAB>start<TAB>end<TAB>text<TAB>type<TAB>ids[<TAB>names]` becomes an entity of that type
    (Chemical / Disease) with one normalization (resource "MESH") per id of a composite "D1|D2"
    (the name from the 7th column, when present, is the normalization text); id "-1" gets none.
    CID lines are document-level pairs of MeSH ids; each becomes one relation "CID"
    (Arg1 = chemical, Arg2 = disease) between representative mentions: for each id, the first
    Chemical (resp. Disease) mention in text order (smallest start, then longest) whose id list
    contains it. A CID whose id has no such mention is a problem. The pairs are also kept verbatim in
    `metadata["cid"]` together with `metadata["pmid"]`.
    """
    with Corpus(path, max_bytes=max_bytes, max_member_bytes=max_member_bytes) as corpus:
        members = [
            m
            for m in corpus.members
            if PurePosixPath(m).suffix.lower() in (".txt", ".pubtator")
            and PurePosixPath(m).name.lower() != "readme.txt"
        ]
        for member in members:
            text, problems = decode_utf8(corpus.read(member), member)
            if text is None:
                yield ReadResult(member, None, problems)
                continue
            block: list[tuple[int, str]] = []
            for number, line in enumerate(text.split("\n"), start=1):
                line = line.rstrip("\r")
                if line.strip():
                    block.append((number, line))
                elif block:
                    yield _isolated(member, block[0][0], _pubtator_document, member, block)
                    block = []
            if block:
                yield _isolated(member, block[0][0], _pubtator_document, member, block)


def _pubtator_document(source: str, block: list[tuple[int, str]]) -> ReadResult:
    problems: list[ParseProblem] = []
    lines: dict[str, int] = {}
    title = abstract = None
    pmid = ""
    mentions: list[tuple[int, list[str]]] = []
    cids: list[tuple[int, str, str]] = []
    for number, line in block:
        if "|t|" in line[:30] and "\t" not in line.split("|t|", 1)[0]:
            pmid, _, title = line.partition("|t|")
        elif "|a|" in line[:30] and "\t" not in line.split("|a|", 1)[0]:
            pmid, _, abstract = line.partition("|a|")
        else:
            fields = line.split("\t")
            if len(fields) == 4 and fields[1] == "CID":
                cids.append((number, fields[2], fields[3]))
            elif len(fields) in (6, 7) and fields[1].isdigit() and fields[2].isdigit():
                mentions.append((number, fields))
            else:
                problems.append(
                    ParseProblem(
                        source, number, "malformed line (expected a title, abstract, mention or CID line)"
                    )
                )
    if title is None or abstract is None:
        problems.append(
            ParseProblem(source, block[0][0], f"document {pmid or '?'} lacks a title or abstract line")
        )
        return ReadResult(source, None, problems)
    text = f"{title} {abstract}"
    entities: list[Entity] = []
    norms: list[Normalization] = []
    for number, f in mentions:
        if f[0] != pmid:
            problems.append(ParseProblem(source, number, f"PMID {f[0]} differs from the document's {pmid}"))
        eid = f"T{len(entities) + 1}"
        start, end = int(f[1]), int(f[2])
        entities.append(Entity(id=eid, type=f[4], spans=(Span(start, end),), text=f[3]))
        lines[eid] = number
        names = f[6].split("|") if len(f) == 7 else []
        for i, mesh in enumerate(f[5].split("|")):
            if mesh in ("-1", ""):
                continue
            nid = f"N{len(norms) + 1}"
            norms.append(
                Normalization(
                    id=nid,
                    target=eid,
                    resource="MESH",
                    resource_id=mesh,
                    text=names[i] if i < len(names) else "",
                )
            )
            lines[nid] = number

    ids_of: dict[str, set[str]] = {}
    for n in norms:
        ids_of.setdefault(n.target, set()).add(n.resource_id)
    in_order = sorted(entities, key=lambda e: (e.start, -e.end))

    def representative(mesh: str, etype: str) -> str | None:
        for e in in_order:
            if e.type == etype and mesh in ids_of.get(e.id, ()):
                return e.id
        return None

    relations: list[Relation] = []
    for number, chem, dis in cids:
        a1, a2 = representative(chem, "Chemical"), representative(dis, "Disease")
        if a1 is None or a2 is None:
            missing = chem if a1 is None else dis
            problems.append(
                ParseProblem(source, number, f"CID {chem}-{dis}: no mention of {missing} in the document")
            )
            continue
        rid = f"R{len(relations) + 1}"
        relations.append(Relation(id=rid, type="CID", arg1=a1, arg2=a2))
        lines[rid] = number
    doc = Document(
        id=pmid,
        text=text,
        entities=tuple(entities),
        relations=tuple(relations),
        normalizations=tuple(norms),
        metadata={"pmid": pmid, "cid": [[c, d] for _, c, d in cids]},
    )
    problems += document_problems(doc, None, source=source, lines=lines)
    problems.sort(key=lambda p: (p.file, p.line))
    return ReadResult(source, None if problems else doc, problems, lines)


# ------------------------------------------------------------------------------------------- JSONL


def read_jsonl(
    path: str | os.PathLike, *, max_bytes: int = DEFAULT_MAX_BYTES, max_member_bytes: int = DEFAULT_MAX_MEMBER_BYTES
) -> Iterator[ReadResult]:
    """Read `*.jsonl` files (a file, or under a folder or .zip); every id maps to its JSON line.

    A file is streamed line by line: a line (one document) longer than `max_member_bytes` is a problem
    of that line, not read into memory; a file of any size is read in bounded memory.
    """
    with Corpus(path, max_bytes=max_bytes, max_member_bytes=max_member_bytes) as corpus:
        for member in corpus.members:
            if PurePosixPath(member).suffix.lower() not in (".jsonl", ".json", ".ndjson"):
                continue
            for number, raw in corpus.lines(member):
                if raw is None:
                    limit = f"the line is longer than the per-document limit of {corpus.max_member_bytes} bytes"
                    yield ReadResult(member, None, [ParseProblem(member, number, limit)])
                    continue
                if not raw.strip():
                    continue
                yield _isolated(
                    member, number, _jsonl_document, member, number, raw, nested="the JSON is nested too deeply"
                )


def _jsonl_document(member: str, number: int, raw: bytes) -> ReadResult:
    line, problems = decode_utf8(raw, member)
    if line is None:
        return ReadResult(member, None, [ParseProblem(member, number, p.message) for p in problems])
    try:
        doc = loads_document(line)
    except ValueError as exc:
        return ReadResult(member, None, [ParseProblem(member, number, str(exc))])
    ids = [
        x.id
        for group in (
            doc.entities,
            doc.relations,
            doc.events,
            doc.attributes,
            doc.normalizations,
            doc.notes,
        )
        for x in group
    ]
    lines = dict.fromkeys(ids, number)
    lines.update({f"*{i}": number for i in range(1, len(doc.equivalences) + 1)})
    problems = document_problems(doc, None, source=member, lines=lines)
    return ReadResult(member, None if problems else doc, problems, lines)
