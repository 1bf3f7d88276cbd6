"""Jobs fixtures: a project with notes, an admin and a viewer, a model version on the tiny random encoder."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from annotations.models import Note, ProjectMembership, ProjectRole
from annotations.services.corpus_import import project_get_or_create, text_hash
from inference.models import ModelVersion
from tests.factories import ade_head, tiny_encoder

SENTENCES = (
    "Patient started on warfarin 5 mg daily for atrial fibrillation.",
    "Developed a maculopapular rash two days after amoxicillin was begun.",
    "No adverse reaction noted; vitals stable overnight.",
    "Metformin held because of lactic acidosis concerns and nausea.",
    "Complains of dizziness since the lisinopril dose was increased.",
)


def note_text(i: int, repeat: int = 1) -> str:
    return " ".join(SENTENCES[(i + k) % len(SENTENCES)] for k in range(1 + i % 4 + repeat))


@pytest.fixture(scope="session")
def tiny_encoder_dir(tmp_path_factory):
    """A tiny randomly initialised BERT (MiniLM's tokenizer): a real model, fast, never the shipped one."""
    directory = tiny_encoder(tmp_path_factory.mktemp("tiny-encoder"), hidden_size=64, num_layers=2, seed=0)
    ade_head(directory, hidden_size=64)  # the scorer's (random) head: model versions need a trained one
    return directory


def make_notes(project, n: int, *, repeat: int = 1, prefix: str = "note") -> list[Note]:
    texts = [note_text(i, repeat) for i in range(n)]
    return Note.objects.bulk_create(
        Note(project=project, external_id=f"{prefix}-{i:04d}", text=t, text_hash=text_hash(t))
        for i, t in enumerate(texts)
    )


@pytest.fixture
def project():
    return project_get_or_create(slug="ward-7", name="Ward 7")


@pytest.fixture
def model_version(project, tiny_encoder_dir):
    return ModelVersion.objects.create(
        project=project, name="tiny-v1", path=str(tiny_encoder_dir), is_active=True
    )


@pytest.fixture
def admin_user(project):
    user = get_user_model().objects.create_user("ada", password="pw-ada-123")
    ProjectMembership.objects.create(project=project, user=user, role=ProjectRole.ADMIN)
    return user


@pytest.fixture
def viewer_user(project):
    user = get_user_model().objects.create_user("vic", password="pw-vic-123")
    ProjectMembership.objects.create(project=project, user=user, role=ProjectRole.ANNOTATOR)
    return user


def seed_documents():
    """Two annotated documents to initialise the label maps of an untrained pipeline."""
    from annotations.formats.document import Document, Entity, Relation, Span

    text = "Warfarin caused bleeding. Aspirin was stopped."
    ents = (
        Entity("T1", "Drug", (Span(0, 8),), "Warfarin"),
        Entity("T2", "Adverse-Effect", (Span(16, 24),), "bleeding"),
        Entity("T3", "Drug", (Span(26, 33),), "Aspirin"),
    )
    rels = (Relation("R1", "Adverse-Effect", "T2", "T1"),)
    return [
        Document(id="a", text=text, entities=ents, relations=rels, label="ade"),
        Document(id="b", text="Discharged home in good health.", label="no_ade"),
    ]


@pytest.fixture(scope="session")
def pipeline_dir(tmp_path_factory, tiny_encoder_dir):
    """An untrained model-core pipeline (NER -> RE -> note) on the tiny encoder: real code, random weights."""
    from inference.core.extraction.ner import NER, NERConfig
    from inference.core.extraction.note_classifier import NoteClassifier
    from inference.core.extraction.pipeline import Pipeline, PipelineConfig
    from inference.core.extraction.relations import RelationExtractor

    docs = seed_documents()
    ner = NER(NERConfig(max_length=64)).initialize(docs, encoder=tiny_encoder_dir)
    rex = RelationExtractor().initialize(docs, encoder=tiny_encoder_dir)
    note = NoteClassifier().initialize(docs, encoder=tiny_encoder_dir)
    out = tmp_path_factory.mktemp("pipeline") / "model"
    Pipeline(ner, rex, note, PipelineConfig(decision="mean", threshold=0.0)).save(out)
    return out


@pytest.fixture
def jobs_in_threads(transactional_db, settings):
    """The embedded demo: no broker, every job runs in a background thread of this process. The threads end
    before the database is reset (a thread holding a connection would block the flush)."""
    from inference.jobs.engine import job_threads_join

    settings.ADE_REVIEW_JOBS_IN_THREAD = True
    yield
    assert job_threads_join(timeout=120), "a job thread did not end"


@pytest.fixture
def job_gate(jobs_in_threads, monkeypatch):
    """Holds every job started in a thread at its very start (before it plans or runs) until `gate.set()`,
    so a test sees the job page while the job is queued; released at teardown before the threads are joined."""
    import threading

    from inference.jobs import engine as jobs

    gate = threading.Event()
    for name in ("job_plan", "job_single_run"):
        original = getattr(jobs, name)

        def held(*, job_id, _original=original):
            gate.wait(timeout=60)
            return _original(job_id=job_id)

        monkeypatch.setattr(jobs, name, held)
    yield gate
    gate.set()
