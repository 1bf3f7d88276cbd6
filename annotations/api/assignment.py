"""The assignment API (issue 17): the project's assignment settings, one's own assigned notes and the next
one, and the admins' assignments (list, assign by hand, unassign, reassign, release the stale ones, who has
what). One view per operation; the rules and the audit are annotations.services.assignment's."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from annotations import selectors
from annotations.api.base import ERRORS, Pagination, ProjectAPIView, validated
from annotations.errors import ApplicationError
from annotations.models import AssignmentOrder, Note, NoteAssignment
from annotations.permissions import Capability
from annotations.services import assignment as services

# --- serializers -----------------------------------------------------------------------------------------


class AssignmentSettingsOutput(serializers.Serializer):
    annotators_per_note = serializers.IntegerField(help_text="How many people annotate each note (1 to 10).")
    blind_annotation = serializers.BooleanField(
        help_text="Annotators see only their own sets (reviewers and admins see every set).")
    blind_prelabels = serializers.BooleanField(
        help_text="Annotators do not see the model's pre-labels; their sets start empty.")
    assignment_order = serializers.ChoiceField(choices=AssignmentOrder.choices)
    assignment_timeout_hours = serializers.IntegerField(
        help_text="An open assignment not edited for this long goes back to the pool; 0 keeps it.")


class AssignmentSettingsInput(serializers.Serializer):
    annotators_per_note = serializers.IntegerField(required=False, min_value=1,
                                                   max_value=services.MAX_ANNOTATORS_PER_NOTE)
    blind_annotation = serializers.BooleanField(required=False)
    blind_prelabels = serializers.BooleanField(required=False)
    assignment_order = serializers.ChoiceField(choices=AssignmentOrder.choices, required=False)
    assignment_timeout_hours = serializers.IntegerField(required=False, min_value=0,
                                                        max_value=services.MAX_TIMEOUT_HOURS)


class AssignmentOutput(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    note = serializers.IntegerField(source="note_id")
    note_external_id = serializers.CharField(source="note.external_id")
    note_review_status = serializers.CharField(source="note.review_status")
    user = serializers.IntegerField(source="user_id")
    username = serializers.CharField(source="user.username")
    assigned_by = serializers.CharField(source="assigned_by.username", allow_null=True, default=None,
                                        help_text="The admin who assigned it; null: handed out by the pool.")
    assigned_at = serializers.DateTimeField()
    touched_at = serializers.DateTimeField(help_text="The last edit of the person's set (or the hand-out).")
    completed_at = serializers.DateTimeField(allow_null=True, help_text="When the person submitted.")
    state = serializers.ChoiceField(choices=[(s, s) for s in selectors.ASSIGNMENT_STATES])
    annotation_set = serializers.IntegerField(source="set_id", allow_null=True, default=None,
                                              help_text="The person's own set on the note; null before their first edit.")
    annotation_set_status = serializers.CharField(source="set_status", allow_null=True, default=None)


class MyAssignmentFilterInput(serializers.Serializer):
    state = serializers.ChoiceField(choices=[(s, s) for s in selectors.ASSIGNMENT_STATES], required=False)


class AssignmentListFilterInput(MyAssignmentFilterInput):
    user = serializers.IntegerField(required=False, min_value=1, help_text="A person's id.")
    note = serializers.IntegerField(required=False, min_value=1, help_text="A note's id.")


class AssignInput(serializers.Serializer):
    user = serializers.IntegerField(min_value=1, help_text="The member to give the notes to (their id).")
    notes = serializers.ListField(child=serializers.IntegerField(min_value=1), min_length=1,
                                  max_length=services.MAX_NOTES_PER_ASSIGN, help_text="Note ids.")


class ReassignInput(serializers.Serializer):
    user = serializers.IntegerField(min_value=1, help_text="The member who takes the note over (their id).")


class ReleaseOutput(serializers.Serializer):
    released = serializers.IntegerField()


class WorkloadOutput(serializers.Serializer):
    user = serializers.IntegerField(source="user_id")
    username = serializers.CharField()
    is_active = serializers.BooleanField()
    role = serializers.CharField()
    open = serializers.IntegerField()
    stale = serializers.IntegerField()
    completed = serializers.IntegerField()


# --- helpers ---------------------------------------------------------------------------------------------


def _rows(view, queryset_or_list):
    return selectors.assignment_states(queryset_or_list, project=view.project)


def _member(project, user_id: int):
    user = get_user_model().objects.filter(pk=user_id, memberships__project=project).first()
    if user is None:
        raise ApplicationError("not_member", "No such member of this project.", status=400)
    return user


def _assignment(view, assignment_id: int) -> NoteAssignment:
    found = selectors.assignment_list(project=view.project).filter(pk=assignment_id).first()
    if found is None:
        raise ApplicationError("not_found", "No such assignment in this project.", status=404)
    return found


def _one(view, assignment: NoteAssignment) -> dict:
    fresh = selectors.assignment_list(project=view.project).filter(pk=assignment.pk).first()
    return AssignmentOutput(_rows(view, [fresh])[0]).data


# --- views -----------------------------------------------------------------------------------------------


class AssignmentSettingsView(ProjectAPIView):
    capabilities = {"PATCH": Capability.MANAGE}

    @extend_schema(responses={200: AssignmentSettingsOutput, **ERRORS})
    def get(self, request, slug):
        """How the project hands notes out: annotators per note, blind mode, order, timeout."""
        return Response(AssignmentSettingsOutput(self.project).data)

    @extend_schema(request=AssignmentSettingsInput, responses={200: AssignmentSettingsOutput, **ERRORS})
    def patch(self, request, slug):
        """Change the assignment settings given (admins); audited."""
        v = validated(AssignmentSettingsInput, request.data)
        project = services.assignment_settings_update(by=request.user, project=self.project, **v)
        return Response(AssignmentSettingsOutput(project).data)


class MyAssignmentListView(ProjectAPIView):
    pagination_class = Pagination

    @extend_schema(parameters=[MyAssignmentFilterInput], responses={200: AssignmentOutput(many=True), **ERRORS})
    def get(self, request, slug):
        """Your assigned notes in this project: open ones first (oldest first), then completed ones."""
        v = validated(MyAssignmentFilterInput, request.query_params)
        page = self.paginate_queryset(selectors.assignment_list(project=self.project, user_id=request.user.pk,
                                                                state=v.get("state", "")))
        return self.get_paginated_response(AssignmentOutput(_rows(self, page), many=True).data)


class MyAssignmentNextView(ProjectAPIView):
    capabilities = {"POST": Capability.ANNOTATE}

    @extend_schema(request=None, responses={200: AssignmentOutput, 204: None, **ERRORS})
    def post(self, request, slug):
        """The note to annotate now: the one you hold, else a new assignment of the next note that needs you
        (the project's order; k people per note at most); 204 when nothing is left for you (or the project
        assigns by hand). Open the note's own set with `POST .../notes/<note>/annotation-sets/`."""
        assignment = services.note_assign_next(by=request.user, project=self.project)
        if assignment is None:
            return Response(status=204)
        return Response(_one(self, assignment))


class AssignmentListView(ProjectAPIView):
    capabilities = {"GET": Capability.MANAGE, "POST": Capability.MANAGE}
    pagination_class = Pagination

    @extend_schema(parameters=[AssignmentListFilterInput], responses={200: AssignmentOutput(many=True), **ERRORS})
    def get(self, request, slug):
        """Everyone's assignments (admins), of one person, one note or in one state."""
        v = validated(AssignmentListFilterInput, request.query_params)
        rows = selectors.assignment_list(project=self.project, user_id=v.get("user"), note_id=v.get("note"),
                                         state=v.get("state", ""))
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(AssignmentOutput(_rows(self, page), many=True).data)

    @extend_schema(request=AssignInput, responses={201: AssignmentOutput(many=True), 409: ERRORS[400], **ERRORS})
    def post(self, request, slug):
        """Give notes to a member by hand (admins): refused whole (409, the notes named) when a note is theirs
        already, was submitted by them, or has the project's number of annotators; audited per note."""
        v = validated(AssignInput, request.data)
        user = _member(self.project, v["user"])
        notes = list(Note.objects.filter(project=self.project, pk__in=v["notes"]).only("pk", "project_id"))
        if len(notes) != len(set(v["notes"])):
            raise ApplicationError("not_found", "No such note in this project.", status=404)
        created = services.notes_assign(by=request.user, project=self.project, notes=notes, user=user)
        rows = selectors.assignment_list(project=self.project).filter(pk__in=[a.pk for a in created])
        return Response(AssignmentOutput(_rows(self, rows), many=True).data, status=201)


class AssignmentDetailView(ProjectAPIView):
    capabilities = {"GET": Capability.MANAGE, "DELETE": Capability.MANAGE}

    @extend_schema(responses={200: AssignmentOutput, **ERRORS})
    def get(self, request, slug, assignment_id):
        """One assignment (admins)."""
        return Response(AssignmentOutput(_rows(self, [_assignment(self, assignment_id)])[0]).data)

    @extend_schema(request=None, responses={204: None, 409: ERRORS[400], **ERRORS})
    def delete(self, request, slug, assignment_id):
        """Unassign (admins): the note goes back to the pool; the person's annotations stay. A completed
        assignment stays (409)."""
        services.assignment_unassign(by=request.user, project=self.project,
                                     assignment=_assignment(self, assignment_id))
        return Response(status=204)


class AssignmentReassignView(ProjectAPIView):
    capabilities = {"POST": Capability.MANAGE}

    @extend_schema(request=ReassignInput, responses={200: AssignmentOutput, 409: ERRORS[400], **ERRORS})
    def post(self, request, slug, assignment_id):
        """Move an open assignment to another member (admins); audited."""
        v = validated(ReassignInput, request.data)
        moved = services.assignment_reassign(by=request.user, project=self.project,
                                             assignment=_assignment(self, assignment_id),
                                             user=_member(self.project, v["user"]))
        return Response(_one(self, moved))


class AssignmentReleaseView(ProjectAPIView):
    capabilities = {"POST": Capability.MANAGE}

    @extend_schema(request=None, responses={200: ReleaseOutput, **ERRORS})
    def post(self, request, slug):
        """Release now the open assignments nobody edited within the project's timeout (admins; the beat does
        it every ten minutes, and every hand-out for its project)."""
        released = services.assignments_release_stale(by=request.user, project=self.project)
        return Response(ReleaseOutput({"released": released}).data)


class AssignmentWorkloadView(ProjectAPIView):
    capabilities = {"GET": Capability.MANAGE}

    @extend_schema(responses={200: WorkloadOutput(many=True), **ERRORS})
    def get(self, request, slug):
        """Who has what (admins): every member's open, stale and completed assignments."""
        return Response(WorkloadOutput(selectors.assignment_workload(project=self.project), many=True).data)
