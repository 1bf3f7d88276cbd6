"""Project list, dashboard, review queue and patient pages."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.dateparse import parse_date
from django.views.decorators.http import require_http_methods

from annotations import selectors
from annotations.audit import AuditAction, audit_record
from annotations.errors import ApplicationError
from annotations.permissions import ROLE_CAPABILITIES, Capability, project_get_for_user
from annotations.services.notes import MAX_EXTERNAL_ID, MAX_FIELD, MAX_PATIENT_ID, note_create


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
        "can_manage": Capability.MANAGE in ROLE_CAPABILITIES[role],
        **selectors.project_dashboard(project=project),
    }
    return render(request, "annotations/dashboard.html", context)


class NoteForm(forms.Form):
    external_id = forms.CharField(label="Note id", max_length=MAX_EXTERNAL_ID, help_text="Unique in the project")
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 12}), strip=False)
    patient = forms.CharField(required=False, max_length=MAX_PATIENT_ID, help_text="Created when new")
    timestamp = forms.DateTimeField(required=False, help_text="When the note was written, e.g. 2026-11-30 08:15")
    unit = forms.CharField(required=False, max_length=MAX_FIELD)
    note_type = forms.CharField(required=False, max_length=MAX_FIELD)


@login_required
@require_http_methods(["GET", "POST"])
def note_new(request: HttpRequest, slug: str) -> HttpResponse:
    """Add one note by hand (admins); its text is stored exactly as typed and is immutable afterwards."""
    project, _ = project_get_for_user(user=request.user, slug=slug, capability=Capability.MANAGE)
    form = NoteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            with transaction.atomic():
                note = note_create(
                    project=project,
                    external_id=d["external_id"],
                    text=d["text"],
                    patient_external_id=d["patient"] or None,
                    timestamp=d["timestamp"],
                    unit=d["unit"],
                    note_type=d["note_type"],
                )
                audit_record(
                    action=AuditAction.NOTE_CREATE, request=request, project=project, note=note,
                    object_type="note", object_id=note.pk,
                    details={"external_id": note.external_id, "patient": d["patient"] or None,
                             "text_hash": note.text_hash, "length": len(note.text)},
                )  # fmt: skip
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            return redirect("note-detail", slug=slug, note_id=note.pk)
    return render(
        request, "annotations/note_new.html", {"project": project, "form": form}, status=400 if form.errors else 200
    )


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
