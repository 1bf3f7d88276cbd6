"""Bodies and answers of the jobs API."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from annotations.formats import registry
from inference.jobs.registry import Param, kinds, params_for
from inference.jobs.selectors import job_error_summary, job_outcome, job_parameters_shown


def _serializer_field(param: Param) -> serializers.Field:
    """The API field of a job parameter (the same Param the job form and start_job read)."""
    common = {"required": False, "help_text": param.help}
    if param.type == "choice":
        return serializers.ChoiceField(choices=list(param.choice_values()), **common)
    if param.type == "int":
        return serializers.IntegerField(min_value=param.minimum, max_value=param.maximum, **common)
    if param.type == "bool":
        return serializers.BooleanField(**common)
    if param.type == "dict":
        return serializers.DictField(child=serializers.CharField(max_length=param.max_length), **common)
    return serializers.CharField(max_length=param.max_length, **common)


def job_parameters_serializer() -> type[serializers.Serializer]:
    """A serializer of every parameter some kind takes through the API; which ones a kind accepts is
    checked by job_create (the kind's own list)."""
    fields = {param.name: _serializer_field(param) for param in params_for("api")}
    return type("JobParametersInput", (serializers.Serializer,), fields)


JobParametersInput = job_parameters_serializer()


class ImportUploadInput(serializers.Serializer):
    file = serializers.FileField(help_text="A .zip of a brat or ADE-Corpus folder, or one JSONL / PubTator file.")
    format = serializers.ChoiceField(
        choices=["auto", *sorted(registry.READERS)], default="auto",
        help_text="auto: from the file (a .zip of .ann/.txt is brat); a format that finds no document of its "
                  "kind in the file fails the job.")


class JobCreateInput(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=[k.name for k in kinds(door="api")],
        help_text="Imports: POST the file to imports/ (or start_job from the command line for a server path). A train job's new version "
        "is promoted only if the gate finds it not worse on the held-out gold.")
    model_version = serializers.IntegerField(min_value=1, max_value=2**62, required=False, allow_null=True)
    parameters = JobParametersInput(default=dict)


class JobOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    state = serializers.CharField()
    model_version = serializers.CharField(source="model_version.name", allow_null=True, default=None)
    parameters = serializers.SerializerMethodField(
        help_text="The job's parameters; an import shows its uploaded file's name (`file`), never a server path."
    )
    total = serializers.IntegerField()
    done = serializers.IntegerField()
    failed = serializers.IntegerField()
    message = serializers.CharField()
    has_result = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)

    def get_parameters(self, job) -> dict:

        return job_parameters_shown(job=job)

    def get_has_result(self, job) -> bool:
        return bool(job.result_path)


class ReasonCountOutput(serializers.Serializer):
    reason = serializers.CharField()
    count = serializers.IntegerField()


class UnknownTypeOutput(serializers.Serializer):
    kind = serializers.CharField(help_text="entity, relation, event or attribute")
    name = serializers.CharField()
    count = serializers.IntegerField()


class ErrorSummaryOutput(serializers.Serializer):
    total = serializers.IntegerField()
    reasons = ReasonCountOutput(many=True, help_text="Counts per reason, most frequent first.")
    unknown_types = UnknownTypeOutput(many=True, help_text="Each type the schema lacks, once.")
    advice = serializers.CharField(help_text="What to do about the unknown types; empty when there are none.")


class JobDetailOutput(JobOutput):
    outcome = serializers.SerializerMethodField(
        help_text="What a finished job did, in figures (model jobs: notes, flagged, prelabels, prelabelled_notes; "
                  "imports: imported, already_present, skipped, entities, relations, events, format; exports: "
                  "exported, has_file); null while it runs.")
    error_summary = serializers.SerializerMethodField(
        help_text="The job's errors summed up by reason (null without errors); the list is "
                  "GET .../jobs/<id>/errors/?page=.")

    def get_outcome(self, job) -> dict | None:
        outcome = job_outcome(job=job)
        if outcome is None:
            return None
        return {**outcome.figures, "flagged_notes": [{"id": i, "external_id": e} for i, e in outcome.flagged_notes]}

    @extend_schema_field(ErrorSummaryOutput(allow_null=True))
    def get_error_summary(self, job) -> dict | None:
        if not job.has_errors:
            return None
        return job_error_summary(job=job).to_dict()


class JobErrorOutput(serializers.Serializer):
    note_external_id = serializers.CharField(source="note__external_id", allow_null=True)
    message = serializers.CharField()
    created_at = serializers.DateTimeField()
