"""A risk model trained from a project's phrase-state annotations (entities of the state types)."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from annotations.formats import registry
from annotations.formats.document import Document, Entity, Span
from annotations.models import AnnotationSet, Decision, Note, Origin, Patient
from annotations.models import Entity as EntityRow
from annotations.services.corpus_import import corpus_import, project_get_or_create
from annotations.services.schemas import project_schema_get
from inference.core.risk.phrase_labels import state_types, state_types_from_schema
from inference.core.risk.risk_bundle import UNLABELLED
from inference.core.risk.synthetic_cohort import CohortConfig, generate_cohort
from inference.models.risk import PatientRisk, RiskModel
from inference.risk.training import (
    MIN_LABELLED_PHRASES,
    project_state_types_add,
    risk_training_patients,
)
from tests.factories import tiny_encoder

pytestmark = pytest.mark.django_db

ADMITTED = datetime(2026, 4, 1, 7, 0, tzinfo=UTC)
TYPES = state_types().types


@pytest.fixture(autouse=True)
def _model_dir(settings, tmp_path):
    settings.ADE_REVIEW_MODEL_DIR = tmp_path / "models"
    settings.MEDIA_ROOT = tmp_path / "media"  # the file store, where versions are published
    settings.ADE_REVIEW_MODEL_CACHE_DIR = tmp_path / "model-cache"


def shift_documents(patient, *, label_every: int = 2, verdict: str | None = None) -> list[Document]:
    """One note per 8-hour shift, a phrase per line; every `label_every`-th phrase carries its state as an
    entity of the state type; the first note carries `verdict` as its note label."""
    shifts: dict[int, list] = {}
    for phrase in patient.phrases:
        shifts.setdefault(int(phrase.time // 8), []).append(phrase)
    documents, k = [], 0
    for n, (shift, phrases) in enumerate(sorted(shifts.items())):
        text, entities = "", []
        for phrase in phrases:
            if k % label_every == 0:
                start = len(text)
                entities.append(Entity(f"T{len(entities) + 1}", TYPES[phrase.state],
                                       (Span(start, start + len(phrase.text)),), phrase.text))  # fmt: skip
            text += phrase.text + "\n"
            k += 1
        documents.append(
            Document(
                id=f"{patient.id}-{shift:03d}",
                text=text,
                entities=tuple(entities),
                label=verdict if n == 0 else None,
                metadata={"patient": patient.id, "timestamp": (ADMITTED + timedelta(hours=8 * shift)).isoformat(),
                          "synthetic": True},
            )
        )  # fmt: skip
    return documents


def labelled_project(tmp_path, slug="ward-labels", n_adr=8):
    """A project whose patients' notes carry state entities: ADR patients known from an "ade" note verdict,
    half the others from a "no_ade" verdict and half from their metadata; one more patient has no outcome."""
    project = project_get_or_create(slug=slug)
    project_state_types_add(project=project)
    cohort = generate_cohort(CohortConfig(n_adr=n_adr, seed=21))
    documents = []
    for i, patient in enumerate(cohort):
        verdict = "ade" if patient.adr else ("no_ade" if i % 2 else None)
        documents += shift_documents(patient, verdict=verdict)
    unknown = replace(generate_cohort(CohortConfig(n_adr=1, seed=22))[0], id="no-outcome")
    documents += shift_documents(unknown, verdict=None)
    registry.write_corpus(documents, tmp_path / "notes.jsonl", "jsonl")
    report = corpus_import(project=project, path=tmp_path / "notes.jsonl", fmt="jsonl", source_name="nurses")
    assert not report.skipped, report.summary()
    for i, patient in enumerate(cohort):
        if not patient.adr and not i % 2:
            Patient.objects.filter(project=project, external_id=patient.id).update(metadata={"adr": False})
    return project, cohort


def test_the_state_types_join_the_project_schema_once(tmp_path):
    project = project_get_or_create(slug="ward")
    project_state_types_add(project=project)
    project_state_types_add(project=project)
    schema = project_schema_get(project=project)
    assert state_types_from_schema(schema) == state_types()
    assert [t.name for t in schema.entity_types].count("unknown") == 1
    assert schema.visual["abnormal_reaction"].label == "abnormal reaction"


def test_phrase_states_labelled_in_the_demo_editor_become_training_data(tmp_path):
    for name in ("admin", "annotator"):
        get_user_model().objects.create_user(name, password=f"pw-{name}")
    call_command(
        "seed_risk_demo", "--train-adr-patients", "8", "--monitored-adr-patients", "1", stdout=io.StringIO()
    )
    project = project_get_or_create(slug="demo-nursing")
    assert state_types_from_schema(project_schema_get(project=project)) == state_types()
    note = Note.objects.filter(project=project).order_by("timestamp", "pk").first()
    annotator = get_user_model().objects.get(username="annotator")
    page = Client()
    page.force_login(annotator)
    editor = page.get(reverse("note-detail", args=[project.slug, note.pk]))
    assert editor.status_code == 200
    assert b'data-type="drug-related+abnormal_reaction"' in editor.content
    assert b"drug-related + abnormal reaction" in editor.content
    # the annotator labels the note's first phrase, gives the verdict and submits (the editor's API)
    api = APIClient()
    api.force_authenticate(annotator)
    base = f"/api/projects/{project.slug}/"
    own = api.post(f"{base}notes/{note.pk}/annotation-sets/").data
    first = note.text.index("\n")
    steps = [
        ("entities/", {"type": "abnormal_reaction", "fragments": [[0, first]]}),
        ("label/", {"value": "ade"}),
        ("submit/", {}),
    ]
    version = own["version"]
    for path, body in steps:
        call = api.put if path == "label/" else api.post
        response = call(
            f"{base}annotation-sets/{own['id']}/{path}", {**body, "version": version}, format="json"
        )
        assert response.status_code in (200, 201), response.data
        version = response.data["version"]
    data = risk_training_patients(project=project)
    [record] = data.patients
    assert record.id == note.patient.external_id and record.adr and record.synthetic
    assert record.states[0] == state_types().index()["abnormal_reaction"] and record.labelled == 1
    assert data.patients_without_outcome == 1  # the other patient: nobody gave a verdict


def test_patients_come_from_notes_phrase_entities_and_outcomes(tmp_path):
    project, cohort = labelled_project(tmp_path)
    data = risk_training_patients(project=project)
    assert data.patients_without_outcome == 1
    by_id = {p.id: p for p in data.patients}
    assert set(by_id) == {p.id for p in cohort}
    for patient in cohort:
        record = by_id[patient.id]
        assert record.adr == patient.adr and record.synthetic
        assert record.texts == tuple(patient.texts)
        # every other phrase was labelled, with its annotated state; the others are no examples
        assert record.states == tuple(s if k % 2 == 0 else UNLABELLED for k, s in enumerate(patient.states))
    adr = next(p for p in cohort if p.adr)
    first_note = Note.objects.filter(patient__external_id=adr.id).order_by("timestamp").first()
    first_phrase = ADMITTED + timedelta(hours=adr.phrases[0].time // 8 * 8)
    assert by_id[adr.id].report_time == (first_note.timestamp - first_phrase).total_seconds() / 3600
    assert data.labelled_phrases == sum((len(p.phrases) + 1) // 2 for p in cohort)


def test_gold_annotations_win_over_submitted_ones_and_undecided_pre_labels_do_not_count(tmp_path):
    project = project_get_or_create(slug="ward")
    patient = Patient.objects.create(project=project, external_id="p1", metadata={"adr": True})
    text = "Rash on both arms.\nDoctor informed.\n"
    note = Note.objects.create(project=project, patient=patient, external_id="n1", text=text, text_hash="x",
                               timestamp=ADMITTED)  # fmt: skip
    user = get_user_model().objects.create_user("nurse", password="pw-123456")
    submitted = AnnotationSet.objects.create(note=note, source_kind="user", user=user, source_name="nurse",
                                             status="submitted")  # fmt: skip

    def entity(aset, local_id, type_, start, end, **kwargs):
        EntityRow.objects.create(annotation_set=aset, local_id=local_id, type=type_, fragments=[[start, end]],
                                 start=start, end=end, text=text[start:end], **kwargs)  # fmt: skip

    entity(submitted, "T1", "subjective_response", 0, 18)
    entity(submitted, "T2", "doctor_related", 19, 35, origin=Origin.MODEL)  # a pre-label nobody decided
    assert risk_training_patients(project=project).patients[0].states == (4, UNLABELLED)
    EntityRow.objects.filter(local_id="T2").update(decision=Decision.ACCEPTED)
    assert risk_training_patients(project=project).patients[0].states == (4, 3)
    # a gold set without state entities (the empty one an import of raw notes leaves) says nothing
    AnnotationSet.objects.create(note=note, source_kind="import", source_name="raw", status="gold")
    assert risk_training_patients(project=project).patients[0].states == (4, 3)
    gold = AnnotationSet.objects.create(
        note=note, source_kind="import", source_name="adjudicated", status="gold"
    )
    entity(gold, "T1", "abnormal_reaction", 0, 18)
    entity(gold, "T2", "doctor_related", 19, 35, decision=Decision.REJECTED)
    assert risk_training_patients(project=project).patients[0].states == (2, UNLABELLED)


@pytest.mark.parametrize("phrase_model", ["tfidf", "transformer"])
def test_the_command_trains_and_activates_a_risk_model_from_annotations(tmp_path, phrase_model):
    project, cohort = labelled_project(tmp_path)
    previous = RiskModel.objects.create(project=project, name="old", path=str(tmp_path), is_active=True)
    args = ["--project", project.slug, "--phrase-model", phrase_model, "--trace", "replacing"]
    if phrase_model == "transformer":
        args += ["--encoder", str(tiny_encoder(tmp_path / "tiny")), "--epochs", "1", "--threads", "1"]
    out = io.StringIO()
    call_command("train_risk_model", *args, stdout=out)
    model = RiskModel.objects.get(project=project, is_active=True)
    assert model.pk != previous.pk and model.name.startswith(f"annotations-{phrase_model}-replacing-")
    assert model.state_names == list(state_types().states) and len(model.state_values) == 7
    assert model.synthetic and model.metrics["labelled_train_phrases"] > 0
    assert "16 patients with an outcome (8 ADR, 8 non-ADR)" in out.getvalue()
    # every patient's risk was recomputed with the new model
    risks = PatientRisk.objects.filter(patient__project=project)
    assert risks.count() == Patient.objects.filter(project=project).count() == 17
    assert set(risks.values_list("risk_model_id", flat=True)) == {model.pk}


def test_too_few_labelled_phrases_or_patients_are_a_clear_error(tmp_path):
    project = project_get_or_create(slug="sparse")
    project_state_types_add(project=project)
    cohort = generate_cohort(CohortConfig(n_adr=1, seed=5))
    documents = []
    for patient in cohort:
        documents += shift_documents(patient, label_every=10**6, verdict="ade" if patient.adr else "no_ade")
    registry.write_corpus(documents, tmp_path / "notes.jsonl", "jsonl")
    corpus_import(project=project, path=tmp_path / "notes.jsonl", fmt="jsonl")
    with pytest.raises(
        CommandError, match=f"too_few_phrase_labels: Only 2 phrases .* at least {MIN_LABELLED_PHRASES}"
    ):
        call_command("train_risk_model", "--project", "sparse", stdout=io.StringIO())
    few, _ = labelled_project(tmp_path, slug="few", n_adr=3)
    with pytest.raises(
        CommandError, match="too_few_patients: a risk model needs at least 8 ADR and 8 non-ADR"
    ):
        call_command("train_risk_model", "--project", few.slug, stdout=io.StringIO())
    assert not RiskModel.objects.exists()
