"""Job pages: list and start (MANAGE), watch progress (VIEW; HTMX polls a fragment), cancel, download."""

from __future__ import annotations

from pathlib import PurePosixPath

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from ade_review.storage import file_storage, stored_file_response
from annotations.audit.models import AuditAction
from annotations.audit.services import audit_record
from annotations.errors import ApplicationError
from annotations.permissions import Capability, project_get_for_user, user_can
from annotations.services.schema_editing import schema_types_add
from inference.jobs import selectors
from inference.jobs.engine import job_cancel, job_create
from inference.jobs.import_uploads import import_upload_start
from inference.jobs.registry import JobKindSpec, Param, kind_get, kinds, params_for
from inference.models import Job


def _form_field(param: Param) -> forms.Field:
    """The form field of a job parameter (the same Param the API serializer and start_job read)."""
    if param.type == "choice":
        choices = [(v, v) for v in param.choice_values()]
        if param.default is None:  # nothing chosen: the kind's own behaviour (e.g. no quantization)
            choices = [("", "(none)"), *choices]
        return forms.ChoiceField(choices=choices, required=False, help_text=param.help, initial=param.default)
    if param.type == "int":
        return forms.IntegerField(required=False, min_value=param.minimum, max_value=param.maximum,
                                  help_text=param.help, initial=param.default)
    if param.type == "bool":
        return forms.BooleanField(required=False, help_text=param.help, label=param.label or None,
                                  initial=param.form_initial)
    return forms.CharField(required=False, max_length=param.max_length, help_text=param.help, initial=param.default)


class JobStartForm(forms.Form):
    """Start any kind offered to pages; its fields are the kinds' parameters (inference.jobs.registry): a
    "dict" parameter shows one field per key (e.g. the filter's unit and note type)."""

    kind = forms.ChoiceField(choices=())
    model_version = forms.ModelChoiceField(queryset=None, required=False, empty_label="active model")
    # No server path here: web imports read only what was uploaded to this project (issue 13: an admin
    # of one project named another project's upload folder); `start_job` takes paths on the command line.
    upload = forms.FileField(
        required=False,
        help_text="Import: a .zip of a brat or ADE-Corpus folder, or one JSONL / PubTator file",
    )

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        # Model jobs first (the form opens on the everyday one), then the others in registration order.
        offered = sorted((k for k in kinds() if {"web", "upload"} & k.doors), key=lambda k: not k.chunked)
        self.fields["kind"].choices = [(k.name, k.label) for k in offered]
        self.fields["model_version"].queryset = selectors.model_version_list(project=project)
        self.params = {p.name: p for p in params_for("web", "upload")}
        for param in self.params.values():
            if param.type == "dict":
                for key in param.keys:
                    self.fields[key] = forms.CharField(required=False, max_length=param.max_length,
                                                       help_text=f"{param.help} ({key})")
            else:
                self.fields[param.name] = _form_field(param)

    def clean(self):
        if self.data.get("path"):
            raise forms.ValidationError(
                "Server paths are accepted from the command line only (start_job); upload the file instead."
            )
        return super().clean()

    def spec(self) -> JobKindSpec:
        return kind_get(self.cleaned_data["kind"])

    def parameters(self) -> dict:
        """The chosen kind's parameters that were filled in (job_create checks them against the kind)."""
        d, spec, out = self.cleaned_data, self.spec(), {}
        for param in spec.params:
            if param.name not in self.params:
                continue
            if param.type == "dict":
                value = {key: d[key] for key in param.keys if d.get(key)}
            else:
                value = d.get(param.name)
            if param.type == "choice" and value == self.fields[param.name].initial and (
                value not in param.choice_values()
            ):
                continue  # the field's untouched default belongs to another kind (import's "auto"): use this one's
            if value not in (None, "", {}, False):
                out[param.name] = value
        return out


def _can_manage(request: HttpRequest, project) -> bool:
    return user_can(user=request.user, project=project, capability=Capability.MANAGE)


@login_required
@require_http_methods(["GET", "POST"])
def job_list(request: HttpRequest, slug: str) -> HttpResponse:
    capability = Capability.MANAGE if request.method == "POST" else Capability.VIEW
    project, role = project_get_for_user(user=request.user, slug=slug, capability=capability)
    # `?kind=import` opens the form on that kind (a new project's "start from a corpus" lands here).
    form = JobStartForm(request.POST or None, request.FILES or None, project=project,
                        initial={"kind": request.GET.get("kind", "")[:40]})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            if "upload" in form.spec().doors:
                if not d["upload"]:
                    raise ApplicationError("bad_parameters", f"{form.spec().label}: choose a file to upload.")
                job = import_upload_start(
                    project=project, upload=d["upload"], fmt=d.get("format") or "", created_by=request.user
                )
            else:
                job = job_create(
                    project=project,
                    kind=d["kind"],
                    parameters=form.parameters(),
                    model_version=d["model_version"],
                    created_by=request.user,
                    door="web",
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


def _job_or_404(project, job_id: int) -> Job:
    try:
        return selectors.job_get(project=project, job_id=job_id)
    except Job.DoesNotExist as exc:
        raise Http404("No such job.") from exc


def _detail_context(request: HttpRequest, project, job: Job) -> dict:
    has_errors = job.has_errors
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
    job = _job_or_404(project, job_id)
    template = "inference/job_detail.html"
    if request.htmx:
        template += "#errors" if "errors_page" in request.GET else "#progress"
    return render(request, template, _detail_context(request, project, job))


@login_required
@require_POST
def job_import_add_types(request: HttpRequest, slug: str, job_id: int) -> HttpResponse:
    """A finished import whose documents used types the schema lacks: add those types to the schema
    (annotations.services.schema_editing.schema_types_add, audited) and import the same upload again (notes
    already imported are skipped), instead of fixing documents one by one."""
    project, _ = project_get_for_user(user=request.user, slug=slug, capability=Capability.MANAGE)
    job = _job_or_404(project, job_id)
    if job.kind != "import" or not job.is_finished or not job.has_errors:
        raise Http404("Nothing to add for this job.")
    unknown = selectors.job_error_summary(job=job).unknown_types
    by_kind: dict[str, list[str]] = {}
    for u in unknown:
        by_kind.setdefault(u.kind, []).append(u.name)
    try:
        schema_types_add(project=project, by=request.user, entity_types=tuple(by_kind.get("entity", ())),
                         relation_types=tuple(by_kind.get("relation", ())),
                         event_types=tuple(by_kind.get("event", ())),
                         attribute_types=tuple(by_kind.get("attribute", ())))
        again = job_create(project=project, kind="import", parameters={
            "path": job.parameters.get("path", ""), "format": job.parameters.get("format") or "auto"},
            created_by=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("inference:job-detail", slug=project.slug, job_id=job.pk)
    messages.success(request, f"Added {len(unknown)} type{'s' if len(unknown) != 1 else ''} to the schema; "
                     "importing again.")
    return redirect("inference:job-detail", slug=project.slug, job_id=again.pk)


@login_required
@require_POST
def job_cancel_view(request: HttpRequest, slug: str, job_id: int) -> HttpResponse:
    project, _ = project_get_for_user(user=request.user, slug=slug, capability=Capability.MANAGE)
    job = _job_or_404(project, job_id)
    try:
        job = job_cancel(job=job, user=request.user)
    except ApplicationError:
        job.refresh_from_db()  # finished meanwhile: show how it ended
    if request.htmx:
        return render(request, "inference/job_detail.html#progress", _detail_context(request, project, job))
    return redirect("inference:job-detail", slug=project.slug, job_id=job.pk)


@login_required
def job_download(request: HttpRequest, slug: str, job_id: int) -> FileResponse:
    """Stream a finished export's file from the store through this web node (admins only; only the job's
    project's exports: selectors.job_result_file). Audited."""
    project, _ = project_get_for_user(user=request.user, slug=slug, capability=Capability.MANAGE)
    job = _job_or_404(project, job_id)
    if not job.result_path:  # a kind that makes a file (export) records it
        raise Http404("This job has no file.")
    key = selectors.job_result_file(job=job)
    if key is None:
        raise Http404("The export file is gone.")
    name = PurePosixPath(key).name
    audit_record(action=AuditAction.DOWNLOAD, request=request, project=project, object_type="job",
                 object_id=job.pk, details={"file": name, "bytes": file_storage().size(key)})
    return stored_file_response(key, filename=name)
