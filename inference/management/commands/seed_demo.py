"""Create the embedded demo: users with project roles and a small synthetic corpus: 28 notes imported as
gold (what a first model learns from) and 12 bare notes (what it pre-annotates and annotators label)."""

import os
import tempfile
from pathlib import Path

from django.contrib.auth import get_user_model

from annotations.demo_corpus import ANNOTATION_CONF, VISUAL_CONF, demo_documents
from annotations.errors import ApplicationError
from annotations.formats import registry
from annotations.management.demo import DemoCommand
from annotations.models import AnnotationSetStatus, ProjectMembership, ProjectRole
from annotations.services.corpus_import import corpus_import, project_get_or_create
from annotations.services.notes import note_create

GOLD_NOTES = 28
DEMO_USERS = [("admin", ProjectRole.ADMIN), ("reviewer", ProjectRole.REVIEWER), ("annotator", ProjectRole.ANNOTATOR)]


class Command(DemoCommand):
    help = "Create demo users and import a synthetic demo corpus (idempotent)."

    def handle(self, *args, **options):
        password = os.environ.get("ADE_REVIEW_DEMO_PASSWORD", "demo-password")
        project = project_get_or_create(slug="demo", name="Demo (synthetic notes)")
        User = get_user_model()
        for username, role in DEMO_USERS:
            user, created = User.objects.get_or_create(username=username)
            if created:
                user.set_password(password)
                user.is_staff = role == ProjectRole.ADMIN
                user.save()
            ProjectMembership.objects.get_or_create(project=project, user=user, defaults={"role": role})
        documents = demo_documents()
        gold, unlabelled = documents[:GOLD_NOTES], documents[GOLD_NOTES:]
        with tempfile.TemporaryDirectory() as tmp:
            # JSONL keeps what brat cannot: note labels, patients and timestamps.
            corpus = Path(tmp) / "demo.jsonl"
            registry.write_corpus(gold, corpus, "jsonl")
            (Path(tmp) / "annotation.conf").write_text(ANNOTATION_CONF, encoding="utf-8")
            (Path(tmp) / "visual.conf").write_text(VISUAL_CONF, encoding="utf-8")
            report = corpus_import(
                project=project,
                path=corpus,
                fmt="jsonl",
                schema_path=Path(tmp),
                source_name="demo-gold",
                status=AnnotationSetStatus.GOLD,
            )
        self.stdout.write(report.summary().splitlines()[0])
        # The rest arrive as bare notes, as from a ward: what the model pre-annotates and the annotators
        # work through (the "To annotate" queue) once a first model is trained on the gold.
        added = 0
        for doc in unlabelled:
            meta = dict(doc.metadata)
            try:
                note_create(
                    project=project,
                    external_id=doc.id,
                    text=doc.text,
                    patient_external_id=meta.pop("patient", None),
                    timestamp=meta.pop("timestamp", None),
                    metadata=meta,
                )
                added += 1
            except ApplicationError as exc:
                if exc.code != "note_exists":
                    raise
        self.stdout.write(f"{added} unlabelled notes added ({len(unlabelled) - added} already present)")
        self._first_model(project)
        self.stdout.write(f"demo users: {', '.join(u for u, _ in DEMO_USERS)} (password: {password})")

    def _first_model(self, project) -> None:
        """A newcomer sees the product's main job from the first page: the CRF + RF baseline trains on the
        gold in seconds and pre-annotates, scores and flags the bare notes (the transformer replaces it
        after the first retrain, Models -> Retrain)."""
        from inference.jobs.engine import job_threads_join
        from inference.learning.baselines import baseline_version_create
        from inference.models import ModelVersion

        if ModelVersion.objects.filter(project=project).exists():
            return
        version = baseline_version_create(project=project)
        job_threads_join()  # without a broker its pre-annotation job runs in a thread of this process
        flagged = project.notes.filter(flagged=True).count()
        self.stdout.write(f"first model: {version.name} (pre-annotated the bare notes; {flagged} flagged)")
