"""Issue 14's data defects in headless Chromium: undo keeps relations, removing an entity says what else
goes and comes back with undo, a submitted set stays submitted until reopened, relation pre-labels are
listed and reachable with p."""

from __future__ import annotations

import os

import pytest

from annotations.models import AnnotationSet, Entity, Note, Relation, ReviewStatus
from annotations.services import editing

from .conftest import login, span

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"


def open_note(page, live_server, note):
    page.goto(f"{live_server.url}/projects/ui/notes/{note.pk}/")
    page.wait_for_selector("html[data-editor-ready]")


def click_entity(page, local_id):
    page.locator(f'#note-text .e[data-id="{local_id}"]').first.click()
    page.wait_for_selector(f'#entity-panel[data-entity="{local_id}"]')


def set_with_relation(ui):
    """T1 warfarin -> T3 rash (R1, Adverse-Effect), both pre-labels accepted, T2 rejected."""
    annotator = ui["users"]["annotator"]
    aset = editing.annotation_set_for_editor(note=ui["note"], user=annotator)
    v = editing.prelabel_accept(annotation_set=aset, expected_version=aset.version, local_id="T1", user=annotator).version
    v = editing.prelabel_accept(annotation_set=aset, expected_version=v, local_id="T3", user=annotator).version
    v = editing.prelabel_reject(annotation_set=aset, expected_version=v, local_id="T2", user=annotator).version
    v = editing.relation_create(annotation_set=aset, expected_version=v, type="Adverse-Effect", head="T1", tail="T3",
                                user=annotator).version
    return aset, v


def test_negating_then_undoing_keeps_the_relation(browser, live_server, ui):
    aset, _ = set_with_relation(ui)
    page = login(browser, live_server, "annotator")
    open_note(page, live_server, ui["note"])
    click_entity(page, "T3")
    page.keyboard.press("b")
    page.wait_for_selector('#entity-panel [data-attr="Negation"][aria-pressed="true"]')
    page.keyboard.press("z")
    page.wait_for_selector('#flash:has-text("Undone")')
    assert page.locator("#rel-R1").is_visible()
    assert page.locator("#relations h3").inner_text() == "Relations (1)"
    assert list(Relation.objects.filter(annotation_set=aset).values_list("local_id", flat=True)) == ["R1"]
    page.context.close()


def test_rejecting_an_entity_says_it_removes_its_relations_and_undo_brings_them_back(browser, live_server, ui):
    annotator = ui["users"]["annotator"]
    aset, v = set_with_relation(ui)
    v = editing.entity_create(annotation_set=aset, expected_version=v, type="Dose", spans=[span("5")],
                              user=annotator).version
    editing.relation_create(annotation_set=aset, expected_version=v, type="Dose", head="T4", tail="T1", user=annotator)
    page = login(browser, live_server, "annotator")
    open_note(page, live_server, ui["note"])
    # The evidence menu offers the ADE relation only, never the (newer) Dose relation.
    assert page.eval_on_selector_all("#evidence-select option", "os => os.map(o => o.value)") == ["", "R1"]
    click_entity(page, "T1")
    assert "also removes 2 relations" in page.inner_text("#removes-relations")
    page.keyboard.press("Delete")  # an accepted pre-label: rejected, kept for provenance
    page.wait_for_selector('#note-text [data-id="T1"]', state="detached")
    page.wait_for_selector("#rel-R1", state="detached")
    assert "2 relations" in page.inner_text("#flash")
    page.keyboard.press("z")
    page.wait_for_selector("#rel-R1")
    page.wait_for_selector("#rel-R2")
    assert set(Relation.objects.filter(annotation_set=aset).values_list("decision", flat=True)) == {"added"}
    page.context.close()


def test_a_submitted_set_ignores_editing_keys_until_reopened(browser, live_server, ui):
    annotator = ui["users"]["annotator"]
    aset, v = set_with_relation(ui)
    editing.note_label_set(annotation_set=aset, expected_version=v, value="ade", evidence="R1", user=annotator)
    page = login(browser, live_server, "annotator")
    open_note(page, live_server, ui["note"])
    click_entity(page, "T3")
    page.keyboard.press("s")
    page.wait_for_selector("#submitted-banner")  # the page reloads read-only
    page.wait_for_selector("html[data-editor-ready]")
    version = AnnotationSet.objects.get(pk=aset.pk).version
    assert page.inner_text("#note-status") == "Submitted"
    assert page.inner_text("#set-status-value") == "Submitted"
    assert "Submitted" in page.inner_text("#sets")

    page.locator('#note-text .e[data-id="T3"]').first.click()
    page.wait_for_selector('#entity-panel[data-entity="T3"]')
    for key in ("z", "b", "Delete", "1"):
        page.keyboard.press(key)
    page.wait_for_selector('#flash:has-text("reopen to edit")')
    assert page.locator("#undo-btn").count() == 0 and page.locator("#type-toolbar").count() == 0
    aset.refresh_from_db()
    assert (aset.status, aset.version) == ("submitted", version)
    assert Note.objects.get(pk=ui["note"].pk).review_status == ReviewStatus.SUBMITTED

    page.click("#reopen-btn")
    page.wait_for_selector("#type-toolbar")
    page.wait_for_selector("html[data-editor-ready]")
    assert page.inner_text("#set-status-value") == "In progress"
    click_entity(page, "T3")
    page.keyboard.press("b")
    page.wait_for_selector('#entity-panel [data-attr="Negation"][aria-pressed="true"]')
    assert AnnotationSet.objects.get(pk=aset.pk).status == "in_progress"
    page.context.close()


def test_relation_prelabels_are_listed_reached_with_p_and_named_by_the_submit_refusal(browser, live_server, ui):
    annotator = ui["users"]["annotator"]
    aset = editing.annotation_set_for_editor(note=ui["note"], user=annotator)
    Relation.objects.create(
        annotation_set=aset, local_id="R1", type="Adverse-Effect", origin="model", confidence=0.62,
        arg1_entity=Entity.objects.get(annotation_set=aset, local_id="T1"),
        arg2_entity=Entity.objects.get(annotation_set=aset, local_id="T3"),
    )
    v = editing.prelabels_accept_type(annotation_set=aset, expected_version=aset.version, type="Drug",
                                      user=annotator).version
    v = editing.prelabel_accept(annotation_set=aset, expected_version=v, local_id="T3", user=annotator).version
    editing.note_label_set(annotation_set=aset, expected_version=v, value="uncertain", evidence=None, user=annotator)
    page = login(browser, live_server, "annotator")
    open_note(page, live_server, ui["note"])
    assert page.locator('#prelabels [data-prelabel="R1"]').is_visible()
    assert page.inner_text("#prelabel-relation-count") == "1"

    page.keyboard.press("s")
    page.wait_for_selector('#flash.error:has-text("R1 Adverse-Effect")')

    page.keyboard.press("p")  # no pending entity left: the relation pre-label
    page.wait_for_selector('#entity-panel.relation-panel:has-text("R1")')
    page.keyboard.press("a")
    page.wait_for_selector('#prelabels [data-prelabel="R1"]', state="detached")
    assert Relation.objects.get(annotation_set=aset).decision == "accepted"
    page.keyboard.press("s")
    page.wait_for_selector("#submitted-banner")
    assert AnnotationSet.objects.get(pk=aset.pk).status == "submitted"
    page.context.close()
