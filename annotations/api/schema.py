"""The project schema's API: read it, replace its annotation.conf / visual.conf, rename or merge a type,
set a type's display name and colour. Reading needs VIEW; every change MANAGE (project admins). Each
endpoint validates, calls one service of `annotations.services.schema_editing` (which audits), responds."""

from __future__ import annotations

from django.urls import register_converter
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from annotations.api.base import ERRORS, ProjectAPIView, validated
from annotations.api.serializers import ErrorOutput, SchemaOutput, type_field
from annotations.errors import ApplicationError
from annotations.formats.names import NAME_PATTERN
from annotations.formats.schema_changes import KINDS, LABEL_MAX
from annotations.models import AnnotationSchema
from annotations.permissions import Capability
from annotations.services.schema_editing import (
    MAX_CONF_CHARS,
    schema_conf_replace,
    schema_conf_texts,
    schema_type_rename,
    schema_type_style_set,
)
from annotations.services.schemas import project_schema_get


class TypeNameConverter:
    """A type name in a path (annotations.formats.names; `/` included, so `types/A/B/` names `A/B`)."""

    regex = NAME_PATTERN.strip("^$")

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value) -> str:
        return str(value)


register_converter(TypeNameConverter, "typename")

REFUSED = OpenApiResponse(
    ErrorOutput,
    description="Refused: annotations of the project would no longer fit the schema; `details.orphans` lists "
    "them per kind and type with counts (`annotations`, `notes`, `reason`, `summary`).",
)


# --- serializers --------------------------------------------------------------------------------------


class SchemaConfInput(serializers.Serializer):
    annotation_conf = serializers.CharField(max_length=MAX_CONF_CHARS, allow_blank=True, trim_whitespace=False)
    visual_conf = serializers.CharField(max_length=MAX_CONF_CHARS, allow_blank=True, trim_whitespace=False,
                                        required=False, default="")


class RenameInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=KINDS)
    old = type_field()
    new = type_field(help_text="A new name, or an existing type of the same kind to merge into.")


class RenameOutput(serializers.Serializer):
    kind = serializers.CharField()
    old = serializers.CharField()
    new = serializers.CharField()
    merge = serializers.BooleanField(help_text="`new` existed: `old` was merged into it.")
    counts = serializers.DictField(child=serializers.IntegerField(), help_text="Rows rewritten per kind.")
    notes = serializers.IntegerField()
    annotation_sets = serializers.IntegerField(help_text="Annotation sets whose version went up.")


class TypeStyleInput(serializers.Serializer):
    label = serializers.CharField(max_length=LABEL_MAX, allow_blank=True, allow_null=True, required=False,
                                  help_text="Display name; empty or null: the type's name.")
    colour = serializers.CharField(max_length=40, allow_blank=True, allow_null=True, required=False,
                                   help_text="#rgb, #rrggbb or a CSS colour name; empty or null: a palette colour.")


class TypeStyleOutput(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField(allow_null=True)
    colour = serializers.CharField(allow_null=True)


# --- views --------------------------------------------------------------------------------------------


def _schema_payload(project) -> dict:
    stored = AnnotationSchema.objects.filter(project=project).first()
    if stored is None:
        raise ApplicationError("no_schema", "This project has no schema yet.", status=404)
    _, annotation_conf, visual_conf = schema_conf_texts(project=project)
    return {"definition": stored.definition, "annotation_conf": annotation_conf, "visual_conf": visual_conf,
            "inferred": stored.inferred, "updated_at": stored.updated_at}


class SchemaView(ProjectAPIView):
    capabilities = {"PUT": Capability.MANAGE}

    @extend_schema(responses={200: SchemaOutput, **ERRORS})
    def get(self, request, slug):
        """The project's annotation schema (brat annotation.conf/visual.conf semantics) and its conf texts."""
        return Response(SchemaOutput(_schema_payload(self.project)).data)

    @extend_schema(request=SchemaConfInput, responses={
        200: SchemaOutput,
        **ERRORS,
        400: OpenApiResponse(ErrorOutput, description="Invalid input, or problems of the conf texts "
                             "(`schema_invalid`; `details`: [{file, line, message}])."),
        409: REFUSED,
    })
    def put(self, request, slug):
        """Replace the schema with annotation.conf and visual.conf texts (admins). Refused with counts when
        annotations of the project would no longer fit it (rename or merge types instead). Audited."""
        v = validated(SchemaConfInput, request.data)
        schema_conf_replace(project=self.project, by=request.user, annotation_conf=v["annotation_conf"],
                            visual_conf=v["visual_conf"])
        return Response(SchemaOutput(_schema_payload(self.project)).data)


class SchemaRenameView(ProjectAPIView):
    capabilities = {"POST": Capability.MANAGE}

    @extend_schema(request=RenameInput, responses={200: RenameOutput, **ERRORS, 409: REFUSED})
    def post(self, request, slug):
        """Rename a type, or merge it into an existing type of the same kind, rewriting every annotation of
        the project that holds it and every reference in the schema in one transaction (admins). The
        annotation sets it touches get a new version. Audited."""
        v = validated(RenameInput, request.data)
        result = schema_type_rename(project=self.project, by=request.user, kind=v["kind"], old=v["old"], new=v["new"])
        return Response(RenameOutput(result.as_dict()).data)


class SchemaTypeView(ProjectAPIView):
    capabilities = {"PATCH": Capability.MANAGE}

    @extend_schema(request=TypeStyleInput, responses={200: TypeStyleOutput, **ERRORS})
    def patch(self, request, slug, name):
        """Set a type's display name and colour (admins); a field left out stays as it is. Audited."""
        v = validated(TypeStyleInput, request.data)
        schema = project_schema_get(project=self.project)
        current = schema.visual.get(name) if schema is not None else None
        label = v["label"] if "label" in v else (current.label if current else None)
        colour = v["colour"] if "colour" in v else (current.colour if current else None)
        changed = schema_type_style_set(project=self.project, by=request.user, name=name, label=label, colour=colour)
        style = changed.visual.get(name)
        return Response(TypeStyleOutput({"name": name, "label": style.label if style else None,
                                         "colour": style.colour if style else None}).data)
