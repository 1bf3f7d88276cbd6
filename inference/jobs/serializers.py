"""Bodies and answers of the jobs API."""

from __future__ import annotations

from rest_framework import serializers

from annotations.formats import registry
from inference.jobs.selectors import job_parameters_shown


class JobParametersInput(serializers.Serializer):
    selection = serializers.ChoiceField(choices=["all", "unreviewed", "unlabelled", "unscored", "filter"], required=False)
    score = serializers.BooleanField(required=False, help_text="pre_annotate: also store the ADE probability and flag.")
    start_from = serializers.ChoiceField(choices=["current", "base"], required=False,
                                         help_text="train: fine-tune the active model, or start from the encoder.")
    epochs = serializers.IntegerField(min_value=1, max_value=100, required=False, help_text="train: epochs.")
    filter = serializers.DictField(child=serializers.CharField(max_length=200), required=False)
    chunk_size = serializers.IntegerField(min_value=1, max_value=10_000, required=False)
    batch_size = serializers.IntegerField(min_value=1, max_value=10_000, required=False)
    format = serializers.ChoiceField(choices=sorted(registry.WRITERS), required=False)
    source = serializers.RegexField(
        r"^(gold|submitted|latest-submitted|(user|model|import):[^\x00/\\]{1,200})$", max_length=210,
        required=False,
    )
    only_annotated = serializers.BooleanField(required=False)


class ImportUploadInput(serializers.Serializer):
    file = serializers.FileField(help_text="A .zip of a brat or ADE-Corpus folder, or one JSONL / PubTator file.")
    format = serializers.ChoiceField(choices=sorted(registry.READERS))


class JobCreateInput(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=["pre_annotate", "classify", "export", "train"],
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
