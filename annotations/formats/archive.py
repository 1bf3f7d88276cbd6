"""Read corpus files safely from a directory, a .zip, or a single file.

Refused (FormatError naming the archive, raised before any file is yielded): members with absolute
paths, drive letters, `..` components or backslash tricks, symlinks (zip members flagged as links, and
symlinks inside a directory), archives whose declared uncompressed total exceeds `max_bytes`, and
members that expand beyond `max_member_bytes` (one document: far below the archive's cap, so that a zip
bomb is refused from its headers before anything is decompressed). Each refusal names its reason.
Line files (JSONL: many documents in one member) are exempt from the member cap and read as a stream,
the cap applying to each line instead (`lines`). While reading, the bytes actually produced are counted
too, so a zip whose headers lie about sizes is stopped at either cap (and zipfile's CRC check rejects
truncated members). Nothing is held in memory beyond one member (one line of a line file). Hidden files
(`.name`) and `__MACOSX/` folders are skipped. A zip whose members all sit under one top folder (what
zipping a folder gives) is read with that folder as its root.
"""

from __future__ import annotations

import os
import re
import stat
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from .document import FormatError, ParseProblem

__all__ = ["Corpus", "iter_archive", "DEFAULT_MAX_BYTES", "DEFAULT_MAX_MEMBER_BYTES", "LINE_SUFFIXES"]

DEFAULT_MAX_BYTES = 2 * 1024**3
DEFAULT_MAX_MEMBER_BYTES = 50 * 1024**2
# Members holding one document per line: the per-document cap applies to each line, not to the member.
LINE_SUFFIXES = (".jsonl", ".ndjson", ".json")
_CHUNK = 1 << 20
_DRIVE = re.compile(r"^[A-Za-z]:")


def _unsafe_reason(name: str) -> str | None:
    if name.startswith(("/", "\\")):
        return "absolute path"
    if _DRIVE.match(name):
        return "drive letter"
    if "\\" in name:
        return "backslash in path"
    if any(part == ".." for part in name.split("/")):
        return "'..' component"
    if "\x00" in name:
        return "NUL in name"
    return None


def _skipped(rel: str) -> bool:
    parts = PurePosixPath(rel).parts
    return any(p.startswith(".") or p == "__MACOSX" for p in parts)


class Corpus:
    """An opened corpus: `members` (sorted relative POSIX paths), `read(member)`, `iter_files()`.

    Use as a context manager. `name` is what users see in problems (the archive or folder name, never
    the server path it lies in).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_member_bytes: int = DEFAULT_MAX_MEMBER_BYTES,
    ):
        self.path = Path(path)
        self.name = self.path.name
        self.max_bytes = max_bytes
        self.max_member_bytes = max_member_bytes
        self.bytes_read = 0
        self._zip: zipfile.ZipFile | None = None
        self._sizes: dict[str, int] = {}
        self._prefix = ""
        problems: list[ParseProblem] = []
        if self.path.is_dir():
            self.members = self._scan_dir(problems)
        elif self.path.is_file() and zipfile.is_zipfile(self.path):
            self.members = self._scan_zip(problems)
        elif self.path.is_file() and self.path.suffix.lower() == ".zip":
            raise FormatError(ParseProblem(self.name, 0, "not a valid zip file"))
        elif self.path.is_file():
            self.members = [self.path.name]
            self._sizes[self.path.name] = self.path.stat().st_size
        else:
            raise FormatError(ParseProblem(self.name, 0, "no such file or directory"))
        bomb = " (a zip bomb?)" if self._zip is not None else ""
        for member, size in self._sizes.items():
            if size > max_member_bytes and not _is_line_file(member):
                problems.append(
                    ParseProblem(
                        self.name,
                        0,
                        f"member {member!r} expands to {size} bytes, beyond the per-document limit of "
                        f"{max_member_bytes} bytes{bomb}",
                    )
                )
        total = sum(self._sizes.values())
        if total > max_bytes:
            problems.append(
                ParseProblem(
                    self.name, 0, f"uncompressed size {total} bytes exceeds the limit of {max_bytes} bytes{bomb}"
                )
            )
        if problems:
            self.close()
            raise FormatError(problems)

    def _scan_dir(self, problems: list[ParseProblem]) -> list[str]:
        members = []
        for dirpath, dirnames, filenames in os.walk(self.path, followlinks=False):
            base = Path(dirpath)
            for d in list(dirnames):
                if (base / d).is_symlink():
                    rel = (base / d).relative_to(self.path).as_posix()
                    problems.append(ParseProblem(self.name, 0, f"{rel}: symbolic links are refused"))
                    dirnames.remove(d)
            for f in filenames:
                full = base / f
                rel = full.relative_to(self.path).as_posix()
                if _skipped(rel):
                    continue
                if full.is_symlink():
                    problems.append(ParseProblem(self.name, 0, f"{rel}: symbolic links are refused"))
                    continue
                members.append(rel)
                self._sizes[rel] = full.stat().st_size
        return sorted(members)

    def _scan_zip(self, problems: list[ParseProblem]) -> list[str]:
        try:
            self._zip = zipfile.ZipFile(self.path)
            infos = self._zip.infolist()
        except (zipfile.BadZipFile, OSError) as exc:
            raise FormatError(ParseProblem(self.name, 0, f"not a readable zip file: {exc}")) from exc
        members = []
        for info in infos:
            name = info.filename
            reason = _unsafe_reason(name)
            if reason:
                problems.append(ParseProblem(self.name, 0, f"member {name!r} refused: {reason}"))
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                problems.append(ParseProblem(self.name, 0, f"member {name!r} refused: symbolic link"))
                continue
            if info.is_dir() or _skipped(name):
                continue
            if name in self._sizes:
                problems.append(ParseProblem(self.name, 0, f"member {name!r} appears twice"))
                continue
            members.append(name)
            self._sizes[name] = info.file_size
        # A zip made by compressing a folder holds everything under one top folder: read it as the root.
        tops = {m.split("/", 1)[0] for m in members}
        if len(tops) == 1 and all("/" in m for m in members):
            self._prefix = f"{tops.pop()}/"
            self._sizes = {m[len(self._prefix) :]: size for m, size in self._sizes.items()}
            members = [m[len(self._prefix) :] for m in members]
        return sorted(members)

    def _chunks(self, member: str, *, member_cap: int | None) -> Iterator[bytes]:
        """The bytes of `member` a chunk at a time, counted against the archive's cap (and `member_cap`)."""
        if member not in self._sizes:
            raise KeyError(member)
        read = 0
        try:
            if self._zip is not None:
                stream = self._zip.open(self._prefix + member)
            elif self.path.is_dir():
                stream = open(self.path / member, "rb")  # noqa: SIM115 - closed below
            else:
                stream = open(self.path, "rb")  # noqa: SIM115
            with stream:
                while chunk := stream.read(_CHUNK):
                    self.bytes_read += len(chunk)
                    read += len(chunk)
                    if self.bytes_read > self.max_bytes:
                        raise FormatError(
                            ParseProblem(
                                self.name,
                                0,
                                f"{member}: more than {self.max_bytes} bytes read (sizes in the archive are wrong)",
                            )
                        )
                    if member_cap is not None and read > member_cap:
                        raise FormatError(
                            ParseProblem(
                                self.name,
                                0,
                                f"member {member!r} expands beyond the per-document limit of {member_cap} bytes "
                                "(sizes in the archive are wrong)",
                            )
                        )
                    yield chunk
        except zipfile.BadZipFile as exc:  # zipfile's own words (a bad CRC, ...), never a server path
            raise FormatError(ParseProblem(self.name, 0, f"{member}: cannot be read: {exc}")) from exc
        except (OSError, EOFError) as exc:  # an OSError's text may hold the server path: say its kind
            reason = getattr(exc, "strerror", None) or type(exc).__name__
            raise FormatError(ParseProblem(self.name, 0, f"{member}: cannot be read: {reason}")) from exc

    def read(self, member: str) -> bytes:
        """The bytes of `member` (one document: at most `max_member_bytes`); raises FormatError when the
        member or the corpus grows past its cap."""
        cap = None if _is_line_file(member) else self.max_member_bytes
        return b"".join(self._chunks(member, member_cap=cap))

    def head(self, member: str, size: int = 4096) -> bytes:
        """The first `size` bytes of `member` (one chunk read at most, whatever the member's size): what format
        detection peeks at."""
        chunks = self._chunks(member, member_cap=None)
        try:
            return next(chunks, b"")[:size]
        finally:
            chunks.close()

    def size(self, member: str) -> int:
        """The bytes `member` holds (as its archive declares them; a reader still stops at the caps)."""
        return self._sizes[member]

    def lines(self, member: str, *, max_line_bytes: int | None = None) -> Iterator[tuple[int, bytes | None]]:
        """(1-based number, bytes without the newline) for each line of `member`, streamed; None instead of
        the bytes for a line longer than `max_line_bytes` (default `max_member_bytes`; the rest of it is
        skipped unread into memory). A big member of short lines (a terminology table) takes a small cap."""
        cap = self.max_member_bytes if max_line_bytes is None else max_line_bytes
        number, parts, size, too_long = 1, [], 0, False
        for chunk in self._chunks(member, member_cap=None):
            start = 0
            while start <= len(chunk):
                end = chunk.find(b"\n", start)
                piece = chunk[start:] if end < 0 else chunk[start:end]
                size += len(piece)
                if size > cap:
                    too_long, parts = True, []
                elif not too_long:
                    parts.append(piece)
                if end < 0:
                    break
                yield number, None if too_long else b"".join(parts)
                number, parts, size, too_long = number + 1, [], 0, False
                start = end + 1
        if size or too_long:
            yield number, None if too_long else b"".join(parts)

    def iter_files(self) -> Iterator[tuple[str, bytes]]:
        """Yield (relative_path, bytes) for every member, lazily, in sorted order."""
        for member in self.members:
            yield member, self.read(member)

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
            self._zip = None

    def __enter__(self) -> Corpus:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _is_line_file(member: str) -> bool:
    return PurePosixPath(member).suffix.lower() in LINE_SUFFIXES


def iter_archive(
    path: str | os.PathLike, *, max_bytes: int = DEFAULT_MAX_BYTES, max_member_bytes: int = DEFAULT_MAX_MEMBER_BYTES
) -> Iterator[tuple[str, bytes]]:
    """Yield (relative_path, bytes) pairs from a directory, a .zip or a single file, lazily and safely."""
    with Corpus(path, max_bytes=max_bytes, max_member_bytes=max_member_bytes) as corpus:
        yield from corpus.iter_files()
