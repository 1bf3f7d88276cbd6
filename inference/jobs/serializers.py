"""Bodies and answers of the jobs API."""

from __future__ import annotations

from rest_framework import serializers

from annotations.formats import registry
from inference.jobs.registry import Param, kinds, params_for
from inference.jobs.selectors import job_parameters_shown


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
    format = serializers.ChoiceField(choices=sorted(registry.READERS))


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
