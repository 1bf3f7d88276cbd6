from pathlib import Path

from django.core.management.base import CommandError

from annotations.audit.models import AuditAction
from annotations.audit.services import audit_record
from annotations.errors import ApplicationError
from annotations.management.audited import AuditedCommand
from annotations.models import Project
from annotations.services.corpus_export import SOURCE_HELP, corpus_export


class Command(AuditedCommand):
    help = "Export a project's notes with one chosen annotation set each (directory, or .zip if OUT ends in .zip)."

    def add_arguments(self, parser):
        parser.add_argument("--project", required=True, help="project slug")
        parser.add_argument("--format", required=True, choices=["brat", "jsonl", "conll"])
        parser.add_argument("--out", required=True, type=Path)
        parser.add_argument("--source", default="gold", help=SOURCE_HELP)
        parser.add_argument("--only-annotated", action="store_true", help="skip notes without such a set")

    def handle(self, *args, **options):
        try:
            project = Project.objects.get(slug=options["project"])
        except Project.DoesNotExist as exc:
            raise CommandError(f"no project {options['project']!r}") from exc
        try:
            written = corpus_export(
                project=project,
                out=options["out"],
                fmt=options["format"],
                source=options["source"],
                only_annotated=options["only_annotated"],
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        # An export copies clinical text out of the database: one `export` record like the API's (besides
        # the command's run record), as the command and the OS user (AuditedCommand sets the origin).
        audit_record(
            action=AuditAction.EXPORT, project=project, object_type="command", object_id="export_corpus",
            details={"format": options["format"], "source": options["source"], "notes": written,
                     "out": Path(options["out"]).name},
        )
        self.stdout.write(f"exported {written} notes to {options['out']}")
