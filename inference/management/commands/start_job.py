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
from inference.jobs.engine import job_create, job_progress, job_threads_join
from inference.jobs.registry import kind_get, kinds, params_for
from inference.jobs.selectors import job_error_list
from inference.models import Job, JobState, ModelVersion


class Command(AuditedCommand):
    help = "Start a job on a project (any registered kind: pre_annotate, classify, import, export, train, ...)."

    def add_arguments(self, parser):
        parser.add_argument("--project", required=True, help="project slug")
        parser.add_argument("--kind", required=True, choices=[k.name for k in kinds(door="cli")])
        parser.add_argument("--model-version", help="model version name (default: the project's active one)")
        # The kinds' parameters (inference.jobs.registry), the same the job form and the API take.
        for param in params_for("cli"):
            flag = "--" + param.name.replace("_", "-")
            if param.type == "bool":
                parser.add_argument(flag, action="store_true", help=param.help)
            elif param.type == "dict":
                parser.add_argument(flag, action="append", default=[], metavar="NAME=VALUE",
                                    help=f"{param.help} ({', '.join(param.keys)})")
            elif param.type == "choice":
                parser.add_argument(flag, choices=param.choice_values(), help=param.help)
            else:
                parser.add_argument(flag, type=int if param.type == "int" else str, help=param.help)
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
        spec = kind_get(o["kind"])
        params: dict = {}
        for param in spec.params:
            if "cli" not in param.doors:
                continue
            value = o.get(param.name)
            if param.type == "dict" and value:
                if any("=" not in item for item in value):
                    raise CommandError(f"--{param.name.replace('_', '-')} takes NAME=VALUE")
                value = dict(item.split("=", 1) for item in value)
            if value not in (None, "", [], False):
                params[param.name] = value
        reason = spec.param("reason")
        if reason is not None and "cli" in reason.doors and "reason" not in params:
            params["reason"] = "requested from the command line"
        try:
            job = job_create(
                project=project,
                kind=o["kind"],
                parameters=params,
                model_version=model_version,
                any_import_path=True,
                door="cli",
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
        if Job.objects.get(pk=job.pk).state == JobState.FAILED:
            raise CommandError("the job failed")
