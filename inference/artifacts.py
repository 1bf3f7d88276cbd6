"""Model directories (model versions, risk models, adapted encoders) as objects in the file store, and each
worker's local cache of them.

Training writes a directory on the worker's own disk (scratch, under ADE_REVIEW_MODEL_DIR), then
`artifact_publish` copies it into the store (`ade_review.storage.file_storage()`: the local disk under MEDIA_ROOT,
or the bucket) under a content-addressed key and returns a *reference*, `artifact:<sha256>`, which the database
keeps instead of a path:

    models/<sha256>/files/<relative path>   every file of the directory
    models/<sha256>/manifest.json           {"format": 1, "files": [{"path", "size", "sha256"}, ...]}, written last

The sha256 is the hash of the manifest's canonical JSON, so a reference names exactly one content: the same
directory published twice is stored once, and a manifest that was altered no longer matches its reference.

`artifact_local(reference)` gives a local directory with those files: this worker's copy in
ADE_REVIEW_MODEL_CACHE_DIR/<sha256>/files, downloaded on first use into a temporary folder, every file's size and
sha256 checked, then renamed into place (atomic), under a per-version lock file so that two processes
resolving one version at once make one intact copy. Entries are checked again (sha256) the first time a process
uses them and whenever a file changed since; a corrupted copy is replaced. Above ADE_REVIEW_MODEL_CACHE_MAX_BYTES
the least recently used entries are evicted, never one that a process is loading (each loader holds its
entry's lock, shared, while it reads the files).

A value that is not a reference (a row written before this module: an absolute local path; the shipped encoder
"") is used as the local path it names: such rows keep working on the machine that has the directory.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile

from ade_review.storage import file_storage, stored_file_stream

logger = logging.getLogger(__name__)

PREFIX = "artifact:"
MANIFEST_FORMAT = 1
KEY_ROOT = "models"
_REFERENCE = re.compile(r"artifact:([0-9a-f]{64})")
_HEX64 = re.compile(r"[0-9a-f]{64}")
# A relative path inside a model directory: plain names, no "..", no leading slash, no backslash or control.
_PART = re.compile(r"(?!\.\.?$)[A-Za-z0-9_.][A-Za-z0-9_.+=@-]{0,200}")
_CHUNK = 1024 * 1024
_STALE_TEMP_S = 3600


class ArtifactError(Exception):
    """A reference that is malformed, missing from the store, or whose files do not match their manifest.
    The message names the reference's hash and relative paths only (never a local path another machine has)."""


@dataclass(frozen=True)
class ManifestEntry:
    path: str
    size: int
    sha256: str


# -- references


def is_reference(value: str | os.PathLike | None) -> bool:
    """True for `artifact:<sha256>` (a published directory), False for a local path or ""."""
    return bool(value) and _REFERENCE.fullmatch(str(value)) is not None


def reference_hash(reference: str) -> str:
    """The sha256 of a reference. Errors: ArtifactError for anything but `artifact:<64 hex digits>`."""
    m = _REFERENCE.fullmatch(str(reference or ""))
    if m is None:
        raise ArtifactError("not a model artifact reference (artifact:<sha256>)")
    return m.group(1)


def reference_label(reference: str) -> str:
    """A short readable name for pages and messages: `artifact:1a2b3c4d5e6f`."""
    return reference[: len(PREFIX) + 12] if is_reference(reference) else Path(str(reference)).name


def _manifest_key(h: str) -> str:
    return f"{KEY_ROOT}/{h}/manifest.json"


def _file_key(h: str, rel: str) -> str:
    return f"{KEY_ROOT}/{h}/files/{rel}"


# -- manifests


def _safe_relative(rel: str) -> str:
    parts = rel.split("/")
    if not rel or any(_PART.fullmatch(p) is None for p in parts):
        raise ArtifactError(f"unsafe file name in a model directory: {rel[:200]!r}")
    return rel


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _canonical(entries: Iterable[ManifestEntry]) -> bytes:
    files = [{"path": e.path, "size": e.size, "sha256": e.sha256} for e in sorted(entries, key=lambda e: e.path)]
    return json.dumps({"format": MANIFEST_FORMAT, "files": files}, sort_keys=True, separators=(",", ":")).encode()


def _manifest_parse(data: bytes, h: str) -> list[ManifestEntry]:
    """The entries of a manifest whose canonical form hashes to `h`. Errors: ArtifactError."""
    try:
        raw = json.loads(data)
        if raw.get("format") != MANIFEST_FORMAT:
            raise ValueError("format")
        entries = [
            ManifestEntry(path=_safe_relative(str(f["path"])), size=int(f["size"]), sha256=str(f["sha256"]))
            for f in raw["files"]
        ]
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ArtifactError(f"manifest of model artifact {h[:12]} is malformed") from exc
    if any(e.size < 0 or _HEX64.fullmatch(e.sha256) is None for e in entries) or not entries:
        raise ArtifactError(f"manifest of model artifact {h[:12]} is malformed")
    if hashlib.sha256(_canonical(entries)).hexdigest() != h:
        raise ArtifactError(f"manifest of model artifact {h[:12]} does not match its reference")
    return sorted(entries, key=lambda e: e.path)


def _directory_entries(directory: Path, exclude: frozenset[str]) -> list[tuple[ManifestEntry, Path]]:
    found = []
    for root, dirs, files in os.walk(directory):
        rel_root = PurePosixPath(Path(root).relative_to(directory).as_posix())
        dirs[:] = sorted(d for d in dirs if not (rel_root == PurePosixPath(".") and d in exclude))
        if any((Path(root) / d).is_symlink() for d in dirs):
            raise ArtifactError("a model directory may not hold symbolic links")
        for name in sorted(files):
            path = Path(root) / name
            rel = (rel_root / name).as_posix()
            if rel_root == PurePosixPath(".") and name in exclude:
                continue
            if path.is_symlink() or not path.is_file():
                raise ArtifactError(f"a model directory may hold plain files only: {rel!r} is not one")
            found.append((ManifestEntry(path=_safe_relative(rel), size=path.stat().st_size,
                                        sha256=_sha256_file(path)), path))
    return found


# -- publishing


def _save_exact(storage, key: str, content) -> None:
    """Write `key` (replacing a leftover of an interrupted publish); refuse a store that renames it."""
    if storage.exists(key):
        storage.delete(key)
    if storage.save(key, content) != key:  # a store that renames would break the content address
        raise ArtifactError("the file store stored a model file under another name")


def artifact_publish(directory: str | os.PathLike, *, exclude: Iterable[str] = ()) -> str:
    """Copy a finished model directory into the file store; returns its reference `artifact:<sha256>`.

    Args: the local directory (plain files only); `exclude`: top-level names left out (e.g. checkpoints).
    Publishing the same content again uploads nothing. Files are streamed (no whole file in memory), and the
    manifest goes last, so a reader never sees a half-published version.
    Errors: ArtifactError (not a directory, empty, a symbolic link or an unsafe file name inside).
    """
    root = Path(directory)
    if not root.is_dir():
        raise ArtifactError("the model directory to publish does not exist")
    found = _directory_entries(root, frozenset(exclude))
    if not found:
        raise ArtifactError("the model directory to publish is empty")
    data = _canonical(e for e, _ in found)
    h = hashlib.sha256(data).hexdigest()
    storage = file_storage()
    if storage.exists(_manifest_key(h)):
        return PREFIX + h
    started = time.monotonic()
    for entry, path in found:
        with open(path, "rb") as f:
            _save_exact(storage, _file_key(h, entry.path), File(f, name=entry.path.rsplit("/", 1)[-1]))
    _save_exact(storage, _manifest_key(h), ContentFile(data, name="manifest.json"))
    logger.info("model artifact %s published: %d files, %d bytes in %.1f s", h[:12], len(found),
                sum(e.size for e, _ in found), time.monotonic() - started)
    return PREFIX + h


def artifact_exists(reference: str) -> bool:
    """True when the reference's manifest is in the store (a local path: when that directory exists)."""
    if not reference:
        return False
    if not is_reference(reference):
        return Path(reference).is_dir()
    return file_storage().exists(_manifest_key(reference_hash(reference)))


def _read_object(storage, key: str, h: str) -> bytes:
    try:
        with storage.open(key, "rb") as f:
            return f.read()
    except OSError as exc:  # both stores say FileNotFoundError for a missing key
        raise ArtifactError(f"model artifact {h[:12]} is not in the file store") from exc


def artifact_read_file(reference: str, relative: str) -> bytes | None:
    """One small file of a model directory (e.g. adaptation.json), from this worker's cache when it holds the
    version, else from the store (checked against the manifest). None when the directory has no such file.
    A local path reads that file. Errors: ArtifactError (missing version, mismatching file)."""
    if not is_reference(reference):
        try:
            return (Path(reference) / relative).read_bytes()
        except OSError:
            return None
    h = reference_hash(reference)
    relative = _safe_relative(relative)
    cached = _entry_dir(h) / "files" / relative
    if str(_entry_dir(h)) in _verified and cached.is_file():
        return cached.read_bytes()
    storage = file_storage()
    entries = {e.path: e for e in _manifest_parse(_read_object(storage, _manifest_key(h), h), h)}
    entry = entries.get(relative)
    if entry is None:
        return None
    data = _read_object(storage, _file_key(h, entry.path), h)
    if len(data) != entry.size or hashlib.sha256(data).hexdigest() != entry.sha256:
        raise ArtifactError(f"file {relative!r} of model artifact {h[:12]} does not match its manifest")
    return data


# -- the worker's cache


def cache_dir() -> Path:
    return Path(settings.ADE_REVIEW_MODEL_CACHE_DIR)


def _entry_dir(h: str) -> Path:
    return cache_dir() / h


# Entries this process checked (by directory), with the (size, mtime_ns) of each file when it did: a later use re-hashes only
# when a file changed since (sha256 of a large model on every job would cost seconds).
_verified: dict[str, dict[str, tuple[int, int]]] = {}
_verified_lock = threading.Lock()


class _EntryLock:
    """flock on ADE_REVIEW_MODEL_CACHE_DIR/.locks/<sha256>.lock: shared while a process reads an entry, exclusive
    while one writes or evicts it. Local to this machine, like the cache."""

    def __init__(self, h: str):
        locks = cache_dir() / ".locks"
        locks.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(locks / f"{h}.lock", os.O_RDWR | os.O_CREAT, 0o600)

    def shared(self) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_SH)

    def exclusive(self) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_EX)

    def try_exclusive(self) -> bool:
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def close(self) -> None:
        os.close(self.fd)  # releases the lock


def _stat_map(files: Path, entries: list[ManifestEntry]) -> dict[str, tuple[int, int]] | None:
    out = {}
    for e in entries:
        try:
            st = (files / e.path).stat()
        except OSError:
            return None
        out[e.path] = (st.st_size, st.st_mtime_ns)
    return out


def _entry_intact(h: str) -> bool:
    """True when this worker's copy of `h` is complete and every file matches the manifest."""
    entry = _entry_dir(h)
    try:
        entries = _manifest_parse((entry / "manifest.json").read_bytes(), h)
    except (OSError, ArtifactError):
        return False
    files = entry / "files"
    stats = _stat_map(files, entries)
    if stats is None or any(stats[e.path][0] != e.size for e in entries):
        return False
    with _verified_lock:
        if _verified.get(str(entry)) == stats:
            return True
    if any(_sha256_file(files / e.path) != e.sha256 for e in entries):
        logger.warning("model artifact %s: the cached copy is corrupted; downloading it again", h[:12])
        return False
    with _verified_lock:
        _verified[str(entry)] = stats
    return True


def _download(h: str) -> Path:
    """Fetch `h` into a temporary folder of the cache and check every file; returns that folder."""
    storage = file_storage()
    data = _read_object(storage, _manifest_key(h), h)
    entries = _manifest_parse(data, h)
    tmp_root = cache_dir() / ".tmp"
    tmp_root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"{h[:16]}-", dir=tmp_root))
    try:
        (tmp / "manifest.json").write_bytes(data)
        for e in entries:
            target = tmp / "files" / e.path
            target.parent.mkdir(parents=True, exist_ok=True)
            digest, size = hashlib.sha256(), 0
            try:
                # Straight off the connection: an opened S3 file would first spool the whole object to disk.
                src, _ = stored_file_stream(_file_key(h, e.path))
            except OSError as exc:
                raise ArtifactError(f"file {e.path!r} of model artifact {h[:12]} is missing from the store") from exc
            with src, open(target, "wb") as out:
                while chunk := src.read(_CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
            if size != e.size or digest.hexdigest() != e.sha256:
                raise ArtifactError(f"file {e.path!r} of model artifact {h[:12]} in the store does not match "
                                    "its manifest")
        return tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _remove_entry(path: Path) -> None:
    """Move an entry out of the way (atomic), then delete it; readers that opened its files keep them."""
    trash = cache_dir() / ".tmp" / f"trash-{path.name[:16]}-{os.getpid()}-{time.monotonic_ns()}"
    trash.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.rename(path, trash)
    except FileNotFoundError:
        return
    shutil.rmtree(trash, ignore_errors=True)


def _entry_size(path: Path) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += (Path(root) / name).stat().st_size
    return total


def cache_evict(*, keep: str = "", max_bytes: int | None = None) -> list[str]:
    """Delete the least recently used entries while the cache holds more than `max_bytes` (default: the
    setting); never `keep` nor an entry another process holds. Also removes stale temporary folders of
    interrupted downloads. Result: the hashes evicted."""
    limit = settings.ADE_REVIEW_MODEL_CACHE_MAX_BYTES if max_bytes is None else max_bytes
    root = cache_dir()
    if not root.is_dir():
        return []
    tmp_root = root / ".tmp"
    if tmp_root.is_dir():
        for leftover in tmp_root.iterdir():
            with contextlib.suppress(OSError):
                if time.time() - leftover.stat().st_mtime > _STALE_TEMP_S:
                    shutil.rmtree(leftover, ignore_errors=True)
    entries = []
    for p in root.iterdir():
        if _HEX64.fullmatch(p.name) and p.is_dir():
            with contextlib.suppress(OSError):
                entries.append((p.stat().st_mtime, p.name, _entry_size(p)))
    total = sum(size for _, _, size in entries)
    evicted = []
    for _, h, size in sorted(entries):  # oldest use first
        if total <= limit:
            break
        if h == keep:
            continue
        lock = _EntryLock(h)
        try:
            if not lock.try_exclusive():  # someone is loading it right now
                continue
            _remove_entry(_entry_dir(h))
            with _verified_lock:
                _verified.pop(str(_entry_dir(h)), None)
        finally:
            lock.close()
        total -= size
        evicted.append(h)
    if evicted:
        logger.info("model cache: evicted %d version(s) above %d bytes", len(evicted), limit)
    return evicted


@contextlib.contextmanager
def artifact_local(reference: str | os.PathLike) -> Iterator[Path]:
    """A local directory holding the files of `reference`, while the block runs (the entry cannot be evicted
    meanwhile). A value that is not a reference is yielded as the local path it names.

    Errors: ArtifactError (malformed reference, not in the store, a file in the store not matching the manifest).
    """
    if not is_reference(str(reference)):
        yield Path(reference)
        return
    h = reference_hash(str(reference))
    lock = _EntryLock(h)
    try:
        lock.shared()
        if not _entry_intact(h):
            lock.exclusive()  # one downloader per machine; the others wait here, then find it intact
            if not _entry_intact(h):
                started = time.monotonic()
                tmp = _download(h)
                if _entry_dir(h).exists():
                    _remove_entry(_entry_dir(h))
                os.rename(tmp, _entry_dir(h))
                logger.info("model artifact %s: downloaded into this worker's cache in %.1f s", h[:12],
                            time.monotonic() - started)
                if not _entry_intact(h):
                    raise ArtifactError(f"model artifact {h[:12]}: the copy just made does not verify")
                cache_evict(keep=h)  # the cache grew: make room (only here, not on every use)
            lock.shared()  # back to a reader's lock, so that other loaders go on
        with contextlib.suppress(OSError):
            os.utime(_entry_dir(h))  # least recently used counts from here
        yield _entry_dir(h) / "files"
    finally:
        lock.close()


def artifact_path(reference: str | os.PathLike) -> Path:
    """`artifact_local` for callers that load the files at once and keep them in memory (the path may be
    evicted later, when the cache is full and another version is loaded)."""
    with artifact_local(reference) as path:
        return path


# -- rows written before the store


def local_models_publish(*, dry_run: bool = False) -> list[dict]:
    """Publish every model directory the database still names by a local path (model versions, risk models,
    projects' encoders, adapt jobs' results) and store the reference instead, so that workers on other machines
    can load them. Run on the machine that holds those directories; rows whose directory is not here are left
    as they are and reported. Each change is audited (model_change) in the transaction that makes it.

    Result: one dict per row looked at: kind, id, project slug, and "published" (the reference), "missing" or
    "would publish" (dry run). Errors: ArtifactError (a directory that cannot be published, e.g. a symlink).
    """
    from django.db import transaction

    from annotations.audit.models import AuditAction
    from annotations.audit.services import audit_record
    from annotations.models import Project
    from inference.core.encoder import default_encoder_path
    from inference.models import Job, ModelVersion, RiskModel

    try:
        shipped = default_encoder_path().resolve()
    except (ModuleNotFoundError, OSError):
        shipped = None

    def local(value: str) -> bool:
        if not value or is_reference(value) or not os.path.isabs(value):
            return False  # "", a reference, or a name such as an encoder's hub id: nothing to publish
        return shipped is None or Path(value).resolve() != shipped

    rows = [(ModelVersion, "path", "model_version", ModelVersion.objects.select_related("project")),
            (ModelVersion, "encoder", "model_version", ModelVersion.objects.select_related("project")),
            (RiskModel, "path", "risk_model", RiskModel.objects.select_related("project")),
            (Project, "encoder_path", "project", Project.objects.all()),
            (Job, "result_path", "adapt_job", Job.objects.filter(kind="adapt").select_related("project"))]
    published: dict[str, str] = {}
    report = []
    for model, field, kind, queryset in rows:
        for obj in queryset.order_by("pk"):
            value = getattr(obj, field)
            if not local(value):
                continue
            project = obj if isinstance(obj, Project) else obj.project
            line = {"kind": kind, "field": field, "id": obj.pk, "project": project.slug if project else ""}
            if not Path(value).is_dir():
                report.append({**line, "outcome": "missing"})
                continue
            if dry_run:
                report.append({**line, "outcome": "would publish"})
                continue
            reference = published.get(value) or artifact_publish(value, exclude=("checkpoints",))
            published[value] = reference
            with transaction.atomic():
                model.objects.filter(pk=obj.pk, **{field: value}).update(**{field: reference})
                audit_record(action=AuditAction.MODEL_CHANGE, project=project, object_type=kind, object_id=obj.pk,
                             details={"published": field, "reference": reference})
            report.append({**line, "outcome": reference})
    return report
