"""Files uploaded for an import: kept under MEDIA_ROOT/imports/<project id>/<upload>/, where import jobs read.

The browser cannot name a path on the server, so an upload is written to the project's upload root first
and the import job reads it from there (a .zip of a brat/ADE folder, or one JSONL / PubTator file).
Writing happens in the request, streamed in chunks, readable by the app's user only (0600 in a 0700
folder); reading, checking and importing happen in the job (in a worker when a broker is configured).

`import_source_check` is the one rule for what an import job may read: web and API doors only a file
the project itself uploaded (checked after resolving symlinks and `..`); any server path only from the
command line (`start_job`). The project id, not its slug, names the root: a slug can be taken again by
a new project, an id cannot.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone

from annotations.errors import ApplicationError
from annotations.models import Project

# What the import readers take as one file: archives of a corpus folder, or the single-file formats.
UPLOAD_SUFFIXES = (".zip", ".jsonl", ".json", ".ndjson", ".txt", ".pubtator")
MAX_NAME = 120


def import_upload_root(project: Project) -> Path:
    """The folder holding the project's uploads: the only place its web and API imports may read."""
    return Path(settings.MEDIA_ROOT) / "imports" / str(project.pk)


def import_source_check(*, project: Project, path: str | os.PathLike, any_path: bool = False) -> Path:
    """The file an import job of `project` may read at `path`, resolved (symlinks and `..` followed).

    Web and API imports (`any_path` False) may read only a file under the project's upload root;
    `any_path` (the command line) allows any existing server path. Errors: ApplicationError
    `bad_parameters`, whose message never names a server folder.
    """
    source = Path(path).resolve()
    if any_path:
        if not source.exists():
            raise ApplicationError("bad_parameters", "The import path does not exist on the server.")
        return source
    root = import_upload_root(project).resolve()
    if root not in source.parents or not source.is_file():
        raise ApplicationError(
            "bad_parameters",
            "An import reads only a file uploaded to this project (the job page's upload, or "
            "POST .../imports/); server paths are accepted from the command line only (start_job).",
        )
    return source


def import_format_detect(*, path: str | os.PathLike) -> str:
    """The import format of the corpus file at `path`, from its member names (a .zip of .ann/.txt is brat;
    `annotations.formats.detect.detect_format`).

    Errors: ApplicationError `unknown_format` when the names point to no format, `bad_upload` when the
    archive is refused (unsafe members, over the size limits). Messages name the file, never its folder.
    """
    from annotations.formats.document import FormatError
    from annotations.formats.registry import READERS, corpus_format_detect

    name = Path(path).name
    try:
        fmt = corpus_format_detect(
            path,
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


def import_upload_save(*, project: Project, upload: UploadedFile) -> Path:
    """Store an uploaded corpus file where the project's import jobs may read it.

    Result: the stored file's path (a fresh folder per upload, so two uploads of one name never collide).
    Errors: ApplicationError `bad_upload` (no name, a type the readers do not take, an empty file) or
    `upload_too_large` (over ADE_REVIEW_MAX_IMPORT_BYTES, status 413). Nothing is left on disk on error.
    """
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
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).stem).strip("._")[: MAX_NAME - len(suffix)] or "upload"
    folder = import_upload_root(project) / f"{timezone.now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    folder.mkdir(mode=0o700, parents=True)
    path = folder / f"{stem}{suffix}"
    try:
        # Created 0600 (clinical notes: only the app's user reads them), whatever the process's umask.
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
            os.fchmod(out.fileno(), 0o600)
            for chunk in upload.chunks():
                out.write(chunk)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return path


def import_upload_discard(path: Path) -> None:
    """Remove an upload that no job will read (its job could not be created)."""
    folder = Path(path).parent
    root = Path(settings.MEDIA_ROOT).resolve() / "imports"
    if root in folder.resolve().parents:
        shutil.rmtree(folder, ignore_errors=True)


def import_upload_start(*, project: Project, upload: UploadedFile, fmt: str = "auto", created_by=None):
    """Store the upload and create its import job (the Job); the stored file is removed again when the job
    cannot be created. `fmt` "auto" (or empty) takes the format from the file (import_format_detect).
    Errors: those of import_upload_save and job_create (e.g. an unknown format, unknown_format)."""
    from inference.jobs.engine import job_create

    path = import_upload_save(project=project, upload=upload)
    try:
        return job_create(
            project=project, kind="import", parameters={"path": str(path), "format": fmt or "auto"},
            created_by=created_by,
        )
    except BaseException:
        import_upload_discard(path)
        raise
