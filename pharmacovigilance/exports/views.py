"""The case export page (project admins): choose FHIR or E2B(R3), start the export job, and see the project's
recent case exports. The case page links here with `?cases=<id>`; the line listing with `?cases=all` and its own
query (its public filters and the token of its private ones), so that the export holds what the listing shows."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from annotations.errors import ApplicationError
from annotations.permissions import Capability, project_get_for_user
from inference.jobs.engine import job_create
from inference.models import Job
from pharmacovigilance.exports.job_kinds import ALL, CASE_EXPORT, FORMAT_NAMES, case_selection_parse
from pharmacovigilance.exports.selectors import FILTER_KEYS, case_ids_for_export


class CaseExportForm(forms.Form):
    report_format = forms.ChoiceField(label="Format", choices=list(FORMAT_NAMES.items()), initial="fhir",
                                      widget=forms.RadioSelect)
    cases = forms.CharField(label="Cases", initial=ALL, max_length=70_000,
                            help_text="\"all\", or case ids separated by commas.")
    include_note_text = forms.BooleanField(label="Put the source notes' text in the FHIR Bundles", required=False)
    receiver = forms.CharField(label="E2B receiver", max_length=100, required=False,
                               help_text="The receiver's identifier (N.1.4); the site's default when empty.")


# The line listing's filters travel as hidden fields (the private ones, drug and reaction words, never in an address).
for _key in FILTER_KEYS:
    CaseExportForm.base_fields[f"filter_{_key}"] = forms.CharField(required=False, max_length=200,
                                                                   widget=forms.HiddenInput)


def _listing_filters(request: HttpRequest, params: QueryDict) -> dict[str, str]:
    """The line listing's filters named by its query (public parameters, and the token of its private ones)."""
    from pharmacovigilance import views as listing  # the listing owns its addresses and tokens

    try:
        _, values = listing._filters(request, params)
    except ApplicationError:
        return {}
    return {k: str(v) for k, v in values.items() if k in FILTER_KEYS and v}


@login_required
@require_http_methods(["GET", "POST"])
def case_export_page(request: HttpRequest, slug: str) -> HttpResponse:
    project, _ = project_get_for_user(user=request.user, slug=slug, capability=Capability.MANAGE)
    filters = _listing_filters(request, request.GET) if request.method == "GET" else {}
    initial = {"cases": request.GET.get("cases", ALL)[:70_000], **{f"filter_{k}": v for k, v in filters.items()}}
    form = CaseExportForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        parameters = {k: v for k, v in d.items() if not k.startswith("filter_") and v not in ("", None)}
        case_filter = {k: d[f"filter_{k}"] for k in FILTER_KEYS if d.get(f"filter_{k}")}
        if case_filter:
            parameters["case_filter"] = case_filter
        try:
            job = job_create(project=project, kind=CASE_EXPORT, parameters=parameters, created_by=request.user)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            return redirect("inference:job-detail", slug=project.slug, job_id=job.pk)
    selected, selection_error = None, ""
    if request.method == "GET":  # how many cases the link selected (the job counts again when it runs)
        try:
            selected = len(case_ids_for_export(project=project, case_ids=case_selection_parse(initial["cases"]),
                                               filters=filters or None, user=request.user))
        except ApplicationError as exc:
            selection_error = exc.message
    jobs = Job.objects.filter(project=project, kind=CASE_EXPORT).select_related("created_by").order_by("-pk")[:20]
    return render(request, "pharmacovigilance/case_export.html",
                  {"project": project, "form": form, "jobs": jobs, "filters": filters, "selected": selected,
                   "selection_error": selection_error}, status=400 if form.errors else 200)
