"""Files uploaded for an import: stored under the key imports/<project id>/<upload>/<name> in the one file store
(`ade_review.storage`: the local disk, or a bucket shared by every machine), where import jobs read.

The browser cannot name a path on the server, so an upload is stored first and the import job reads it from
the store (a .zip of a brat/ADE folder, or one JSONL / PubTator file): a worker on another machine streams it
into a private temporary file of its own, reads it there and removes the copy. Storing happens in the
request, streamed in chunks; on the local disk the file is readable by the app's user only (0600 in a 0700
folder), in a bucket the object is private. Reading, checking and importing happen in the job (in a worker
when a broker is configured).

`import_source_check` is the one rule for what an import job may read: web and API doors only a file the
project itself uploaded (its key checked part by part, and on the local disk the file's real path, symlinks
and `..` resolved, checked to lie under the project's folder); any server path only from the command line
(`start_job`), where a single corpus file is stored like an upload (`import_server_file_save`) and a folder stays
a path of the machine that runs the job. The project id, not its slug, names the folder: a slug can be taken again by a new project,
an id cannot.
"""

from __future__ import annotations

import os
import re
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone

from ade_review.storage import (
    file_storage,
    stored_file_delete,
    stored_file_local,
    stored_file_local_path,
    stored_file_within,
    stored_key_check,
)
from annotations.errors import ApplicationError
from annotations.models import Project

# What the import readers take as one file: archives of a corpus folder, or the single-file formats.
UPLOAD_SUFFIXES = (".zip", ".jsonl", ".json", ".ndjson", ".txt", ".pubtator")
MAX_NAME = 120


# An upload's own folder: when it was stored and a random part (two uploads of one name never collide).
_UPLOAD_FOLDER = re.compile(r"\d{8}T\d{6}-[0-9a-f]{8}")
REFUSED_SOURCE = ("An import reads only a file uploaded to this project (the job page's upload, or "
                  "POST .../imports/); server paths are accepted from the command line only (start_job).")


def import_upload_root(project: Project) -> PurePosixPath:
    """The key prefix of the project's uploads (imports/<project id>): the only place its web and API imports
    may read."""
    return PurePosixPath("imports") / str(project.pk)


def import_source_is_upload(path: str) -> bool:
    """True when an import job's `path` is the key of an upload (relative), False for a server path that the
    command line named (absolute: `import_source_check` made it so)."""
    return not os.path.isabs(path)


def import_source_check(*, project: Project, path: str | os.PathLike, any_path: bool = False) -> str:
    """What an import job of `project` may read at `path`: the key of one of the project's uploads, or with
    `any_path` (the command line) an existing server path, resolved (symlinks and `..` followed).

    A key must have the shape import_upload_save gives (imports/<this project's id>/<upload folder>/<name>),
    name a stored file, and on the local disk resolve to a file inside the project's folder (no symlink
    out of it). Errors: ApplicationError `bad_parameters`, whose message never names a server folder or key.
    """
    if any_path:
        source = Path(path).resolve()
        if not source.exists():
            raise ApplicationError("bad_parameters", "The import path does not exist on the server.")
        return str(source)
    root = str(import_upload_root(project))
    key = stored_key_check(os.fspath(path), prefix=root)
    parts = PurePosixPath(key).parts if key else ()
    if len(parts) != 4 or not _UPLOAD_FOLDER.fullmatch(parts[2]) or not file_storage().exists(key):
        raise ApplicationError("bad_parameters", REFUSED_SOURCE)
    if not stored_file_within(key, root):  # a link on the local disk out of the project's folder
        raise ApplicationError("bad_parameters", REFUSED_SOURCE)
    return key


@contextmanager
def import_source_local(path: str):
    """The import source `path` (checked by import_source_check) as a file or folder on this machine: an
    upload streamed from the store into a private temporary copy (removed on exit; on the local disk the file
    itself), a command-line server path as it is."""
    if not import_source_is_upload(path):
        yield Path(path)
        return
    with stored_file_local(path) as local:
        yield local


def import_format_detect(*, path: str | os.PathLike, name: str | None = None) -> str:
    """The import format of the corpus at `path` (an upload's key, or a file or folder on this machine), from its
    member names (a .zip of .ann/.txt is brat; `annotations.formats.detect.detect_format`); `name` is what
    messages call it (default: the last part of `path`).

    Errors: ApplicationError `unknown_format` when the names point to no format, `bad_upload` when the
    archive is refused (unsafe members, over the size limits). Messages name the file, never its folder.
    """
    from annotations.formats.document import FormatError
    from annotations.formats.registry import READERS, corpus_format_detect

    name = name or PurePosixPath(os.fspath(path)).name
    try:
        with import_source_local(os.fspath(path)) as local:
            fmt = corpus_format_detect(
                local,
                max_bytes=settings.ADE_REVIEW_MAX_IMPORT_BYTES,
                max_member_bytes=settings.ADE_REVIEW_MAX_IMPORT_MEMBER_BYTES,
            )
    except FormatError as exc:
        raise ApplicationError("bad_upload", f"the corpus was refused: {exc.problems[0]}"[:1000]) from None
    if fmt is None:
        raise ApplicationError(
            "unknown_format",
            f"{name}: its files point to no import format ({', '.join(sorted(READERS))}); choose the format.",
        )
    return fmt


def _upload_check(upload: UploadedFile) -> tuple[str, str]:
    """The upload's file name (its folders dropped) and lower-case suffix, when an import may take it.
    Errors: ApplicationError `bad_upload`, `upload_too_large` (413)."""
    name = Path(upload.name or "").name
    suffix = Path(name).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise ApplicationError(
            "bad_upload",
            f"{name or 'The file'}: an import takes {', '.join(UPLOAD_SUFFIXES)} "
            "(a .zip of a brat or ADE-Corpus folder, or one JSONL / PubTator file, or a FHIR Bundle / NDJSON).",
        )
    if not upload.size:
        raise ApplicationError("bad_upload", f"{name}: the file is empty.")
    limit = settings.ADE_REVIEW_MAX_IMPORT_BYTES
    if upload.size > limit:
        raise ApplicationError(
            "upload_too_large", f"{name}: {upload.size:,} bytes, over the limit of {limit:,}.", status=413
        )
    return name, suffix


@contextmanager
def _upload_on_disk(upload: UploadedFile, suffix: str):
    """The uploaded file as a file of this machine, to read before it is stored: Django's own temporary file when
    it wrote one (large uploads), else a private copy (0700 folder, removed on exit) of the in-memory upload."""
    own = getattr(upload, "temporary_file_path", None)
    if own is not None and Path(own()).suffix.lower() == suffix:
        yield Path(own())
        return
    with tempfile.TemporaryDirectory(prefix="ade-review-upload-") as folder:
        local = Path(folder) / f"upload{suffix}"
        with open(local, "wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        yield local


def import_upload_save(*, project: Project, upload: UploadedFile) -> str:
    """Store an uploaded corpus file where the project's import jobs may read it.

    Result: the stored file's key (a fresh folder per upload, so two uploads of one name never collide).
    Errors: ApplicationError `bad_upload` (no name, a type the readers do not take, an empty file) or
    `upload_too_large` (over ADE_REVIEW_MAX_IMPORT_BYTES, status 413); the store's own errors. Nothing is left
    stored on error.
    """
    name, suffix = _upload_check(upload)
    return _store(project=project, name=name, suffix=suffix, content=upload)


def import_server_file_save(*, project: Project, path: Path) -> str | None:
    """Store a file of this machine that the command line named (start_job --path) as an upload of the project,
    so that the worker that runs the import, on whatever machine, reads it from the store like any upload.

    Result: its key; None for what is no single corpus file (a folder, another suffix): that stays a server path,
    read from the disk of the worker that runs the job. Errors: the store's own."""
    suffix = path.suffix.lower()
    if not path.is_file() or suffix not in UPLOAD_SUFFIXES:
        return None
    with open(path, "rb") as fh:
        return _store(project=project, name=path.name, suffix=suffix, content=File(fh, name=path.name))


def _store(*, project: Project, name: str, suffix: str, content) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).stem).strip("._")[: MAX_NAME - len(suffix)] or "upload"
    key = f"{import_upload_root(project)}/{timezone.now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}/{stem}{suffix}"
    try:
        stored = file_storage().save(key, content)  # streamed in chunks (multipart into a bucket)
        own = stored_file_local_path(stored)
        if own is not None:
            # On the local disk: 0600 in a 0700 folder (clinical notes: only the app's user reads them),
            # stricter than the store's default for the files it keeps (exports are 0640).
            os.chmod(own, 0o600)
            os.chmod(own.parent, 0o700)
    except BaseException:
        stored_file_delete(key, own_folder=True)
        raise
    return stored


def import_upload_discard(key: str) -> None:
    """Remove an upload that no job will read (its job could not be created); only keys under "imports"."""
    if stored_key_check(key, prefix="imports"):
        stored_file_delete(key, own_folder=True)


def import_upload_start(*, project: Project, upload: UploadedFile, fmt: str = "auto", created_by=None):
    """Store the upload and create its import job (the Job); the stored file is removed again when the job
    cannot be created. `fmt` "auto" (or empty) takes the format from the file (import_format_detect).
    Errors: those of import_upload_save and job_create (e.g. an unknown format, unknown_format)."""
    from inference.jobs.engine import job_create

    parameters = {"format": fmt or "auto"}
    if parameters["format"] == "auto":
        # Read here, from the upload this node holds, before it is stored: an upload of no known format is
        # refused with nothing stored, and the web node never reads its own upload back from a bucket.
        name, suffix = _upload_check(upload)
        with _upload_on_disk(upload, suffix) as local:
            parameters.update(format=import_format_detect(path=local, name=name), format_detected=True)
    key = import_upload_save(project=project, upload=upload)
    try:
        return job_create(project=project, kind="import", parameters={"path": key, **parameters},
                          created_by=created_by)
    except BaseException:
        import_upload_discard(key)
        raise
