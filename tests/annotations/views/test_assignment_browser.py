"""Assignment and blind annotation in headless Chromium (issue 17): the admin sets two annotators per note and
blind mode on the settings page; two annotators each press "Get next note" on My notes, get the same note,
annotate it, and neither sees the other's annotations in the editor; the admin's Assignments page shows both
on the note. Screenshots go to tmp/artifacts (not the repository)."""

from __future__ import annotations

import os

import pytest

from annotations.models import AnnotationSet, NoteAssignment, Project

from .conftest import login, screenshot, span
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


def test_two_blind_annotators_get_the_same_note_and_never_see_each_other(browser, live_server, ui):
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
