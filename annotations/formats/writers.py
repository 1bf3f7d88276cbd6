"""Streaming corpus writers: each takes an iterable of Documents and writes one document at a time.

The target is a directory, or a .zip when the path ends in ".zip" (one member written at a time).
Each writer returns the number of documents written. A writer that fails part-way removes what it
wrote (the zip, the files, the folders it created), so no partial corpus is left behind.

- `write_brat`: `<id>.txt` + `<id>.ann` per document (ids with "/" make sub-folders; an id that is no
  safe file name gets one made from it, see `_safe_name`), plus annotation.conf / visual.conf at the
  root when a Schema is given.
- `write_jsonl`: `documents.jsonl` in a directory or zip, or the file itself when the path ends in
  ".jsonl". Lossless.
- `write_conll`: `documents.conll` likewise. Lossy, see `conll_lines`.
"""

from __future__ import annotations

import hashlib
import os
import re
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from .brat import write_ann, write_txt
from .brat_conf import write_annotation_conf, write_visual_conf
from .document import Document
from .jsonl import dumps_document
from .schema import Schema

__all__ = ["write_brat", "write_jsonl", "write_conll", "conll_lines", "tokenize"]

_TOKEN = re.compile(r"\w+|[^\w\s]")
# A path part used as it is: no control characters, nothing Windows or a shell treats specially.
_PLAIN_PART = re.compile(r'[^\x00-\x1f\x7f\\:*?"<>|]+')
MAX_PART_BYTES = 100


class _Sink:
    """Files under a directory or members of a zip, written one at a time."""

    def __init__(self, target: str | os.PathLike):
        self.target = Path(target)
        self.zip: zipfile.ZipFile | None = None
        self.created: list[Path] = []  # files and folders this sink made, removed again on failure
        if self.target.suffix.lower() == ".zip":
            self._mkdir(self.target.parent)
            self.created.append(self.target)
            self.zip = zipfile.ZipFile(self.target, "w", compression=zipfile.ZIP_DEFLATED)
        else:
            self._mkdir(self.target)

    def _mkdir(self, folder: Path) -> None:
        missing = [p for p in (folder, *folder.parents) if not p.exists()]
        folder.mkdir(parents=True, exist_ok=True)
        self.created.extend(reversed(missing))

    def open(self, rel: str) -> IO[bytes]:
        if self.zip is not None:
            return self.zip.open(rel, "w", force_zip64=True)
        path = self.target / rel
        self._mkdir(path.parent)
        if not path.exists():
            self.created.append(path)
        return open(path, "wb")  # noqa: SIM115 - the caller closes it

    def write(self, rel: str, data: bytes) -> None:
        with self.open(rel) as f:
            f.write(data)

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()
            self.zip = None

    def discard(self) -> None:
        """Remove everything this sink created (after a failure)."""
        try:
            self.close()
        except (OSError, ValueError, zipfile.BadZipFile):
            pass
        _remove(self.created)

    def __enter__(self) -> _Sink:
        return self

    def __exit__(self, exc_type, *exc: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.discard()


def _remove(paths: list[Path]) -> None:
    for path in reversed(paths):  # files before the folders that hold them
        try:
            path.rmdir() if path.is_dir() and not path.is_symlink() else path.unlink(missing_ok=True)
        except OSError:
            pass  # a folder that holds files this sink did not write stays


def _safe_name(doc_id: str) -> str:
    """The relative path stem for a document id.

    The id itself (its "/" making sub-folders) when every part is a plain file name: not empty, not
    hidden (readers skip dot files), at most MAX_PART_BYTES, without control characters, `\\` or `:`.
    Any other id (`a:b`, `../x`, NUL, very long) gets its safe characters plus a hash of the whole id,
    so distinct ids keep distinct names and nothing is written outside the target.
    """
    parts = doc_id.split("/")
    if doc_id and all(
        p and not p.startswith(".") and len(p.encode("utf-8", "surrogatepass")) <= MAX_PART_BYTES
        and _PLAIN_PART.fullmatch(p)
        for p in parts
    ):
        return doc_id
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", doc_id).strip("_-")[:60] or "document"
    return f"{stem}-{hashlib.sha256(doc_id.encode('utf-8', 'surrogatepass')).hexdigest()[:16]}"


def write_brat(
    documents: Iterable[Document], target: str | os.PathLike, *, schema: Schema | None = None
) -> int:
    """Write `.txt` (text unchanged, UTF-8) and `.ann` per document; configs when `schema` is given."""
    n = 0
    with _Sink(target) as sink:
        if schema is not None:
            sink.write("annotation.conf", write_annotation_conf(schema).encode("utf-8"))
            sink.write("visual.conf", write_visual_conf(schema).encode("utf-8"))
        for doc in documents:
            name = _safe_name(doc.id)
            sink.write(f"{name}.txt", write_txt(doc))
            sink.write(f"{name}.ann", write_ann(doc).encode("utf-8"))
            n += 1
    return n


def _write_lines(target: str | os.PathLike, default_name: str, suffix: str, chunks: Iterator[str]) -> None:
    path = Path(target)
    if path.suffix.lower() == suffix:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with open(path, "wb") as f:
                for chunk in chunks:
                    f.write(chunk.encode("utf-8"))
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return
    with _Sink(path) as sink, sink.open(default_name) as f:
        for chunk in chunks:
            f.write(chunk.encode("utf-8"))


def write_jsonl(
    documents: Iterable[Document], target: str | os.PathLike, *, schema: Schema | None = None
) -> int:
    """Write one JSON line per document (the schema, if any, is not part of this format)."""
    count = [0]

    def chunks() -> Iterator[str]:
        for doc in documents:
            count[0] += 1
            yield dumps_document(doc) + "\n"

    _write_lines(target, "documents.jsonl", ".jsonl", chunks())
    return count[0]


def tokenize(text: str) -> list[tuple[str, int, int]]:
    """Word and punctuation tokens with their offsets (`\\w+` runs and single other characters)."""
    return [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)]


def conll_lines(doc: Document) -> Iterator[str]:
    """CoNLL lines for `doc`: `-DOCSTART- <id>`, then `token<TAB>tag` per token (BIO), a blank line
    between text lines (sentences are the text's lines; nothing else splits them).

    Tokens are `tokenize` tokens, further split at every entity boundary that falls inside one (so
    "두통이" with the entity "두통" gives "두통" + "이", and unspaced Chinese is cut at entity edges):
    entity boundaries are therefore always exact.

    Lossy choices: only entities are kept (no relations, events, attributes, normalizations, ...);
    a discontinuous entity keeps its first fragment only; of overlapping entities the longest (then
    earliest, then first in the document) is kept and the others are dropped; offsets and whitespace
    are not kept.
    """
    yield f"-DOCSTART- {doc.id}"
    cuts = sorted({x for e in doc.entities for x in (e.spans[0].start, e.spans[0].end)})
    tokens = []
    for _tok, start, end in tokenize(doc.text):
        inner = [c for c in cuts if start < c < end]
        for a, b in zip([start, *inner], [*inner, end], strict=True):
            tokens.append((doc.text[a:b], a, b))
    tags = ["O"] * len(tokens)
    order = sorted(
        range(len(doc.entities)),
        key=lambda i: (
            -(doc.entities[i].spans[0].end - doc.entities[i].spans[0].start),
            doc.entities[i].spans[0].start,
            i,
        ),
    )
    for i in order:
        e = doc.entities[i]
        span = e.spans[0]
        covered = [k for k, (_, s, t) in enumerate(tokens) if s < span.end and t > span.start]
        if not covered or any(tags[k] != "O" for k in covered):
            continue
        for j, k in enumerate(covered):
            tags[k] = ("B-" if j == 0 else "I-") + e.type
    yield ""
    previous_end = 0
    for k, (tok, start, end) in enumerate(tokens):
        if k and "\n" in doc.text[previous_end:start]:
            yield ""
        yield f"{tok}\t{tags[k]}"
        previous_end = end
    yield ""


def write_conll(
    documents: Iterable[Document], target: str | os.PathLike, *, schema: Schema | None = None
) -> int:
    """Write BIO-tagged tokens for every document (see `conll_lines` for what is lost)."""
    count = [0]

    def chunks() -> Iterator[str]:
        for doc in documents:
            count[0] += 1
            for line in conll_lines(doc):
                yield line + "\n"

    _write_lines(target, "documents.conll", ".conll", chunks())
    return count[0]
