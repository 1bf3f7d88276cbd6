"""Assignment pages (issue 17): an annotator's "My notes" with "Get next note", the admins' "Assignments"
(who has what, each note's assignees, assign by hand, unassign, reassign, release stale now) and the
assignment settings form of the project's settings page. Thin: `annotations.services.assignment` keeps the
rules and the audit, `annotations.selectors` reads, `annotations.permissions` says who may."""

from __future__ import annotations

import re

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from annotations import selectors
from annotations.errors import ApplicationError
from annotations.models import AssignmentOrder, Note, NoteAssignment
from annotations.permissions import ROLE_CAPABILITIES, Capability, project_get_for_user
from annotations.services import assignment as assignment_services

MAX_NOTE_IDS_CHARS = 20_000


class AssignmentSettingsForm(forms.Form):
    annotators_per_note = forms.IntegerField(
        label="Annotators per note", min_value=1, max_value=assignment_services.MAX_ANNOTATORS_PER_NOTE,
        help_text="How many people annotate each note (1: one each; 2 or more for agreement and adjudication)",
    )
    assignment_order = forms.ChoiceField(label="Hand notes out", choices=AssignmentOrder.choices)
    assignment_timeout_hours = forms.IntegerField(
        label="Back to the pool after (hours)", min_value=0, max_value=assignment_services.MAX_TIMEOUT_HOURS,
        help_text="An assignment nobody edited for this long goes back to the pool; 0 keeps it",
    )
    blind_annotation = forms.BooleanField(
        label="Blind annotation", required=False,
        help_text="Annotators see only their own annotations, not other people's or imported ones "
                  "(reviewers and admins see everything)",
    )
    blind_prelabels = forms.BooleanField(
        label="Hide the model's pre-labels from annotators", required=False,
        help_text="Annotators start from an empty set and do not see the model's annotations or flag evidence",
    )

    FIELDS = ("annotators_per_note", "assignment_order", "assignment_timeout_hours", "blind_annotation",
              "blind_prelabels")


def assignment_settings_form(project, data=None) -> AssignmentSettingsForm:
    """The form the project's settings page shows (annotations.views.project_admin)."""
    return AssignmentSettingsForm(data, initial={f: getattr(project, f) for f in AssignmentSettingsForm.FIELDS},
                                  prefix="assignment")


@login_required
@require_POST
def project_assignment_settings(request: HttpRequest, slug: str) -> HttpResponse:
    """Save the assignment settings (admins); an invalid form shows the settings page with its errors."""
    from .project_admin import project_settings_page

    project, role = project_get_for_user(user=request.user, slug=slug, capability=Capability.MANAGE)
    form = assignment_settings_form(project, request.POST)
    if form.is_valid():
        try:
            assignment_services.assignment_settings_update(by=request.user, project=project, **form.cleaned_data)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Assignment settings saved.")
            return redirect(reverse("project-settings", args=[slug]) + "#assignment")
    return project_settings_page(request, project, role, assignment_form=form, status=400)


def _page(request) -> int:
    value = request.GET.get("page", "1")
    return max(1, min(int(value), 10_000)) if value.isdigit() else 1


@login_required
@require_GET
def my_notes(request: HttpRequest, slug: str) -> HttpResponse:
    """The signed-in person's assigned notes, open ones first, with "Get next note"."""
    project, role = project_get_for_user(user=request.user, slug=slug, capability=Capability.VIEW)
    page = _page(request)
    size = selectors.MY_NOTES_PAGE
    rows, total = selectors.my_assignments(project=project, user=request.user, offset=(page - 1) * size, limit=size)
    context = {
        "project": project, "role": role, "rows": rows, "total": total, "page": page,
        "has_next": page * size < total,
        "can_annotate": Capability.ANNOTATE in ROLE_CAPABILITIES[role] and project.archived_at is None,
        "manual": project.assignment_order == AssignmentOrder.MANUAL,
    }
    if request.htmx and request.htmx.target == "my-notes-rows":
        return render(request, "annotations/my_notes.html#my-notes-rows", context)
    return render(request, "annotations/my_notes.html", context)


@login_required
@require_POST
def my_notes_next(request: HttpRequest, slug: str) -> HttpResponse:
    """Hand the person their next note (their open one first) and open it in the editor."""
    project, _ = project_get_for_user(user=request.user, slug=slug, capability=Capability.ANNOTATE)
    try:
        assignment = assignment_services.note_assign_next(by=request.user, project=project)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("my-notes", slug=slug)
    if assignment is None:
        if project.assignment_order == AssignmentOrder.MANUAL:
            messages.info(request, "Notes in this project are assigned by hand: an admin gives you your next one.")
        else:
            messages.info(request, "No note needs you now: every note has its annotators, or you have done them.")
        return redirect("my-notes", slug=slug)
    return redirect("note-detail", slug=slug, note_id=assignment.note_id)


# --- the admins' page ------------------------------------------------------------------------------------


def _which(value: str) -> str:
    return value if value in selectors.ASSIGNMENT_NOTE_FILTERS else "all"


def _after(value: str) -> int:
    return int(value) if value.isdigit() and len(value) < 19 else 0


@login_required
@require_GET
def project_assignments(request: HttpRequest, slug: str) -> HttpResponse:
    """Who has what (per person: open, stale, completed), each note's assignees with unassign and reassign,
    assign by hand, release the stale ones now (admins)."""
    project, role = project_get_for_user(user=request.user, slug=slug, capability=Capability.MANAGE)
    which, after = _which(request.GET.get("which", "")), _after(request.GET.get("after", ""))
    notes, following = selectors.assignment_notes(project=project, which=which, after=after)
    context = {
        "project": project, "role": role, "notes": notes, "next_after": following, "after": after,
        "which": which, "filters": selectors.ASSIGNMENT_NOTE_FILTERS,
    }
    if request.htmx and request.htmx.target == "assignment-notes":
        return render(request, "annotations/assignments.html#assignment-notes", context)
    workload = selectors.assignment_workload(project=project)
    context.update(
        workload=workload,
        people=[w for w in workload if w.is_active],
        stale=sum(w.stale for w in workload),
    )
    return render(request, "annotations/assignments.html", context)


def _back(request: HttpRequest, slug: str) -> HttpResponse:
    which, after = _which(request.POST.get("which", "")), _after(request.POST.get("after", ""))
    query = "&".join(part for part in (f"which={which}" if which != "all" else "", f"after={after}" if after else "")
                     if part)
    return redirect(reverse("project-assignments", args=[slug]) + (f"?{query}" if query else ""))


def _person(project, value: str):
    user = get_user_model().objects.filter(pk=int(value)).first() if value.isdigit() and len(value) < 19 else None
    if user is None or not user.memberships.filter(project=project).exists():
        raise ApplicationError("not_member", "Choose a member of the project.")
    return user


def _notes_chosen(project, request: HttpRequest) -> list[Note]:
    """The notes ticked in the list (`note`: ids) and typed (`note_ids`: the notes' own ids, separated by
    spaces, commas or lines); an unknown typed id is an error naming it."""
    pks = [int(v) for v in request.POST.getlist("note") if v.isdigit() and len(v) < 19]
    typed = [t for t in re.split(r"[\s,;]+", request.POST.get("note_ids", "")[:MAX_NOTE_IDS_CHARS]) if t]
    notes = list(Note.objects.filter(project=project, pk__in=pks).only("pk", "project_id", "external_id"))
    if typed:
        found = list(Note.objects.filter(project=project, external_id__in=typed).only("pk", "project_id",
                                                                                       "external_id"))
        missing = sorted(set(typed) - {n.external_id for n in found})
        if missing:
            raise ApplicationError("unknown_notes", "No such note in this project: " + ", ".join(missing[:10])
                                   + (f" and {len(missing) - 10} more" if len(missing) > 10 else "") + ".")
        notes += found
    return list({n.pk: n for n in notes}.values())


@login_required
@require_POST
def assignments_assign(request: HttpRequest, slug: str) -> HttpResponse:
    project, _ = project_get_for_user(user=request.user, slug=slug, capability=Capability.MANAGE)
    try:
        user = _person(project, request.POST.get("user", ""))
        created = assignment_services.notes_assign(by=request.user, project=project,
                                                   notes=_notes_chosen(project, request), user=user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{len(created)} note{'s' if len(created) != 1 else ''} assigned to "
                                  f"{user.get_username()}.")
    return _back(request, slug)


def _assignment(project, assignment_id: int) -> NoteAssignment:
    return get_object_or_404(NoteAssignment.objects.select_related("user", "note"), pk=assignment_id,
                             note__project=project)


@login_required
@require_POST
def assignment_unassign(request: HttpRequest, slug: str, assignment_id: int) -> HttpResponse:
    project, _ = project_get_for_user(user=request.user, slug=slug, capability=Capability.MANAGE)
    assignment = _assignment(project, assignment_id)
    try:
        assignment_services.assignment_unassign(by=request.user, project=project, assignment=assignment)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{assignment.note.external_id} taken back from {assignment.user.get_username()}; "
                                  "their annotations stay.")
    return _back(request, slug)


@login_required
@require_POST
def assignment_reassign(request: HttpRequest, slug: str, assignment_id: int) -> HttpResponse:
    project, _ = project_get_for_user(user=request.user, slug=slug, capability=Capability.MANAGE)
    assignment = _assignment(project, assignment_id)
    try:
        user = _person(project, request.POST.get("user", ""))
        assignment_services.assignment_reassign(by=request.user, project=project, assignment=assignment, user=user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{assignment.note.external_id} moved from {assignment.user.get_username()} to "
                                  f"{user.get_username()}.")
    return _back(request, slug)


@login_required
@require_POST
def assignments_release(request: HttpRequest, slug: str) -> HttpResponse:
    project, _ = project_get_for_user(user=request.user, slug=slug, capability=Capability.MANAGE)
    try:
        released = assignment_services.assignments_release_stale(by=request.user, project=project)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{released} stale assignment{'s' if released != 1 else ''} released: "
                                  "those notes are back in the pool.")
    return _back(request, slug)
