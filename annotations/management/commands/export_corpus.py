from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from annotations.errors import ApplicationError
from annotations.models import Project
from annotations.services.corpus_export import SOURCE_HELP, corpus_export


class Command(BaseCommand):
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
        self.stdout.write(f"exported {written} notes to {options['out']}")
