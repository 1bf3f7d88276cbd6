"""The agreement page and its CSV (issue 17): who agrees with whom on verdicts and annotations."""

from __future__ import annotations

import csv

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from annotations.agreement.csv_export import agreement_csv_rows
from annotations.agreement.selectors import project_agreement
from annotations.errors import ApplicationError
from annotations.permissions import Capability, agreement_check_visible, project_get_for_user


def _project(request: HttpRequest, slug: str):
    project, role = project_get_for_user(user=request.user, slug=slug, capability=Capability.VIEW)
    try:
        agreement_check_visible(user=request.user, project=project, role=role)
    except ApplicationError as exc:  # blind annotation: reviewers and admins only
        raise PermissionDenied(exc.message) from None
    return project, role


@login_required
@require_GET
def project_agreement_page(request: HttpRequest, slug: str) -> HttpResponse:
    project, role = _project(request, slug)
    report = project_agreement(project=project)
    return render(request, "annotations/agreement.html", {"project": project, "role": role, "report": report})


class _Echo:
    def write(self, value):
        return value


@login_required
@require_GET
def project_agreement_csv(request: HttpRequest, slug: str) -> StreamingHttpResponse:
    project, _ = _project(request, slug)
    report = project_agreement(project=project)
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse((writer.writerow(row) for row in agreement_csv_rows(report)), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="agreement-{project.slug}.csv"'
    return response
