"""Curation (adjudication) through the API: the notes awaiting it, a note's disagreements (starting its
curation), a decision, finishing. Reviewers and admins (annotators: 403). The same services as the pages
(annotations.services.curation); every response carrying note text or annotations is audited as a PHI read."""

from __future__ import annotations

from django.urls import register_converter
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from annotations.api import selectors
from annotations.api import serializers as s
from annotations.api.base import (
    ERRORS,
    IF_MATCH,
    WRITE_ERRORS,
    Pagination,
    ProjectAPIView,
    requested_version,
    validated,
)
from annotations.api.views import edit
from annotations.audit.services import audit_phi_read
from annotations.curation.selectors import CurationState, curation_notes_awaiting, curation_state
from annotations.errors import ApplicationError, ConflictError
from annotations.formats.curation import Disagreement
from annotations.models import CurationChoice
from annotations.permissions import curation_refusal
from annotations.services import curation as services


class UnitKeyConverter:
    """A disagreement's key (annotations.formats.curation): a kind letter and 16 hex digits."""

    regex = "[a-z]-[0-9a-f]{16}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value) -> str:
        return str(value)


register_converter(UnitKeyConverter, "unitkey")


# --- serializers --------------------------------------------------------------------------------------


class AwaitingNoteOutput(serializers.Serializer):
    id = serializers.IntegerField()
    external_id = serializers.CharField()


class SourceOutput(serializers.Serializer):
    index = serializers.IntegerField(help_text="1-based: the key that takes this annotator's version on the page.")
    annotation_set = serializers.IntegerField()
    user = serializers.CharField()
    version = serializers.IntegerField()


class SideOutput(serializers.Serializer):
    annotation_set = serializers.IntegerField(help_text="The annotator's set: `source` of a decision taking it.")
    user = serializers.CharField()
    entities = serializers.JSONField(help_text='[{"id", "type", "fragments": [[start, end], ...], "text"}]')
    relations = serializers.JSONField(help_text='[{"id", "type", "arg1", "arg2"}]: arguments are ids of the '
                                                "annotator's own set")
    events = serializers.JSONField(help_text='[{"id", "type", "trigger", "args": [[role, id], ...]}]')
    attributes = serializers.JSONField(help_text='[{"name", "value", "target"}]')
    normalizations = serializers.JSONField(help_text='[{"resource", "resource_id", "text", "target"}]')
    label = serializers.CharField(allow_null=True, help_text="Verdict disagreements: this annotator's verdict.")


class DecisionOutput(serializers.Serializer):
    choice = serializers.ChoiceField(choices=CurationChoice.choices)
    source = serializers.IntegerField(allow_null=True, source="source_set_id")
    decided_by = serializers.CharField(source="decided_by.username", allow_null=True, default=None)
    decided_at = serializers.DateTimeField()


class DisagreementOutput(serializers.Serializer):
    key = serializers.CharField(help_text="Stable while the annotators' sets stay as they are.")
    kind = serializers.ChoiceField(choices=["verdict", "span", "type", "attribute", "relation", "event"])
    start = serializers.IntegerField()
    end = serializers.IntegerField()
    target = serializers.CharField(allow_null=True, help_text="Attribute disagreements: the agreed entity or "
                                                             "relation (an id of the curation set as started).")
    sides = SideOutput(many=True)
    decision = DecisionOutput(allow_null=True)


class CurationOutput(serializers.Serializer):
    note = serializers.IntegerField()
    curation_set = serializers.IntegerField(allow_null=True, help_text="null until a curation is started (POST).")
    curator = serializers.CharField(allow_null=True)
    status = serializers.CharField(allow_null=True)
    version = serializers.IntegerField(allow_null=True)
    stale = serializers.BooleanField(help_text="An annotator's set changed since the curation started.")
    sources = SourceOutput(many=True)
    agreed = serializers.JSONField(help_text="Counts of what every annotator agrees on (entities, relations, "
                                             "events, attributes) and the verdict, if they all gave the same.")
    disagreements_total = serializers.IntegerField()
    decided = serializers.IntegerField()
    count = serializers.IntegerField(help_text="Disagreements listed (all, or the open ones with ?open=1).")
    next = serializers.IntegerField(allow_null=True, help_text="The next page's number.")
    results = DisagreementOutput(many=True)


class DecideInput(serializers.Serializer):
    choice = serializers.ChoiceField(choices=CurationChoice.choices)
    source = serializers.IntegerField(required=False, min_value=1, max_value=2**62,
                                      help_text="choice=source: the annotator's annotation set to take.")
    version = serializers.IntegerField(required=False, min_value=0, max_value=2**31,
                                       help_text="The curation set's version you read (or If-Match).")


# --- helpers ------------------------------------------------------------------------------------------


class CurationAPIView(ProjectAPIView):
    """Reviewers and admins: the curation rule of annotations.permissions, whatever the method."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        refusal = curation_refusal(user=request.user, project=self.project, role=self.role)
        if refusal is not None and not (refusal.code == "archived" and request.method == "GET"):
            raise refusal

    def note(self, note_id: int):
        return selectors.note_get(project=self.project, note_id=note_id)


def _side(state: CurationState, side) -> dict:
    source = state.sources[side.source]
    return {
        "annotation_set": source.pk, "user": source.user.username,
        "entities": [{"id": e.id, "type": e.type, "fragments": [[s.start, s.end] for s in e.spans], "text": e.text}
                     for e in side.entities],
        "relations": [{"id": r.id, "type": r.type, "arg1": r.arg1, "arg2": r.arg2} for r in side.relations],
        "events": [{"id": ev.id, "type": ev.type, "trigger": ev.trigger, "args": [list(a) for a in ev.args]}
                   for ev in side.events],
        "attributes": [{"name": a.name, "value": a.value, "target": a.target} for a in side.attributes],
        "normalizations": [{"resource": x.resource, "resource_id": x.resource_id, "text": x.text, "target": x.target}
                           for x in side.normalizations],
        "label": side.label,
    }


def _disagreement(state: CurationState, unit: Disagreement) -> dict:
    return {"key": unit.key, "kind": unit.kind, "start": unit.start, "end": unit.end, "target": unit.target,
            "sides": [_side(state, side) for side in unit.sides], "decision": state.decisions.get(unit.key)}


OPEN = OpenApiParameter("open", bool, OpenApiParameter.QUERY, required=False,
                        description="Only the disagreements not decided yet.")
PAGE = OpenApiParameter("page", int, OpenApiParameter.QUERY, required=False)


# --- views --------------------------------------------------------------------------------------------


class CurationQueueView(CurationAPIView):
    pagination_class = Pagination

    @extend_schema(responses={200: AwaitingNoteOutput(many=True), **ERRORS})
    def get(self, request, slug):
        """The notes awaiting adjudication (two or more annotators submitted, no gold yet), in id order."""
        page = self.paginate_queryset(curation_notes_awaiting(project=self.project))
        audit_phi_read(view="api_curation_queue", notes=page, request=request, project=self.project)
        return self.get_paginated_response(AwaitingNoteOutput(page, many=True).data)


class NoteCurationView(CurationAPIView):
    page_size = 50

    def _payload(self, request, state: CurationState) -> dict:
        open_only = request.query_params.get("open") in ("1", "true")
        units = state.open_units if open_only else list(state.merge.disagreements)
        raw = request.query_params.get("page", "1")
        number = int(raw) if raw.isdigit() and 0 < len(raw) < 7 else 1
        chunk = units[(number - 1) * self.page_size: number * self.page_size]
        agreed = state.merge.agreed
        curation = state.curation
        return CurationOutput({
            "note": state.note.pk, "curation_set": curation.pk if curation else None,
            "curator": curation.user.username if curation else None, "status": curation.status if curation else None,
            "version": curation.version if curation else None, "stale": state.stale,
            "sources": [{"index": i + 1, "annotation_set": s.pk, "user": s.user.username, "version": s.version}
                        for i, s in enumerate(state.sources)],
            "agreed": {"entities": len(agreed.entities), "relations": len(agreed.relations),
                       "events": len(agreed.events), "attributes": len(agreed.attributes), "label": agreed.label},
            "disagreements_total": len(state.merge.disagreements), "decided": state.decided, "count": len(units),
            "next": number + 1 if number * self.page_size < len(units) else None,
            "results": [_disagreement(state, u) for u in chunk],
        }).data

    @extend_schema(parameters=[OPEN, PAGE], responses={200: CurationOutput, **ERRORS})
    def get(self, request, slug, note_id):
        """The note's curation: its annotators (sources), what they agree on, and the disagreements (50 a page)
        with what each annotator has and the decision taken, if any. Writes nothing but its audit record."""
        note = self.note(note_id)
        state = curation_state(note=note)
        if len(state.sources) < services.MIN_SOURCES and state.curation is None:
            raise ApplicationError("too_few_sources", "This note has fewer than two submitted annotator sets.",
                                   status=404)
        data = self._payload(request, state)
        audit_phi_read(view="api_curation", notes=[note], request=request, project=self.project,
                       details={"annotation_set": data["curation_set"]})
        return Response(data)

    @extend_schema(request=None, parameters=[OPEN, PAGE], responses={200: CurationOutput, 201: CurationOutput,
                                                                     **WRITE_ERRORS})
    def post(self, request, slug, note_id):
        """Start curating the note (201; 200 when a curation exists already): the curation set starts with what
        every annotator agrees on. Answers as GET does. Audited."""
        note = self.note(note_id)
        _, created = services.curation_start(note=note, by=request.user)
        state = curation_state(note=note)
        data = self._payload(request, state)
        audit_phi_read(view="api_curation", notes=[note], request=request, project=self.project,
                       details={"annotation_set": data["curation_set"]})
        return Response(data, status=201 if created else 200, headers={"ETag": f'"{data["version"]}"'})


class CurationDecideView(CurationAPIView):
    @extend_schema(request=DecideInput, parameters=[IF_MATCH], responses={200: s.EditOutput, **WRITE_ERRORS})
    def post(self, request, slug, note_id, unit):
        """Decide one disagreement: take one annotator's version (`choice` source, `source` their set), every
        annotator's (all), none, or edit (you edit the curation set by hand, e.g. through the annotation-set
        endpoints). One edit of the curation set: `version` (or If-Match) must be the one you read; undo
        (the annotation set's undo) takes the decision back too. Audited."""
        note = self.note(note_id)
        v = validated(DecideInput, request.data)
        state = curation_state(note=note)
        if state.curation is None:
            raise ApplicationError("not_started", "Start curating this note first (POST its curation).", status=404)
        return edit(self, state.curation, v.get("version"), "curation_decide",
                    lambda aset, version: services.curation_decide(
                        note=note, unit=unit, choice=v["choice"], source_set_id=v.get("source"),
                        expected_version=version, by=request.user, state=state))


class CurationFinishView(CurationAPIView):
    @extend_schema(request=s.VersionInput, parameters=[IF_MATCH], responses={200: s.EditOutput, **WRITE_ERRORS})
    def post(self, request, slug, note_id):
        """Finish the curation: once every disagreement is decided and it has a verdict, the curation set
        becomes the note's gold (what training, risk and `export_corpus --source gold` read). Audited."""
        note = self.note(note_id)
        v = validated(s.VersionInput, request.data)
        version, from_if_match = requested_version(request, v.get("version"))
        try:
            finished = services.curation_finish(note=note, expected_version=version, by=request.user)
        except ConflictError as exc:
            if from_if_match:
                raise ApplicationError("precondition_failed", exc.message, details=exc.details, status=412) from None
            raise
        return Response(s.EditOutput({"annotation_set": finished.pk, "version": finished.version, "id": None}).data,
                        headers={"ETag": f'"{finished.version}"'})
