"""The agreement page and its CSV (issue 17): who agrees with whom on verdicts and annotations."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET

from annotations.agreement.charts import over_time_chart
from annotations.agreement.csv_export import agreement_csv_rows
from annotations.agreement.selectors import (
    agreement_inline_max_notes,
    project_agreement,
    project_rated_note_count,
)
from annotations.errors import ApplicationError
from annotations.permissions import Capability, agreement_check_visible, project_get_for_user
from annotations.views.downloads import csv_download


def _project(request: HttpRequest, slug: str):
    project, role = project_get_for_user(user=request.user, slug=slug, capability=Capability.VIEW)
    try:
        agreement_check_visible(user=request.user, project=project, role=role)
    except ApplicationError as exc:  # blind annotation: reviewers and admins only
        raise PermissionDenied(exc.message) from None
    return project, role


def _job_url(name: str, slug: str) -> str | None:
    """A URL of the agreement job panel, which the job engine's app serves (annotations never imports it)."""
    try:
        return reverse(f"inference:{name}", kwargs={"slug": slug})
    except NoReverseMatch:
        return None


def _as_job(project) -> tuple[int, str | None]:
    """(rated notes, the job panel's URL when the project is too large to compute its agreement inline)."""
    rated = project_rated_note_count(project=project)
    return rated, _job_url("agreement-job", project.slug) if rated > agreement_inline_max_notes() else None


@login_required
@require_GET
def project_agreement_page(request: HttpRequest, slug: str) -> HttpResponse:
    """Computed inline up to `agreement_inline_max_notes` rated notes; above, the page embeds the job panel."""
    project, role = _project(request, slug)
    context = {"project": project, "role": role}
    rated, panel_url = _as_job(project)
    if panel_url:
        context.update(job_panel_url=panel_url, rated_notes=rated, inline_max_notes=agreement_inline_max_notes())
    else:
        report = project_agreement(project=project)
        context.update(report=report, over_time=over_time_chart(report))
    return render(request, "annotations/agreement.html", context)


@login_required
@require_GET
def project_agreement_csv(request: HttpRequest, slug: str) -> StreamingHttpResponse:
    project, _ = _project(request, slug)
    if _as_job(project)[1]:  # a large project: the CSV of the job's last result
        return redirect(_job_url("agreement-job-csv", project.slug))
    report = project_agreement(project=project)
    return csv_download(agreement_csv_rows(report), f"agreement-{project.slug}.csv")
