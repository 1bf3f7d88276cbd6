"""Register a trained model directory (from `ade-review train`) as a project's model version: the directory is
published to the file store (inference.artifacts), so that every worker can load it, and the version keeps the
reference."""

import json
from pathlib import Path

from django.core.management.base import CommandError
from django.db import transaction

from annotations.management.audited import AuditedCommand
from annotations.models import Project
from inference.artifacts import ArtifactError, artifact_publish
from inference.models import ModelVersion


class Command(AuditedCommand):
    help = "Register a model directory as a model version of a project, optionally making it the active one."

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path, help="model directory written by `ade-review train`")
        parser.add_argument("--project", required=True, help="project slug")
        parser.add_argument("--name", required=True, help="version name, unique in the project")
        parser.add_argument("--activate", action="store_true", help="make it the version jobs use by default")

    def handle(self, *args, **options):
        path: Path = options["path"].resolve()
        meta_file = path / "pipeline.json"
        if not meta_file.is_file():
            raise CommandError(f"{path}: not a model directory (no pipeline.json); train one with `ade-review train`")
        try:
            project = Project.objects.get(slug=options["project"])
        except Project.DoesNotExist as exc:
            raise CommandError(f"no project {options['project']!r}") from exc
        if ModelVersion.objects.filter(project=project, name=options["name"]).exists():
            raise CommandError(f"project {project.slug} already has a model version {options['name']!r}")
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        try:
            reference = artifact_publish(path)
        except ArtifactError as exc:
            raise CommandError(f"{path}: {exc}") from exc
        with transaction.atomic():
            if options["activate"]:
                ModelVersion.objects.filter(project=project, is_active=True).update(is_active=False)
            version = ModelVersion.objects.create(
                project=project,
                name=options["name"],
                path=reference,
                encoder=str(meta.get("encoder", "")),
                metrics=meta.get("metrics", {}) if isinstance(meta.get("metrics"), dict) else {},
                is_active=options["activate"],
            )
        state = "active" if version.is_active else "inactive"
        self.stdout.write(f"registered {version.name} for {project.slug} ({state}): {path} stored as {reference}")
