"""The embedded demo of live ADR risk: a synthetic nursing-notes project with a trained risk model.

Everything here is synthetic (inference.core.risk.synthetic_cohort) and labelled so in the UI. The project's
schema holds the phrase-state entity types, so annotators can label phrase states in the editor (and
`train_risk_model` can learn from them).
"""

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.contrib.auth import get_user_model

from annotations.formats import registry
from annotations.formats.document import Document
from annotations.management.demo import DemoCommand
from annotations.models import Note, ProjectMembership, ProjectRole
from annotations.services.corpus_import import corpus_import, project_get_or_create
from inference.core.risk.synthetic_cohort import CohortConfig, generate_cohort
from inference.risk.monitor import risk_model_active, risk_model_train
from inference.risk.training import project_state_types_add

SHIFT_HOURS = 8


def cohort_notes(patients, admitted: datetime) -> list[Document]:
    """One nursing note per patient and 8-hour shift, its phrases one per line."""
    documents = []
    for p in patients:
        shifts: dict[int, list] = {}
        for phrase in p.phrases:
            shifts.setdefault(int(phrase.time // SHIFT_HOURS), []).append(phrase)
        for shift, phrases in sorted(shifts.items()):
            documents.append(
                Document(
                    id=f"{p.id}-shift-{shift:03d}",
                    text="\n".join(ph.text for ph in phrases) + "\n",
                    metadata={
                        "synthetic": True,
                        "patient": p.id,
                        "timestamp": (admitted + timedelta(hours=shift * SHIFT_HOURS)).isoformat(),
                        "note_type": "nursing note",
                        "author_role": "nurse",
                    },
                )
            )
    return documents


class Command(DemoCommand):
    help = "Create the synthetic nursing-notes demo project with a trained ADR risk model (idempotent)."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--train-adr-patients", type=int, default=40)
        parser.add_argument("--monitored-adr-patients", type=int, default=5)

    def handle(self, *args, **options):
        project = project_get_or_create(slug="demo-nursing", name="Demo nursing notes (synthetic)")
        for user in get_user_model().objects.filter(username__in=["admin", "reviewer", "annotator"]):
            role = {"admin": ProjectRole.ADMIN, "reviewer": ProjectRole.REVIEWER}.get(user.username, ProjectRole.ANNOTATOR)
            ProjectMembership.objects.get_or_create(project=project, user=user, defaults={"role": role})
        if risk_model_active(project_id=project.pk) is None:
            training = generate_cohort(CohortConfig(n_adr=options["train_adr_patients"], seed=11))
            model = risk_model_train(project=project, patients=training, name="td-dutch-synthetic-v1")
            self.stdout.write(f"trained risk model {model.name} on {len(training)} synthetic patients")
        if not Note.objects.filter(project=project).exists():
            monitored = generate_cohort(CohortConfig(n_adr=options["monitored_adr_patients"], seed=12))
            with tempfile.TemporaryDirectory() as tmp:
                corpus = Path(tmp) / "nursing.jsonl"
                registry.write_corpus(cohort_notes(monitored, datetime(2026, 4, 1, 7, 0, tzinfo=UTC)), corpus, "jsonl")
                report = corpus_import(project=project, path=corpus, fmt="jsonl", source_name="synthetic-notes")
            self.stdout.write(report.summary().splitlines()[0])
        project_state_types_add(project=project)
        self.stdout.write("risk demo: /projects/demo-nursing/risk/")
