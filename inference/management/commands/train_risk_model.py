"""Train and activate a project's ADR risk model from its phrase-state annotations (TD(lambda) over nursing notes, as in the Korean nursing-notes study)."""

from django.core.management.base import CommandError

from annotations.errors import ApplicationError
from annotations.management.audited import AuditedCommand
from annotations.models import Note, Project
from inference.core.risk.phrase_classifier import PHRASE_MODELS
from inference.core.risk.td_lambda import TRACES
from inference.risk.tasks import patient_risk_update_task
from inference.risk.training import risk_model_train_from_annotations


class Command(AuditedCommand):
    help = (
        "Train a risk model from the project's gold/submitted phrase-state annotations (entities of the state "
        "types), make it the active one and update every patient's risk with it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--project", required=True, help="project slug")
        parser.add_argument(
            "--name", help="model name, unique in the project (default: kind, trace and time)"
        )
        parser.add_argument("--phrase-model", choices=PHRASE_MODELS, default="tfidf", help="default tfidf")
        parser.add_argument(
            "--trace", choices=TRACES, default="dutch", help="TD(lambda) trace (default dutch)"
        )
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--encoder", help="transformer only: a local encoder directory (default: configured)"
        )
        parser.add_argument("--epochs", type=int, help="cnn / transformer: training epochs")
        parser.add_argument("--threads", type=int, help="transformer: torch threads (default: all cores)")
        parser.add_argument(
            "--no-update", action="store_true", help="do not recompute the patients' risk with the new model"
        )

    def handle(self, *args, **options):
        try:
            project = Project.objects.get(slug=options["project"])
        except Project.DoesNotExist as exc:
            raise CommandError(f"no project {options['project']!r}") from exc
        kind = options["phrase_model"]
        phrase_options = {}
        if options["encoder"] or options["threads"]:
            if kind != "transformer":
                raise CommandError("--encoder and --threads apply to --phrase-model transformer only")
            if options["encoder"]:
                phrase_options["encoder"] = options["encoder"]
            if options["threads"]:
                phrase_options["threads"] = options["threads"]
        if options["epochs"] is not None:
            if kind == "tfidf":
                raise CommandError("--epochs applies to --phrase-model cnn or transformer")
            phrase_options["epochs"] = options["epochs"]
        try:
            model, data = risk_model_train_from_annotations(
                project=project,
                name=options["name"],
                phrase_model=kind,
                phrase_options=phrase_options,
                trace=options["trace"],
                seed=options["seed"],
            )
        except (ApplicationError, FileNotFoundError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"training data: {data.summary()}")
        metrics = ", ".join(
            f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in model.metrics.items()
        )
        self.stdout.write(f"trained and activated risk model {model.name} for {project.slug}: {metrics}")
        if not options["no_update"]:
            patient_ids = sorted(
                set(
                    Note.objects.filter(project=project, patient__isnull=False).values_list(
                        "patient_id", flat=True
                    )
                )
            )
            for patient_id in patient_ids:
                patient_risk_update_task.delay(patient_id)
            self.stdout.write(f"risk update queued for {len(patient_ids)} patients")
