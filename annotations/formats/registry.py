"""Format names -> readers and writers; the one entry point the CLI, services and benchmarks use."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import PurePosixPath

from .archive import DEFAULT_MAX_BYTES, DEFAULT_MAX_MEMBER_BYTES, Corpus
from .brat_conf import load_schema
from .detect import detect_format
from .document import Document, FormatError, ParseProblem
from .fhir import read_fhir
from .readers import read_ade, read_brat, read_jsonl, read_pubtator
from .results import ReadResult
from .schema import Schema
from .text import decode_utf8
from .writers import write_brat, write_conll, write_jsonl

__all__ = ["READERS", "WRITERS", "ReadResult", "read_corpus", "find_schema", "write_corpus", "corpus_format_detect"]

READERS: dict[str, Callable[..., Iterator[ReadResult]]] = {
    "brat": read_brat,
    "ade": read_ade,
    "pubtator": read_pubtator,
    "jsonl": read_jsonl,
    "fhir": read_fhir,  # notes in from the EHR: FHIR R4 DocumentReferences (annotations.formats.fhir)
}
WRITERS: dict[str, Callable[..., int]] = {
    "brat": write_brat,
    "jsonl": write_jsonl,
    "conll": write_conll,
}


def read_corpus(
    path: str | os.PathLike,
    fmt: str,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_member_bytes: int = DEFAULT_MAX_MEMBER_BYTES,
) -> Iterator[ReadResult]:
    """Read the corpus at `path` (directory, .zip or file) in format `fmt`, one ReadResult per document.

    Raises ValueError for an unknown format and FormatError (from the first `next`) when the archive
    itself is refused (unsafe members, over `max_bytes`, a member over `max_member_bytes`).
    """
    try:
        reader = READERS[fmt]
    except KeyError:
        raise ValueError(f"unknown input format {fmt!r}; known: {', '.join(sorted(READERS))}") from None
    return reader(path, max_bytes=max_bytes, max_member_bytes=max_member_bytes)


def corpus_format_detect(
    path: str | os.PathLike, *, max_bytes: int = DEFAULT_MAX_BYTES, max_member_bytes: int = DEFAULT_MAX_MEMBER_BYTES
) -> str | None:
    """The import format of the corpus at `path` (directory, .zip or file) from its member names
    (`detect.detect_format`; the first bytes of a `.txt` tell PubTator from plain notes), or None.

    Raises FormatError when the archive itself is refused (unsafe members, over the size limits).
    """
    with Corpus(path, max_bytes=max_bytes, max_member_bytes=max_member_bytes) as corpus:
        return detect_format(corpus.members, peek=lambda member: corpus.head(member, 1024))


def find_schema(
    path: str | os.PathLike, *, max_bytes: int = DEFAULT_MAX_BYTES, max_member_bytes: int = DEFAULT_MAX_MEMBER_BYTES
) -> Schema | None:
    """The Schema from annotation.conf (+ visual.conf) at the corpus root (directory or .zip), or None.

    Raises FormatError when a config file is broken.
    """
    with Corpus(path, max_bytes=max_bytes, max_member_bytes=max_member_bytes) as corpus:
        root = {m: m for m in corpus.members if len(PurePosixPath(m).parts) == 1}
        if "annotation.conf" not in root:
            return None
        problems: list[ParseProblem] = []
        conf, p = decode_utf8(corpus.read("annotation.conf"), "annotation.conf")
        problems += p
        visual = None
        if "visual.conf" in root:
            visual, p = decode_utf8(corpus.read("visual.conf"), "visual.conf")
            problems += p
        if problems or conf is None:
            raise FormatError(problems)
        return load_schema(conf, visual)


def write_corpus(
    documents: Iterable[Document], out_path: str | os.PathLike, fmt: str, *, schema: Schema | None = None
) -> int:
    """Write `documents` (streamed) to `out_path` (a directory, or a .zip) in format `fmt`; returns the count."""
    try:
        writer = WRITERS[fmt]
    except KeyError:
        raise ValueError(f"unknown output format {fmt!r}; known: {', '.join(sorted(WRITERS))}") from None
    return writer(documents, out_path, schema=schema)
