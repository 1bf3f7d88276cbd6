"""Job pages: list and start (MANAGE), watch progress (VIEW; HTMX polls a fragment), cancel, download."""

from __future__ import annotations

from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from annotations.audit import AuditAction, audit_record
from annotations.errors import ApplicationError
from annotations.formats import registry
from annotations.permissions import Capability, project_get_for_user, user_can

from . import selectors
from .models import Job, JobKind
from .selectors import SELECTIONS
from .services.import_uploads import import_upload_start
from .services.jobs import job_cancel, job_create

STARTABLE_KINDS = [(k, label) for k, label in JobKind.choices if k != JobKind.TRAIN]


class JobStartForm(forms.Form):
    kind = forms.ChoiceField(choices=STARTABLE_KINDS)
    selection = forms.ChoiceField(choices=[(s, s) for s in SELECTIONS], initial="unreviewed", required=False)
    unit = forms.CharField(required=False, max_length=100)
    note_type = forms.CharField(required=False, max_length=100)
    model_version = forms.ModelChoiceField(queryset=None, required=False, empty_label="active model")
    score = forms.BooleanField(
        required=False, initial=True, label="Score and flag",
        help_text="Pre-annotate: also store each note's ADE probability and flag it (classify always does)",
    )
    quantize = forms.ChoiceField(choices=[("", "fp32"), ("int8", "int8 (CPU)")], required=False)
    # No server path here: web imports read only what was uploaded to this project (issue 13: an admin
    # of one project named another project's upload folder); `start_job` takes paths on the command line.
    upload = forms.FileField(
        required=False,
        help_text="Import: a .zip of a brat or ADE-Corpus folder, or one JSONL / PubTator file",
    )
    format = forms.ChoiceField(
        choices=[("auto", "auto (from the file; export: jsonl)")]
        + [(f, f) for f in sorted({*registry.READERS, *registry.WRITERS})],
        required=False,
        initial="auto",
        help_text="Import: auto (a .zip of .ann/.txt is brat), ade, brat, jsonl or pubtator; "
        "export: brat, conll or jsonl",
    )
    source = forms.CharField(
        required=False, max_length=200, initial="gold", help_text="Export: which annotations"
    )

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["model_version"].queryset = selectors.model_version_list(project=project)

    def clean(self):
        if self.data.get("path"):
            raise forms.ValidationError(
                "Server paths are accepted from the command line only (start_job); upload the file instead."
            )
        return super().clean()

    def parameters(self) -> dict:
        d = self.cleaned_data
        if d["kind"] in (JobKind.PRE_ANNOTATE, JobKind.CLASSIFY):
            params = {"selection": d["selection"] or "all"}
            if params["selection"] == "filter":
                params["filter"] = {k: d[k] for k in ("unit", "note_type") if d[k]}
            if d["quantize"]:
                params["quantize"] = d["quantize"]
            if d["kind"] == JobKind.PRE_ANNOTATE and d["score"]:
                params["score"] = True
            return params
        if d["kind"] == JobKind.IMPORT:
            return {"format": d["format"] or "auto"}  # the file comes as an upload (import_upload_start)
        fmt = d["format"] if d["format"] not in ("", "auto") else "jsonl"
        return {"format": fmt, "source": d["source"] or "gold"}


def _can_manage(request: HttpRequest, project) -> bool:
    return user_can(user=request.user, project=project, capability=Capability.MANAGE)


@login_required
@require_http_methods(["GET", "POST"])
def job_list(request: HttpRequest, slug: str) -> HttpResponse:
    capability = Capability.MANAGE if request.method == "POST" else Capability.VIEW
    project, role = project_get_for_user(user=request.user, slug=slug, capability=capability)
    form = JobStartForm(request.POST or None, request.FILES or None, project=project)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            if d["kind"] == JobKind.IMPORT and d["upload"]:
                job = import_upload_start(
                    project=project, upload=d["upload"], fmt=d["format"] or "auto", created_by=request.user
                )
            else:
                job = job_create(
                    project=project,
                    kind=d["kind"],
                    parameters=form.parameters(),
                    model_version=d["model_version"],
                    created_by=request.user,
                )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            return redirect("inference:job-detail", slug=project.slug, job_id=job.pk)
    context = {
        "project": project,
        "jobs": selectors.job_list(project=project),
        "form": form,
        "can_manage": _can_manage(request, project),
    }
    return render(request, "inference/job_list.html", context, status=400 if form.errors else 200)


ERRORS_PER_PAGE = 50


def _detail_context(request: HttpRequest, project, job: Job) -> dict:
    has_errors = bool(job.failed or job.state == "failed")
    errors = (
        Paginator(selectors.job_error_list(job=job, limit=None), ERRORS_PER_PAGE).get_page(
            request.GET.get("errors_page")
        )
        if has_errors
        else None
    )
    return {
        "project": project,
        "job": job,
        "outcome": selectors.job_outcome(job=job),
        "errors": errors,
        "error_summary": selectors.job_error_summary(job=job) if has_errors and job.is_finished else None,
        "can_manage": _can_manage(request, project),
    }


@login_required
def job_detail(request: HttpRequest, slug: str, job_id: int) -> HttpResponse:
    """The job page; HTMX gets the progress fragment (the poll) or, with `errors_page`, one page of errors."""
    project, _ = project_get_for_user(user=request.user, slug=slug, capability=Capability.VIEW)
    try:
        job = selectors.job_get(project=project, job_id=job_id)
    except Job.DoesNotExist as exc:
        raise Http404("No such job.") from exc
    template = "inference/job_detail.html"
    if request.htmx:
        template += "#errors" if "errors_page" in request.GET else "#progress"
    return render(request, template, _detail_context(request, project, job))


@login_required
@require_POST
def job_cancel_view(request: HttpRequest, slug: str, job_id: int) -> HttpResponse:
    project, _ = project_get_for_user(user=request.user, slug=slug, capability=Capability.MANAGE)
    try:
        job = selectors.job_get(project=project, job_id=job_id)
    except Job.DoesNotExist as exc:
        raise Http404("No such job.") from exc
    try:
        job = job_cancel(job=job, user=request.user)
    except ApplicationError:
        job.refresh_from_db()  # finished meanwhile: show how it ended
    if request.htmx:
        return render(request, "inference/job_detail.html#progress", _detail_context(request, project, job))
    return redirect("inference:job-detail", slug=project.slug, job_id=job.pk)


@login_required
def job_download(request: HttpRequest, slug: str, job_id: int) -> FileResponse:
    """Stream a finished export's file (admins only; only files under MEDIA_ROOT/exports)."""
    project, _ = project_get_for_user(user=request.user, slug=slug, capability=Capability.MANAGE)
    try:
        job = selectors.job_get(project=project, job_id=job_id)
    except Job.DoesNotExist as exc:
        raise Http404("No such job.") from exc
    if job.kind != JobKind.EXPORT or not job.result_path:
        raise Http404("This job has no file.")
    path = Path(job.result_path).resolve()
    exports = (Path(settings.MEDIA_ROOT) / "exports").resolve()
    if exports not in path.parents or not path.is_file():
        raise Http404("The export file is gone.")
    audit_record(action=AuditAction.DOWNLOAD, request=request, project=project, object_type="job",
                 object_id=job.pk, details={"file": path.name, "bytes": path.stat().st_size})
    return FileResponse(path.open("rb"), as_attachment=True, filename=path.name)
