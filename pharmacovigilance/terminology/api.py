"""The terminology API: which versions are loaded (site staff and project admins) and the look-up (members
of any project). A look-up is a POST: what is typed is clinical words, never put in a URL."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response

from annotations.api.base import ERRORS, APIView, validated
from annotations.api.serializers import ErrorOutput
from annotations.permissions import user_may_look_up_terms, user_may_see_terminologies
from pharmacovigilance.core.terminology import System
from pharmacovigilance.terminology import selectors


class MaySeeTerminologies(BasePermission):
    message = "Site administrators and project admins see the loaded terminologies."
    code = "forbidden"

    def has_permission(self, request, view) -> bool:
        return user_may_see_terminologies(request.user)


class MayLookUpTerms(BasePermission):
    message = "Members of a project look terms up."
    code = "forbidden"

    def has_permission(self, request, view) -> bool:
        return user_may_look_up_terms(request.user)


FORBIDDEN = {401: ERRORS[401], 403: OpenApiResponse(ErrorOutput, description="Not allowed (see the description).")}


class TerminologyOutput(serializers.Serializer):
    system = serializers.CharField()
    version = serializers.CharField()
    loaded_at = serializers.DateTimeField()
    loaded_by = serializers.CharField(source="loaded_by.username", default="", help_text="Empty: a command.")
    loaded_from = serializers.CharField(help_text="The file's name.")
    counts = serializers.DictField(child=serializers.IntegerField(), help_text="Terms per level; `hierarchy`: "
                                                                               "MedDRA PT paths.")


class LookupInput(serializers.Serializer):
    system = serializers.ChoiceField(choices=[s.value for s in System])
    q = serializers.CharField(max_length=selectors.MAX_QUERY, allow_blank=True, trim_whitespace=True,
                              help_text="What was typed (at least two letters or digits give hits).")
    limit = serializers.IntegerField(min_value=1, max_value=selectors.MAX_LIMIT, default=10)


class TermHitOutput(serializers.Serializer):
    system = serializers.CharField()
    code = serializers.CharField(help_text="The code to record (MedDRA: the LLT).")
    text = serializers.CharField()
    level = serializers.CharField(help_text="LLT; ATC1-ATC5; FSN or SYN (SNOMED CT).")
    pt_code = serializers.CharField(help_text="MedDRA: the LLT's PT (what is reported); else empty.")
    pt_text = serializers.CharField()
    version = serializers.CharField()
    score = serializers.FloatField(help_text="How well it matches what was typed, 0-1.")


class LookupOutput(serializers.Serializer):
    results = TermHitOutput(many=True)


class TerminologyListView(APIView):
    permission_classes = [IsAuthenticated, MaySeeTerminologies]

    @extend_schema(responses={200: TerminologyOutput(many=True), **FORBIDDEN})
    def get(self, request):
        """The terminology versions look-ups use now, one per system (MedDRA, ATC, SNOMED CT) loaded."""
        return Response(TerminologyOutput(selectors.terminology_list(current_only=True), many=True).data)


class TermLookupView(APIView):
    permission_classes = [IsAuthenticated, MayLookUpTerms]

    @extend_schema(request=LookupInput, responses={200: LookupOutput, 400: ERRORS[400], **FORBIDDEN})
    def post(self, request):
        """Terms of the current version of `system` that match `q`, best first (MedDRA: LLTs with their PT)."""
        v = validated(LookupInput, request.data)
        hits = selectors.term_search(system=v["system"], query=v["q"], limit=v["limit"])
        return Response(LookupOutput({"results": hits}).data)
