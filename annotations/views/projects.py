"""Project list, dashboard, review queue and patient pages."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.dateparse import parse_date

from annotations import selectors
from annotations.permissions import Capability, project_get_for_user


def _jobs_url(slug: str) -> str | None:
    """The inference job list, when that app has one."""
    for name, kwargs in (("inference:job-list", {"slug": slug}), ("inference:job-list", {}), ("job-list", {"slug": slug})):
        try:
            return reverse(name, kwargs=kwargs)
        except NoReverseMatch:
            continue
    return None


@login_required
def project_list(request: HttpRequest) -> HttpResponse:
    return render(request, "annotations/project_list.html", {"projects": selectors.project_list_for_user(user=request.user)})


@login_required
def project_dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    project, role = project_get_for_user(user=request.user, slug=slug, capability=Capability.VIEW)
    context = {
        "project": project,
        "role": role,
        "jobs_url": _jobs_url(slug),
        **selectors.project_dashboard(project=project),
    }
    return render(request, "annotations/dashboard.html", context)


def _filters(request: HttpRequest) -> selectors.QueueFilters:
    get = request.GET
    return selectors.QueueFilters(
        flagged_only=get.get("all") != "1",
        status=get.get("status", ""),
        entity_type=get.get("entity_type", ""),
        relation_type=get.get("relation_type", ""),
        annotator=get.get("annotator", "").strip(),
        patient=get.get("patient", "").strip(),
        date_from=parse_date(get.get("date_from", "") or "") if get.get("date_from") else None,
        date_to=parse_date(get.get("date_to", "") or "") if get.get("date_to") else None,
        q=get.get("q", "").strip()[:200],
    )


@login_required
def queue(request: HttpRequest, slug: str) -> HttpResponse:
    """The review queue; an HTMX request (filters changed, next page) gets only the results fragment."""
    project, role = project_get_for_user(user=request.user, slug=slug, capability=Capability.VIEW)
    try:
        filters = _filters(request)
    except ValueError:
        filters = selectors.QueueFilters()
    page = selectors.note_queue(project=project, filters=filters, cursor=request.GET.get("after", ""))
    params = request.GET.copy()
    params.pop("after", None)
    context = {
        "project": project,
        "role": role,
        "page": page,
        "filters": filters,
        "query": params.urlencode(),
        "after": request.GET.get("after", ""),
    }
    if request.htmx and request.htmx.target == "queue-results":
        return render(request, "annotations/queue.html#queue-results", context)
    if request.htmx and request.htmx.target == "queue-more":
        return render(request, "annotations/queue.html#queue-rows", context)
    context["choices"] = selectors.queue_filter_choices(project=project)
    return render(request, "annotations/queue.html", context)


@login_required
def patient_detail(request: HttpRequest, slug: str, patient_id: int) -> HttpResponse:
    project, role = project_get_for_user(user=request.user, slug=slug, capability=Capability.VIEW)
    patient = selectors.patient_get(project=project, patient_id=patient_id)
    return render(
        request,
        "annotations/patient.html",
        {"project": project, "role": role, "patient": patient, "notes": selectors.patient_notes(patient=patient)},
    )
