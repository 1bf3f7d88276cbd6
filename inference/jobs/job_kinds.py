"""The job kinds the engine's own package owns: importing a corpus and exporting one (each one task,
restartable from scratch: an import skips notes already present, an export rewrites its file)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ade_review.storage import stored_file_delete, stored_file_put
from annotations.audit.models import AuditAction
from annotations.audit.services import audit_record
from annotations.errors import ApplicationError
from annotations.formats.document import FormatError
from annotations.formats.registry import READERS, WRITERS
from annotations.models import Note
from annotations.services.corpus_export import annotation_set_filter, corpus_export
from annotations.services.corpus_import import corpus_import
from inference.jobs.engine import ProgressWriter, job_fail, job_finish
from inference.jobs.import_uploads import (
    import_format_detect,
    import_server_file_save,
    import_source_check,
    import_source_is_upload,
    import_source_local,
)
from inference.jobs.registry import JobKindSpec, JobRequest, Param, register
from inference.jobs.selectors import JobOutcome
from inference.models import FINISHED_STATES, Job, JobError, JobState

IMPORT = "import"
AUTO_FORMAT = "auto"  # an import's format taken from its file (annotations.formats.detect)
EXPORT = "export"
EXPORT_SOURCE_HELP = ("Export: which annotations (gold | submitted | latest-submitted | annotators: every "
                      "annotator's set and the gold | user:NAME | model:VERSION | import:NAME).")


def _import_prepare(request: JobRequest) -> JobRequest:
    p = request.parameters
    if not p.get("path"):
        raise ApplicationError("bad_parameters", "An import needs an uploaded file (from the command line: a path).")
    source = import_source_check(project=request.project, path=p["path"], any_path=request.any_import_path)
    if p["format"] == AUTO_FORMAT:
        p["format"] = import_format_detect(path=source)
        p["format_detected"] = True
    if request.any_import_path:
        # A file the command line named goes into the store like an upload, so that whichever worker runs the
        # job, on whatever machine, reads it; a folder stays a path of this machine (README: Deployment).
        source = import_server_file_save(project=request.project, path=Path(source)) or source
    p["path"] = source
    return request


def _export_prepare(request: JobRequest) -> JobRequest:
    annotation_set_filter(request.parameters["source"])
    return request


def _import_run(job: Job) -> None:
    p = job.parameters
    progress = ProgressWriter(job.pk)
    try:
        # Checked again where it is read: the parameters come back from the database. An upload is read from
        # the store (a worker of another machine reads a private temporary copy, removed after).
        source = import_source_check(project=job.project, path=p["path"],
                                     any_path=not import_source_is_upload(p["path"]))
        with import_source_local(source) as local:
            report = corpus_import(
                project=job.project,
                path=local,
                fmt=p["format"],
                source_name=p.get("source_name") or "import",
                max_member_bytes=settings.ADE_REVIEW_MAX_IMPORT_MEMBER_BYTES,
                progress=lambda read, imported: progress(read),
            )
    except ApplicationError as exc:
        job_fail(job_id=job.pk, message=f"{exc.code}: {exc.message}")
        return
    except FormatError as exc:
        # The archive itself was refused (zip slip, a link, a bomb, a broken zip): say which. The problems
        # name archive members and reasons, never a server path (archive.Corpus).
        _fail_with_problems(job, exc.problems)
        return
    except (OSError, ValueError) as exc:
        job_fail(job_id=job.pk, message=f"the import could not be read ({type(exc).__name__})")
        return
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=job.pk)
        if locked.state in FINISHED_STATES:
            return
        JobError.objects.bulk_create(
            [JobError(job=locked, note=None, message=str(problem)[:500]) for problem in report.skipped]
        )
        locked.done = report.imported + report.already_present
        locked.failed = report.skipped_documents
        locked.total = locked.done + locked.failed
        # What the finished page and the API say (_import_outcome): counts, never text.
        locked.parameters = {
            **locked.parameters,
            "outcome": {
                "imported": report.imported,
                "already_present": report.already_present,
                "skipped": report.skipped_documents,
                "entities": report.entities,
                "relations": report.relations,
                "events": report.events,
            },
        }
        locked.save(update_fields=["done", "failed", "total", "parameters"])
        job_finish(locked, message=report.summary().splitlines()[0])


def _fail_with_problems(job: Job, problems: list) -> None:
    """Fail an import whose corpus was refused whole, one error per problem and the first in the message."""
    messages = [str(problem)[:500] for problem in problems] or ["the corpus was refused"]
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=job.pk)
        if locked.state in FINISHED_STATES:
            return
        # Every problem is kept (the job page pages them and sums them up by reason); none is cut.
        JobError.objects.bulk_create(
            [JobError(job=locked, note=None, message=m) for m in messages], batch_size=1000
        )
        more = f" (and {len(messages) - 1} more)" if len(messages) > 1 else ""
        locked.state, locked.finished_at = JobState.FAILED, timezone.now()
        locked.message = f"the corpus was refused: {messages[0]}{more}"[:1000]
        locked.save(update_fields=["state", "finished_at", "message"])


def export_key(job: Job, filename: str) -> str:
    """Where an export job's file is stored: exports/<project id>/<filename> (the download checks that folder)."""
    return f"exports/{job.project_id}/{filename}"


def _export_run(job: Job) -> None:
    p = job.parameters
    name = f"job-{job.pk}-{job.project.slug}-{p['format']}.zip"
    total = Note.objects.filter(project=job.project).count()
    Job.objects.filter(pk=job.pk).update(total=total)
    progress = ProgressWriter(job.pk)
    # Written on this worker's disk first (a private temporary folder, removed whatever happens), then put in
    # the store in one piece (streamed: multipart into a bucket), so no half-written export is ever stored.
    with tempfile.TemporaryDirectory(prefix="ade-review-export-") as folder:
        try:
            written = corpus_export(
                project=job.project,
                out=Path(folder) / name,
                fmt=p["format"],
                source=p["source"],
                only_annotated=bool(p.get("only_annotated")),
                progress=progress,
            )
            key = stored_file_put(key=export_key(job, name), local_path=Path(folder) / name)
        except ApplicationError as exc:
            job_fail(job_id=job.pk, message=f"{exc.code}: {exc.message}")
            return
        except OSError as exc:
            job_fail(job_id=job.pk, message=f"the export could not be written ({type(exc).__name__})")
            return
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=job.pk)
        if locked.state in FINISHED_STATES:
            stored_file_delete(key)  # cancelled meanwhile: nothing is kept
            return
        locked.done, locked.total, locked.result_path = written, max(total, written), key
        locked.save(update_fields=["done", "total", "result_path"])
        job_finish(locked, message=f"exported {written} notes as {p['format']} ({p['source']})")
        # The trail's export record: a project with notes can be deleted only after an export newer than
        # its last change (annotations.services.projects.project_delete_refusal reads it).
        audit_record(action=AuditAction.EXPORT, actor=job.created_by, project=job.project, object_type="job",
                     object_id=job.pk, details={"format": p["format"], "source": p["source"], "notes": written})


def _import_outcome(job: Job) -> JobOutcome:
    outcome = dict((job.parameters or {}).get("outcome") or {})
    outcome["format"] = (job.parameters or {}).get("format", "")
    return JobOutcome(kind=job.kind, figures=outcome, template="inference/outcomes/_import.html")


def _export_outcome(job: Job) -> JobOutcome:
    return JobOutcome(kind=job.kind, figures={"exported": job.done, "has_file": bool(job.result_path)},
                      template="inference/outcomes/_export.html")


register(JobKindSpec(
    name=IMPORT,
    label="Import",
    params=(
        # A server path only from the command line (issue 13); web and API imports upload the file.
        Param("path", help="Import: a corpus folder or file on the server.", max_length=4096, doors=frozenset({"cli"})),
        Param("format", "choice", "Import: the corpus format (auto: from the file; a .zip of .ann/.txt is brat).",
              choices=lambda: [AUTO_FORMAT, *sorted(READERS)], default=AUTO_FORMAT,
              doors=frozenset({"cli", "upload"}), invalid="Unknown import format {value!r}; known: {choices}."),
        Param("source_name", help="Import: the name of the imported annotation sets.", doors=frozenset()),
        # Set by the upload door, which detects the format on the file it holds (import_upload_start).
        Param("format_detected", "bool", "Import: the format was taken from the file.", doors=frozenset()),
    ),
    prepare=_import_prepare,
    run=_import_run,
    outcome=_import_outcome,
    doors=frozenset({"cli", "upload"}),  # web and API upload the file (import_uploads.import_upload_start)
    audit_keys=("format",),
))
register(JobKindSpec(
    name=EXPORT,
    label="Export",
    params=(
        Param("format", "choice", "Export: the file format.", choices=lambda: sorted(WRITERS), default="jsonl",
              invalid="Unknown export format {value!r}; known: {choices}."),
        Param("source", help=EXPORT_SOURCE_HELP, default="gold", max_length=210),
        Param("only_annotated", "bool", "Export: only notes that have annotations of that source."),
    ),
    prepare=_export_prepare,
    run=_export_run,
    outcome=_export_outcome,
    audit_keys=("format", "source"),
))
