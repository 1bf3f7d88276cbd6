"""Issue 17's adjudication in headless Chromium: two annotators submitted different sets of a note; a
reviewer opens the curation queue, starts curating, resolves the three disagreements with the keyboard
(j/k to move, 1/2 to take an annotator's version, b for both), finishes with F; `export_corpus --source
gold` then holds exactly the curated result, and a retrain's training selection holds the curated set."""

from __future__ import annotations

import json
import os

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

from .conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
PASSWORD = "curation browser pass 7"
TEXT = "Pt started warfarin 5 mg daily on admission.\nOn day 3 developed gastric bleeding.\n"


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
    note = Note.objects.create(project=project, external_id="two-views", text=TEXT, text_hash=text_hash(TEXT),
                               review_status="submitted")
    # Three disagreements: the verdict, the type of "5 mg daily", the boundary of the bleeding.
    versions = {
        "ann1": Document("two-views", TEXT, entities=(ent("T1", "Drug", "warfarin"), ent("T2", "Dose", "5 mg daily"),
                                                       ent("T3", "Adverse-Effect", "gastric bleeding")), label="ade"),
        "ann2": Document("two-views", TEXT, entities=(ent("T1", "Drug", "warfarin"), ent("T2", "Drug", "5 mg daily"),
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
    from inference.learning.selectors import training_examples

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
    [exported] = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    assert exported["id"] == "two-views" and exported["label"] == "ade"
    assert sorted((e["type"], e["text"]) for e in exported["entities"]) == [
        ("Adverse-Effect", "bleeding"), ("Dose", "5 mg daily"), ("Drug", "warfarin")]
    curation = AnnotationSet.objects.get(note=note, source_kind="curation")
    assert curation.status == "gold" and curation.user.username == "curator"

    snapshot = training_examples(project=project, heldout_fraction=0.0)
    assert [e.annotation_set_id for e in snapshot.train] == [curation.pk]
    assert snapshot.awaiting_adjudication == []
