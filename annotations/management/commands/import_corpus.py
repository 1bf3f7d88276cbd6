from pathlib import Path

from django.core.management.base import CommandError

from annotations.formats.document import FormatError
from annotations.management.audited import AuditedCommand
from annotations.models import AnnotationSetStatus
from annotations.services.corpus_import import corpus_import, project_get_or_create


class Command(AuditedCommand):
    help = "Import a corpus (directory or .zip) into a project; creates the project if needed."

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--project", required=True, help="project slug")
        parser.add_argument("--format", required=True, choices=["brat", "ade", "pubtator", "jsonl"])
        parser.add_argument("--schema", type=Path, help="annotation.conf (or a directory holding it)")
        parser.add_argument("--source-name", default="import", help="name of the imported annotation set")
        parser.add_argument(
            "--status", default=AnnotationSetStatus.GOLD, choices=[c for c, _ in AnnotationSetStatus.choices]
        )

    def handle(self, *args, **options):
        path: Path = options["path"]
        if not path.exists():
            raise CommandError(f"{path}: no such file or directory")
        project = project_get_or_create(slug=options["project"])
        try:
            report = corpus_import(
                project=project,
                path=path,
                fmt=options["format"],
                schema_path=options["schema"],
                source_name=options["source_name"],
                status=options["status"],
            )
        except FormatError as exc:
            # The corpus as a whole is refused (unsafe archive, too large, bad annotation.conf): nothing imported.
            raise CommandError("nothing imported:\n" + "\n".join(f"  {p}" for p in exc.problems)) from exc
        self.stdout.write(report.summary())
