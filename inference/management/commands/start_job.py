"""Start a job from the command line, e.g.

    python manage.py start_job --project ward-7 --kind classify --selection unscored --wait
    python manage.py start_job --project ward-7 --kind pre_annotate --model-version v3 --quantize int8
    python manage.py start_job --project ward-7 --kind import --path corpus.zip --format brat --wait
    python manage.py start_job --project ward-7 --kind export --format jsonl --source gold --wait
    python manage.py start_job --project ward-7 --kind train --start-from current --epochs 3 --wait

Without a broker (the embedded demo) the job runs in a thread of this process, which the command waits
for; with one, workers run it and `--wait` follows its progress until it finishes.
"""

from __future__ import annotations

import time

from django.core.management.base import CommandError

from annotations.errors import ApplicationError
from annotations.management.audited import AuditedCommand
from annotations.models import Project
from inference.models import Job, JobKind, ModelVersion
from inference.selectors import SELECTIONS, job_error_list
from inference.services.jobs import job_create, job_progress, job_threads_join


class Command(AuditedCommand):
    help = "Start a pre_annotate, classify, import, export or train job on a project."

    def add_arguments(self, parser):
        parser.add_argument("--project", required=True, help="project slug")
        parser.add_argument("--kind", required=True, choices=JobKind.values)
        parser.add_argument("--selection", choices=SELECTIONS, default="all")
        parser.add_argument(
            "--filter",
            action="append",
            default=[],
            metavar="FIELD=VALUE",
            help="with --selection filter: unit, note_type, author_role, external_id__startswith",
        )
        parser.add_argument("--model-version", help="model version name (default: the project's active one)")
        parser.add_argument("--chunk-size", type=int)
        parser.add_argument("--batch-size", type=int)
        parser.add_argument("--quantize", choices=["int8"])
        parser.add_argument("--queue", help="Celery queue for the model chunks, e.g. gpu")
        parser.add_argument("--path", help="import: corpus folder or .zip")
        parser.add_argument("--format", help="import/export format (brat, jsonl, ...)")
        parser.add_argument(
            "--source", help="export: gold | submitted | user:NAME | model:VERSION | import:NAME"
        )
        parser.add_argument("--start-from", choices=["current", "base"], help="train: from the active model or the encoder")
        parser.add_argument("--epochs", type=int, help="train: epochs (default: the project's retrain policy)")
        parser.add_argument("--score", action="store_true", help="pre_annotate: also store the ADE probability and flag")
        parser.add_argument("--wait", action="store_true", help="follow progress until the job finishes")

    def handle(self, *args, **o):
        try:
            project = Project.objects.get(slug=o["project"])
        except Project.DoesNotExist as exc:
            raise CommandError(f"no project {o['project']!r}") from exc
        model_version = None
        if o["model_version"]:
            model_version = ModelVersion.objects.filter(project=project, name=o["model_version"]).first()
            if model_version is None:
                raise CommandError(f"no model version {o['model_version']!r} in {project.slug}")
        params: dict = {}
        if o["kind"] in (JobKind.PRE_ANNOTATE, JobKind.CLASSIFY):
            params["selection"] = o["selection"]
            if o["filter"]:
                params["filter"] = dict(f.split("=", 1) for f in o["filter"])
            for key in ("chunk_size", "batch_size", "quantize", "queue", "score"):
                if o[key]:
                    params[key] = o[key]
        elif o["kind"] == JobKind.TRAIN:
            params["reason"] = "requested from the command line"
            for key in ("start_from", "epochs"):
                if o[key]:
                    params[key] = o[key]
        else:
            for key in ("path", "format", "source"):
                if o[key]:
                    params[key] = o[key]
        try:
            job = job_create(
                project=project,
                kind=o["kind"],
                parameters=params,
                model_version=model_version,
                any_import_path=True,
            )
        except ApplicationError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        self.stdout.write(f"job {job.pk} ({job.kind}) started on {project.slug}")
        if not o["wait"]:
            job_threads_join()  # without a broker the job runs in a thread of this process: let it end
            return
        last = None
        while True:
            progress = job_progress(job=job)
            line = f"{progress['state']}: {progress['done']}/{progress['total']} done, {progress['failed']} failed"
            if line != last:
                self.stdout.write(line)
                last = line
            if progress["finished"]:
                break
            time.sleep(1)
        job_threads_join()  # a follow-up job started by this one (training's pre-annotation) ends too
        if progress["message"]:
            self.stdout.write(progress["message"])
        for error in job_error_list(job=job, limit=20):
            self.stdout.write(f"  error {error['note__external_id'] or '(job)'}: {error['message']}")
        if Job.objects.get(pk=job.pk).state == "failed":
            raise CommandError("the job failed")
