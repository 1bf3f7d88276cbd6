"""The terminology's job kinds (inference.jobs.registry), registered when the app is ready (apps.py):

- `terminology_load`: a site-wide job (no project) that loads an uploaded MedDRA, ATC or SNOMED CT file
  (services.terminology_load), with progress in KiB read and Cancel (checked every few thousand records:
  a cancelled load rolls back whole). The upload is deleted when the job ends, whatever the outcome: a
  licensed file is not kept on the server. Started from the terminology page only (no project door).
- `propose_codes`: a project's job that proposes an ATC or MedDRA code for every Drug and reaction span of
  each note's newest model set (services.normalizations_propose): the pre-annotation step for codes.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from ade_review.storage import (
    file_storage,
    stored_file_delete,
    stored_file_local,
    stored_file_within,
    stored_key_check,
)
from annotations.errors import ApplicationError
from annotations.models import AnnotationSet, AnnotationSetSource
from inference.jobs.engine import ProgressWriter, job_fail, job_finish
from inference.jobs.registry import JobKindSpec, JobRequest, Param, register
from inference.jobs.selectors import JobOutcome
from inference.models import FINISHED_STATES, Job, JobError, JobState
from pharmacovigilance.core.terminology import System
from pharmacovigilance.terminology.selectors import terminology_current
from pharmacovigilance.terminology.services import (
    DEFAULT_MINIMUM,
    normalizations_propose,
    terminology_load,
    terminology_upload_root,
)

TERMINOLOGY_LOAD = "terminology_load"
PROPOSE_CODES = "propose_codes"
PROPOSE_BATCH = 50  # sets per transaction: a cancel takes effect between batches


def _stopped(job_id: int) -> bool:
    return (Job.objects.filter(pk=job_id).values_list("state", flat=True).first() or "cancelled") in FINISHED_STATES


# --- terminology_load ---------------------------------------------------------------------------------------


def _load_prepare(request: JobRequest) -> JobRequest:
    if request.project is not None:
        raise ApplicationError("bad_kind", "A terminology is the site's, not a project's: load it from the "
                                           "Terminologies page.")
    p = request.parameters
    # Only what the terminology page uploaded; the command line loads any path itself (load_terminology).
    if _upload_key(p.get("path")) is None:
        raise ApplicationError("bad_parameters", "A terminology job reads only a file uploaded on the "
                                                 "Terminologies page.")
    return request


def _upload_key(key) -> str | None:
    """`key` when it names an uploaded terminology file in the store (terminologies/<upload>/<name>; on the
    local disk a real file inside that folder, no symlink out of it), else None."""
    root = str(terminology_upload_root())
    key = stored_key_check(key, prefix=root)
    if key is None or len(PurePosixPath(key).parts) != 3 or not file_storage().exists(key):
        return None
    return key if stored_file_within(key, root) else None


def _load_run(job: Job) -> None:
    p = job.parameters
    key = _upload_key(p.get("path"))  # checked again: the parameters come back from the database
    progress = ProgressWriter(job.pk)
    try:
        if key is None:
            raise ApplicationError("bad_parameters", "the uploaded terminology file is gone")
        # From the store: a worker of another machine reads a private temporary copy, removed after.
        with stored_file_local(key) as path:
            result = terminology_load(by=job.created_by, system=p["system"], version=p["version"], files=path,
                                      source_name=p.get("source_name") or path.name, progress=progress,
                                      should_stop=lambda: _stopped(job.pk))
    except ApplicationError as exc:
        if exc.code == "cancelled":
            return  # the job is cancelled already (that is what stopped the load)
        problems = (exc.details or {}).get("problems") if isinstance(exc.details, dict) else None
        if problems:
            _fail_with_problems(job, exc.message, problems)
        else:
            job_fail(job_id=job.pk, message=f"{exc.code}: {exc.message}")
        return
    finally:
        if key is not None:
            stored_file_delete(key, own_folder=True)  # a licensed file is not kept once its job ends
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=job.pk)
        if locked.state in FINISHED_STATES:
            return
        terms = sum(v for k, v in result.counts.items() if k != "hierarchy")
        locked.done = locked.total = max(locked.total, 1)
        locked.parameters = {**locked.parameters, "outcome": {
            "terminology": result.terminology.pk, "counts": result.counts, "terms": terms,
            "replaced": result.replaced.version if result.replaced else ""}}
        locked.save(update_fields=["done", "total", "parameters"])
        replaced = f", replacing {result.replaced.version}" if result.replaced else ""
        job_finish(locked, message=f"loaded {result.terminology} ({terms:,} terms){replaced}")


def _fail_with_problems(job: Job, message: str, problems: list[dict]) -> None:
    """Fail the load with one error per problem (file, line, reason: names and numbers from the files,
    never a server path) and the first in the job's message."""
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=job.pk)
        if locked.state in FINISHED_STATES:
            return
        JobError.objects.bulk_create(
            [JobError(job=locked, note=None,
                      message=(f"{p['file']}:{p['line']}: {p['reason']}" if p["line"] else
                               f"{p['file']}: {p['reason']}")[:500]) for p in problems],
            batch_size=1000,
        )
        locked.state, locked.finished_at, locked.message = JobState.FAILED, timezone.now(), message[:1000]
        locked.save(update_fields=["state", "finished_at", "message"])


def _load_outcome(job: Job) -> JobOutcome:
    return JobOutcome(kind=job.kind, figures=dict((job.parameters or {}).get("outcome") or {}))


register(JobKindSpec(
    name=TERMINOLOGY_LOAD,
    label="Load a terminology",
    params=(
        Param("system", "choice", "The terminology.", choices=[s.value for s in System], doors=frozenset()),
        Param("version", help="Its version (27.0, 2024-01 ...).", max_length=50, doors=frozenset()),
        Param("path", help="The uploaded file.", max_length=4096, doors=frozenset()),
        Param("source_name", help="The uploaded file's name.", max_length=200, doors=frozenset()),
    ),
    prepare=_load_prepare,
    run=_load_run,
    outcome=_load_outcome,
    doors=frozenset(),  # no project door: the Terminologies page starts it (views.terminology_upload)
    audit_keys=("system", "version"),
))


# --- propose_codes ------------------------------------------------------------------------------------------


def _propose_prepare(request: JobRequest) -> JobRequest:
    if request.project is None:
        raise ApplicationError("bad_parameters", "Codes are proposed in a project.")
    if not any(terminology_current(system=s) for s in (System.MEDDRA, System.ATC)):
        raise ApplicationError("no_terminology", "Neither MedDRA nor ATC is loaded: a site administrator loads "
                                                 "them on the Terminologies page first.")
    return request


def newest_model_sets(project):
    """Each note's newest model set in `project` (what a person's own set of the note starts from)."""
    newest = (AnnotationSet.objects.filter(note=OuterRef("note"), source_kind=AnnotationSetSource.MODEL)
              .order_by("-created_at", "-pk").values("pk")[:1])
    return (AnnotationSet.objects.filter(note__project=project, source_kind=AnnotationSetSource.MODEL)
            .filter(pk=Subquery(newest)).order_by("pk"))


def _propose_run(job: Job) -> None:
    minimum = int(job.parameters.get("min_score") or round(DEFAULT_MINIMUM * 100)) / 100
    ids = list(newest_model_sets(job.project).values_list("pk", flat=True))
    Job.objects.filter(pk=job.pk).update(total=len(ids))
    progress = ProgressWriter(job.pk)
    totals = {"sets": 0, "proposed": 0, "unmatched": 0}
    for start in range(0, len(ids), PROPOSE_BATCH):
        if _stopped(job.pk):
            return
        batch = AnnotationSet.objects.filter(pk__in=ids[start : start + PROPOSE_BATCH]).order_by("pk")
        done = normalizations_propose(by=job.created_by, annotation_sets=batch, minimum=minimum)
        for key in totals:
            totals[key] += done.get(key, 0)
        progress(min(len(ids), start + PROPOSE_BATCH), len(ids))
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=job.pk)
        if locked.state in FINISHED_STATES:
            return
        locked.done = locked.total = len(ids)
        locked.parameters = {**locked.parameters, "outcome": totals}
        locked.save(update_fields=["done", "total", "parameters"])
        job_finish(locked, message=f"{totals['proposed']} code(s) proposed in {totals['sets']} of {len(ids)} "
                                   f"model set(s); {totals['unmatched']} span(s) matched no term well enough")


def _propose_outcome(job: Job) -> JobOutcome:
    return JobOutcome(kind=job.kind, figures=dict((job.parameters or {}).get("outcome") or {}))


register(JobKindSpec(
    name=PROPOSE_CODES,
    label="Propose codes (ATC, MedDRA)",
    params=(
        Param("min_score", "int", "Propose codes: the lowest similarity (0-100) worth proposing.",
              default=round(DEFAULT_MINIMUM * 100), minimum=0, maximum=100),
    ),
    prepare=_propose_prepare,
    run=_propose_run,
    outcome=_propose_outcome,
    audit_keys=("min_score",),
))
