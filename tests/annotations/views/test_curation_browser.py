"""Issue 17's adjudication in headless Chromium: two annotators submitted different sets of a note; a
reviewer opens the curation queue, starts curating, resolves the three disagreements with the keyboard
(j/k to move, 1/2 to take an annotator's version, b for both), finishes with F; `export_corpus --source
gold` then holds exactly the curated result, and a retrain (a real training job on a tiny random encoder)
trains on it: the new model version's training notes and data fingerprint are those of the exported gold.
(The blind annotation that comes before is test_assignment_browser's journey.)"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from annotations.demo_corpus import ANNOTATION_CONF, VISUAL_CONF
from annotations.formats.brat_conf import load_schema
from annotations.formats.document import Document, Entity, Span
from annotations.models import AnnotationSet, Note, Project, ProjectMembership
from annotations.services.corpus_import import text_hash
from annotations.services.document_store import annotation_sets_write
from annotations.services.schemas import project_schema_set
from tests.conftest import browser_login
from tests.factories import tiny_encoder

from .conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
PASSWORD = "curation browser pass 7"
TEXT = "Pt started warfarin 5 mg daily on admission.\nOn day 3 developed gastric bleeding.\n"
OTHER = "Metformin 500 mg was held for nausea ({}).\n"
HELDOUT = 0.25  # the retrain policy's held-out fraction


def ent(local_id: str, type_: str, word: str) -> Entity:
    start = TEXT.index(word)
    return Entity(local_id, type_, (Span(start, start + len(word)),), word)


@pytest.fixture
def project():
    User = get_user_model()
    project = Project.objects.create(slug="adjudicate", name="Adjudication")
    project_schema_set(project=project, schema=load_schema(ANNOTATION_CONF, VISUAL_CONF), inferred=False)
    users = {}
    for name, role in (("ann1", "annotator"), ("ann2", "annotator"), ("curator", "reviewer")):
        users[name] = User.objects.create_user(name, password=PASSWORD)
        ProjectMembership.objects.create(project=project, user=users[name], role=role)
    # The held-out split is fixed per (project, note): choose names so that the curated note is trained on, and
    # so that the retrain has imported gold notes both to train on and to score on.
    from inference.learning.selectors import is_heldout

    names = (f"note-{i}" for i in range(1000))
    held = lambda name: is_heldout(project_id=project.pk, external_id=name, fraction=HELDOUT)  # noqa: E731
    curated_id = next(n for n in names if not held(n))
    train_ids = [next(n for n in names if not held(n)) for _ in range(2)]
    heldout_id = next(n for n in names if held(n))
    note = Note.objects.create(project=project, external_id=curated_id, text=TEXT, text_hash=text_hash(TEXT),
                               review_status="submitted")
    others = [Note.objects.create(project=project, external_id=name, text=OTHER.format(name),
                                  text_hash=text_hash(OTHER.format(name))) for name in (*train_ids, heldout_id)]
    drug = Entity("T1", "Drug", (Span(0, 9),), "Metformin")
    annotation_sets_write([(AnnotationSet.objects.create(note=other, source_kind="import", source_name="corpus",
                                                         status="gold"),
                            Document(other.external_id, other.text, entities=(drug,), label="no_ade"))
                           for other in others], origin="import")
    # Three disagreements: the verdict, the type of "5 mg daily", the boundary of the bleeding.
    versions = {
        "ann1": Document(curated_id, TEXT, entities=(ent("T1", "Drug", "warfarin"), ent("T2", "Dose", "5 mg daily"),
                                                       ent("T3", "Adverse-Effect", "gastric bleeding")), label="ade"),
        "ann2": Document(curated_id, TEXT, entities=(ent("T1", "Drug", "warfarin"), ent("T2", "Drug", "5 mg daily"),
                                                       ent("T3", "Adverse-Effect", "bleeding")), label="no_ade"),
    }
    pairs = [(AnnotationSet.objects.create(note=note, source_kind="user", user=users[name], source_name=name,
                                           status="submitted"), doc) for name, doc in versions.items()]
    annotation_sets_write(pairs, origin="human")
    return project, note


def wait_decided(page, index: int) -> None:
    page.wait_for_selector(f"#unit-list > li.unit:nth-child({index}).decided")


def test_a_curator_resolves_three_disagreements_by_keyboard_and_the_gold_is_the_curated_set(
    browser, live_server, project, tmp_path, settings
):
    from inference.learning.selectors import is_heldout, training_examples

    settings.MEDIA_ROOT = tmp_path / "media"
    project, note = project
    page = browser_login(browser, live_server, "curator", PASSWORD)
    page.goto(f"{live_server.url}/projects/{project.slug}/")
    page.click("#curation-link")
    page.click(".curate-link")
    page.click("#cur-start")
    page.wait_for_selector("html[data-curation-ready]")
    assert page.locator("#unit-list > li.unit").count() == 3
    assert "0 of 3" in page.inner_text("#cur-progress")
    heads = page.locator(".unit .side-col .who").all_inner_texts()
    assert heads == ["1 ann1", "2 ann2"] * 3  # each side labelled by its annotator
    screenshot(page, "curation-start")

    # The first disagreement (the verdict) is current: take ann1's.
    assert "current" in page.get_attribute("#unit-list > li.unit:nth-child(1)", "class")
    page.keyboard.press("1")
    wait_decided(page, 1)
    # The next one (the type of "5 mg daily"): ann1's Dose.
    page.keyboard.press("j")
    assert "current" in page.get_attribute("#unit-list > li.unit:nth-child(2)", "class")
    page.keyboard.press("1")
    wait_decided(page, 2)
    # The boundary: ann2's "bleeding"; after a look back (k) and forward again (j).
    page.keyboard.press("j")
    page.keyboard.press("k")
    assert "current" in page.get_attribute("#unit-list > li.unit:nth-child(2)", "class")
    page.keyboard.press("j")
    page.keyboard.press("2")
    wait_decided(page, 3)
    assert "3 of 3" in page.inner_text("#cur-progress")
    assert page.locator("#note-text .e.b").count() == 3  # warfarin, 5 mg daily, bleeding in the text
    screenshot(page, "curation-decided")

    page.keyboard.press("F")
    page.wait_for_selector("#cur-finished")
    screenshot(page, "curation-finished")

    out = tmp_path / "gold.jsonl"
    call_command("export_corpus", project=project.slug, format="jsonl", out=str(out), source="gold",
                 only_annotated=True)
    lines = {d["id"]: d for d in (json.loads(line) for line in out.read_text().splitlines() if line.strip())}
    assert len(lines) == 4  # the curated note and the three imported gold notes
    exported = lines[note.external_id]
    assert exported["label"] == "ade"
    assert sorted((e["type"], e["text"]) for e in exported["entities"]) == [
        ("Adverse-Effect", "bleeding"), ("Dose", "5 mg daily"), ("Drug", "warfarin")]
    curation = AnnotationSet.objects.get(note=note, source_kind="curation")
    assert curation.status == "gold" and curation.user.username == "curator"

    snapshot = training_examples(project=project, heldout_fraction=HELDOUT)
    assert curation.pk in [e.annotation_set_id for e in snapshot.train]
    assert snapshot.awaiting_adjudication == []

    # A retrain trains on it: a real training job (one epoch of a tiny random encoder).
    from inference.artifacts import artifact_local
    from inference.core.extraction.artifacts import data_fingerprint
    from inference.learning.retraining import retrain_request
    from inference.models import ModelVersion, RetrainPolicy

    settings.ADE_REVIEW_MODEL_DIR = tmp_path / "models"
    settings.ADE_REVIEW_TRAIN_CONFIG = {"batch_size": 4, "lr": 1e-3, "head_lr": 1e-2, "max_length": 48, "threads": 1}
    project.encoder_path = str(tiny_encoder(tmp_path / "encoder", hidden_size=32, num_layers=1))
    project.save(update_fields=["encoder_path"])
    # (the finished curation asked whether to retrain already: the policy exists, with the defaults)
    RetrainPolicy.objects.update_or_create(project=project, defaults={"retrain_every": 0, "heldout_fraction": HELDOUT,
                                                                      "epochs": 1, "cold_start": 0})
    job = retrain_request(project=project, epochs=1, reason="curated gold")
    job.refresh_from_db()
    assert job.state == "succeeded", job.message
    version = ModelVersion.objects.get(training_job=job)
    trained = {n.external_id for n in version.training_notes.all()}
    assert note.external_id in trained and trained == {e for e in lines if not is_heldout(
        project_id=project.pk, external_id=e, fraction=HELDOUT)}
    from annotations.formats.registry import read_corpus

    exported_docs = {r.document.id: r.document for r in read_corpus(out, "jsonl")}
    with artifact_local(version.path) as directory:  # the model store's copy, wherever it is kept
        meta = json.loads((Path(directory) / "pipeline.json").read_text())
    assert meta["data_fingerprint"] == data_fingerprint(exported_docs[name] for name in trained)
