"""The note page highlights the sentence that made the note classifier flag the note (a browser check)."""

from __future__ import annotations

import pytest

from annotations.models import Note

from .conftest import TEXT, login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BLEEDING = "On day 3 the patient developed gastric and duodenal bleeding; no rash."


def test_the_classifier_sentence_is_highlighted_in_the_note_text_and_shown_in_the_queue(browser, live_server, ui):
    start = TEXT.index(BLEEDING)
    Note.objects.filter(pk=ui["note"].pk).update(
        ade_evidence={"source": "sentence", "start": start, "end": start + len(BLEEDING), "score": 0.93})
    page = login(browser, live_server, "reviewer")
    page.goto(f"{live_server.url}/projects/ui/queue/")
    assert BLEEDING in page.locator("td.why mark.evidence-sentence").first.inner_text()
    page.screenshot(path="/tmp/h3/queue_evidence.png", full_page=True)
    page.click("a.note-link:text('note-ade')")
    page.wait_for_load_state("load")
    page.wait_for_function("() => CSS.highlights.has('ade-evidence')")
    highlighted = page.evaluate("() => [...CSS.highlights.get('ade-evidence')][0].toString()")
    assert highlighted == BLEEDING
    page.screenshot(path="/tmp/h3/note_evidence.png", full_page=False)
