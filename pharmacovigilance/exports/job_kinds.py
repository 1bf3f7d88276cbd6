"""The `case_export` job kind: a project's cases as FHIR R4 Bundles (one per case, zipped) or one ICH E2B(R3)
batch XML, with progress and Cancel, audited.

Started by project admins only: through the API (`POST /api/projects/<slug>/cases/exports/`, or the jobs API with
kind `case_export`), the case export page, or `start_job`. The job reads the cases a batch at a time, writes to a
file in a private temporary folder of its worker that is put in the store (exports/<project id>/, the local disk
or the bucket every machine shares) only when every case is written (a failed or cancelled export leaves
nothing behind), and records each case it could not write (and, for E2B, what a receiver would refuse) as job
errors. Restartable from scratch: a redelivered run rewrites its file.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from django.conf import settings
from django.db import transaction

from ade_review.storage import stored_file_delete, stored_file_put
from annotations.audit.models import AuditAction
from annotations.audit.services import audit_record
from annotations.errors import ApplicationError
from inference.jobs.engine import ProgressWriter, job_fail, job_finish
from inference.jobs.registry import JobKindSpec, JobRequest, Param, register
from inference.jobs.selectors import JobOutcome
from inference.models import FINISHED_STATES, Job, JobError
from pharmacovigilance.core.export import FORMATS, case_reports_write_e2b_file, case_reports_write_fhir_zip
from pharmacovigilance.exports.selectors import (
    FILTER_KEYS,
    case_ids_for_export,
    case_note_texts,
    case_reports_for_export,
)
from pharmacovigilance.selectors import case_filters_clean

CASE_EXPORT = "case_export"
FORMAT_NAMES = {"fhir": "FHIR R4", "e2b": "ICH E2B(R3)"}
ALL = "all"
MAX_IDS = 5000  # explicit selections; "all" has no limit
_IDS = re.compile(r"^\d{1,12}(,\d{1,12})*$")
CANCEL_CHECK_EVERY = 100  # cases


class _Cancelled(Exception):
    pass


def case_selection_parse(value: str) -> list[int] | None:
    """`cases` as given ("all", or case ids separated by commas) -> None (all) or the ids.
    Errors: ApplicationError `bad_parameters`."""
    value = (value or ALL).replace(" ", "")
    if value == ALL:
        return None
    if not _IDS.match(value):
        raise ApplicationError("bad_parameters", "cases: \"all\", or case ids separated by commas.")
    ids = list(dict.fromkeys(int(v) for v in value.split(",")))
    if len(ids) > MAX_IDS:
        raise ApplicationError("bad_parameters", f"cases: at most {MAX_IDS} ids (or \"all\").")
    return ids


def _prepare(request: JobRequest) -> JobRequest:
    p = request.parameters
    ids = case_selection_parse(p.get("cases", ALL))
    if p.get("case_filter"):
        case_filters_clean(p["case_filter"])  # bad_filter names the parameter
    if ids is not None:
        case_ids_for_export(project=request.project, case_ids=ids)  # every id must be a case of this project
    if p.get("include_note_text") and p["report_format"] != "fhir":
        raise ApplicationError("bad_parameters", "include_note_text: only a FHIR export carries note text.")
    return request


def _out_name(job: Job) -> str:
    fmt = job.parameters["report_format"]
    return f"job-{job.pk}-{job.project.slug}-cases-{fmt}{FORMATS[fmt]}"


def _run(job: Job) -> None:
    # The file is written in a private temporary folder of this worker (removed whatever happens) and put in
    # the store only when complete.
    with tempfile.TemporaryDirectory(prefix="ade-review-export-") as folder:
        _run_into(job, Path(folder))


def _run_into(job: Job, folder: Path) -> None:
    p = job.parameters
    fmt = p["report_format"]
    try:
        ids = case_ids_for_export(project=job.project, case_ids=case_selection_parse(p.get("cases", ALL)),
                                  filters=p.get("case_filter"), user=job.created_by)
    except ApplicationError as exc:
        job_fail(job_id=job.pk, message=f"{exc.code}: {exc.message}")
        return
    Job.objects.filter(pk=job.pk).update(total=len(ids))
    part = folder / _out_name(job)
    write_progress = ProgressWriter(job.pk)

    def progress(done: int) -> None:
        write_progress(done)
        if done % CANCEL_CHECK_EVERY == 0 and Job.objects.filter(pk=job.pk).values_list("state", flat=True).first() \
                in FINISHED_STATES:
            raise _Cancelled

    reports = case_reports_for_export(project=job.project, case_ids=ids)
    try:
        if fmt == "fhir":
            result = case_reports_write_fhir_zip(
                reports, part, include_note_text=bool(p.get("include_note_text")),
                note_texts=lambda report: case_note_texts(project=job.project, report=report), progress=progress)
        else:
            result = case_reports_write_e2b_file(
                reports, part, batch_id=f"{job.project.slug}-{job.pk}"[:100], sender_id=settings.ADE_REVIEW_E2B_SENDER_ID,
                receiver_id=p.get("receiver") or settings.ADE_REVIEW_E2B_RECEIVER_ID,
                sender_organisation=settings.ADE_REVIEW_E2B_SENDER_ORGANISATION, progress=progress)
        key = stored_file_put(key=f"exports/{job.project_id}/{part.name}", local_path=part)
    except _Cancelled:
        part.unlink(missing_ok=True)
        return
    except ApplicationError as exc:
        part.unlink(missing_ok=True)
        job_fail(job_id=job.pk, message=f"{exc.code}: {exc.message}")
        return
    except OSError as exc:
        part.unlink(missing_ok=True)
        job_fail(job_id=job.pk, message=f"the export could not be written ({type(exc).__name__})")
        return
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=job.pk)
        if locked.state in FINISHED_STATES:  # cancelled after the last check
            stored_file_delete(key)
            return
        JobError.objects.bulk_create(
            [JobError(job=locked, note=None, message=f"case {case_id}: {reason}"[:1000])
             for case_id, reason in result.failed]
            + [JobError(job=locked, note=None, message=f"warning: {w}"[:1000]) for w in result.warnings],
            batch_size=1000)
        locked.done, locked.failed = result.written, len(result.failed)
        locked.total = max(len(ids), locked.done + locked.failed)
        locked.result_path = key
        locked.parameters = {**locked.parameters, "outcome": {
            "exported": result.written, "failed": len(result.failed), "warnings": len(result.warnings),
            "first_warnings": result.warnings[:20]}}
        locked.save(update_fields=["done", "failed", "total", "result_path", "parameters"])
        warned = f"; {len(result.warnings)} E2B warning(s)" if result.warnings else ""
        job_finish(locked, message=f"exported {result.written} case(s) as {FORMAT_NAMES[fmt]}{warned}")
        # What left the system: the format and which cases (their ids), in the transaction that finishes the job.
        audit_record(action=AuditAction.EXPORT, actor=job.created_by, project=job.project, object_type="job",
                     object_id=job.pk, details={"kind": CASE_EXPORT, "format": fmt, "cases": result.written,
                                                "case_ids": ids[:1000], "more_case_ids": max(0, len(ids) - 1000),
                                                "include_note_text": bool(p.get("include_note_text"))})


def _outcome(job: Job) -> JobOutcome:
    figures = dict((job.parameters or {}).get("outcome") or {})
    figures.update(format=FORMAT_NAMES.get((job.parameters or {}).get("report_format"), ""),
                   has_file=bool(job.result_path))
    return JobOutcome(kind=job.kind, figures=figures, template="pharmacovigilance/outcomes/_case_export.html")


register(JobKindSpec(
    name=CASE_EXPORT,
    label="Case export (FHIR / E2B)",
    params=(
        Param("report_format", "choice", "Case export: FHIR R4 Bundles (zipped) or one ICH E2B(R3) batch.",
              choices=tuple(FORMATS), default="fhir", invalid="Unknown case export format {value!r}; known: {choices}."),
        Param("cases", help="Case export: \"all\" or case ids separated by commas.", default=ALL, max_length=70_000),
        Param("case_filter", "dict", "Case export: the line listing's filters (drug, reaction, seriousness, who_umc, "
              "naranjo, date_from, date_to, dates, state); only the cases its starter may see.", keys=FILTER_KEYS),
        Param("include_note_text", "bool", "Case export (FHIR): put the source notes' text in the Bundles."),
        Param("receiver", help="Case export (E2B): the receiver's identifier (N.1.4).", max_length=100),
    ),
    prepare=_prepare,
    run=_run,
    outcome=_outcome,
    # The job form's fields are shared by every kind; the case export has its own page, so the form leaves it out.
    doors=frozenset({"api", "cli"}),
    audit_keys=("report_format", "include_note_text"),  # the case ids: in the export record when it finishes
))
