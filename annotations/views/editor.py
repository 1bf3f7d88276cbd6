"""The note editor and reviewer sign-off.

Which set an annotator edits: their own user AnnotationSet for the note, created by their first edit
(not by opening the page: a GET writes nothing but its audit record) from the newest model set
(pre-labels, origin=model, confidence kept) or else empty (`editing.annotation_set_first_edit`); until
then the page shows what it will start from at version 0. `?set=ID` shows another set of the note
read-only (a reviewer reading the annotator's submission).

Every edit is a POST carrying the version the page was rendered from; the response holds only what
changed: the edited segments of the text, the entity panel, the relation list when relations changed,
the verdict, the pre-label summary and the new version, as out-of-band swaps. A refused edit (conflict,
schema, signed off, submitted) answers with a message in #flash and changes nothing on the page.
Submit and Reopen change the whole page (read-only with a Reopen banner, or editable again), so they
answer with HX-Refresh and the page reloads.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from functools import cached_property

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_POST

from annotations import selectors
from annotations.errors import ApplicationError
from annotations.formats.validation import SchemaIndex
from annotations.models import (
    AnnotationSet,
    AnnotationSetStatus,
    Attribute,
    Decision,
    Entity,
    Event,
    EventArgument,
    Normalization,
    Note,
    NoteLabel,
    NoteLabelValue,
    Origin,
    Project,
    Relation,
    SignOffDecision,
)
from annotations.permissions import (
    ROLE_CAPABILITIES,
    Capability,
    annotation_set_edit_refusal,
    annotation_set_visibility,
    prelabels_visible,
    project_get_for_user,
)
from annotations.services import editing, review
from annotations.services.schemas import project_schema_get

from .rendering import (
    colour_css,
    event_items_html,
    evidence_options_html,
    fragments_overlap,
    marks_from_rows,
    note_html,
    relation_items_html,
    segment_bounds,
    segment_html,
    segment_is_block,
    segments_touching,
    type_colours,
)

logger = logging.getLogger(__name__)

try:  # the audit trail is another engineer's module; the editor works without it
    from annotations.audit.services import audit_record
except ImportError:  # pragma: no cover
    audit_record = None


def _audit(**kwargs) -> None:
    if audit_record is not None:
        audit_record(**kwargs)


def _audit_read(request: HttpRequest, ed: Editor, view: str) -> None:
    """Every page or fragment of the editor that shows the note's text or annotations is a PHI read."""
    from annotations.audit.services import audit_phi_read

    audit_phi_read(
        view=view, notes=[ed.note], request=request, project=ed.project,
        details={"annotation_set": ed.annotation_set.pk, "version": ed.annotation_set.version},
    )


@dataclass
class Editor:
    project: Project
    role: str
    note: Note
    annotation_set: AnnotationSet
    editable: bool
    schema: object
    index: SchemaIndex | None
    # The imported or gold set shown when the user has no set of their own: "Correct these" copies it.
    correctable: AnnotationSet | None = None
    # Which of the note's sets the user may see (blind annotation): annotations.permissions'
    # annotation_set_visibility, None = all.
    visible: Q | None = None

    @property
    def submitted(self) -> bool:
        """A submitted set is read-only until its annotator reopens it (editing.annotation_set_reopen)."""
        return self.annotation_set.status == AnnotationSetStatus.SUBMITTED

    @cached_property
    def colours(self) -> dict[str, str]:
        """A colour for every type of text (entity and event types): visual.conf's, else a palette colour
        stable per type (rendering.type_colours)."""
        if not self.schema:
            return {}
        given = {name: style.colour for name, style in self.schema.visual.items() if style.colour}
        return type_colours(self.schema.text_types(), given)

    @cached_property
    def labels(self) -> dict[str, str]:
        """Every type's display name (Schema.display_name), for the text, the toolbar, panels and lists."""
        if not self.schema:
            return {}
        names = [
            *self.schema.text_types(), *(t.name for t in self.schema.relation_types),
            *(t.name for t in self.schema.event_types), *self.schema.visual,
        ]
        return {name: self.schema.display_name(name) for name in names}

    @cached_property
    def event_types(self) -> dict[str, object]:
        return {t.name: t for t in self.schema.event_types if t.annotatable} if self.schema else {}


def _own_set_before_first_edit(note: Note, request: HttpRequest, *, prelabels: bool = True) -> AnnotationSet:
    """The user's own set before their first edit of the note: unsaved (a GET creates no rows, issue 13),
    at version 0, showing the rows of the newest model set it will start from (as pending pre-labels), or
    none. The first edit creates it (`editing.annotation_set_first_edit`); a page that still carries
    version 0 after that is stale and refused like any other. With `prelabels` off (blind pre-labels) it
    starts empty, as the first edit will create it."""
    starts_from = selectors.annotation_set_model_newest(note=note) if prelabels else None
    aset = AnnotationSet(
        note=note,
        source_kind="user",
        user=request.user,
        source_name=request.user.get_username(),
        status=AnnotationSetStatus.PRE_ANNOTATED if starts_from else AnnotationSetStatus.IN_PROGRESS,
        version=0,
    )
    aset.starts_from = starts_from
    return aset


def _rows_of(aset: AnnotationSet) -> AnnotationSet | None:
    """The saved set whose rows show for `aset`: itself, or for an own set before its first edit the model
    set it will start from (None: nothing to show)."""
    return aset if aset.pk is not None else getattr(aset, "starts_from", None)


def _set_query(aset: AnnotationSet) -> str:
    """`?set=PK` for links back to the page; nothing for an own set not created yet."""
    return f"?set={aset.pk}" if aset.pk is not None else ""


def _editor(request: HttpRequest, slug: str, note_id: int, *, capability=Capability.VIEW, set_id=None) -> Editor:
    """Resolve project (role checked), note and the annotation set shown. A user who may annotate and has
    no set of their own yet gets an unsaved one (`_own_set_before_first_edit`): opening the page writes
    nothing but its audit record."""
    project, role = project_get_for_user(user=request.user, slug=slug, capability=capability)
    note = selectors.note_get(project=project, note_id=note_id)
    set_id = set_id or request.GET.get("set") or request.POST.get("set")
    if set_id and not str(set_id).isdigit():  # `?set=abc` is no set, not a server error
        raise Http404("No such annotation set.")
    capabilities = ROLE_CAPABILITIES[role]
    visible = annotation_set_visibility(user=request.user, project=project, role=role)
    submitted = None
    if not set_id and Capability.SIGN_OFF in capabilities and not request.GET.get("mine"):
        # A reviewer opening a submitted note sees the submission (read-only unless admin), not a fresh copy.
        own = AnnotationSet.objects.filter(note=note, source_kind="user", user=request.user).exists()
        if not own:
            submitted = (
                AnnotationSet.objects.filter(note=note, source_kind="user", status__in=["submitted", "gold"])
                .select_related("user")
                .order_by("-submitted_at", "-pk")
                .first()
            )
    if set_id:
        shown = AnnotationSet.objects.select_related("user")
        if visible is not None:  # blind annotation: another person's set is not found
            shown = shown.filter(visible)
        aset = get_object_or_404(shown, pk=set_id, note=note)
    elif submitted is not None:
        aset = submitted
    elif Capability.ANNOTATE in capabilities:
        aset = selectors.annotation_set_own(note=note, user=request.user)
        if aset is None:
            aset = _own_set_before_first_edit(
                note, request, prelabels=prelabels_visible(user=request.user, project=project, role=role)
            )
            if aset.starts_from is None:
                # No pre-labels to start from: show the note's imported or gold annotations, not an empty
                # set that looks as if the import had lost them ("Correct these" copies them).
                aset = selectors.annotation_set_correctable_newest(note=note, visible=visible) or aset
    else:  # pragma: no cover - every role may annotate today
        raise Http404("No annotations to show.")
    aset.note = note
    editable = annotation_set_edit_refusal(user=request.user, annotation_set=aset, role=role) is None
    correctable = None
    if (
        aset.pk is not None
        and (aset.source_kind == "import" or aset.status == AnnotationSetStatus.GOLD)
        and Capability.ANNOTATE in capabilities
        and note.review_status != "signed_off"
        and selectors.annotation_set_own(note=note, user=request.user) is None
    ):
        correctable = aset
    schema = project_schema_get(project=project)
    return Editor(project, role, note, aset, editable, schema, SchemaIndex(schema) if schema else None, correctable,
                  visible)


def _live_entities(aset: AnnotationSet):
    rows = _rows_of(aset)
    if rows is None:
        return Entity.objects.none()
    return Entity.objects.filter(annotation_set=rows).exclude(decision=Decision.REJECTED).order_by("start", "pk")


_MARK_FIELDS = ("pk", "local_id", "type", "fragments", "origin", "decision", "confidence")


def _marks(queryset, *, rows_out: list | None = None, attributes_out: dict | None = None):
    """Render marks for entity rows, with their attributes (two queries, plain rows). The rows (with their
    text) and the attributes by entity pk go to `rows_out` / `attributes_out` when given, for the panel."""
    rows = list(queryset.values_list(*_MARK_FIELDS, "text", "start", "end"))
    attributes: dict[int, list[str]] = {}
    for entity_id, name, value in Attribute.objects.filter(entity__in=[r[0] for r in rows]).values_list(
        "entity_id", "name", "value"
    ):
        attributes.setdefault(entity_id, []).append(f"{name}={value}" if value else name)
        if attributes_out is not None:
            attributes_out.setdefault(entity_id, {})[name] = value
    if rows_out is not None:
        rows_out.extend(rows)
    return marks_from_rows([r[:7] for r in rows], attributes)


def _relations(aset: AnnotationSet) -> list[dict]:
    """The set's live relations with their arguments' ids and texts, as plain rows (a dense note has
    thousands; model instances would cost more than the query). An argument that is an event (MACCROBAT
    has many) shows as its trigger."""
    if _rows_of(aset) is None:
        return []
    rows = (
        Relation.objects.filter(annotation_set=_rows_of(aset))
        .exclude(decision=Decision.REJECTED)
        .order_by("pk")
        .values_list(
            "pk", "local_id", "type", "origin", "decision", "confidence",
            Coalesce("arg1_entity__local_id", "arg1_event__trigger__local_id"),
            Coalesce("arg1_entity__text", "arg1_event__trigger__text"),
            Coalesce("arg2_entity__local_id", "arg2_event__trigger__local_id"),
            Coalesce("arg2_entity__text", "arg2_event__trigger__text"),
        )
    )
    keys = ("pk", "local_id", "type", "origin", "decision", "confidence", "a1", "a1_text", "a2", "a2_text")
    out = []
    for row in rows:
        r = dict(zip(keys, row, strict=True))
        r["pending"] = r["origin"] == Origin.MODEL and not r["decision"]
        out.append(r)
    return out


def _prelabels(aset: AnnotationSet) -> list[dict]:
    if _rows_of(aset) is None:
        return []
    return list(
        Entity.objects.filter(annotation_set=_rows_of(aset), origin=Origin.MODEL, decision="")
        .values("type")
        .annotate(n=Count("id"))
        .order_by("type")
    )


PRELABEL_RELATIONS_SHOWN = 50


def _prelabel_relations(aset: AnnotationSet) -> tuple[list[dict], int]:
    """The pending relation pre-labels (the first PRELABEL_RELATIONS_SHOWN, with their arguments) and how
    many there are: submit waits for them too, so the pre-label panel lists them with the entities."""
    if _rows_of(aset) is None:
        return [], 0
    pending = Relation.objects.filter(annotation_set=_rows_of(aset), origin=Origin.MODEL, decision="").exclude(
        arg1_entity__isnull=True
    ).exclude(arg2_entity__isnull=True)
    rows = list(
        pending.order_by("pk").values(
            "local_id", "type", "confidence", "arg1_entity__local_id", "arg1_entity__text",
            "arg2_entity__local_id", "arg2_entity__text",
        )[:PRELABEL_RELATIONS_SHOWN]
    )
    return rows, (len(rows) if len(rows) < PRELABEL_RELATIONS_SHOWN else pending.count())


def _entity_types(ed: Editor) -> list[dict]:
    """The toolbar's types: every type of text (entity and event types; the type-ahead filter finds one
    among many), the first nine with a number key."""
    if not ed.schema:
        return []
    labels = ed.labels
    return [
        {"key": i if i <= 9 else None, "name": name, "label": labels.get(name, name)}
        for i, name in enumerate(ed.schema.text_types(), start=1)
    ]


def _events(aset: AnnotationSet) -> list[dict]:
    """The set's events with their triggers and role arguments (an argument that is an event shows as its
    trigger), as plain rows: three queries whatever their number."""
    rows = _rows_of(aset)
    if rows is None:
        return []
    events = {
        pk: {"pk": pk, "local_id": local_id, "type": type_, "trigger": trigger, "trigger_text": text, "args": []}
        for pk, local_id, type_, trigger, text in Event.objects.filter(annotation_set=rows)
        .order_by("trigger__start", "pk")
        .values_list("pk", "local_id", "type", "trigger__local_id", "trigger__text")
    }
    for event_id, role, position, entity, entity_text, target, target_trigger, target_text in (
        EventArgument.objects.filter(event__annotation_set=rows)
        .order_by("event_id", "position")
        .values_list(
            "event_id", "role", "position", "entity__local_id", "entity__text", "target_event__local_id",
            "target_event__trigger__local_id", "target_event__trigger__text",
        )
    ):
        events[event_id]["args"].append({
            "role": role, "position": position, "ref": entity or target, "text": entity_text or target_text or "",
            "highlight": entity or target_trigger,
        })
    return list(events.values())


EVENT_TARGETS_SHOWN = 300


def _event_panel_context(ed: Editor, event: Event) -> dict:
    """An event with its arguments and what the schema lets the user add to it (roles, and the entities
    and events each role allows)."""
    arguments = list(event.arguments.select_related("entity", "target_event__trigger").order_by("position"))
    event_type = ed.event_types.get(event.type)
    roles = list(event_type.roles) if event_type else []
    targets: list[dict] = []
    if roles and ed.index:
        def allowed(type_name: str, kind: str) -> bool:
            return any(ed.index.allows(role.types, type_name, kind) for role in roles)

        for local_id, type_, text in _live_entities(ed.annotation_set).values_list("local_id", "type", "text"):
            if allowed(type_, "entity"):
                targets.append({"id": local_id, "label": f"{local_id} {ed.labels.get(type_, type_)} “{text[:30]}”"})
        for local_id, type_, text in (
            Event.objects.filter(annotation_set=_rows_of(ed.annotation_set)).exclude(pk=event.pk)
            .values_list("local_id", "type", "trigger__text")
        ):
            if allowed(type_, "event"):
                targets.append({"id": local_id, "label": f"{local_id} {ed.labels.get(type_, type_)} “{text[:30]}”"})
    return {
        "event": event,
        "arguments": arguments,
        "roles": roles,
        "targets": targets[:EVENT_TARGETS_SHOWN],
        "entity": None,
    }


def _panel_context(
    ed: Editor, entity: Entity | None, *, attributes: dict[str, str | None] | None = None,
    overlapping: list | None = None,
) -> dict:
    """The selected entity with what the schema offers for it (types, attributes, relations).

    `attributes` (name -> value) and `overlapping` (entities sharing its text) are queried unless given."""
    if entity is None:
        return {"entity": None}
    if attributes is None:
        attributes = {a.name: a.value for a in Attribute.objects.filter(entity=entity)}
    attribute_types = []
    if ed.index:
        for a in ed.schema.attribute_types:
            if ed.index.allows(a.targets, entity.type, "entity"):
                attribute_types.append(
                    {"name": a.name, "values": a.values, "set": a.name in attributes, "value": attributes.get(a.name)}
                )
    if overlapping is None:
        overlapping = [
            other
            for other in _live_entities(ed.annotation_set).filter(start__lt=entity.end, end__gt=entity.start)
            .exclude(pk=entity.pk)[:200]
            if fragments_overlap(other.fragments, entity.fragments)
        ]
    # Only what shares text with the entity: a discontinuous entity's gap is not its text.
    overlapping = [o for o in overlapping if fragments_overlap(o.fragments, entity.fragments)]
    triggers = list(Event.objects.filter(trigger_id=entity.pk).values_list("local_id", "type")) if entity.pk else []
    # Deleting or rejecting the entity takes its relations with it: the panel says how many.
    relation_count = (
        Relation.objects.filter(Q(arg1_entity_id=entity.pk) | Q(arg2_entity_id=entity.pk))
        .exclude(decision=Decision.REJECTED).count()
    )
    return {
        "entity": entity,
        "relation_count": relation_count,
        "overlapping": overlapping[:10],
        "attribute_types": attribute_types,
        "normalization": Normalization.objects.filter(entity=entity).first(),
        "fragments": entity.fragments,
        "trigger_of": triggers,
        # An entity of an event type that triggers no event yet can become one (brat: the event's type is
        # its trigger's).
        "can_make_event": not triggers and entity.type in ed.event_types,
    }


def _context(
    ed: Editor, request: HttpRequest, *, with_relations: bool = True, with_verdict: bool = True,
    with_prelabels: bool = True, with_events: bool = True, **extra,
) -> dict:
    """What the editor's fragments need; the costly parts only when their fragment is rendered."""
    label = None
    if with_verdict and ed.annotation_set.pk is not None:  # an own set not created yet has no verdict
        label = NoteLabel.objects.filter(annotation_set=ed.annotation_set).select_related("evidence").first()
    relations = _relations(ed.annotation_set) if with_relations else []
    evidence = label.evidence_id if label else None
    prelabel_relations, prelabel_relation_count = _prelabel_relations(ed.annotation_set) if with_prelabels else ([], 0)
    evidence_types = editing.evidence_relation_types(ed.schema, ed.project)
    events = _events(ed.annotation_set) if with_events else []
    return {
        "relation_items": mark_safe(relation_items_html(relations, ed.labels)),  # noqa: S308 - escaped in rendering
        "events": events,
        "event_items": mark_safe(event_items_html(events, ed.labels)),  # noqa: S308 - escaped in rendering
        "type_labels": ed.labels,
        "correctable": ed.correctable,
        "evidence_options": mark_safe(evidence_options_html(relations, evidence, evidence_types)),  # noqa: S308
        "project": ed.project,
        "role": ed.role,
        "note": ed.note,
        "aset": ed.annotation_set,
        # The user may change this set and it is not submitted (a submitted one waits for Reopen).
        "editable": ed.editable and not ed.submitted,
        "submitted": ed.submitted,
        "can_reopen": ed.editable and ed.submitted,
        "relations": relations,
        "label": label,
        "label_values": NoteLabelValue.choices,
        "prelabels": _prelabels(ed.annotation_set) if with_prelabels else [],
        "prelabel_relations": prelabel_relations,
        "prelabel_relation_count": prelabel_relation_count,
        "entity_types": _entity_types(ed),
        "colour_css": mark_safe(colour_css(ed.colours)),  # noqa: S308 - escaped in rendering
        "edit_base": reverse("note-edit", args=[ed.project.slug, ed.note.pk, "x"])[:-2],
        **extra,
    }


@login_required
@require_GET
def note_detail(request: HttpRequest, slug: str, note_id: int) -> HttpResponse:
    ed = _editor(request, slug, note_id)
    marks = _marks(_live_entities(ed.annotation_set))
    sign_offs = list(selectors.note_sign_offs(note=ed.note))
    context = _context(
        ed,
        request,
        text_html=mark_safe(note_html(ed.note.text, marks, ed.colours, ed.labels)),  # noqa: S308 - escaped in rendering
        entity=None,
        sign_offs=sign_offs,
        sets=selectors.note_annotation_sets(note=ed.note, visible=ed.visible),
        # Blind pre-labels: an annotator sees none of the model's outputs on the note (flag, probability,
        # the flag's evidence), as none of its pre-labels.
        model_outputs_visible=prelabels_visible(user=request.user, project=ed.project, role=ed.role),
        can_sign_off=Capability.SIGN_OFF in ROLE_CAPABILITIES[ed.role],
        sign_off_decisions=SignOffDecision.choices,
        # The sign-off decides on one submitted version: the one shown when it is submitted, else the newest.
        sign_off_set=(
            ed.annotation_set
            if ed.annotation_set.status == "submitted" and ed.annotation_set.source_kind == "user"
            else review.note_sign_off_candidate(note=ed.note)
        ),
        decision_model_set=(
            review.note_decision_model_set(note=ed.note)
            if ed.note.review_status not in ("submitted", "signed_off") and ed.note.flagged else None
        ),
        next_flagged=selectors.note_queue_next(project=ed.project, exclude_note_id=ed.note.pk)
        if Capability.SIGN_OFF in ROLE_CAPABILITIES[ed.role] else None,
        returned_by=next(
            (s for s in sign_offs if s.outcome == "returned" and s.annotation_set_id == ed.annotation_set.pk), None
        ) if ed.note.review_status == "returned" else None,
    )
    _audit_read(request, ed, "editor")
    return render(request, "annotations/note.html", context)


@login_required
@require_GET
def note_entity(request: HttpRequest, slug: str, note_id: int, local_id: str) -> HttpResponse:
    """The entity panel for one entity (a click on it in the text)."""
    ed = _editor(request, slug, note_id)
    entity = _live_entities(ed.annotation_set).filter(local_id=local_id).first()
    if entity is None:
        raise Http404("No such entity.")
    context = _context(ed, request, with_relations=False, with_verdict=False, with_prelabels=False, with_events=False,
                       **_panel_context(ed, entity))
    if request.htmx:
        _audit_read(request, ed, "editor_entity_panel")
        return render(request, "annotations/note.html#entity-panel", context)
    return redirect(f"{reverse('note-detail', args=[slug, note_id])}{_set_query(ed.annotation_set)}#{local_id}")


@login_required
@require_GET
def note_relation(request: HttpRequest, slug: str, note_id: int, local_id: str) -> HttpResponse:
    """The panel for one relation (a click on it in the list): accept, reject or delete it."""
    ed = _editor(request, slug, note_id)
    relation = get_object_or_404(
        Relation.objects.select_related("arg1_entity", "arg2_entity", "arg1_event__trigger", "arg2_event__trigger")
        .exclude(decision=Decision.REJECTED),
        annotation_set=_rows_of(ed.annotation_set),
        local_id=local_id,
    )
    context = _context(ed, request, with_relations=False, with_verdict=False, with_prelabels=False, with_events=False,
                       relation=relation, entity=None,
                       relation_args=[(relation.arg1_entity, relation.arg1_event), (relation.arg2_entity, relation.arg2_event)])
    if request.htmx:
        _audit_read(request, ed, "editor_relation_panel")
        return render(request, "annotations/note.html#relation-panel", context)
    return redirect(f"{reverse('note-detail', args=[slug, note_id])}{_set_query(ed.annotation_set)}")


@login_required
@require_GET
def note_event(request: HttpRequest, slug: str, note_id: int, local_id: str) -> HttpResponse:
    """The panel for one event (a click on it in the event list): its trigger and arguments; add or remove
    an argument, delete the event."""
    ed = _editor(request, slug, note_id)
    event = get_object_or_404(
        Event.objects.select_related("trigger"), annotation_set=_rows_of(ed.annotation_set), local_id=local_id
    )
    context = _context(ed, request, with_relations=False, with_verdict=False, with_prelabels=False, with_events=False,
                       **_event_panel_context(ed, event))
    if request.htmx:
        _audit_read(request, ed, "editor_event_panel")
        return render(request, "annotations/note.html#event-panel", context)
    return redirect(f"{reverse('note-detail', args=[slug, note_id])}{_set_query(ed.annotation_set)}")


@login_required
@require_POST
def note_correct(request: HttpRequest, slug: str, note_id: int) -> HttpResponse:
    """"Correct these": start the user's own set as a copy of the note's imported or gold set (`source`),
    then show it, editable."""
    project, role = project_get_for_user(user=request.user, slug=slug, capability=Capability.ANNOTATE)
    note = selectors.note_get(project=project, note_id=note_id)
    source_id = request.POST.get("source", "")
    sources = AnnotationSet.objects.all()
    visible = annotation_set_visibility(user=request.user, project=project, role=role)
    if visible is not None:  # blind annotation: another person's or an imported set is not found
        sources = sources.filter(visible)
    source = get_object_or_404(sources, pk=int(source_id), note=note) if source_id.isdigit() else None
    if source is None:
        raise Http404("No such annotation set.")
    try:
        own = editing.annotation_set_copy_for_correction(note=note, user=request.user, source=source)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("note-detail", slug=slug, note_id=note_id)
    messages.success(request, f"Your own copy of {source.source_name}'s annotations: correct them here.")
    return redirect(f"{reverse('note-detail', args=[slug, note_id])}?set={own.pk}")


@login_required
@require_GET
def note_relation_form(request: HttpRequest, slug: str, note_id: int) -> HttpResponse:
    """Relation types the schema allows between two entities, in both directions."""
    ed = _editor(request, slug, note_id, capability=Capability.ANNOTATE)
    live = _live_entities(ed.annotation_set)
    head = get_object_or_404(live, local_id=request.GET.get("head", ""))
    tail = get_object_or_404(live, local_id=request.GET.get("tail", ""))
    options = []
    if ed.index:
        n = 0
        for a, b in ((head, tail), (tail, head)):
            for rt in ed.schema.relation_types:
                if rt.name.startswith("<"):
                    continue
                if ed.index.allows(rt.arg1_types, a.type, "entity") and ed.index.allows(rt.arg2_types, b.type, "entity"):
                    n += 1
                    options.append({"key": n, "type": rt.name, "head": a, "tail": b})
    context = _context(ed, request, with_relations=False, with_verdict=False, with_prelabels=False, with_events=False,
                       head=head, tail=tail, options=options)
    _audit_read(request, ed, "editor_relation_form")
    return render(request, "annotations/note.html#relation-form", context)


def _spans_param(value: str) -> list[tuple[int, int]]:
    try:
        spans = []
        for part in value.split(","):
            if part.strip():
                s, e = part.split("-")
                spans.append((int(s), int(e)))
        return spans
    except ValueError as exc:
        raise ApplicationError("bad_selection", "The selection could not be read; select the text again.") from exc


def _run(action: str, ed: Editor, request: HttpRequest, version: int) -> editing.EditResult:
    post = request.POST
    common = {"annotation_set": ed.annotation_set, "expected_version": version, "user": request.user}
    if action == "entity-create":
        return editing.entity_create(
            **common, type=post.get("type", ""), spans=_spans_param(post.get("spans", "")), schema=ed.schema
        )
    if action == "entity-add-fragment":
        spans = _spans_param(post.get("spans", ""))
        if len(spans) != 1:
            raise ApplicationError("bad_selection", "Select one piece of text to add as a fragment.")
        return editing.entity_add_fragment(**common, entity_id=post.get("entity", ""), span=spans[0], schema=ed.schema)
    if action == "entity-update":
        attributes = None
        if post.get("attr"):
            value = post.get("value", "")
            attributes = {post["attr"]: True if value == "1" else (value or None)}
        normalization = None
        if "norm" in post:
            resource, _, resource_id = post.get("norm", "").strip().partition(":")
            normalization = (resource.strip(), resource_id.strip(), post.get("norm_text", "").strip())
        return editing.entity_update(
            **common, entity_id=post.get("entity", ""), type=post.get("type") or None, attributes=attributes,
            normalization=normalization, schema=ed.schema,
        )
    if action == "entity-delete":
        return editing.entity_delete(**common, entity_id=post.get("entity", ""))
    if action == "prelabel-accept":
        return editing.prelabel_accept(**common, local_id=post.get("id", ""))
    if action == "prelabel-reject":
        return editing.prelabel_reject(**common, local_id=post.get("id", ""))
    if action in ("prelabels-accept-type", "prelabels-reject-type"):
        decision = Decision.ACCEPTED if action == "prelabels-accept-type" else Decision.REJECTED
        return editing.prelabels_decide_type(**common, type=post.get("type", ""), decision=decision)
    if action == "relation-create":
        return editing.relation_create(
            **common, type=post.get("type", ""), head=post.get("head", ""), tail=post.get("tail", ""), schema=ed.schema
        )
    if action == "relation-delete":
        return editing.relation_delete(**common, relation_id=post.get("relation", ""))
    if action == "event-create":
        return editing.event_create(**common, trigger=post.get("trigger", ""), schema=ed.schema)
    if action == "event-delete":
        return editing.event_delete(**common, event_id=post.get("event", ""))
    if action == "event-argument-add":
        return editing.event_argument_add(
            **common, event_id=post.get("event", ""), role=post.get("role", ""), target=post.get("target", ""),
            schema=ed.schema,
        )
    if action == "event-argument-remove":
        position = post.get("position", "")
        if not position.isdigit() or len(position) > 5:
            raise ApplicationError("bad_argument", "Choose an argument to remove.")
        return editing.event_argument_remove(**common, event_id=post.get("event", ""), position=int(position))
    if action == "label-set":
        return editing.note_label_set(
            **common, value=post.get("value", ""), evidence=post.get("evidence") or None, schema=ed.schema
        )
    if action == "submit":
        return editing.annotation_set_submit(**common)
    if action == "reopen":
        return editing.annotation_set_reopen(**common)
    if action == "undo":
        return editing.edit_undo(**common)
    raise Http404("No such edit.")


def _error_response(request: HttpRequest, ed: Editor, error: ApplicationError) -> HttpResponse:
    context = {"flash": error.message, "flash_code": error.code, "flash_level": "error", "aset": ed.annotation_set,
               "project": ed.project, "note": ed.note}
    response = render(request, "annotations/note.html#flash", context, status=error.status)
    response["HX-Retarget"] = "#flash"
    response["HX-Reswap"] = "outerHTML"
    return response


@login_required
@require_POST
def note_edit(request: HttpRequest, slug: str, note_id: int, action: str) -> HttpResponse:
    """One edit of the user's annotation set (see the module docstring for what comes back)."""
    ed = _editor(request, slug, note_id, capability=Capability.ANNOTATE)
    if not ed.editable:
        return _error_response(
            request, ed, ApplicationError("read_only", "These annotations are read-only to you.", status=403)
        )
    try:
        version = int(request.POST.get("version", ""))
    except ValueError:
        version = -1
    try:
        if ed.annotation_set.pk is None:  # the user's first edit of this note creates their set
            result = editing.annotation_set_first_edit(
                note=ed.note, user=request.user, expected_version=version,
                edit=lambda aset, v: _run(action, replace(ed, annotation_set=aset), request, v),
            )
        else:
            result = _run(action, ed, request, version)
    except ApplicationError as error:
        if not request.htmx:
            messages.error(request, error.message)
            return redirect(f"{reverse('note-detail', args=[slug, note_id])}{_set_query(ed.annotation_set)}")
        return _error_response(request, ed, error)
    # The editing service wrote the edit's audit record in the edit's own transaction.
    if not request.htmx:
        return redirect(f"{reverse('note-detail', args=[slug, note_id])}{_set_query(ed.annotation_set)}")
    if action in ("submit", "reopen"):
        # The whole page changes (read-only or editable again, header, sets panel): reload it.
        messages.success(request, _saved_message(result))
        response = HttpResponse(status=200)
        response["HX-Refresh"] = "true"
        return response
    aset = result.annotation_set
    aset.note = ed.note
    prelabels_changed = action.startswith("prelabel") or action in ("entity-delete", "relation-delete", "undo")
    ed.annotation_set = aset
    segments = ""
    rows: list[tuple] = []
    attributes: dict[int, dict] = {}
    if result.regions:
        bounds = segment_bounds(ed.note.text)
        touched = segments_touching(bounds, result.regions)
        lo, hi = bounds[touched[0]][0], bounds[touched[-1]][1]
        marks = _marks(_live_entities(aset).filter(start__lt=hi, end__gt=lo), rows_out=rows, attributes_out=attributes)
        segments = "".join(
            segment_html(
                ed.note.text, i, bounds[i], marks, ed.colours, ed.labels, oob=True,
                block=segment_is_block(ed.note.text, bounds, i),
            )
            for i in touched
        )
    panel: dict = {"entity": None}
    if result.selected and result.selected.startswith("T"):
        # The edited entity is among the rows just read for its segments; no query of its own.
        fields = (*_MARK_FIELDS, "text", "start", "end")
        found = [dict(zip(fields, r, strict=True)) for r in rows if r[1] == result.selected]
        if found:
            row = found[0]
            selected = Entity(annotation_set=aset, **{("id" if k == "pk" else k): v for k, v in row.items()})
            overlapping = [
                Entity(annotation_set=aset, **{("id" if k == "pk" else k): v for k, v in zip(fields, r, strict=True)})
                for r in rows
                if r[0] != row["pk"] and fragments_overlap(r[3], row["fragments"])
            ]
            panel = _panel_context(ed, selected, attributes=attributes.get(row["pk"], {}), overlapping=overlapping)
        else:
            panel = _panel_context(ed, _live_entities(aset).filter(local_id=result.selected).first())
    elif result.selected and result.selected.startswith("E"):
        event = Event.objects.filter(annotation_set=aset, local_id=result.selected).select_related("trigger").first()
        if event is not None:
            panel = _event_panel_context(ed, event)
    context = _context(
        ed,
        request,
        with_relations=result.relations_changed or result.label_changed,
        with_verdict=result.relations_changed or result.label_changed,
        with_prelabels=prelabels_changed,
        with_events=result.events_changed,
        **panel,
        segments_html=mark_safe(segments),  # noqa: S308 - escaped in rendering
        relations_changed=result.relations_changed,
        label_changed=result.label_changed or result.relations_changed,
        prelabels_changed=prelabels_changed,
        events_changed=result.events_changed,
        flash=_saved_message(result),
        flash_level="ok",
        oob=True,
    )
    return render(request, "annotations/note.html#edit-response", context)


def _saved_message(result: editing.EditResult) -> str:
    if result.action == "submit":
        return "Submitted for review."
    if result.action == "reopen":
        return "Reopened: you can edit again; submit when done."
    if result.action == "undo":
        return f"Undone (version {result.version})."
    removed = sum(
        1 for r in (result.changes or {}).get("before", {}).get("relation", []) if r.get("decision") != Decision.REJECTED
    )
    if removed and result.action in ("entity_delete", "prelabel_reject", "prelabels_rejected"):
        return f"Removed, with {removed} relation{'s' if removed != 1 else ''} (version {result.version}); z undoes it."
    return f"Saved (version {result.version})."


@login_required
@require_POST
def note_sign_off(request: HttpRequest, slug: str, note_id: int) -> HttpResponse:
    """A reviewer decides a note: confirms or overturns the model's flag, on the submitted version they saw
    (`annotation_set`, `version`) or directly on the model's pre-annotations (`model_set`, `version`), with a
    comment. With `next=1` the next note of the flagged queue opens afterwards."""
    project, role = project_get_for_user(user=request.user, slug=slug, capability=Capability.SIGN_OFF)
    note = selectors.note_get(project=project, note_id=note_id)
    post = request.POST

    def number(name: str) -> int | None:
        value = post.get(name, "")
        return int(value) if value.isdigit() and len(value) < 19 else None

    decision, comment, version = post.get("decision", ""), post.get("comment", ""), number("version")
    try:
        if post.get("model_set"):
            sign_off = review.note_decide_from_model(
                note=note, user=request.user, decision=decision, comment=comment,
                model_set_id=number("model_set"), version=version,
            )
        else:
            sign_off = review.note_sign_off(
                note=note, user=request.user, decision=decision, comment=comment,
                annotation_set_id=number("annotation_set"), version=version,
            )
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("note-detail", slug=slug, note_id=note_id)
    verdict = "ADE confirmed" if sign_off.final_verdict == "ade" else "ADE overturned"
    if sign_off.outcome == "returned":
        messages.success(request, f"{note.external_id}: {verdict}. The submission went back to its annotator with "
                                  "your comment (its verdict differs from yours).")
    else:
        messages.success(request, f"{note.external_id}: {verdict}; signed off.")
    if post.get("next") == "1":
        following = selectors.note_queue_next(project=project, exclude_note_id=note.pk)
        if following is not None:
            return redirect("note-detail", slug=slug, note_id=following.pk)
        messages.info(request, "The flagged queue is empty.")
        return redirect("note-queue", slug=slug)
    return redirect("note-detail", slug=slug, note_id=note_id)

