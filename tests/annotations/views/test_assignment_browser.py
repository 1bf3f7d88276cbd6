"""Issue 17's gold journey in headless Chromium: the admin sets two annotators per note and blind mode on the
settings page; two annotators each press "Get next note" on My notes, get the same note, annotate it, and
neither sees the other's annotations in the editor; the admin's Assignments page shows both on the note. Both
submit (the same pre-label decisions, a different entity each, opposite verdicts); a reviewer curates the note,
resolving the three disagreements with the keyboard; `export_corpus --source gold` holds exactly the curated
result, and a retrain (a real training job on a tiny random encoder) trains on it. Screenshots go to
tmp/artifacts (not the repository). The curation keys in more detail: test_curation_browser."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from django.core.management import call_command

from annotations.formats.document import Document, Entity, Span
from annotations.models import AnnotationSet, Note, NoteAssignment, Project
from annotations.services.corpus_import import text_hash
from annotations.services.document_store import annotation_sets_write
from tests.factories import tiny_encoder

from .conftest import PRELABELS, login, screenshot, span
from .test_browser import drag_select

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"


def _get_next_note(page, live_server) -> str:
    page.goto(f"{live_server.url}/projects/ui/")
    page.click("#my-notes-link")
    page.wait_for_selector("#get-next-note")
    page.click("#get-next-note")
    page.wait_for_selector("html[data-editor-ready]")
    return page.url


def _annotate(page, word: str, entity_type: str, nth: int = 0) -> None:
    drag_select(page, *span(word, nth))
    page.click(f'.type-btn[data-type="{entity_type}"]')
    page.wait_for_selector("#flash.ok")


def _marked(page, offset: int) -> bool:
    """Whether the text at code-point `offset` is inside an entity mark on the page."""
    return page.evaluate("""(off) => {
      const leaf = Array.from(document.querySelectorAll('#note-text span.p')).filter(l => Number(l.dataset.s) <= off).pop();
      return !!(leaf && leaf.closest('.e'));
    }""", offset)


def _sets_listed(page) -> set[int]:
    return {int(v) for v in page.eval_on_selector_all("#sets li[data-set]", "els => els.map(e => e.dataset.set)")}


def _submit(page, url: str, verdict: str) -> None:
    """Accept every pending pre-label (type by type), give the verdict, submit."""
    page.goto(url)
    page.wait_for_selector("html[data-editor-ready]")
    while (left := page.locator("#prelabels button.ok").count()):
        page.locator("#prelabels button.ok").first.click()
        page.wait_for_function("n => document.querySelectorAll('#prelabels button.ok').length < n", arg=left)
    page.click(verdict)
    page.wait_for_selector("#verdict-value")
    page.click("#submit-btn")
    page.wait_for_selector('#set-status-value:has-text("Submitted")')


def test_two_blind_annotators_get_the_same_note_never_see_each_other_and_the_curated_gold_is_trained_on(
    browser, live_server, ui, tmp_path, settings
):
    note = ui["note"]
    admin = login(browser, live_server, "admin")
    admin.goto(f"{live_server.url}/projects/ui/settings/")
    admin.fill("#id_assignment-annotators_per_note", "2")
    admin.check("#id_assignment-blind_annotation")
    screenshot(admin, "assignment-settings")
    admin.click("#save-assignment")
    admin.wait_for_selector("text=Assignment settings saved.")
    project = Project.objects.get(pk=ui["project"].pk)
    assert (project.annotators_per_note, project.blind_annotation) == (2, True)

    first = login(browser, live_server, "annotator")
    second = login(browser, live_server, "annotator2")
    url_first = _get_next_note(first, live_server)
    url_second = _get_next_note(second, live_server)
    assert url_first == url_second == f"{live_server.url}/projects/ui/notes/{note.pk}/"
    assert set(NoteAssignment.objects.filter(note=note).values_list("user__username", flat=True)) == {
        "annotator", "annotator2"}

    _annotate(first, "bleeding", "Adverse-Effect")
    screenshot(first, "assignment-blind-editor-annotator")
    _annotate(second, "warfarin", "Drug", nth=1)
    mine = {u: AnnotationSet.objects.get(note=note, source_kind="user", user__username=u).pk
            for u in ("annotator", "annotator2")}
    model = AnnotationSet.objects.get(note=note, source_kind="model").pk

    for page, me, other in ((first, "annotator", "annotator2"), (second, "annotator2", "annotator")):
        page.goto(url_first)
        page.wait_for_selector("html[data-editor-ready]")
        assert _sets_listed(page) == {model, mine[me]}, me
        assert f"User: {other} " not in page.inner_text("#sets") + " "
        response = page.goto(f"{url_first}?set={mine[other]}")
        assert response.status == 404, me
    for page in (first, second):
        page.goto(url_first)
        page.wait_for_selector("html[data-editor-ready]")
    # The first annotator's new entity is in their text; the second's Drug on the second "warfarin" is not.
    assert _marked(first, span("bleeding")[0]) and not _marked(first, span("warfarin", 1)[0])
    assert _marked(second, span("warfarin", 1)[0]) and not _marked(second, span("bleeding")[0])
    first.locator("#sets").scroll_into_view_if_needed()
    screenshot(first, "assignment-blind-editor-sets")

    first.goto(f"{live_server.url}/projects/ui/my-notes/")
    first.wait_for_selector('#my-notes tr[data-state="open"]')
    screenshot(first, "assignment-my-notes")

    admin.goto(f"{live_server.url}/projects/ui/assignments/")
    row = admin.locator(f'#assignment-table tr[data-note="{note.external_id}"]')
    assert row.locator("li[data-assignee]").count() == 2
    screenshot(admin, "assignment-admin-page")
    # The admin (like a reviewer) sees both annotators' sets.
    admin.goto(f"{url_first}?mine=1")
    admin.wait_for_selector("html[data-editor-ready]")
    assert {mine["annotator"], mine["annotator2"], model} <= _sets_listed(admin)

    # Both submit: the same pre-label decisions (all accepted), their own entity each, opposite verdicts.
    _submit(first, url_first, "#verdict-ade")
    _submit(second, url_first, "#verdict-no-ade")

    # A reviewer curates: three disagreements (the verdict, each annotator's entity), decided by keyboard.
    curator = login(browser, live_server, "reviewer")
    curator.goto(f"{live_server.url}/projects/ui/")
    curator.click("#curation-link")
    curator.click(".curate-link")
    curator.click("#cur-start")
    curator.wait_for_selector("html[data-curation-ready]")
    assert curator.locator("#unit-list > li.unit").count() == 3
    units = curator.locator("#unit-list > li.unit")
    assert "verdict" in units.nth(0).inner_text().lower()
    curator.keyboard.press("1")  # the verdict: the first annotator's (ADE)
    curator.wait_for_selector("#unit-list > li.unit:nth-child(1).decided")
    # Then the entities in text order, each of which only one annotator has: keep both ("1": the first
    # annotator's "bleeding", "2": the second's "warfarin").
    for index, (word, key) in enumerate((("bleeding", "1"), ("warfarin", "2")), start=2):
        curator.keyboard.press("j")
        assert word in units.nth(index - 1).inner_text()
        curator.keyboard.press(key)
        curator.wait_for_selector(f"#unit-list > li.unit:nth-child({index}).decided")
    assert "3 of 3" in curator.inner_text("#cur-progress")
    curator.keyboard.press("F")
    curator.wait_for_selector("#cur-finished")
    screenshot(curator, "assignment-curated")

    # The gold export holds exactly the curated result: the pre-labels both accepted, both entities, ADE.
    settings.MEDIA_ROOT = tmp_path / "media"
    out = tmp_path / "gold.jsonl"
    call_command("export_corpus", project="ui", format="jsonl", out=str(out), source="gold", only_annotated=True)
    exported = {d["id"]: d for d in (json.loads(line) for line in out.read_text().splitlines() if line.strip())}
    curated = exported[note.external_id]
    expected = sorted([(e.type, [[s.start, s.end] for s in e.spans]) for e in PRELABELS]
                      + [("Adverse-Effect", [list(span("bleeding"))]), ("Drug", [list(span("warfarin", 1))])])
    assert sorted((e["type"], e["spans"]) for e in curated["entities"]) == expected
    assert curated["label"] == "ade"

    # A retrain trains on it (with two imported gold notes, so that there is enough to train and to score).
    from inference.artifacts import artifact_local
    from inference.core.extraction.artifacts import data_fingerprint
    from inference.learning.retraining import retrain_request
    from inference.learning.selectors import examples_documents, training_examples
    from inference.models import ModelVersion, RetrainPolicy

    for name in ("gold-a", "gold-b", "gold-c"):
        text = f"Metformin 500 mg was held for nausea ({name}).\n"
        other = Note.objects.create(project=note.project, external_id=name, text=text, text_hash=text_hash(text))
        annotation_sets_write([(AnnotationSet.objects.create(note=other, source_kind="import", source_name="corpus",
                                                             status="gold"),
                                Document(name, text, entities=(Entity("T1", "Drug", (Span(0, 9),), "Metformin"),),
                                         label="no_ade"))], origin="import")
    settings.ADE_REVIEW_MODEL_DIR = tmp_path / "models"
    settings.ADE_REVIEW_TRAIN_CONFIG = {"batch_size": 4, "lr": 1e-3, "head_lr": 1e-2, "max_length": 48, "threads": 1}
    project = Project.objects.get(pk=ui["project"].pk)
    project.encoder_path = str(tiny_encoder(tmp_path / "encoder", hidden_size=32, num_layers=1))
    project.save(update_fields=["encoder_path"])
    ui["model"].__class__.objects.filter(pk=ui["model"].pk).update(is_active=False)  # the fixture's has no files
    # No held-out split (set here, below what the API allows): which notes a split holds out depends on the
    # project's id, so any fraction would hold the curated note out in some runs.
    RetrainPolicy.objects.update_or_create(project=project, defaults={"retrain_every": 0, "heldout_fraction": 0.0,
                                                                      "epochs": 1, "cold_start": 0})
    snapshot = training_examples(project=project, heldout_fraction=0.0)
    curation = AnnotationSet.objects.get(note=note, source_kind="curation")
    assert curation.pk in [e.annotation_set_id for e in snapshot.train]
    job = retrain_request(project=project, epochs=1, reason="curated gold")
    job.refresh_from_db()
    assert job.state == "succeeded", job.message
    version = ModelVersion.objects.get(training_job=job)
    assert note.pk in set(version.training_notes.values_list("pk", flat=True))
    with artifact_local(version.path) as directory:
        meta = json.loads((Path(directory) / "pipeline.json").read_text())
    trained = examples_documents(snapshot.train)
    assert next(d for d in trained if d.id == note.external_id).label == "ade"
    assert meta["data_fingerprint"] == data_fingerprint(trained)
