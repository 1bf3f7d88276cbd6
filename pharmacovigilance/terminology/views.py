"""Terminology pages: which versions are loaded (site staff and project admins), the upload that loads one as
a job with progress and Cancel (site staff), and the look-up fragment any form can show (POST: what is
typed is clinical words, never put in a URL)."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from annotations.errors import ApplicationError
from annotations.permissions import (
    user_may_load_terminologies,
    user_may_look_up_terms,
    user_may_see_terminologies,
)
from inference.jobs.engine import job_cancel
from inference.jobs.selectors import job_error_list
from inference.models import Job
from pharmacovigilance.core.terminology import System
from pharmacovigilance.terminology import selectors
from pharmacovigilance.terminology.job_kinds import TERMINOLOGY_LOAD
from pharmacovigilance.terminology.selectors import MAX_QUERY
from pharmacovigilance.terminology.services import terminology_upload_start

SYSTEM_CHOICES = [(s.value, s.label) for s in System]
LOOKUP_LIMIT = 10
RECENT_LOADS = 10


class UploadForm(forms.Form):
    system = forms.ChoiceField(choices=SYSTEM_CHOICES)
    version = forms.CharField(max_length=50, help_text="e.g. 27.0 (MedDRA), 2024 (ATC), 20240101 (SNOMED CT)")
    upload = forms.FileField(help_text="MedDRA: a .zip of the MedAscii folder. ATC: a .csv or .tsv of code, name. "
                                       "SNOMED CT: a .zip of the RF2 release or its sct2_Description_Snapshot .txt.")


class LookupForm(forms.Form):
    system = forms.ChoiceField(choices=SYSTEM_CHOICES)
    q = forms.CharField(max_length=MAX_QUERY, required=False, strip=True)


def _page(request: HttpRequest, form: UploadForm | None, status: int = 200) -> HttpResponse:
    may_load = user_may_load_terminologies(request.user)
    context = {
        "current": selectors.terminology_list(current_only=True),
        "history": selectors.terminology_list()[:50],
        "may_load": may_load,
        "form": form if may_load else None,
        "loads": Job.objects.filter(project__isnull=True, kind=TERMINOLOGY_LOAD).select_related("created_by")
        [:RECENT_LOADS] if may_load else (),
    }
    return render(request, "terminology/terminologies.html", context, status=status)


@login_required
@require_GET
def terminology_list(request: HttpRequest) -> HttpResponse:
    """The loaded versions and the load history; site staff also get the upload form and recent loads."""
    if not user_may_see_terminologies(request.user):
        raise PermissionDenied("Site administrators and project admins see the loaded terminologies.")
    return _page(request, UploadForm())


@login_required
@require_POST
def terminology_upload(request: HttpRequest) -> HttpResponse:
    """POST (site staff): store the upload and start its load job; the job's page follows its progress."""
    if not user_may_load_terminologies(request.user):
        raise PermissionDenied("Only site administrators load terminologies.")
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, form, status=400)
    d = form.cleaned_data
    try:
        job = terminology_upload_start(by=request.user, system=d["system"], version=d["version"], upload=d["upload"])
    except ApplicationError as exc:
        form.add_error(None, exc.message)
        return _page(request, form, status=exc.status if exc.status >= 400 else 400)
    return redirect("terminology-load-detail", job_id=job.pk)


def _load_or_404(request: HttpRequest, job_id: int) -> Job:
    if not user_may_load_terminologies(request.user):
        raise PermissionDenied("Only site administrators load terminologies.")
    job = Job.objects.filter(pk=job_id, project__isnull=True, kind=TERMINOLOGY_LOAD).select_related("created_by").first()
    if job is None:
        raise Http404("No such terminology load.")
    return job


@login_required
@require_GET
def terminology_load_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    """A load's progress (HTMX polls the fragment), its outcome or its problems (file, line, reason)."""
    job = _load_or_404(request, job_id)
    template = "terminology/load.html#progress" if request.htmx else "terminology/load.html"
    errors = job_error_list(job=job, limit=200) if job.has_errors else ()
    return render(request, template, {"job": job, "errors": errors,
                                      "outcome": (job.parameters or {}).get("outcome")})


@login_required
@require_POST
def terminology_load_cancel(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _load_or_404(request, job_id)
    try:
        job = job_cancel(job=job, user=request.user)
    except ApplicationError:
        job.refresh_from_db()  # it finished meanwhile: show how
    if request.htmx:
        return render(request, "terminology/load.html#progress", {"job": job, "errors": (), "outcome": None})
    return redirect("terminology-load-detail", job_id=job.pk)


@login_required
@require_POST
def terminology_lookup(request: HttpRequest) -> HttpResponse:
    """POST system, q: the suggestion list fragment (templates/terminology/_suggestions.html), for any form."""
    if not user_may_look_up_terms(request.user):
        raise PermissionDenied("Members of a project look terms up.")
    form = LookupForm(request.POST)
    if not form.is_valid():
        return render(request, "terminology/_suggestions.html", {"error": "Choose a terminology (MedDRA, ATC or "
                                                                          "SNOMED CT) and type at most "
                                                                          f"{MAX_QUERY} characters."}, status=400)
    system = System(form.cleaned_data["system"])
    loaded = selectors.terminology_current(system=system)
    hits = selectors.term_search(system=system, query=form.cleaned_data["q"], limit=LOOKUP_LIMIT,
                                 terminology=loaded) if loaded else []
    return render(request, "terminology/_suggestions.html", {
        "hits": hits, "system": system, "resource": system.resource, "loaded": loaded,
        "asked": bool(form.cleaned_data["q"]),
    })
