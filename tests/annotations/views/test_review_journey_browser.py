"""The reviewer's journey in headless Chromium (issue 14): the flagged queue says why, a note is decided
with the keyboard, the next flagged note opens, and the lists tell confirmed from overturned."""

from __future__ import annotations

import dataclasses
import os

import pytest

from annotations.formats.document import Document, Entity, Relation, Span
from annotations.models import AnnotationSet, Note, NoteLabel, ReviewStatus, SignOff
from annotations.services.corpus_import import text_hash
from annotations.services.document_store import annotation_sets_write

from .conftest import login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"


def flagged_note(ui, external_id: str, drug: str, reaction: str, probability: float) -> Note:
    """A flagged note with a model set holding Drug -> Adverse-Effect (confidence 0.8)."""
    text = f"Started {drug} on Monday.\nOn day 2 the patient developed {reaction} and was reviewed.\n"
    note = Note.objects.create(project=ui["project"], external_id=external_id, text=text, text_hash=text_hash(text),
                               flagged=True, ade_probability=probability, ade_uncertainty=0.1)
    ds, rs = text.index(drug), text.index(reaction)
    doc = Document(
        id=external_id, text=text,
        entities=(Entity("T1", "Drug", (Span(ds, ds + len(drug)),), drug, 0.9),
                  Entity("T2", "Adverse-Effect", (Span(rs, rs + len(reaction)),), reaction, 0.85)),
        relations=(Relation("R1", "Adverse-Effect", "T1", "T2", confidence=0.8),),
    )
    model_set = AnnotationSet.objects.create(note=note, source_kind="model", model_version=ui["model"],
                                             source_name="ner-v1", status="pre_annotated")
    annotation_sets_write([(model_set, dataclasses.replace(doc))], origin="model")
    return note


def test_a_reviewer_decides_two_flagged_notes_from_the_queue_with_the_keyboard(browser, live_server, ui):
    Note.objects.filter(project=ui["project"]).update(flagged=False)  # only the two notes below are flagged
    first = flagged_note(ui, "journey-1", "carbamazepine", "hyponatraemia", 0.97)
    second = flagged_note(ui, "journey-2", "amoxicillin", "a macular rash", 0.95)
    page = login(browser, live_server, "reviewer")
    page.goto(f"{live_server.url}/projects/ui/queue/")
    row = page.locator("tr", has=page.locator("a.note-link", has_text="journey-1"))
    assert "carbamazepine → hyponatraemia" in row.locator("td.why").inner_text()
    assert "developed hyponatraemia" in row.locator("td.why .why-sentence").inner_text()
    screenshot(page, "review-queue-why-flagged")
    row.locator("a.note-link").click()
    page.wait_for_url(f"{live_server.url}/projects/ui/notes/{first.pk}/")  # "load": the deferred key script has run
    page.wait_for_selector("#decide-form")
    # Confirm with Shift+C: the next flagged note opens.
    page.keyboard.press("Shift+C")
    page.wait_for_url(f"{live_server.url}/projects/ui/notes/{second.pk}/")
    # Overturn with Shift+O, type the reason, Ctrl+Enter.
    page.keyboard.press("Shift+O")
    assert page.evaluate("document.activeElement.id") == "sign-off-comment"
    page.keyboard.type("rash predates amoxicillin")
    page.keyboard.press("Control+Enter")
    page.wait_for_url(f"{live_server.url}/projects/ui/queue/")  # the flagged queue is empty now
    assert "No notes match." in page.locator("#queue-results").inner_text()
    page.goto(f"{live_server.url}/projects/ui/queue/?all=1&status=signed_off")
    listing = page.locator("#queue-results").inner_text()
    assert "journey-1" in listing and "journey-2" in listing
    row1 = page.locator("tr", has=page.locator("a.note-link", has_text="journey-1")).inner_text()
    row2 = page.locator("tr", has=page.locator("a.note-link", has_text="journey-2")).inner_text()
    assert "ADE confirmed" in row1 and "ADE overturned" in row2
    screenshot(page, "review-decided-list")
    page.context.close()

    for note, verdict in ((first, "ade"), (second, "no_ade")):
        note.refresh_from_db()
        assert (note.review_status, note.final_verdict, note.flagged) == (ReviewStatus.SIGNED_OFF, verdict, False)
        gold = AnnotationSet.objects.get(note=note, status="gold")
        assert NoteLabel.objects.get(annotation_set=gold).value == verdict
    # The overturned note's gold keeps the model's entities but not the ADE relation the reviewer rejected.
    gold = AnnotationSet.objects.get(note=second, status="gold")
    assert gold.entities.count() == 2 and gold.relations.count() == 0
    confirm = SignOff.objects.get(note=first)
    assert NoteLabel.objects.get(annotation_set=confirm.annotation_set).evidence.local_id == "R1"
    assert SignOff.objects.get(note=second).comment == "rash predates amoxicillin"
