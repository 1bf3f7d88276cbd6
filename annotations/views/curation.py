"""Curation pages (issue 17): the queue of notes awaiting adjudication, and a note's curation page: the text
with the curated annotations so far, the annotators' disagreements side by side (a page at a time), and a
decision per disagreement by button or key (annotations.services.curation). A decision answers, for HTMX,
with the decided disagreement, the new version, the progress and the text segments it changed; without
HTMX, with a redirect back. Reviewers and admins only (annotators: 403; in a blind project they must not see
the others' sets). Every response that shows the note's text or annotations is audited as a PHI read.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_POST

from annotations import selectors
from annotations.audit.services import audit_phi_read
from annotations.curation.selectors import CurationState, curation_queue, curation_state, curation_survival
from annotations.errors import ApplicationError
from annotations.formats.curation import Disagreement, Side
from annotations.formats.document import Document
from annotations.models import CurationChoice, Decision, Entity, Project
from annotations.permissions import (
    Capability,
    annotation_set_edit_refusal,
    curation_refusal,
    project_get_for_user,
)
from annotations.services import curation as curation_services
from annotations.services import editing
from annotations.services.schemas import project_schema_get

from .rendering import (
    Mark,
    colour_css,
    note_html,
    segment_bounds,
    segment_html,
    segment_is_block,
    segments_touching,
    type_colours,
)

UNITS_PER_PAGE = 20
QUEUE_PER_PAGE = 50
CONTEXT_CHARS = 40  # characters of text shown on each side of a disagreement
KINDS = {"verdict": "Verdict", "span": "Span", "type": "Type", "attribute": "Attributes", "relation": "Relation",
         "event": "Event"}


def _curator(request: HttpRequest, slug: str, note_id: int | None = None, *, capability=Capability.SIGN_OFF):
    """The project (reviewers and admins: the rule of annotations.permissions.curation_refusal) and the note."""
    project, role = project_get_for_user(user=request.user, slug=slug, capability=capability)
    refusal = curation_refusal(user=request.user, project=project, role=role)
    if refusal is not None and refusal.code != "archived":  # an archived project's curation stays readable
        raise PermissionDenied(refusal.message)
    note = selectors.note_get(project=project, note_id=note_id) if note_id is not None else None
    return project, role, note


@login_required
@require_GET
def curation_queue_page(request: HttpRequest, slug: str) -> HttpResponse:
    """The notes two or more annotators submitted and nobody adjudicated yet, and how much of each
    annotator's work survived the notes curated so far."""
    project, role, _ = _curator(request, slug, capability=Capability.VIEW)
    page = Paginator(curation_queue(project=project), QUEUE_PER_PAGE).get_page(request.GET.get("page"))
    # No text, but which notes await adjudication and who annotated them.
    audit_phi_read(view="curation_queue", notes=[row.note_id for row in page.object_list], request=request,
                   project=project)
    return render(request, "annotations/curation_queue.html", {
        "project": project, "role": role, "page": page, "survival": curation_survival(project=project),
    })


# --- the curation page ------------------------------------------------------------------------------


def _schema_view(project: Project):
    schema = project_schema_get(project=project)
    if not schema:
        return {}, {}
    given = {name: style.colour for name, style in schema.visual.items() if style.colour}
    colours = type_colours(schema.text_types(), given)
    names = [*schema.text_types(), *(t.name for t in schema.relation_types), *(t.name for t in schema.event_types)]
    return colours, {name: schema.display_name(name) for name in names}


def _marks(state: CurationState, lo: int | None = None, hi: int | None = None) -> list[Mark]:
    """The curated entities (the agreed ones before the curation starts), as the text shows them."""
    if state.curation is None:
        return [Mark(e.id, e.type, tuple((s.start, s.end) for s in e.spans), False, "human", None)
                for e in state.merge.agreed.entities]
    rows = Entity.objects.filter(annotation_set=state.curation).exclude(decision=Decision.REJECTED)
    if lo is not None:
        rows = rows.filter(start__lt=hi, end__gt=lo)
    return [Mark(local_id, type_, tuple((s, e) for s, e in fragments), False, "human", None)
            for local_id, type_, fragments in rows.order_by("start", "pk").values_list("local_id", "type", "fragments")]


def _quote(text: str, spans) -> str:
    return " … ".join(text[s.start:s.end] for s in spans)


def _side_view(state: CurationState, side: Side, labels: dict[str, str]) -> dict:
    """What one annotator has in a disagreement, as lines of text for the template (escaped there)."""
    doc: Document = state.merge.documents[side.source]
    text = state.note.text
    entities = {e.id: e for e in doc.entities}
    events = {ev.id: ev for ev in doc.events}

    def name(ref: str) -> str:
        target = entities.get(ref) or (entities.get(events[ref].trigger) if ref in events else None)
        return f"“{_quote(text, target.spans)}”" if target else ref

    lines = []
    for e in side.entities:
        lines.append({"type": e.type, "label": labels.get(e.type, e.type), "text": _quote(text, e.spans),
                      "where": ", ".join(f"{s.start}–{s.end}" for s in e.spans)})
    for r in side.relations:
        lines.append({"type": r.type, "label": labels.get(r.type, r.type), "text": f"{name(r.arg1)} → {name(r.arg2)}"})
    for ev in side.events:
        args = "; ".join(f"{role} {name(a)}" for role, a in ev.args)
        lines.append({"type": ev.type, "label": labels.get(ev.type, ev.type),
                      "text": f"{name(ev.trigger)}{': ' + args if args else ''}"})
    for a in side.attributes:
        lines.append({"type": "", "label": a.name, "text": a.value or "yes"})
    for x in side.normalizations:
        lines.append({"type": "", "label": x.resource, "text": f"{x.resource_id} {x.text}".strip()})
    if side.label is not None:
        lines.append({"type": "", "label": "Verdict", "text": side.label.replace("_", " ").upper()})
    source = state.sources[side.source]
    return {"index": side.source + 1, "set_id": source.pk, "user": source.user.username, "lines": lines,
            "empty": not lines}


def _unit_view(state: CurationState, unit: Disagreement, labels: dict[str, str]) -> dict:
    text = state.note.text
    before_start = max(0, unit.start - CONTEXT_CHARS)
    decision = state.decisions.get(unit.key)
    taken = None
    if decision is not None and decision.choice == CurationChoice.SOURCE:
        index = state.source_index(decision.source_set_id)
        taken = state.sources[index].user.username if index is not None else "a source since removed"
    return {
        "key": unit.key, "kind": unit.kind, "kind_label": KINDS[unit.kind], "start": unit.start, "end": unit.end,
        "context": None if unit.kind == "verdict" else {
            "before": ("…" if before_start else "") + text[before_start:unit.start],
            "span": text[unit.start:unit.end],
            "after": text[unit.end:unit.end + CONTEXT_CHARS] + ("…" if unit.end + CONTEXT_CHARS < len(text) else ""),
        },
        "sides": [_side_view(state, side, labels) for side in unit.sides],
        "decision": decision, "taken": taken,
        "can_take_all": unit.kind not in ("verdict",),
    }


def _state_context(request: HttpRequest, project: Project, role: str, state: CurationState, *,
                   units: list[Disagreement]) -> dict:
    _, labels = _schema_view(project)
    editable = state.curation is not None and annotation_set_edit_refusal(
        user=request.user, annotation_set=state.curation, role=role) is None
    return {
        "project": project, "role": role, "note": state.note, "state": state,
        "curation": state.curation, "editable": editable,
        "units": [_unit_view(state, u, labels) for u in units],
        "sources": [{"index": i + 1, "set": s, "user": s.user.username} for i, s in enumerate(state.sources)],
        "total": len(state.merge.disagreements), "decided": state.decided, "agreed": state.merge.agreed,
        "curate_url": reverse("note-curate", args=[project.slug, state.note.pk]),
    }


@login_required
@require_GET
def note_curate(request: HttpRequest, slug: str, note_id: int) -> HttpResponse:
    """The curation page (`?page=N`: a page of disagreements; `?open=1`: only the undecided ones)."""
    project, role, note = _curator(request, slug, note_id, capability=Capability.VIEW)
    state = curation_state(note=note)
    if len(state.sources) < curation_services.MIN_SOURCES and state.curation is None:
        raise Http404("This note has fewer than two submitted annotator sets: nothing to curate.")
    open_only = request.GET.get("open") == "1"
    units = state.open_units if open_only else list(state.merge.disagreements)
    page = Paginator(units, UNITS_PER_PAGE).get_page(request.GET.get("page"))
    colours, labels = _schema_view(project)
    context = _state_context(request, project, role, state, units=list(page.object_list))
    context.update({
        "page": page, "open_only": open_only,
        "text_html": mark_safe(note_html(note.text, _marks(state), colours, labels)),  # noqa: S308 - escaped there
        "colour_css": mark_safe(colour_css(colours)),  # noqa: S308 - escaped in rendering
        "editor_url": f"{reverse('note-detail', args=[slug, note.pk])}?set={state.curation.pk}"
        if state.curation is not None else None,
    })
    audit_phi_read(view="curation", notes=[note], request=request, project=project,
                   details={"annotation_set": state.curation.pk if state.curation else None,
                            "sources": [s.pk for s in state.sources]})
    return render(request, "annotations/curation.html", context)


@login_required
@require_POST
def note_curate_start(request: HttpRequest, slug: str, note_id: int) -> HttpResponse:
    _, _, note = _curator(request, slug, note_id)
    try:
        _, created = curation_services.curation_start(note=note, by=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("curation-queue", slug=slug)
    if created:
        messages.success(request, "Curation started with what the annotators agree on; decide each disagreement.")
    return redirect("note-curate", slug=slug, note_id=note_id)


def _version(request: HttpRequest) -> int:
    value = request.POST.get("version", "")
    return int(value) if value.isdigit() and len(value) < 10 else -1


def _error(request: HttpRequest, project, note, error: ApplicationError) -> HttpResponse:
    if not request.htmx:
        messages.error(request, error.message)
        return redirect("note-curate", slug=project.slug, note_id=note.pk)
    response = render(request, "annotations/curation.html#flash", {"flash": error.message, "flash_level": "error",
                                                                   "flash_code": error.code, "project": project,
                                                                   "note": note}, status=error.status)
    response["HX-Retarget"] = "#cur-flash"
    response["HX-Reswap"] = "outerHTML"
    return response


@login_required
@require_POST
def note_curate_decide(request: HttpRequest, slug: str, note_id: int, unit: str) -> HttpResponse:
    """Decide one disagreement: `choice` source (with `source`, the set taken) | all | none | edit, and the
    `version` of the curation set the page shows. "edit" goes on to the editor, on the curation set."""
    project, role, note = _curator(request, slug, note_id)
    state = curation_state(note=note)
    choice = request.POST.get("choice", "")
    source = request.POST.get("source", "")
    try:
        result = curation_services.curation_decide(
            note=note, unit=unit, choice=choice, expected_version=_version(request), by=request.user,
            source_set_id=int(source) if source.isdigit() and len(source) < 19 else None, state=state,
        )
    except ApplicationError as error:
        return _error(request, project, note, error)
    if choice == CurationChoice.EDIT:
        url = f"{reverse('note-detail', args=[slug, note_id])}?set={result.annotation_set.pk}"
        if request.htmx:
            response = HttpResponse(status=200)
            response["HX-Redirect"] = url
            return response
        return redirect(url)
    if not request.htmx:
        return redirect(f"{reverse('note-curate', args=[slug, note_id])}?{request.GET.urlencode()}#unit-{unit}")
    state = curation_state(note=note)  # the decision and the version as they are now
    disagreement = state.merge.unit(unit)
    colours, labels = _schema_view(project)
    segments = ""
    if result.regions:
        bounds = segment_bounds(note.text)
        touched = segments_touching(bounds, result.regions)
        lo, hi = bounds[touched[0]][0], bounds[touched[-1]][1]
        marks = _marks(state, lo, hi)
        segments = "".join(
            segment_html(note.text, i, bounds[i], marks, colours, labels, oob=True,
                         block=segment_is_block(note.text, bounds, i))
            for i in touched
        )
    context = _state_context(request, project, role, state, units=[disagreement] if disagreement else [])
    context.update({"segments_html": mark_safe(segments), "oob": True,  # noqa: S308 - escaped in rendering
                    "flash": f"Decided (version {result.version}); u undoes it.", "flash_level": "ok"})
    audit_phi_read(view="curation_decide", notes=[note], request=request, project=project,
                   details={"annotation_set": result.annotation_set.pk, "version": result.version})
    return render(request, "annotations/curation.html#decide-response", context)


def _whole_page_action(request: HttpRequest, slug: str, note_id: int, action, done: str) -> HttpResponse:
    project, _, note = _curator(request, slug, note_id)
    try:
        action(note=note, expected_version=_version(request), by=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done)
    return redirect("note-curate", slug=slug, note_id=note_id)


@login_required
@require_POST
def note_curate_finish(request: HttpRequest, slug: str, note_id: int) -> HttpResponse:
    return _whole_page_action(request, slug, note_id, curation_services.curation_finish,
                              "Curation finished: it is the note's gold now (training, risk and export read it).")


@login_required
@require_POST
def note_curate_reopen(request: HttpRequest, slug: str, note_id: int) -> HttpResponse:
    return _whole_page_action(request, slug, note_id, curation_services.curation_reopen,
                              "Curation reopened: the note awaits adjudication again until you finish it.")


@login_required
@require_POST
def note_curate_undo(request: HttpRequest, slug: str, note_id: int) -> HttpResponse:
    """Undo the curation set's last edit (a decision with what it added, or an edit made in the editor)."""
    project, _, note = _curator(request, slug, note_id)
    state = curation_state(note=note)
    if state.curation is None:
        raise Http404("Nobody has curated this note yet.")
    try:
        editing.edit_undo(annotation_set=state.curation, expected_version=_version(request), user=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Undone.")
    return redirect("note-curate", slug=slug, note_id=note_id)
