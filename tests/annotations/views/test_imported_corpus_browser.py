"""Imported corpora in the editor (issue 14): MACCROBAT documents imported through the import service (no
annotation.conf: the schema is inferred) show their events and every one of their types, each type in its
own colour; "Correct these" starts the annotator's own copy, whose events and entities are editable while
the imported set stays as it was."""

from __future__ import annotations

import os
import shutil

import pytest

from annotations.formats.brat import parse_brat
from annotations.models import AnnotationSet, Entity, Event, Note, ProjectMembership
from annotations.services.corpus_import import corpus_import, project_get_or_create

from .conftest import PASSWORD, login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

DOCUMENTS = ("15939911", "16778410", "17803823")

# The type of every entity in the text, as the page shows it (the first part of its label), with its colour.
TYPES_SHOWN_JS = """() => {
  const out = {};
  for (const el of document.querySelectorAll('#note-text .e.b')) {
    const type = el.dataset.l.split(' · ')[0];
    out[type] = getComputedStyle(el).getPropertyValue('--c').trim();
  }
  return out;
}"""


@pytest.fixture
def maccrobat(corpus_dir, tmp_path, django_user_model):
    """Three MACCROBAT documents imported into a new project (copied to a temporary folder, never into the
    repository), and an annotator of it."""
    source = corpus_dir / "maccrobat2020"
    if not source.is_dir():
        pytest.skip(f"MACCROBAT not found at {source}")
    folder = tmp_path / "maccrobat"
    folder.mkdir()
    for stem in DOCUMENTS:
        for suffix in (".txt", ".ann"):
            shutil.copy(source / f"{stem}{suffix}", folder / f"{stem}{suffix}")
    project = project_get_or_create(slug="maccrobat", name="MACCROBAT")
    report = corpus_import(project=project, path=folder, fmt="brat")
    assert report.imported == len(DOCUMENTS) and report.schema_source == "inferred from the data", report.summary()
    user = django_user_model.objects.create_user(username="annotator", password=PASSWORD)
    ProjectMembership.objects.create(project=project, user=user, role="annotator")
    return {"project": project, "folder": folder}


def test_imported_events_and_types_show_and_correct_these_edits_a_copy(browser, live_server, maccrobat):
    stem = DOCUMENTS[0]
    text = (maccrobat["folder"] / f"{stem}.txt").read_text("utf-8")
    doc = parse_brat(text, (maccrobat["folder"] / f"{stem}.ann").read_text("utf-8"), doc_id=stem)
    note = Note.objects.get(project=maccrobat["project"], external_id=stem)
    imported = AnnotationSet.objects.get(note=note, source_kind="import")
    imported_before = sorted(Entity.objects.filter(annotation_set=imported).values_list("local_id", "type"))
    page = login(browser, live_server, "annotator")
    page.goto(f"{live_server.url}/projects/maccrobat/notes/{note.pk}/")
    page.wait_for_selector("html[data-editor-ready]")

    # The imported annotations show (not an empty set): every event, every type, each type its own colour.
    assert page.locator("#events li.ev").count() == len(doc.events) > 40
    assert page.inner_text("#event-count") == str(len(doc.events))
    shown = page.evaluate(TYPES_SHOWN_JS)
    assert set(shown) == {e.type for e in doc.entities}
    assert len(set(shown.values())) == len(shown), shown  # no two types share a colour
    assert page.locator("#correct-banner").is_visible() and page.locator("#type-toolbar").count() == 0
    # Clicking an event marks its trigger in the text and opens its panel.
    first = doc.events[0]
    page.click(f"#ev-{first.id}")
    page.wait_for_selector(f'#entity-panel[data-event="{first.id}"]')
    assert page.locator(f'#note-text .e.trg[data-id="{first.trigger}"]').count() >= 1
    screenshot(page, "imported_corpus_read_only")

    # "Correct these": the annotator's own copy, with where it came from.
    page.click("#correct-btn")
    page.wait_for_selector("#type-toolbar")
    own = AnnotationSet.objects.get(note=note, source_kind="user")
    assert own.copied_from_id == imported.pk
    assert page.locator(f'#sets li[data-set="{own.pk}"] .copied-from').inner_text().startswith("copied from import")
    assert page.locator("#events li.ev").count() == len(doc.events)
    # The toolbar offers every type (entities and event triggers), found by typing.
    assert page.locator("#type-toolbar .type-btn").count() >= len(shown)
    page.fill("#type-filter", "lab")
    assert page.locator("#type-toolbar .type-btn:visible").first.get_attribute("data-type") == "Lab_value"

    # Events are editable: delete one, undo brings it back exactly.
    page.click(f"#ev-{first.id}")
    page.wait_for_selector(f'#entity-panel[data-event="{first.id}"] #delete-btn')
    page.click("#entity-panel #delete-btn")
    page.wait_for_selector(f'#event-count:text-is("{len(doc.events) - 1}")')
    assert page.locator(f"#ev-{first.id}").count() == 0
    page.keyboard.press("z")
    page.wait_for_selector(f'#event-count:text-is("{len(doc.events)}")')
    assert page.locator("#events li.ev").count() == len(doc.events)

    # Correct one imported entity: a non-trigger entity gets another type in the copy only.
    triggers = {ev.trigger for ev in doc.events}
    target = next(e for e in doc.entities if e.id not in triggers and len(e.spans) == 1)
    other = next(t for t in sorted({e.type for e in doc.entities if e.id not in triggers}) if t != target.type)
    page.click(f'#note-text .e.b[data-id="{target.id}"]')
    page.wait_for_selector(f'#entity-panel[data-entity="{target.id}"] #entity-type-select')
    page.select_option("#entity-type-select", other)
    page.wait_for_selector(f'#entity-panel #entity-type-label:text-is("{other}")')
    screenshot(page, "imported_corpus_corrected_copy")

    corrected = Entity.objects.get(annotation_set=own, local_id=target.id)
    assert corrected.type == other and corrected.origin == "import" and corrected.decision == "modified"
    assert sorted(Entity.objects.filter(annotation_set=imported).values_list("local_id", "type")) == imported_before
    assert Event.objects.filter(annotation_set=own).count() == Event.objects.filter(annotation_set=imported).count()


def test_the_type_filter_picks_a_type_by_typing_and_a_fragment_lights_up_its_whole_entity(browser, live_server, ui):
    from annotations.formats.document import Document, Span
    from annotations.formats.document import Entity as EntityRecord
    from annotations.services.document_store import annotation_sets_write

    from .conftest import TEXT, span
    from .test_browser import drag_select

    (g0, g1), (b0, b1) = span("gastric"), span("bleeding")
    own = AnnotationSet.objects.create(note=ui["note"], source_kind="user", user=ui["users"]["annotator"],
                                       source_name="annotator", status="in_progress")
    gastric_bleeding = EntityRecord("T1", "Adverse-Effect", (Span(g0, g1), Span(b0, b1)), "gastric bleeding")
    annotation_sets_write([(own, Document(id="note-ade", text=TEXT, entities=(gastric_bleeding,)))], origin="human")
    page = login(browser, live_server, "annotator")
    page.goto(f"{live_server.url}/projects/ui/notes/{ui['note'].pk}/")
    page.wait_for_selector("html[data-editor-ready]")

    # Hovering one fragment of a discontinuous entity highlights every fragment of it.
    fragments = page.locator('#note-text .e.frag[data-id="T1"]')
    assert fragments.count() == 2
    fragments.nth(1).hover()
    assert page.locator('#note-text .e.frag.hl[data-id="T1"]').count() == 2
    screenshot(page, "discontinuous_hover")

    # t focuses the type filter; what is typed filters the types; Enter makes the first one.
    drag_select(page, *span("5 mg"))
    page.keyboard.press("t")
    page.keyboard.type("dos")
    assert [b.get_attribute("data-type") for b in page.locator("#type-toolbar .type-btn:visible").all()] == ["Dose"]
    page.keyboard.press("Enter")
    page.wait_for_selector('#entity-panel #entity-type-label:text-is("Dose")')
    created = Entity.objects.get(annotation_set=own, type="Dose")
    assert (created.start, created.end) == span("5 mg")
    assert page.locator("#type-toolbar .type-btn:visible").count() == 3  # the filter is cleared
