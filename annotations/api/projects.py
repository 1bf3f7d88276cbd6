"""Projects and members in the API: list and create projects, read and change settings, archive, delete;
list, add, re-role and remove members. Each endpoint validates, calls one service of
`annotations.services.projects` / `.members` (which keep the rules and audit), and responds."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from annotations import selectors as page_selectors
from annotations.api import selectors
from annotations.api import serializers as s
from annotations.api.base import ERRORS, APIView, Pagination, ProjectAPIView, validated
from annotations.api.serializers import ErrorOutput
from annotations.errors import ApplicationError
from annotations.models import ProjectRole
from annotations.permissions import Capability, project_get_for_user
from annotations.services import members as member_services
from annotations.services import projects as project_services
from annotations.services.schema_templates import schema_templates

CONFLICT = OpenApiResponse(ErrorOutput, description="Conflict: the short name is taken, the person is a member "
                           "already, the last admin would go, or the project changed since its last export.")
MAX_CONF_CHARS = 256 * 1024


class ProjectCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=project_services.MAX_NAME)
    slug = serializers.CharField(max_length=project_services.MAX_SLUG, required=False, allow_blank=True, default="")
    description = serializers.CharField(max_length=project_services.MAX_DESCRIPTION, required=False,
                                        allow_blank=True, default="")
    language = serializers.CharField(max_length=35, required=False, default="en")
    ade_threshold = serializers.FloatField(min_value=0, max_value=1, required=False, default=0.5)
    template = serializers.CharField(max_length=60, required=False, allow_blank=True, default="",
                                     help_text="A built-in schema template (see GET /api/schema-templates/).")
    copy_schema_from = serializers.SlugField(max_length=80, required=False, allow_blank=True, default="",
                                             help_text="A project of yours whose schema to copy.")
    annotation_conf = serializers.CharField(max_length=MAX_CONF_CHARS, required=False, allow_blank=True,
                                            default="", trim_whitespace=False)
    visual_conf = serializers.CharField(max_length=MAX_CONF_CHARS, required=False, allow_blank=True,
                                        default="", trim_whitespace=False)


class ProjectUpdateInput(serializers.Serializer):
    name = serializers.CharField(max_length=project_services.MAX_NAME, required=False)
    description = serializers.CharField(max_length=project_services.MAX_DESCRIPTION, required=False, allow_blank=True)
    language = serializers.CharField(max_length=35, required=False)
    ade_threshold = serializers.FloatField(min_value=0, max_value=1, required=False)
    ade_evidence_relation_types = serializers.ListField(
        child=serializers.CharField(max_length=100), max_length=project_services.MAX_EVIDENCE_TYPES, required=False)
    archived = serializers.BooleanField(required=False, help_text="Archive (read-only) or unarchive.")


class ProjectDeleteInput(serializers.Serializer):
    confirm = serializers.CharField(max_length=100, help_text="The project's short name (slug), typed.")


class SchemaTemplateOutput(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    description = serializers.CharField()


class MemberOutput(serializers.Serializer):
    user_id = serializers.IntegerField()
    username = serializers.CharField()
    full_name = serializers.CharField()
    is_active = serializers.BooleanField()
    role = serializers.CharField()
    last_activity = serializers.DateTimeField(allow_null=True)
    annotated = serializers.IntegerField(help_text="Notes with an annotation set of theirs.")
    submitted = serializers.IntegerField()
    signed_off = serializers.IntegerField(help_text="Notes they signed off.")


class MemberAddInput(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=ProjectRole.choices)


class MemberRoleInput(serializers.Serializer):
    role = serializers.ChoiceField(choices=ProjectRole.choices)


ARCHIVED = OpenApiParameter("archived", OpenApiTypes.BOOL, OpenApiParameter.QUERY, required=False,
                            description="List archived projects instead.")


class ProjectListView(APIView):
    pagination_class = Pagination

    @extend_schema(parameters=[ARCHIVED], responses={200: s.ProjectOutput(many=True), 401: ERRORS[401], 404: ERRORS[404]})
    def get(self, request):
        """Projects you are a member of, with your role (archived ones with `?archived=true`)."""
        archived = request.query_params.get("archived", "").lower() in ("1", "true")
        page = self.paginate_queryset(selectors.project_list_for_member(user=request.user, archived=archived))
        return self.get_paginated_response(s.ProjectOutput(page, many=True).data)

    @extend_schema(request=ProjectCreateInput, responses={201: s.ProjectOutput, **ERRORS, 409: CONFLICT})
    def post(self, request):
        """Create a project (site staff, or people given the `annotations.add_project` permission); you become
        its admin. Its schema: `annotation_conf` (+ `visual_conf`), else a copy of `copy_schema_from`, else
        `template`, else inferred from the first import. Audited."""
        v = validated(ProjectCreateInput, request.data)
        copy_from = None
        if v["copy_schema_from"]:
            try:
                copy_from, _ = project_get_for_user(user=request.user, slug=v["copy_schema_from"])
            except Exception:  # Http404: not a project of yours
                raise ApplicationError("not_found", "No such project to copy the schema from.", status=404) from None
        project = project_services.project_create(
            by=request.user, name=v["name"], slug=v["slug"], description=v["description"], language=v["language"],
            ade_threshold=v["ade_threshold"], template=v["template"], copy_from=copy_from,
            annotation_conf=v["annotation_conf"], visual_conf=v["visual_conf"],
        )
        return Response(s.ProjectOutput({"project": project, "role": ProjectRole.ADMIN}).data, status=201)


class ProjectDetailView(ProjectAPIView):
    capabilities = {"PATCH": Capability.MANAGE, "DELETE": Capability.MANAGE}
    archived_ok_methods = ("PATCH", "DELETE")

    @extend_schema(responses={200: s.ProjectOutput, **ERRORS})
    def get(self, request, slug):
        return Response(s.ProjectOutput({"project": self.project, "role": self.role}).data)

    @extend_schema(request=ProjectUpdateInput, responses={200: s.ProjectOutput, **ERRORS})
    def patch(self, request, slug):
        """Change settings (admins): name, description, language, ADE threshold, ADE evidence relation types;
        `archived` archives (read-only) or unarchives. An archived project takes only `archived`. Audited."""
        v = validated(ProjectUpdateInput, request.data)
        archived = v.pop("archived", None)
        project = self.project
        if v and project.archived_at is not None and archived is not False:
            raise ApplicationError("archived", "The project is archived: unarchive it (`archived`: false) to change "
                                   "its settings.", status=403)
        if archived is False:
            project = project_services.project_archive(by=request.user, project=project, archived=False)
        if v:
            project = project_services.project_update(by=request.user, project=project, **v)
        if archived:
            project = project_services.project_archive(by=request.user, project=project, archived=True)
        return Response(s.ProjectOutput({"project": project, "role": self.role}).data)

    @extend_schema(request=ProjectDeleteInput, responses={204: None, **ERRORS, 409: CONFLICT})
    def delete(self, request, slug):
        """Delete the project and everything in it (admins): only when it holds no notes or was exported after
        its last change; `confirm` must be its short name. Audited."""
        v = validated(ProjectDeleteInput, request.data)
        project_services.project_delete(by=request.user, project=self.project, confirm=v["confirm"])
        return Response(status=204)


class SchemaTemplateListView(APIView):
    @extend_schema(responses={200: SchemaTemplateOutput(many=True), 401: ERRORS[401]})
    def get(self, request):
        """The built-in schemas a new project can start from."""
        return Response(SchemaTemplateOutput(schema_templates(), many=True).data)


def _user(username: str = "", user_id: int | None = None):
    user = page_selectors.user_find(username=username, user_id=user_id)
    if user is None:
        raise ApplicationError("not_found", "No such user.", status=404)
    return user


class MemberListView(ProjectAPIView):
    capabilities = {"POST": Capability.MANAGE}
    pagination_class = Pagination

    @extend_schema(responses={200: MemberOutput(many=True), **ERRORS})
    def get(self, request, slug):
        """Members with their role, last activity and counts (any member may read it)."""
        paginator = self.paginator
        size = paginator.get_page_size(request) or Pagination.page_size
        number = request.query_params.get("page", "1")
        number = int(number) if number.isdigit() and 0 < int(number) <= 100_000 else 1
        rows, total = page_selectors.project_members(project=self.project, offset=(number - 1) * size, limit=size)
        return Response({
            "count": total,
            "next": None if number * size >= total else f"?page={number + 1}&page_size={size}",
            "previous": None if number == 1 else f"?page={number - 1}&page_size={size}",
            "results": MemberOutput(rows, many=True).data,
        })

    @extend_schema(request=MemberAddInput, responses={201: MemberOutput, **ERRORS, 409: CONFLICT})
    def post(self, request, slug):
        """Add an existing user with a role (admins). Audited."""
        v = validated(MemberAddInput, request.data)
        user = _user(username=v["username"])
        member_services.member_add(by=request.user, project=self.project, user=user, role=v["role"])
        rows, _ = page_selectors.project_members(project=self.project, user_ids=[user.pk], limit=1)
        return Response(MemberOutput(rows[0]).data, status=201)


class MemberDetailView(ProjectAPIView):
    capabilities = {"PATCH": Capability.MANAGE, "DELETE": Capability.MANAGE}

    def _row(self, user_id: int):
        rows, _ = page_selectors.project_members(project=self.project, user_ids=[user_id], limit=1)
        if not rows:
            raise ApplicationError("not_found", "No such member.", status=404)
        return rows[0]

    @extend_schema(responses={200: MemberOutput, **ERRORS})
    def get(self, request, slug, user_id):
        return Response(MemberOutput(self._row(user_id)).data)

    @extend_schema(request=MemberRoleInput, responses={200: MemberOutput, **ERRORS, 409: CONFLICT})
    def patch(self, request, slug, user_id):
        """Change a member's role (admins); the last admin keeps theirs. Audited."""
        v = validated(MemberRoleInput, request.data)
        member_services.member_set_role(by=request.user, project=self.project, user=_user(user_id=user_id),
                                        role=v["role"])
        return Response(MemberOutput(self._row(user_id)).data)

    @extend_schema(responses={204: None, **ERRORS, 409: CONFLICT})
    def delete(self, request, slug, user_id):
        """Remove a member (admins); their annotations and sign-offs stay. Audited."""
        member_services.member_remove(by=request.user, project=self.project, user=_user(user_id=user_id))
        return Response(status=204)
