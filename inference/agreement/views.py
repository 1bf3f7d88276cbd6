"""The agreement page's job panel (annotations.views.agreement embeds it for large projects): the latest
agreement job's progress with Cancel, then the report it stored (and its CSV); admins start a new one."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from annotations.agreement.charts import over_time_chart
from annotations.agreement.csv_export import agreement_csv_rows
from annotations.agreement.selectors import project_rated_note_count
from annotations.errors import ApplicationError
from annotations.permissions import Capability, agreement_check_visible, project_get_for_user, user_can
from annotations.views.downloads import csv_download
from inference.agreement.job_kinds import AGREEMENT
from inference.agreement.selectors import agreement_job_latest, agreement_result_latest
from inference.jobs.engine import job_cancel, job_create


def _project(request: HttpRequest, slug: str, capability: Capability = Capability.VIEW):
    project, role = project_get_for_user(user=request.user, slug=slug, capability=capability)
    try:
        agreement_check_visible(user=request.user, project=project, role=role)
    except ApplicationError as exc:  # blind annotation: reviewers and admins only
        raise PermissionDenied(exc.message) from None
    return project, role


def _panel(request: HttpRequest, project, *, error: str = "") -> HttpResponse:
    job = agreement_job_latest(project=project)
    # While a job runs the panel is polled every second: the last result (and its plot) waits for the new one.
    result = agreement_result_latest(project=project) if job is None or job.is_finished else None
    context = {
        "project": project,
        "job": job,
        "error": error,
        "can_manage": user_can(user=request.user, project=project, capability=Capability.MANAGE),
        "rated_notes": project_rated_note_count(project=project),
    }
    if result is not None:
        context.update(result_job=result[0], report=result[1], over_time=over_time_chart(result[1]))
    return render(request, "inference/agreement_panel.html", context)


@login_required
@require_GET
def agreement_job_panel(request: HttpRequest, slug: str) -> HttpResponse:
    """The panel (HTMX polls it every second while the job runs); without HTMX, the agreement page."""
    project, _ = _project(request, slug)
    if not request.htmx:
        return redirect("project-agreement", slug=project.slug)
    return _panel(request, project)


@login_required
@require_POST
def agreement_job_start(request: HttpRequest, slug: str) -> HttpResponse:
    """Start computing the project's agreement (admins); answers the panel, or the page without HTMX."""
    project, _ = _project(request, slug, Capability.MANAGE)
    latest = agreement_job_latest(project=project)
    error = ""
    if latest is not None and not latest.is_finished:
        error = "The agreement is being computed already."
    else:
        try:
            job_create(project=project, kind=AGREEMENT, created_by=request.user)
        except ApplicationError as exc:
            error = exc.message
    if not request.htmx:
        return redirect("project-agreement", slug=project.slug)
    # 200 even when refused: htmx swaps only 2xx answers, and the panel is what says why (and what runs).
    return _panel(request, project, error=error)


@login_required
@require_POST
def agreement_job_cancel(request: HttpRequest, slug: str) -> HttpResponse:
    """Cancel the running agreement job (admins); its last finished result stays."""
    project, _ = _project(request, slug, Capability.MANAGE)
    latest = agreement_job_latest(project=project)
    if latest is not None and not latest.is_finished:
        try:
            job_cancel(job=latest, user=request.user)
        except ApplicationError:
            pass  # it finished meanwhile: the panel shows how
    if not request.htmx:
        return redirect("project-agreement", slug=project.slug)
    return _panel(request, project)


@login_required
@require_GET
def agreement_job_csv(request: HttpRequest, slug: str) -> StreamingHttpResponse:
    """The last computed agreement as CSV (annotations.agreement.csv_export, as for a small project)."""
    project, _ = _project(request, slug)
    result = agreement_result_latest(project=project)
    if result is None:
        raise Http404("The agreement has not been computed yet.")
    return csv_download(agreement_csv_rows(result[1]), f"agreement-{project.slug}.csv")
