"""Input and output serializers. Inputs bound every string and number to what the database holds, so a
malformed request is a 400, never a database error."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from annotations.api.edits import entity_record
from annotations.formats import registry
from annotations.formats.document import (
    AnnotatorNote,
    Attribute,
    Document,
    Equivalence,
    Event,
    Normalization,
    Relation,
)
from annotations.formats.names import LOCAL_ID_PATTERN, NAME_PATTERN
from annotations.models import (
    AnnotationSetStatus,
    NoteLabelValue,
    ReviewStatus,
    SignOffDecision,
    SignOffOutcome,
)

MAX_VERSION = 2**31 - 1
MAX_OFFSET = 10**9


def local_id_field(**kwargs):
    # The one id pattern, shared with every corpus reader (annotations.formats.names).
    return serializers.RegexField(LOCAL_ID_PATTERN, max_length=32, **kwargs)


def type_field(**kwargs):
    return serializers.RegexField(NAME_PATTERN, max_length=100, **kwargs)


class VersionField(serializers.IntegerField):
    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", "The annotation set version you read (optimistic concurrency).")
        super().__init__(min_value=1, max_value=MAX_VERSION, **kwargs)


# --- outputs ----------------------------------------------------------------------------------------


class ProjectOutput(serializers.Serializer):
    slug = serializers.CharField(source="project.slug")
    name = serializers.CharField(source="project.name")
    description = serializers.CharField(source="project.description")
    ade_threshold = serializers.FloatField(source="project.ade_threshold")
    created_at = serializers.DateTimeField(source="project.created_at")
    language = serializers.CharField(source="project.language")
    archived_at = serializers.DateTimeField(source="project.archived_at", allow_null=True)
    ade_evidence_relation_types = serializers.ListField(
        child=serializers.CharField(), source="project.ade_evidence_relation_types",
        help_text="Relation types that count as ADE evidence; empty: the schema's ADE relation types.")
    role = serializers.CharField()
    note_count = serializers.IntegerField(required=False)
    flagged_count = serializers.IntegerField(required=False)


class SchemaOutput(serializers.Serializer):
    definition = serializers.JSONField()
    annotation_conf = serializers.CharField()
    visual_conf = serializers.CharField()
    inferred = serializers.BooleanField()
    updated_at = serializers.DateTimeField()


class NoteListOutput(serializers.Serializer):
    id = serializers.IntegerField()
    external_id = serializers.CharField()
    patient = serializers.CharField(source="patient.external_id", allow_null=True, default=None)
    timestamp = serializers.DateTimeField(allow_null=True)
    unit = serializers.CharField()
    author_role = serializers.CharField()
    note_type = serializers.CharField()
    ade_probability = serializers.FloatField(allow_null=True)
    ade_uncertainty = serializers.FloatField(allow_null=True)
    flagged = serializers.BooleanField()
    review_status = serializers.ChoiceField(choices=ReviewStatus.choices)
    created_at = serializers.DateTimeField()


class NoteDetailOutput(NoteListOutput):
    text = serializers.CharField()
    text_hash = serializers.CharField()
    metadata = serializers.JSONField()


class NoteCreateOutput(NoteListOutput):
    """The created note, without echoing its text: `text_hash` (sha256 of the UTF-8 text) confirms it."""

    text_hash = serializers.CharField()
    metadata = serializers.JSONField()


class AnnotationSetSummaryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    note = serializers.IntegerField(source="note_id")
    source_kind = serializers.CharField()
    source_name = serializers.CharField()
    user = serializers.CharField(source="user.username", allow_null=True, default=None)
    model_version = serializers.CharField(source="model_version.name", allow_null=True, default=None)
    status = serializers.ChoiceField(choices=AnnotationSetStatus.choices)
    version = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    submitted_at = serializers.DateTimeField(allow_null=True)
    entity_count = serializers.IntegerField(required=False)
    prelabel_model_version = serializers.CharField(
        source="prelabel_model_version.name", allow_null=True, default=None,
        help_text="The model version whose pre-labels this set started from.")
    seconds_spent = serializers.IntegerField(help_text="Editing time on this set (idle gaps capped at 2 minutes).")


class FragmentField(serializers.ListField):
    def __init__(self, **kwargs):
        super().__init__(
            child=serializers.IntegerField(min_value=0, max_value=MAX_OFFSET), min_length=2, max_length=2, **kwargs
        )


class EntityBody(serializers.Serializer):
    id = local_id_field()
    type = type_field()
    fragments = serializers.ListField(child=FragmentField(), min_length=1, max_length=50)
    text = serializers.CharField(read_only=True)
    confidence = serializers.FloatField(min_value=0, max_value=1, allow_null=True, required=False, default=None)


class RelationBody(serializers.Serializer):
    id = local_id_field()
    type = type_field()
    arg1 = local_id_field()
    arg2 = local_id_field()
    arg1_role = serializers.RegexField(r"^\w{1,50}$", max_length=50, default="Arg1")
    arg2_role = serializers.RegexField(r"^\w{1,50}$", max_length=50, default="Arg2")
    confidence = serializers.FloatField(min_value=0, max_value=1, allow_null=True, required=False, default=None)


class EventArgumentBody(serializers.Serializer):
    role = serializers.RegexField(r"^\w{1,100}$", max_length=100)
    ref = local_id_field()


class EventBody(serializers.Serializer):
    id = local_id_field()
    type = type_field()
    trigger = local_id_field()
    args = EventArgumentBody(many=True, default=list)


class AttributeBody(serializers.Serializer):
    id = local_id_field()
    name = type_field()
    target = local_id_field()
    value = serializers.CharField(max_length=200, allow_null=True, required=False, default=None)


class NormalizationBody(serializers.Serializer):
    id = local_id_field()
    target = local_id_field()
    resource = serializers.CharField(max_length=100)
    resource_id = serializers.CharField(max_length=200)
    text = serializers.CharField(max_length=2000, allow_blank=True, default="")
    type = serializers.CharField(max_length=50, default="Reference")


class AnnotatorNoteBody(serializers.Serializer):
    id = local_id_field()
    target = local_id_field()
    text = serializers.CharField(max_length=10000, allow_blank=True)
    type = serializers.CharField(max_length=50, default="AnnotatorNotes")


class EquivalenceBody(serializers.Serializer):
    type = type_field(default="Equiv")
    members = serializers.ListField(child=local_id_field(), min_length=2, max_length=1000)


class AnnotationsBody(serializers.Serializer):
    """Every annotation of a set, brat-shaped; ids are the set-local brat ids (T1, R1, E1, A1, N1, #1)."""

    entities = EntityBody(many=True, default=list, max_length=20000)
    relations = RelationBody(many=True, default=list, max_length=20000)
    events = EventBody(many=True, default=list, max_length=20000)
    attributes = AttributeBody(many=True, default=list, max_length=20000)
    normalizations = NormalizationBody(many=True, default=list, max_length=20000)
    notes = AnnotatorNoteBody(many=True, default=list, max_length=20000)
    equivalences = EquivalenceBody(many=True, default=list, max_length=20000)
    label = serializers.ChoiceField(choices=NoteLabelValue.choices, allow_null=True, required=False, default=None)


class ProvenanceOutput(serializers.Serializer):
    id = serializers.CharField(help_text="The entity's or relation's local id (rejected pre-labels included).")
    origin = serializers.CharField(help_text="human | model | import")
    confidence = serializers.FloatField(allow_null=True, help_text="The model's confidence, for model pre-labels.")
    decision = serializers.CharField(help_text="accepted | rejected | modified | added | empty (undecided)")
    decided_at = serializers.DateTimeField(allow_null=True)


class AnnotationSetDetailOutput(AnnotationSetSummaryOutput):
    annotations = serializers.SerializerMethodField()
    provenance = serializers.SerializerMethodField()

    @extend_schema_field(AnnotationsBody)
    def get_annotations(self, obj) -> dict:
        return document_to_data(self.context["document"])

    @extend_schema_field(ProvenanceOutput(many=True))
    def get_provenance(self, obj) -> list:
        rows = [*obj.entities.order_by("pk").values("local_id", "origin", "confidence", "decision", "decided_at"),
                *obj.relations.order_by("pk").values("local_id", "origin", "confidence", "decision", "decided_at")]
        return ProvenanceOutput([{**r, "id": r.pop("local_id")} for r in rows], many=True).data


class AnnotationSetReplaceInput(AnnotationsBody):
    version = VersionField(required=False)
    status = serializers.ChoiceField(
        choices=[AnnotationSetStatus.IN_PROGRESS, AnnotationSetStatus.SUBMITTED, AnnotationSetStatus.GOLD],
        required=False,
        help_text="submitted: submit for review (the editor's checks); in_progress: reopen; gold is refused (403 "
                  "forbidden_status): gold comes only from a reviewer's sign-off. Any change of content returns a "
                  "submitted set to in_progress.",
    )


class VersionInput(serializers.Serializer):
    version = VersionField(required=False)


class EntityCreateInput(serializers.Serializer):
    version = VersionField(required=False)
    type = type_field()
    fragments = serializers.ListField(child=FragmentField(), min_length=1, max_length=50)


class NormalizationInput(serializers.Serializer):
    resource = serializers.CharField(max_length=100, allow_blank=True)
    resource_id = serializers.CharField(max_length=200, allow_blank=True)
    text = serializers.CharField(max_length=2000, allow_blank=True, default="")


@extend_schema_field({"oneOf": [{"type": "string", "maxLength": 200}, {"type": "boolean"}], "nullable": True})
class AttributeValueField(serializers.Field):
    """An attribute value: a string, true (binary attribute set) or null (remove)."""

    def to_internal_value(self, data):
        if data is None or isinstance(data, bool):
            return data
        if isinstance(data, str) and len(data) <= 200 and "\x00" not in data:
            return data
        raise serializers.ValidationError("A string of at most 200 characters, true or null.")

    def to_representation(self, value):
        return value


class EntityUpdateInput(serializers.Serializer):
    version = VersionField(required=False)
    type = type_field(required=False)
    attributes = serializers.DictField(
        child=AttributeValueField(allow_null=True), required=False,
        help_text="Attribute name -> value (string), true (binary) or null (remove); others stay.",
    )
    normalization = NormalizationInput(required=False, allow_null=True,
                                       help_text="A terminology link; empty resource and id remove it.")

    def validate_attributes(self, value):
        if len(value) > 50 or any(not k or len(k) > 100 or "\x00" in k for k in value):
            raise serializers.ValidationError("At most 50 attributes with names of 1-100 characters.")
        return value


class RelationCreateInput(serializers.Serializer):
    version = VersionField(required=False)
    type = type_field()
    arg1 = local_id_field(help_text="Entity id (Arg1, the head).")
    arg2 = local_id_field(help_text="Entity id (Arg2, the tail).")


class AttributeCreateInput(serializers.Serializer):
    version = VersionField(required=False)
    name = type_field()
    target = local_id_field(help_text="Entity id.")
    value = serializers.CharField(max_length=200, allow_null=True, required=False, default=None,
                                  help_text="Null for a binary attribute.")


class AttributeUpdateInput(serializers.Serializer):
    version = VersionField(required=False)
    value = serializers.CharField(max_length=200, allow_null=True)


class LabelInput(serializers.Serializer):
    version = VersionField(required=False)
    value = serializers.ChoiceField(choices=NoteLabelValue.choices)
    evidence = local_id_field(required=False, allow_null=True, help_text="The relation (R..) that shows the ADE.")


class SignOffInput(serializers.Serializer):
    decision = serializers.ChoiceField(choices=SignOffDecision.choices)
    comment = serializers.CharField(max_length=5000, allow_blank=True, default="")
    annotation_set = serializers.IntegerField(min_value=1, max_value=2**62, required=False,
                                              help_text="The submitted set you reviewed.")
    model_set = serializers.IntegerField(
        min_value=1, max_value=2**62, required=False,
        help_text="Instead of annotation_set: decide directly on this model pre-annotation of the note (its copy "
                  "becomes the gold with your verdict).")
    version = serializers.IntegerField(min_value=0, max_value=2**31,
                                       help_text="Its version as you read it (409 when it changed since).")

    def validate(self, attrs):
        if ("annotation_set" in attrs) == ("model_set" in attrs):
            raise serializers.ValidationError("Name exactly one of annotation_set and model_set.")
        return attrs


class SignOffOutput(serializers.Serializer):
    id = serializers.IntegerField()
    note = serializers.IntegerField(source="note_id")
    annotation_set = serializers.IntegerField(source="annotation_set_id", allow_null=True)
    user = serializers.CharField(source="user.username")
    decision = serializers.ChoiceField(choices=SignOffDecision.choices)
    comment = serializers.CharField()
    annotation_set_version = serializers.IntegerField(allow_null=True)
    final_verdict = serializers.CharField(help_text="The reviewer's verdict on the note: ade or no_ade.")
    outcome = serializers.ChoiceField(choices=SignOffOutcome.choices,
                                      help_text="gold: the set became the note's gold; returned: sent back to its "
                                                "annotator because its verdict differs from the reviewer's.")
    created_at = serializers.DateTimeField()










class EditOutput(serializers.Serializer):
    annotation_set = serializers.IntegerField()
    version = serializers.IntegerField(help_text="The new version; send it with the next edit.")
    id = serializers.CharField(allow_null=True, help_text="The local id created or changed, if any.")


class NoteCreateInput(serializers.Serializer):
    external_id = serializers.CharField(max_length=300, help_text="The note's id, unique in the project.")
    text = serializers.CharField(
        max_length=1_000_000, trim_whitespace=False, help_text="Stored exactly as sent; immutable afterwards."
    )
    patient = serializers.CharField(
        max_length=200, required=False, allow_null=True, default=None,
        help_text="The patient's id in the project (created when new); a monitored patient's risk is updated.",
    )
    timestamp = serializers.DateTimeField(required=False, allow_null=True, default=None,
                                          help_text="When the note was written (ISO 8601).")
    unit = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    note_type = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    author_role = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    metadata = serializers.DictField(required=False, default=dict, help_text="Any JSON object.")


class NoteListFilterInput(serializers.Serializer):
    flagged = serializers.BooleanField(required=False, allow_null=True, default=None)
    review_status = serializers.ChoiceField(choices=ReviewStatus.choices, required=False)
    note_type = serializers.CharField(max_length=100, required=False)
    unit = serializers.CharField(max_length=100, required=False)
    patient = serializers.CharField(max_length=200, required=False)
    search = serializers.CharField(max_length=200, required=False, help_text="In external ids and note text.")
    ordering = serializers.ChoiceField(
        choices=["id", "-id", "ade_probability", "-ade_probability", "timestamp", "-timestamp"], default="id"
    )










class ExportCreateInput(serializers.Serializer):
    format = serializers.ChoiceField(choices=sorted(registry.WRITERS))
    source = serializers.RegexField(
        r"^(gold|submitted|latest-submitted|annotators|(user|model|import):[^\x00/\\]{1,200})$", max_length=210, default="gold"
    )
    only_annotated = serializers.BooleanField(default=False)


class ExportOutput(serializers.Serializer):
    id = serializers.CharField()
    format = serializers.CharField()
    source = serializers.CharField()
    notes = serializers.IntegerField()
    size_bytes = serializers.IntegerField()
    download_url = serializers.CharField()


class ErrorOutput(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.JSONField(allow_null=True)


# --- Document <-> data ------------------------------------------------------------------------------


def document_to_data(document: Document) -> dict:
    return {
        "entities": [
            {"id": e.id, "type": e.type, "fragments": [[s.start, s.end] for s in e.spans], "text": e.text,
             "confidence": e.confidence}
            for e in document.entities
        ],
        "relations": [
            {"id": r.id, "type": r.type, "arg1": r.arg1, "arg2": r.arg2, "arg1_role": r.arg1_role,
             "arg2_role": r.arg2_role, "confidence": r.confidence}
            for r in document.relations
        ],
        "events": [
            {"id": ev.id, "type": ev.type, "trigger": ev.trigger, "args": [{"role": r, "ref": x} for r, x in ev.args]}
            for ev in document.events
        ],
        "attributes": [{"id": a.id, "name": a.name, "target": a.target, "value": a.value} for a in document.attributes],
        "normalizations": [
            {"id": n.id, "target": n.target, "resource": n.resource, "resource_id": n.resource_id, "text": n.text,
             "type": n.type}
            for n in document.normalizations
        ],
        "notes": [{"id": n.id, "target": n.target, "text": n.text, "type": n.type} for n in document.notes],
        "equivalences": [{"type": q.type, "members": list(q.members)} for q in document.equivalences],
        "label": document.label,
    }


def data_to_document(data: dict, *, base: Document) -> Document:
    """A Document on `base`'s note (id, text, metadata) with the annotations of validated input `data`.
    Entity texts are taken from the note text, never from the client."""
    return Document(
        id=base.id,
        text=base.text,
        metadata=base.metadata,
        entities=tuple(
            entity_record(base, local_id=e["id"], type=e["type"], fragments=e["fragments"], confidence=e["confidence"])
            for e in data["entities"]
        ),
        relations=tuple(
            Relation(r["id"], r["type"], r["arg1"], r["arg2"], r["arg1_role"], r["arg2_role"], r["confidence"])
            for r in data["relations"]
        ),
        events=tuple(
            Event(ev["id"], ev["type"], ev["trigger"], tuple((a["role"], a["ref"]) for a in ev["args"]))
            for ev in data["events"]
        ),
        attributes=tuple(Attribute(a["id"], a["name"], a["target"], a["value"]) for a in data["attributes"]),
        normalizations=tuple(
            Normalization(n["id"], n["target"], n["resource"], n["resource_id"], n["text"], n["type"])
            for n in data["normalizations"]
        ),
        notes=tuple(AnnotatorNote(n["id"], n["target"], n["text"], n["type"]) for n in data["notes"]),
        equivalences=tuple(Equivalence(q["type"], tuple(q["members"])) for q in data["equivalences"]),
        label=data.get("label"),
    )
