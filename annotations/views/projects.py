"""Project list, dashboard, review queue and patient pages."""

from __future__ import annotations

import secrets
import time

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, QueryDict
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.dateparse import parse_date
from django.views.decorators.http import require_http_methods

from annotations import selectors
from annotations.audit.services import audit_phi_read
from annotations.errors import ApplicationError
from annotations.permissions import (
    ROLE_CAPABILITIES,
    Capability,
    annotation_set_visibility,
    annotation_sets_all_visible,
    prelabels_visible,
    project_get_for_user,
    user_may_create_project,
)
from annotations.services.notes import MAX_EXTERNAL_ID, MAX_FIELD, MAX_PATIENT_ID, note_create
from annotations.services.schemas import project_schema_get


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
    archived = request.GET.get("archived") == "1"
    page_value = request.GET.get("page", "1")
    page = max(1, min(int(page_value), 10_000)) if page_value.isdigit() else 1
    size = PROJECT_PAGE
    rows = list(selectors.project_list_for_user(user=request.user, archived=archived)[(page - 1) * size:page * size + 1])
    context = {
        "projects": rows[:size], "page": page, "has_next": len(rows) > size, "archived": archived,
        "may_create": user_may_create_project(request.user),
    }
    return render(request, "annotations/project_list.html", context)


PROJECT_PAGE = 50


@login_required
def project_dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    project, role = project_get_for_user(user=request.user, slug=slug, capability=Capability.VIEW)
    context = {
        "project": project,
        "role": role,
        "jobs_url": _jobs_url(slug),
        "can_manage": Capability.MANAGE in ROLE_CAPABILITIES[role],
        # Blind annotation: agreement figures tell what the others said (annotations.permissions).
        "agreement_visible": not project.blind_annotation
        or annotation_sets_all_visible(user=request.user, project=project, role=role),
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
            note = note_create(
                project=project,
                external_id=d["external_id"],
                text=d["text"],
                patient_external_id=d["patient"] or None,
                timestamp=d["timestamp"],
                unit=d["unit"],
                note_type=d["note_type"],
                actor=request.user,
            )
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            return redirect("note-detail", slug=slug, note_id=note.pk)
    return render(
        request, "annotations/note_new.html", {"project": project, "form": form}, status=400 if form.errors else 200
    )


# Search text and patient ids are PHI: they never go into a URL (access logs, browser history, Referer).
# The filter form POSTs them; the session keeps them under a short-lived random token that the URL (the
# address bar, the pager links) carries instead. A GET that still carries them is redirected to such a URL.
PRIVATE_FILTERS = ("q", "patient")
SEARCH_TOKEN = "search"
SEARCH_TOKEN_TTL_S = 3600
SEARCH_TOKENS_KEPT = 20
_NOT_FILTERS = {"csrfmiddlewaretoken", "after", SEARCH_TOKEN, *PRIVATE_FILTERS}


def _search_token_save(request: HttpRequest, private: dict[str, str]) -> str:
    """Keep the private filters in the session; returns the token that names them."""
    now = time.time()
    kept = {
        t: v for t, v in request.session.get("queue_searches", {}).items() if now - v["at"] < SEARCH_TOKEN_TTL_S
    }
    token = secrets.token_urlsafe(12)
    kept[token] = {"at": now, **private}
    request.session["queue_searches"] = dict(sorted(kept.items(), key=lambda kv: kv[1]["at"])[-SEARCH_TOKENS_KEPT:])
    return token


def _search_token_load(request: HttpRequest, token: str) -> dict[str, str]:
    """The private filters a token names; empty when unknown or expired."""
    saved = request.session.get("queue_searches", {}).get(token) if token else None
    if not saved or time.time() - saved["at"] >= SEARCH_TOKEN_TTL_S:
        return {}
    return {k: saved.get(k, "") for k in PRIVATE_FILTERS}


def _queue_url(request: HttpRequest, slug: str, source: QueryDict, private: dict[str, str]) -> str:
    """The queue's address for these filters: public ones in the query string, private ones as a token."""
    public = QueryDict(mutable=True)
    for key in source:
        if key not in _NOT_FILTERS:
            public.setlist(key, source.getlist(key))
    if any(private.values()):
        public[SEARCH_TOKEN] = _search_token_save(request, private)
    query = public.urlencode()
    return reverse("note-queue", args=[slug]) + (f"?{query}" if query else "")


def _filters(get) -> selectors.QueueFilters:
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


def _id_url(name: str, slug: str):
    """`pk -> the address of pattern `name` for this project and pk`, reversing once: `{% url %}` twice a
    row was a tenth of the queue page's server time."""
    marker = "2147483647"
    head, _, tail = reverse(name, args=[slug, int(marker)]).rpartition(marker)
    return lambda pk: f"{head}{int(pk)}{tail}"


@login_required
@require_http_methods(["GET", "POST"])
def queue(request: HttpRequest, slug: str) -> HttpResponse:
    """The review queue; an HTMX request (filters changed, next page) gets only the results fragment.

    The filter form POSTs (see PRIVATE_FILTERS): an HTMX post gets the results with `HX-Push-Url` set to the
    token address, a plain post is redirected there."""
    project, role = project_get_for_user(user=request.user, slug=slug, capability=Capability.VIEW)
    source = request.POST if request.method == "POST" else request.GET
    if any("\x00" in value for values in source.lists() for value in values[1]):
        return HttpResponseBadRequest("Filters may not contain NUL characters.")
    private = {k: source.get(k, "").strip() for k in PRIVATE_FILTERS}
    push_url = None
    if request.method == "POST" or any(private.values()):
        url = _queue_url(request, slug, source, private)
        if request.method == "GET" or not request.htmx:
            return redirect(url)  # 302 to a GET (POST/redirect/GET): reload and back never resend the form
        push_url = url
        params = QueryDict(url.partition("?")[2], mutable=True)
    else:
        params = request.GET.copy()
        private = _search_token_load(request, request.GET.get(SEARCH_TOKEN, ""))
    values = params.copy()
    for key, value in private.items():
        values[key] = value
    try:
        filters = _filters(values)
    except ValueError:
        filters = selectors.QueueFilters()
    # Blind annotation: the filters on annotations see only the viewer's own sets (annotations.permissions).
    visible = annotation_set_visibility(user=request.user, project=project, role=role)
    page = selectors.note_queue(project=project, filters=filters, cursor=params.get("after", ""), visible=visible)
    # Why each flagged note is flagged: drug, reaction, confidence and the sentence (clinical text).
    schema = project_schema_get(project=project)
    # Blind pre-labels: an annotator is not told what the model found (drug, reaction, sentence).
    reasons = (selectors.note_flag_reasons(project=project, notes=page.notes, schema=schema)
               if prelabels_visible(user=request.user, project=project, role=role) else {})
    note_url, patient_url = _id_url("note-detail", slug), _id_url("patient-detail", slug)
    for n in page.notes:
        n.flag_reason = reasons.get(n.pk)
        n.detail_url = note_url(n.pk)
        n.patient_url = patient_url(n.patient_id) if n.patient_id else ""
    if filters.q or filters.patient or any(r.sentence for r in reasons.values()):
        # Which notes hold a text or belong to a patient, or the evidence sentences shown: a PHI read.
        audit_phi_read(view="queue_search" if filters.q or filters.patient else "queue", notes=page.notes,
                       request=request, project=project,
                       details={"text_search": bool(filters.q), "patient_filter": bool(filters.patient)})
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
        response = render(request, "annotations/queue.html#queue-results", context)
        if push_url:
            response["HX-Push-Url"] = push_url
        return response
    if request.htmx and request.htmx.target == "queue-more":
        return render(request, "annotations/queue.html#queue-rows", context)
    context["choices"] = selectors.queue_filter_choices(project=project, schema=schema)
    return render(request, "annotations/queue.html", context)


@login_required
def patient_detail(request: HttpRequest, slug: str, patient_id: int) -> HttpResponse:
    project, role = project_get_for_user(user=request.user, slug=slug, capability=Capability.VIEW)
    patient = selectors.patient_get(project=project, patient_id=patient_id)
    notes = list(selectors.patient_notes(patient=patient))
    audit_phi_read(view="patient", notes=notes, request=request, project=project, details={"patient": patient.pk})
    return render(
        request, "annotations/patient.html", {"project": project, "role": role, "patient": patient, "notes": notes}
    )
