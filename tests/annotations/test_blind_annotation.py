"""Blind annotation (issue 17): the one visibility rule (annotations.permissions.annotation_set_visibility)
tried through every door that shows a note's sets or tells what someone else said: the editor page (its set
switcher, `?set=`, its panels, what an own set starts from, "Correct these"), the API's annotation-set list
and detail and sign-off list and "my set", the review queue's filters on annotations and annotators and its
flag reasons, the agreement page, CSV and API, the dashboard's link to them. Annotators are blind;
reviewers and admins see everything; without blind mode nothing changes."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from annotations.formats.document import Document, Entity, Span
from annotations.models import AnnotationSet, Note, NoteLabel, Project, ProjectMembership, SignOff
from annotations.permissions import annotation_set_visibility, annotation_set_visible
from annotations.services.corpus_import import text_hash
from annotations.services.document_store import annotation_sets_write
from annotations.services.projects import project_create

pytestmark = pytest.mark.django_db

TEXT = "Rash after amoxicillin; stopped."


def _entity(local_id, type_, start, end):
    return Entity(local_id, type_, (Span(start, end),), TEXT[start:end])


def _set(note, **fields):
    entities = fields.pop("entities")
    aset = AnnotationSet.objects.create(note=note, **fields)
    annotation_sets_write([(aset, Document(id=note.external_id, text=TEXT, entities=entities))],
                          origin="model" if fields["source_kind"] == "model" else "human")
    return aset


@pytest.fixture
def blind(django_user_model):
    """A blind project: ann2 submitted (an ADE verdict, a Dose only they marked) and was returned by the
    reviewer; the model pre-annotated the note; an import holds someone's earlier annotations."""
    from inference.models import ModelVersion

    users = {n: django_user_model.objects.create_user(n, password="pw-" + n)
             for n in ("admin", "rev", "ann1", "ann2")}
    users["admin"].is_staff = True
    project = project_create(by=users["admin"], name="Blind", template="ade")
    for name, role in (("rev", "reviewer"), ("ann1", "annotator"), ("ann2", "annotator")):
        ProjectMembership.objects.create(project=project, user=users[name], role=role)
    Project.objects.filter(pk=project.pk).update(blind_annotation=True, annotators_per_note=2)
    note = Note.objects.create(project=project, external_id="n1", text=TEXT, text_hash=text_hash(TEXT),
                               flagged=True, ade_probability=0.93)
    version = ModelVersion.objects.create(project=project, name="m1", path="/nonexistent", is_active=True)
    model = _set(note, source_kind="model", model_version=version, source_name="m1", status="pre_annotated",
                 entities=(_entity("T1", "Drug", 11, 22),))
    imported = _set(note, source_kind="import", source_name="earlier-team", status="in_progress",
                    entities=(_entity("T1", "Adverse-Effect", 0, 4),))
    theirs = _set(note, source_kind="user", user=users["ann2"], source_name="ann2", status="submitted",
                  entities=(_entity("T1", "Dose", 24, 31),))
    NoteLabel.objects.create(annotation_set=theirs, value="ade", labelled_by=users["ann2"])
    SignOff.objects.create(note=note, annotation_set=theirs, user=users["rev"], decision="overturn",
                           comment="not an ADE", annotation_set_version=theirs.version, final_verdict="no_ade",
                           outcome="returned")
    project.refresh_from_db()
    return {"project": project, "users": users, "note": note, "model": model, "import": imported, "theirs": theirs}


def _web(w, name):
    client = Client()
    client.force_login(w["users"][name])
    return client


def _api(w, name):
    client = APIClient()
    client.force_authenticate(w["users"][name])
    return client


def _note_url(w, query=""):
    return reverse("note-detail", args=[w["project"].slug, w["note"].pk]) + query


def _set_ids_on_page(content: bytes) -> set[int]:
    import re

    return {int(m) for m in re.findall(rb'<li data-set="(\d+)"', content)}


def _unblind(w):
    Project.objects.filter(pk=w["project"].pk).update(blind_annotation=False, blind_prelabels=False)


# --- the rule ------------------------------------------------------------------------------------------------


def test_the_rule_hides_other_peoples_imported_and_optionally_the_models_sets_from_annotators(blind):
    w = blind
    project, users = w["project"], w["users"]
    visible = set(AnnotationSet.objects.filter(annotation_set_visibility(user=users["ann1"], project=project))
                  .values_list("pk", flat=True))
    assert visible == {w["model"].pk}
    assert annotation_set_visibility(user=users["rev"], project=project) is None
    assert annotation_set_visibility(user=users["admin"], project=project) is None
    assert annotation_set_visible(user=users["ann2"], annotation_set=w["theirs"])
    assert not annotation_set_visible(user=users["ann1"], annotation_set=w["theirs"])
    assert not annotation_set_visible(user=users["ann1"], annotation_set=w["import"])
    project.blind_prelabels = True
    assert not annotation_set_visible(user=users["ann1"], annotation_set=w["model"], project=project)
    assert not AnnotationSet.objects.filter(annotation_set_visibility(user=users["ann1"], project=project)).exists()
    project.blind_annotation = project.blind_prelabels = False
    assert annotation_set_visibility(user=users["ann1"], project=project) is None


# --- the editor ----------------------------------------------------------------------------------------------


def test_the_editor_shows_an_annotator_only_their_own_and_the_models_sets(blind):
    w = blind
    page = _web(w, "ann1").get(_note_url(w))
    assert page.status_code == 200
    assert b'data-id="T1"' in page.content  # the model's pre-label, which the annotator's set starts from
    assert _set_ids_on_page(page.content) == {w["model"].pk}
    assert b"ann2" not in page.content and b"earlier-team" not in page.content
    for hidden in ("theirs", "import"):
        assert _web(w, "ann1").get(_note_url(w, f"?set={w[hidden].pk}")).status_code == 404
        panel = reverse("note-entity", args=[w["project"].slug, w["note"].pk, "T1"]) + f"?set={w[hidden].pk}"
        assert _web(w, "ann1").get(panel, HTTP_HX_REQUEST="true").status_code == 404
    assert _web(w, "ann1").get(_note_url(w, f"?set={w['model'].pk}")).status_code == 200
    # "Correct these" cannot copy what the annotator may not see.
    correct = reverse("note-correct", args=[w["project"].slug, w["note"].pk])
    assert _web(w, "ann1").post(correct, {"source": w["import"].pk}).status_code == 404
    assert not AnnotationSet.objects.filter(user=w["users"]["ann1"]).exists()


@pytest.mark.parametrize("role", ["rev", "admin"])
def test_reviewers_and_admins_see_every_set_in_the_editor(blind, role):
    w = blind
    page = _web(w, role).get(_note_url(w, "?mine=1"))
    assert _set_ids_on_page(page.content) == {w["model"].pk, w["import"].pk, w["theirs"].pk}
    assert _web(w, role).get(_note_url(w, f"?set={w['theirs'].pk}")).status_code == 200


def test_without_blind_mode_annotators_see_every_set(blind):
    w = blind
    _unblind(w)
    page = _web(w, "ann1").get(_note_url(w))
    assert _set_ids_on_page(page.content) == {w["model"].pk, w["import"].pk, w["theirs"].pk}
    assert _web(w, "ann1").get(_note_url(w, f"?set={w['theirs'].pk}")).status_code == 200


def test_blind_prelabels_start_an_annotators_set_empty_and_hide_the_models_outputs(blind):
    w = blind
    Project.objects.filter(pk=w["project"].pk).update(blind_prelabels=True)
    page = _web(w, "ann1").get(_note_url(w))
    assert page.status_code == 200
    assert _set_ids_on_page(page.content) == set()
    assert b'data-id="T1"' not in page.content  # the model's amoxicillin pre-label is not drawn
    assert b"ADE p=" not in page.content and b'class="flag"' not in page.content
    assert _web(w, "ann1").get(_note_url(w, f"?set={w['model'].pk}")).status_code == 404
    model_detail = reverse("api-annotation-set-detail", kwargs={"slug": w["project"].slug, "pk": w["model"].pk})
    assert _api(w, "ann1").get(model_detail).status_code == 404
    assert _api(w, "rev").get(model_detail).status_code == 200
    # The first edit creates the set empty (no pre-labels copied), as does the API's "my set".
    edit = reverse("note-edit", args=[w["project"].slug, w["note"].pk, "entity-create"])
    response = _web(w, "ann1").post(edit, {"version": 0, "type": "Adverse-Effect", "spans": "0-4"})
    assert response.status_code == 302
    own = AnnotationSet.objects.get(user=w["users"]["ann1"])
    assert list(own.entities.values_list("type", "origin")) == [("Adverse-Effect", "human")]
    assert own.prelabel_model_version_id is None
    api = _api(w, "ann2")
    AnnotationSet.objects.filter(pk=w["theirs"].pk).delete()
    made = api.post(reverse("api-note-annotation-sets", kwargs={"slug": w["project"].slug, "note_id": w["note"].pk}))
    assert made.status_code == 200
    assert not AnnotationSet.objects.get(pk=made.json()["id"]).entities.exists()
    # A reviewer still starts from the model's pre-labels: they see everything.
    rev_set = _api(w, "rev").post(
        reverse("api-note-annotation-sets", kwargs={"slug": w["project"].slug, "note_id": w["note"].pk}))
    assert AnnotationSet.objects.get(pk=rev_set.json()["id"]).entities.filter(origin="model").exists()


# --- the API ---------------------------------------------------------------------------------------------------


def test_the_api_lists_and_shows_an_annotator_only_what_they_may_see(blind):
    w = blind
    slug, note = w["project"].slug, w["note"].pk
    listed = _api(w, "ann1").get(reverse("api-note-annotation-sets", kwargs={"slug": slug, "note_id": note}))
    assert {s["id"] for s in listed.json()} == {w["model"].pk}
    for hidden in ("theirs", "import"):
        detail = reverse("api-annotation-set-detail", kwargs={"slug": slug, "pk": w[hidden].pk})
        assert _api(w, "ann1").get(detail).status_code == 404
    sign_offs = _api(w, "ann1").get(reverse("api-note-sign-offs", kwargs={"slug": slug, "note_id": note}))
    assert sign_offs.status_code == 200 and sign_offs.json() == []
    # The author sees the reviewer's verdict on their own submission; reviewers see all of it.
    assert len(_api(w, "ann2").get(reverse("api-note-sign-offs", kwargs={"slug": slug, "note_id": note})).json()) == 1
    everything = _api(w, "rev").get(reverse("api-note-annotation-sets", kwargs={"slug": slug, "note_id": note}))
    assert {s["id"] for s in everything.json()} == {w["model"].pk, w["import"].pk, w["theirs"].pk}
    assert _api(w, "admin").get(
        reverse("api-annotation-set-detail", kwargs={"slug": slug, "pk": w["theirs"].pk})).status_code == 200


# --- the queue, agreement, dashboard ---------------------------------------------------------------------------


def _queue_rows(client, w, **filters) -> bytes:
    return client.get(reverse("note-queue", args=[w["project"].slug]), {"all": "1", **filters}).content


def test_the_queues_filters_do_not_reveal_another_annotators_work(blind):
    w = blind
    for filters in ({"annotator": "ann2"}, {"entity_type": "Dose"}):
        assert b'href="/projects/blind/notes/' not in _queue_rows(_web(w, "ann1"), w, **filters), filters
        assert b">n1<" in _queue_rows(_web(w, "rev"), w, **filters), filters
    # What the annotator may see still filters: the model's Drug pre-label.
    assert b">n1<" in _queue_rows(_web(w, "ann1"), w, entity_type="Drug")


def test_blind_prelabels_hide_the_queues_flag_reasons_from_annotators(blind, monkeypatch):
    from annotations import selectors

    w = blind
    Project.objects.filter(pk=w["project"].pk).update(blind_prelabels=True)
    asked = []
    real = selectors.note_flag_reasons
    monkeypatch.setattr(selectors, "note_flag_reasons", lambda **kw: asked.append(1) or real(**kw))
    _queue_rows(_web(w, "ann1"), w)
    assert asked == []
    _queue_rows(_web(w, "rev"), w)
    assert asked == [1]


def test_agreement_figures_are_for_reviewers_and_admins_in_a_blind_project(blind):
    w = blind
    slug = w["project"].slug
    doors = (reverse("project-agreement", args=[slug]), reverse("project-agreement-csv", args=[slug]))
    for url in doors:
        assert _web(w, "ann1").get(url).status_code == 403
        assert _web(w, "rev").get(url).status_code == 200
    api = reverse("api-project-agreement", kwargs={"slug": slug})
    refused = _api(w, "ann1").get(api)
    assert refused.status_code == 403 and refused.json()["code"] == "blind_annotation"
    assert _api(w, "admin").get(api).status_code == 200
    dashboard = reverse("project-dashboard", args=[slug])
    assert b'id="agreement-link"' not in _web(w, "ann1").get(dashboard).content
    assert b'id="agreement-link"' in _web(w, "rev").get(dashboard).content
    _unblind(w)
    assert _web(w, "ann1").get(doors[0]).status_code == 200
    assert _api(w, "ann1").get(api).status_code == 200
