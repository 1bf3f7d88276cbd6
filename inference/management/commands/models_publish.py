"""Publish the model directories the database still names by a local path (rows written before the file store:
model versions, risk models, projects' encoders, adapt jobs' results) to the file store, so that workers on other
machines load them. Run it once, on the machine that holds those directories, before adding machines."""

from django.core.management.base import CommandError

from annotations.management.audited import AuditedCommand
from inference.artifacts import ArtifactError, local_models_publish


class Command(AuditedCommand):
    help = "Publish model directories still named by a local path to the file store (see inference/artifacts.py)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="list what would be published, change nothing")

    def handle(self, *args, **options):
        try:
            report = local_models_publish(dry_run=options["dry_run"])
        except ArtifactError as exc:
            raise CommandError(str(exc)) from exc
        for line in report:
            self.stdout.write(f"{line['kind']} {line['id']} ({line['project']}) {line['field']}: {line['outcome']}")
        missing = sum(1 for line in report if line["outcome"] == "missing")
        self.stdout.write(f"{len(report) - missing} row(s) {'to publish' if options['dry_run'] else 'published'}, "
                          f"{missing} whose directory is not on this machine")
