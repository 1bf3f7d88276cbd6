"""The audit trail's pages for project admins (MANAGE): browse with filters, export as CSV."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils.dateparse import parse_date

from annotations.audit.csv_export import audit_csv_rows
from annotations.audit.models import AuditAction
from annotations.audit.selectors import audit_event_list
from annotations.permissions import Capability, project_get_for_user
from annotations.views.downloads import csv_download


def _filters(request: HttpRequest) -> dict:
    action = request.GET.get("action", "")
    note = request.GET.get("note", "")
    since = parse_date(request.GET.get("since", "") or "") if len(request.GET.get("since", "")) <= 10 else None
    until = parse_date(request.GET.get("until", "") or "") if len(request.GET.get("until", "")) <= 10 else None
    return {
        "action": action if action in AuditAction.values else None,
        "actor_username": request.GET.get("actor", "")[:150].replace("\x00", "") or None,
        "note_id": int(note) if note.isdigit() and len(note) <= 18 else None,
        "since": since,
        "until": until,
    }


def _project_or_site(request: HttpRequest, slug: str | None):
    """The project (MANAGE needed) or, without a slug, the whole site (logins included): superusers only."""
    if slug is None:
        if not request.user.is_superuser:
            raise Http404("No such page.")
        return None
    project, _ = project_get_for_user(user=request.user, slug=slug, capability=Capability.MANAGE)
    return project


@login_required
def audit_event_browse(request: HttpRequest, slug: str | None = None) -> HttpResponse:
    project = _project_or_site(request, slug)
    filters = _filters(request)
    page = Paginator(audit_event_list(project=project, **filters), 100).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "audit/event_list.html",
        {"project": project, "page": page, "actions": AuditAction.choices, "filters": request.GET,
         "query": query.urlencode()},
    )


@login_required
def audit_event_export(request: HttpRequest, slug: str | None = None) -> StreamingHttpResponse:
    project = _project_or_site(request, slug)
    events = audit_event_list(project=project, **_filters(request)).iterator(chunk_size=2000)
    return csv_download(audit_csv_rows(events), f"audit-{project.slug if project else 'site'}.csv")
