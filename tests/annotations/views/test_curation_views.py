"""The curation pages: the queue, a note's curation page (disagreements side by side, labelled by annotator),
decisions by HTMX (the decided unit, the new version, the changed text), finish; reviewers and admins only."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from annotations.audit.models import AuditEvent
from annotations.curation.selectors import curation_state
from annotations.models import AnnotationSet, CurationDecision
from tests.annotations.curation_world import build_curation_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_curation_world()


def client_for(world, name: str) -> Client:
    client = Client()
    client.force_login(world.users[name])
    return client


def curate_url(world) -> str:
    return reverse("note-curate", args=[world.project.slug, world.note.pk])


def started(world) -> AnnotationSet:
    client_for(world, "rev").post(curate_url(world) + "start/")
    return AnnotationSet.objects.get(note=world.note, source_kind="curation")


@pytest.mark.parametrize(("name", "status"), [("ann1", 403), ("outsider", 404), ("rev", 200), ("boss", 200)])
def test_curation_pages_are_for_reviewers_and_admins(world, name, status):
    client = client_for(world, name)
    assert client.get(reverse("curation-queue", args=[world.project.slug])).status_code == status
    assert client.get(curate_url(world)).status_code == status
    if status != 200:
        assert client.post(curate_url(world) + "start/").status_code == status
        assert not AnnotationSet.objects.filter(source_kind="curation").exists()


def test_the_queue_lists_the_notes_awaiting_adjudication_and_links_their_curation(world):
    response = client_for(world, "rev").get(reverse("curation-queue", args=[world.project.slug]))
    html = response.content.decode()
    assert f'data-note="{world.note.pk}"' in html and "ann1, ann2" in html
    assert f'data-note="{world.single.pk}"' not in html  # one submission: its own gold
    assert curate_url(world) in html


def test_opening_the_curation_page_writes_nothing_but_its_audit_record(world):
    response = client_for(world, "rev").get(curate_url(world))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="cur-start"' in html and "Take ann1" not in html  # read-only until started
    assert not AnnotationSet.objects.filter(source_kind="curation").exists()
    [read] = AuditEvent.objects.filter(action="note_view", details__view="curation")
    assert read.note_id == world.note.pk


def test_the_page_shows_each_disagreement_side_by_side_with_the_annotators_names(world):
    started(world)
    html = client_for(world, "rev").get(curate_url(world)).content.decode()
    assert html.count('class="unit ') == 6
    assert "Take ann1" in html and "Take ann2" in html and "Both" in html and "Neither" in html
    unit = re.search(r'<li class="unit k-span[^"]*" id="unit-[^"]+".*?</li>', html, re.S).group(0)
    assert "gastric bleeding" in unit and "ann1" in unit and "ann2" in unit
    assert "0 of 6 disagreements decided" in re.sub(r"<[^>]+>", "", html)
    # the text shows what is curated so far: the agreed entities
    assert html.count('class="e b') + html.count('class="e d1 b') >= 3


def test_a_decision_by_htmx_answers_with_the_decided_unit_version_progress_and_text(world):
    curation = started(world)
    state = curation_state(note=world.note)
    unit = next(u for u in state.merge.disagreements if u.kind == "span" and u.start == world.note.text.index("gastric"))
    response = client_for(world, "rev").post(
        curate_url(world) + f"units/{unit.key}/",
        {"choice": "source", "source": world.sets["ann1"].pk, "version": curation.version}, HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<li class="unit k-span decided" id="unit-{unit.key}"')
    assert "took ann1" in html
    assert f'id="cur-version" value="{curation.version + 1}" hx-swap-oob="true"' in html
    assert "1 of 6" in re.sub(r"<[^>]+>", "", html)
    assert 'hx-swap-oob="true"' in html and 'class="seg' in html and "Adverse effect" in html  # the new entity
    assert CurationDecision.objects.get(unit=unit.key).choice == "source"


def test_a_stale_version_is_refused_into_the_flash_and_changes_nothing(world):
    curation = started(world)
    unit = curation_state(note=world.note).merge.disagreements[1]
    response = client_for(world, "rev").post(curate_url(world) + f"units/{unit.key}/",
                                            {"choice": "none", "version": curation.version - 1},
                                            HTTP_HX_REQUEST="true")
    assert response.status_code == 409 and response["HX-Retarget"] == "#cur-flash"
    assert "Someone else changed" in response.content.decode()
    assert not CurationDecision.objects.exists()


def test_edit_by_hand_records_the_decision_and_opens_the_editor_on_the_curated_set(world):
    curation = started(world)
    unit = curation_state(note=world.note).merge.disagreements[0]
    response = client_for(world, "rev").post(curate_url(world) + f"units/{unit.key}/",
                                            {"choice": "edit", "version": curation.version})
    assert response.status_code == 302
    assert response["Location"].endswith(f"/notes/{world.note.pk}/?set={curation.pk}")
    editor = client_for(world, "rev").get(response["Location"]).content.decode()
    assert 'id="back-to-curation"' in editor and 'id="submit-btn"' not in editor
    assert 'class="editor editable"' in editor  # the curator edits the curated set in the editor


def test_finishing_from_the_page_makes_the_curation_the_gold(world):
    curation = started(world)
    client = client_for(world, "rev")
    state = curation_state(note=world.note)
    version = curation.version
    for unit in state.merge.disagreements:
        choice = {"choice": "source", "source": world.sets["ann1"].pk}
        response = client.post(curate_url(world) + f"units/{unit.key}/", {**choice, "version": version},
                               HTTP_HX_REQUEST="true")
        assert response.status_code == 200, response.content[:300]
        version += 1
    response = client.post(curate_url(world) + "finish/", {"version": version}, follow=True)
    assert "Curation finished" in response.content.decode()
    curation.refresh_from_db()
    assert curation.status == "gold"
    assert 'id="cur-finished"' in response.content.decode()


def test_the_text_of_the_note_is_escaped_in_the_disagreements(world):
    from annotations.formats.document import Document, Entity, Span
    from annotations.models import Note
    from annotations.services.corpus_import import text_hash
    from annotations.services.document_store import annotation_sets_write

    text = "Gave <script>alert(1)</script> then rash."
    note = Note.objects.create(project=world.project, external_id="xss", text=text, text_hash=text_hash(text))
    start = text.index("<script>")
    pairs = []
    for name in ("ann1", "ann2"):
        aset = AnnotationSet.objects.create(note=note, source_kind="user", user=world.users[name], source_name=name,
                                            status="submitted")
        ents = (Entity("T1", "Drug", (Span(start, start + 8),), "<script>"),) if name == "ann1" else ()
        pairs.append((aset, Document("xss", text, entities=ents, label="ade")))
    annotation_sets_write(pairs, origin="human")
    html = client_for(world, "rev").get(reverse("note-curate", args=[world.project.slug, note.pk])).content.decode()
    assert "<script>alert" not in html and "&lt;script&gt;" in html


def test_the_curation_page_of_a_dense_note_pages_its_disagreements_in_few_queries(world, django_assert_max_num_queries):
    from annotations.formats.document import Document, Entity, Span
    from annotations.models import Note
    from annotations.services.corpus_import import text_hash
    from annotations.services.document_store import annotation_sets_write

    words = [f"word{i:04d}" for i in range(1200)]
    text = " ".join(words)
    note = Note.objects.create(project=world.project, external_id="dense", text=text, text_hash=text_hash(text))
    pairs = []
    for shift, name in enumerate(("ann1", "ann2")):
        aset = AnnotationSet.objects.create(note=note, source_kind="user", user=world.users[name], source_name=name,
                                            status="submitted")
        ents = []
        for k in range(300):
            s = k * 40
            e = s + 8 - (shift if k % 3 == 0 else 0)
            ents.append(Entity(f"T{k + 1}", "Drug", (Span(s, e),), text[s:e]))
        pairs.append((aset, Document("dense", text, entities=tuple(ents), label="ade")))
    annotation_sets_write(pairs, origin="human")
    client = client_for(world, "rev")
    url = reverse("note-curate", args=[world.project.slug, note.pk])
    client.post(url + "start/")
    with django_assert_max_num_queries(40):
        response = client.get(url + "?page=2")
    html = response.content.decode()
    assert html.count('class="unit ') == 20  # a page of the 100 disagreements
    assert 'id="cur-next"' in html and 'id="cur-prev"' in html
