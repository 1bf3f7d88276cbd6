"""The review UI in headless Chromium: the annotate -> submit -> sign off -> export flow by mouse and by
keyboard, and two sessions editing the same set."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from annotations.formats.brat import parse_brat
from annotations.models import AnnotationSet, Entity, Note, NoteLabel, ReviewStatus, SignOff
from annotations.services.corpus_export import corpus_export

from .conftest import ARTIFACTS, TEXT, login, save_small, screenshot, span

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

SCREENSHOTS = Path(__file__).resolve().parents[3] / "benchmarks" / "results" / "screenshots"

# Client rectangles of the first and the last character of a code-point range (JS strings are UTF-16).
RECTS_JS = """([s, e]) => {
  const leaves = Array.from(document.querySelectorAll('#note-text span.p'));
  function point(off) {
    let leaf = leaves[0];
    for (const l of leaves) { if (Number(l.dataset.s) <= off) leaf = l; else break; }
    const node = leaf.firstChild;
    return [node, Array.from(node.data).slice(0, off - Number(leaf.dataset.s)).join('').length];
  }
  function rect(a, b) {
    const r = document.createRange();
    r.setStart(...point(a)); r.setEnd(...point(b));
    const c = r.getClientRects()[0];
    return {x: c.left, y: c.top, w: c.width, h: c.height};
  }
  return [rect(s, s + 1), rect(e - 1, e)];
}"""


def drag_select(page, start: int, end: int) -> None:
    """Select text [start, end) with a real mouse drag."""
    first, last = page.evaluate(RECTS_JS, [start, end])
    page.mouse.move(first["x"] + 1, first["y"] + first["h"] / 2)
    page.mouse.down()
    page.mouse.move(last["x"] + last["w"] - 1, last["y"] + last["h"] / 2, steps=4)
    page.mouse.up()


def open_note(page, live_server, note):
    page.goto(f"{live_server.url}/projects/ui/notes/{note.pk}/")
    page.wait_for_selector("html[data-editor-ready]")


def panel_shows(page, local_id: str):
    page.wait_for_selector(f'#entity-panel[data-entity="{local_id}"]')


def user_set(note, username="annotator") -> AnnotationSet:
    return AnnotationSet.objects.get(note=note, source_kind="user", user__username=username)


def exported_ann(project, tmp_path, source: str):
    out = tmp_path / "export"
    corpus_export(project=project, out=out, fmt="brat", source=source)
    ann = next(out.rglob("note-ade.ann")).read_text(encoding="utf-8")
    return parse_brat(TEXT, ann, doc_id="note-ade")


def summary(doc):
    """What a .ann holds, independent of the ids it was written with."""
    by_id = {e.id: (e.type, tuple((s.start, s.end) for s in e.spans), e.text) for e in doc.entities}
    return {
        "entities": set(by_id.values()),
        "relations": {(r.type, by_id[r.arg1][2], by_id[r.arg2][2]) for r in doc.relations},
        "attributes": {(a.name, a.value, by_id[a.target][2]) for a in doc.attributes},
    }


EXPECTED = {
    "entities": {
        ("Drug", (span("warfarin"),), "warfarin"),
        ("Adverse-Effect", (span("rash"),), "rash"),
        ("Adverse-Effect", (span("gastric"), span("bleeding")), "gastric bleeding"),
    },
    "relations": {("Adverse-Effect", "warfarin", "gastric bleeding")},
    "attributes": {("Negation", None, "rash")},
}


def test_annotate_submit_sign_off_and_export_by_mouse(browser, live_server, ui, tmp_path):
    note, project = ui["note"], ui["project"]
    page = login(browser, live_server, "annotator")
    page.goto(f"{live_server.url}/projects/ui/queue/")
    page.wait_for_selector("#queue-results")
    assert page.locator("a.note-link").first.inner_text() == "note-ade"  # highest ADE probability first
    screenshot(page, "queue")
    page.locator("a.note-link", has_text="note-ade").click()
    page.wait_for_selector("html[data-editor-ready]")
    assert page.locator("#note-text .e.pre.b").count() == 3  # the model's pre-labels, dashed
    screenshot(page, "editor-prelabels")

    # Accept the right pre-label.
    page.locator('#note-text .e[data-id="T1"]').first.click()
    panel_shows(page, "T1")
    page.click("#accept-btn")
    page.wait_for_selector('#note-text .e.acc[data-id="T1"]')

    # Reject the wrong one: it sits under T3 on "rash", so reach it from T3's "also here".
    page.locator('#note-text .e[data-id="T3"]').first.click()
    panel_shows(page, "T3")
    page.click('#entity-panel .also-link[data-goto="T2"]')
    panel_shows(page, "T2")
    page.click("#reject-btn")
    page.wait_for_selector('#note-text [data-id="T2"]', state="detached")

    # A new entity by mouse selection, then a second fragment: "gastric ... bleeding".
    drag_select(page, *span("bleeding"))
    page.click('.type-btn[data-type="Adverse-Effect"]')
    panel_shows(page, "T4")
    drag_select(page, *span("gastric"))
    page.click("#add-fragment-btn")
    page.wait_for_selector('#entity-panel:has-text("gastric bleeding")')

    # A relation warfarin -> gastric bleeding; only the schema's relation is offered.
    page.click("#relation-start-btn")
    page.locator('#note-text .e[data-id="T1"]').first.click()
    page.wait_for_selector("#entity-panel.relation-form")
    # Display names (visual.conf labels), as on the toolbar (issue 14).
    assert page.locator(".rel-option").all_inner_texts() == ["1 Adverse effect: Drug → Adverse effect"]
    page.click(".rel-option")
    page.wait_for_selector("#rel-R1")

    # Negate the rash.
    page.locator('#note-text .e[data-id="T3"]').first.click()
    panel_shows(page, "T3")
    page.click('#entity-panel [data-attr="Negation"]')
    page.wait_for_selector('#entity-panel [data-attr="Negation"][aria-pressed="true"]')

    # Hovering the relation highlights its arguments.
    page.hover("#rel-R1")
    assert page.locator("#note-text .e.hl").count() >= 2

    # The verdict with its evidence, then submit.
    page.select_option("#evidence-select", "R1")
    page.click("#verdict-ade")
    page.wait_for_selector("#verdict-value")

    # A slip, undone.
    drag_select(page, *span("Plan"))
    page.click('.type-btn[data-type="Dose"]')
    panel_shows(page, "T5")
    page.click("#undo-btn")
    page.wait_for_selector('#note-text [data-id="T5"]', state="detached")
    screenshot(page, "editor")
    page.click("#submit-btn")
    page.wait_for_selector('#set-status-value:has-text("Submitted")')
    aset = user_set(note)
    assert aset.status == "submitted"
    label = NoteLabel.objects.select_related("evidence").get(annotation_set=aset)
    assert (label.value, label.evidence.local_id) == ("ade", "R1")
    page.context.close()

    # A reviewer signs it off.
    reviewer = login(browser, live_server, "reviewer")
    open_note(reviewer, live_server, note)
    assert "annotator" in reviewer.inner_text("#readonly")  # the reviewer reads the submission
    reviewer.fill("#sign-off-comment", "Bleeding on warfarin confirmed.")
    reviewer.click("#sign-off-btn")
    reviewer.wait_for_selector(".messages .success")
    assert Note.objects.get(pk=note.pk).review_status == ReviewStatus.SIGNED_OFF
    assert SignOff.objects.get().annotation_set_id == aset.pk
    reviewer.context.close()

    # Now read-only for the annotator.
    again = login(browser, live_server, "annotator")
    open_note(again, live_server, note)
    assert again.locator("#readonly").is_visible() and again.locator("#create-form").count() == 0
    again.context.close()

    # An admin exports brat: exactly those edits, no rejected pre-label.
    for source in ("user:annotator", "submitted"):
        assert summary(exported_ann(project, tmp_path / source.replace(":", "_"), source)) == EXPECTED
    assert Entity.objects.get(annotation_set=aset, local_id="T2").decision == "rejected"  # kept for provenance

    for name in ("queue", "editor-prelabels", "editor"):
        save_small(ARTIFACTS / f"{name}.png", SCREENSHOTS / f"{name}.png")


def test_the_same_flow_by_keyboard_only(browser, live_server, ui, tmp_path):
    import re

    note, project = ui["note"], ui["project"]
    tokens = [(m.start(), m.end()) for m in re.finditer(r"[^\W_]+|[^\w\s]|_", TEXT)]

    def token_index(word_span):
        return tokens.index(word_span)

    page = login(browser, live_server, "annotator")
    open_note(page, live_server, note)
    kb = page.keyboard

    kb.press("?")
    assert page.locator("#help").is_visible()
    kb.press("Escape")
    assert not page.locator("#help").is_visible()

    kb.press("p")  # first pending pre-label: warfarin
    panel_shows(page, "T1")
    kb.press("a")
    page.wait_for_selector('#note-text .e.acc[data-id="T1"]')
    kb.press("p")  # next pending: rash as a Drug
    panel_shows(page, "T2")
    kb.press("r")
    page.wait_for_selector('#note-text [data-id="T2"]', state="detached")
    kb.press("p")  # rash as an adverse effect: negate it
    panel_shows(page, "T3")
    kb.press("b")
    page.wait_for_selector('#entity-panel [data-attr="Negation"][aria-pressed="true"]')

    # Token cursor to "bleeding", make it an Adverse-Effect (key 2).
    kb.press("ArrowRight")  # the first press puts the cursor on the first token
    for _ in range(token_index(span("bleeding"))):
        kb.press("ArrowRight")
    kb.press("2")
    panel_shows(page, "T4")
    # Back to "gastric" (3 tokens left) and add it as a fragment.
    for _ in range(token_index(span("bleeding")) - token_index(span("gastric"))):
        kb.press("ArrowLeft")
    kb.press("f")
    page.wait_for_selector('#entity-panel:has-text("gastric bleeding")')

    # Relation: from the new entity, k to warfarin, l, then relation 1.
    kb.press("l")
    kb.press("k")
    kb.press("l")
    page.wait_for_selector("#entity-panel.relation-form")
    kb.press("1")
    page.wait_for_selector("#rel-R1")

    kb.press("y")  # ADE, evidence: the newest relation
    page.wait_for_selector("#verdict-value")
    kb.press("s")
    page.wait_for_selector('#set-status-value:has-text("Submitted")')
    screenshot(page, "editor-keyboard")
    page.context.close()

    assert summary(exported_ann(project, tmp_path, "user:annotator")) == EXPECTED
    label = NoteLabel.objects.select_related("evidence").get(annotation_set=user_set(note))
    assert (label.value, label.evidence.local_id) == ("ade", "R1")


def test_two_sessions_the_second_gets_a_conflict_and_loses_nothing(browser, live_server, ui):
    note = ui["note"]
    first = login(browser, live_server, "annotator")
    open_note(first, live_server, note)
    second = login(browser, live_server, "annotator")
    open_note(second, live_server, note)
    # Opening created no set (issue 13): both pages carry version 0, and the first edit creates the set.
    version = 0
    assert first.input_value("#version") == second.input_value("#version") == str(version)

    drag_select(first, *span("bleeding"))
    first.click('.type-btn[data-type="Adverse-Effect"]')
    panel_shows(first, "T4")

    drag_select(second, *span("warfarin", 1))
    second.click('.type-btn[data-type="Drug"]')
    second.wait_for_selector("#flash.error")
    message = second.inner_text("#flash")
    assert "Someone else changed these annotations" in message and "Reload" in message
    assert second.input_value("#version") == str(version)  # the page still shows what it was built from
    assert second.locator("#note-text [data-id=T4]").count() == 0  # and no silent merge either

    aset = user_set(note)
    assert aset.version == 2  # created at 1 by the first session's edit, which then applied
    assert set(Entity.objects.filter(annotation_set=aset).values_list("local_id", "text")) >= {("T4", "bleeding")}
    assert not Entity.objects.filter(annotation_set=aset, start=span("warfarin", 1)[0]).exists()

    # After a reload the second session sees the first one's entity and its edit goes through.
    second.click("#flash a")
    second.wait_for_selector("#note-text [data-id=T4]")
    second.wait_for_selector("html[data-editor-ready]")
    drag_select(second, *span("warfarin", 1))
    second.click('.type-btn[data-type="Drug"]')
    panel_shows(second, "T5")
    first.context.close()
    second.context.close()
