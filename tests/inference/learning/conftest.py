"""The active-learning loop's world: a project with imported gold, unreviewed notes, users in each role,
a weak first model (one epoch, trained by a real training job) on a tiny random encoder, and the toy
corpus it all comes from."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from accounts.services import api_token_create
from annotations.formats import registry
from annotations.formats.document import Document, Entity, Relation, Span
from annotations.models import Note, Project, ProjectMembership, ProjectRole
from annotations.services.corpus_import import corpus_import, project_get_or_create, text_hash
from inference.learning.retraining import retrain_request
from inference.models import JobState, ModelVersion
from inference.models.learning import RetrainPolicy
from tests.factories import ade_head, tiny_encoder

DRUGS = ("aspirin", "warfarin", "ibuprofen", "metformin", "lisinopril", "amoxicillin")
EFFECTS = ("rash", "bleeding", "nausea", "dizziness", "cough", "diarrhoea")
FAST = dict(batch_size=4, lr=1e-3, head_lr=1e-2, max_length=48, threads=1)


def toy_document(i: int) -> Document:
    """Even i: '<drug> caused <effect> overnight.' (an ADE); odd i: '<drug> was given for pain.'"""
    drug = DRUGS[i % len(DRUGS)]
    if i % 2 == 0:
        effect = EFFECTS[(i // 2 + i // 12) % len(EFFECTS)]
        text = f"{drug.capitalize()} caused {effect} overnight."
        e = text.index(effect)
        ents = (
            Entity("T1", "Drug", (Span(0, len(drug)),), text[: len(drug)]),
            Entity("T2", "Adverse-Effect", (Span(e, e + len(effect)),), effect),
        )
        return Document(f"n{i:03d}", text, ents, (Relation("R1", "Adverse-Effect", "T2", "T1"),), label="ade")
    text = f"{drug.capitalize()} was given for pain."
    return Document(f"n{i:03d}", text, (Entity("T1", "Drug", (Span(0, len(drug)),), text[: len(drug)]),), label="no_ade")


@dataclass
class Loop:
    project: Project
    users: dict
    v1: ModelVersion
    unreviewed: list[Note]
    truth: dict  # external id -> the toy Document (what an annotator would mark)

    def client(self, role: str) -> APIClient:
        client = APIClient()
        _, secret = api_token_create(user=self.users[role])
        client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
        return client


@pytest.fixture(scope="session")
def loop_encoder(tmp_path_factory) -> Path:
    directory = tiny_encoder(tmp_path_factory.mktemp("loop-encoder"), hidden_size=32, num_layers=1)
    ade_head(directory, hidden_size=32)  # so that it can also stand as an (encoder-only) model version
    return directory


@pytest.fixture
def loop(tmp_path, settings, loop_encoder) -> Loop:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.ADE_REVIEW_MODEL_DIR = tmp_path / "models"
    settings.ADE_REVIEW_MODEL_CACHE_DIR = tmp_path / "model-cache"
    settings.ADE_REVIEW_TRAIN_CONFIG = FAST
    project = project_get_or_create(slug="pv-loop", name="PV loop")
    project.encoder_path = str(loop_encoder)
    project.save(update_fields=["encoder_path"])
    gold = [toy_document(i) for i in range(24)]
    corpus = tmp_path / "gold.jsonl"
    registry.write_corpus(gold, corpus, "jsonl")
    report = corpus_import(project=project, path=corpus, fmt="jsonl", source_name="gold")
    assert report.imported == len(gold), report.summary()
    truth = {d.id: d for d in (toy_document(i) for i in range(100, 118))}
    unreviewed = [
        Note.objects.create(project=project, external_id=d.id, text=d.text, text_hash=text_hash(d.text))
        for d in truth.values()
    ]
    users = {}
    for role in (ProjectRole.ANNOTATOR, ProjectRole.REVIEWER, ProjectRole.ADMIN):
        user = get_user_model().objects.create_user(f"loop-{role}", password="pw-loop-123")
        ProjectMembership.objects.create(project=project, user=user, role=role)
        users[str(role)] = user
    second = get_user_model().objects.create_user("loop-annotator2", password="pw-loop-123")
    ProjectMembership.objects.create(project=project, user=second, role=ProjectRole.ANNOTATOR)
    users["annotator2"] = second
    policy = RetrainPolicy.objects.create(
        project=project,
        retrain_every=0,
        heldout_fraction=0.25,
        epochs=20,
        gate_metric="ner_macro_f1_strict",
        query_strategy="mnlp",
        diversity=True,
        batch_size=4,
        cold_start=0,
    )
    # The first model: a real training job of one epoch on the imported gold (it knows little). Its
    # promotion pre-annotates and ranks the unreviewed notes; from then on the policy retrains every 3.
    first = retrain_request(project=project, epochs=1, reason="first model")
    first.refresh_from_db()
    assert first.state == JobState.SUCCEEDED, first.message
    v1 = ModelVersion.objects.get(project=project, training_job=first)
    assert v1.is_active and v1.name == "v1"
    policy.retrain_every = 3
    policy.save()
    return Loop(project=project, users=users, v1=v1, unreviewed=unreviewed, truth=truth)
