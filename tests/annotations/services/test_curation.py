"""Curation on PostgreSQL (annotations.services.curation): a reviewer starts from what two annotators agree
on, decides each disagreement (one side, both, neither, edit) as undoable, audited edits of the curation
set, and finishes it: the note's gold is then the curated set, for training, risk and export alike."""

from __future__ import annotations

import json

import pytest

from annotations.audit.models import AuditEvent
from annotations.curation.selectors import curation_queue, curation_state, curation_survival
from annotations.errors import ApplicationError, ConflictError
from annotations.gold import gold_sets
from annotations.models import AnnotationSet, CurationDecision, Note
from annotations.services import editing
from annotations.services.curation import curation_decide, curation_finish, curation_reopen, curation_start
from annotations.services.document_store import annotation_sets_to_documents
from tests.annotations.curation_world import build_curation_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_curation_world()


def content(aset: AnnotationSet) -> dict:
    """What a set holds, as comparable text: entities, relations (by their arguments' text), attributes."""
    aset = AnnotationSet.objects.select_related("note").get(pk=aset.pk)
    doc = annotation_sets_to_documents([aset])[aset.pk]
    texts = {e.id: f"{e.type}:{e.text}" for e in doc.entities}
    return {
        "entities": sorted(texts.values()),
        "relations": sorted(f"{r.type}:{texts[r.arg1]}->{texts[r.arg2]}" for r in doc.relations),
        "attributes": sorted(f"{texts[a.target]}:{a.name}={a.value}" for a in doc.attributes),
        "label": doc.label,
    }


def unit_of(state, kind: str, text: str | None = None):
    for u in state.merge.disagreements:
        if u.kind == kind and (text is None or text in state.note.text[u.start:u.end]):
            return u
    raise AssertionError(f"no {kind} disagreement about {text!r}")


def decide(world, kind, text, choice, by="rev", source=None):
    state = curation_state(note=world.note)
    unit = unit_of(state, kind, text)
    return curation_decide(note=world.note, unit=unit.key, choice=choice, expected_version=state.curation.version,
                           by=world.users[by], source_set_id=world.sets[source].pk if source else None)


def test_only_reviewers_and_admins_curate_and_only_notes_with_two_submissions(world):
    with pytest.raises(ApplicationError) as refused:
        curation_start(note=world.note, by=world.users["ann1"])
    assert refused.value.code == "forbidden" and refused.value.status == 403
    with pytest.raises(ApplicationError) as refused:
        curation_start(note=world.single, by=world.users["rev"])
    assert refused.value.code == "too_few_sources"
    assert not AnnotationSet.objects.filter(source_kind="curation").exists()


def test_starting_makes_the_curation_set_with_what_both_agree_on(world):
    curation, created = curation_start(note=world.note, by=world.users["rev"])
    assert created and curation.user == world.users["rev"] and curation.status == "in_progress"
    assert content(curation) == {
        "entities": ["Adverse-Effect:rash", "Drug:Heparin", "Drug:warfarin"],
        "relations": [], "attributes": [], "label": None,
    }
    assert curation.curated_from == [{"set": world.sets[n].pk, "version": world.sets[n].version, "user": n}
                                     for n in ("ann1", "ann2")]
    again, created = curation_start(note=world.note, by=world.users["rev2"])
    assert not created and again.pk == curation.pk
    [record] = AuditEvent.objects.filter(details__operation="curation_start")
    assert record.actor == world.users["rev"] and record.note_id == world.note.pk
    assert "warfarin" not in json.dumps(record.details)  # structure, never the note's text
    state = curation_state(note=world.note)
    assert sorted(u.kind for u in state.merge.disagreements) == [
        "attribute", "relation", "span", "span", "type", "verdict"]


def test_each_decision_is_an_undoable_audited_edit_of_the_curation_set(world):
    curation, _ = curation_start(note=world.note, by=world.users["rev"])
    result = decide(world, "span", "gastric bleeding", "source", source="ann1")
    assert result.version == curation.version + 1
    assert "Adverse-Effect:gastric bleeding" in content(curation)["entities"]
    decision = CurationDecision.objects.get(annotation_set=curation)
    assert decision.choice == "source" and decision.source_set_id == world.sets["ann1"].pk
    assert decision.kind == "span" and len(decision.added) == 1
    record = AuditEvent.objects.filter(details__operation="curation_decide").latest("pk")
    assert record.details["curation"]["choice"] == "source"
    assert record.details["after"]["entities"][0]["fragments"]  # what changed, as offsets

    # A second decision on the same disagreement first takes out what the first added.
    decide(world, "span", "gastric bleeding", "source", source="ann2")
    entities = content(curation)["entities"]
    assert "Adverse-Effect:bleeding" in entities and "Adverse-Effect:gastric bleeding" not in entities
    decide(world, "span", "gastric bleeding", "all")
    assert {"Adverse-Effect:bleeding", "Adverse-Effect:gastric bleeding"} <= set(content(curation)["entities"])
    decide(world, "span", "gastric bleeding", "none")
    assert not {"Adverse-Effect:bleeding", "Adverse-Effect:gastric bleeding"} & set(content(curation)["entities"])

    # Undo (the editor's, the API's) takes back the content and the decision together.
    curation.refresh_from_db()
    editing.edit_undo(annotation_set=curation, expected_version=curation.version, user=world.users["rev"])
    assert {"Adverse-Effect:bleeding", "Adverse-Effect:gastric bleeding"} <= set(content(curation)["entities"])
    assert CurationDecision.objects.get(annotation_set=curation).choice == "all"


def test_a_stale_page_and_a_disagreement_that_no_longer_exists_are_refused(world):
    curation, _ = curation_start(note=world.note, by=world.users["rev"])
    state = curation_state(note=world.note)
    unit = unit_of(state, "type")
    curation_decide(note=world.note, unit=unit.key, choice="source", source_set_id=world.sets["ann1"].pk,
                    expected_version=curation.version, by=world.users["rev"])
    with pytest.raises(ConflictError):
        curation_decide(note=world.note, unit=unit.key, choice="none", expected_version=curation.version,
                        by=world.users["rev"])
    with pytest.raises(ApplicationError) as unknown:
        curation_decide(note=world.note, unit="s-0000000000000000", choice="none",
                        expected_version=curation.version + 1, by=world.users["rev"])
    assert unknown.value.code == "unknown_unit"
    with pytest.raises(ApplicationError) as conflict:
        curation_decide(note=world.note, unit=unit_of(state, "verdict").key, choice="all",
                        expected_version=curation.version + 1, by=world.users["rev"])
    assert conflict.value.code == "cannot_take_all"


def test_another_reviewer_may_not_change_someone_elses_curation_but_an_admin_may(world):
    curation_start(note=world.note, by=world.users["rev"])
    with pytest.raises(ApplicationError) as refused:
        decide(world, "type", None, "none", by="rev2")
    assert refused.value.code == "not_your_set"
    decide(world, "type", None, "none", by="boss")


def test_taking_a_relation_brings_its_arguments_and_attributes_are_replaced(world):
    curation, _ = curation_start(note=world.note, by=world.users["rev"])
    decide(world, "relation", None, "source", source="ann2")
    assert content(curation)["relations"] == ["Adverse-Effect:Drug:warfarin->Adverse-Effect:bleeding"]
    decide(world, "attribute", "rash", "source", source="ann1")
    assert content(curation)["attributes"] == ["Adverse-Effect:rash:Certainty=possible"]
    decide(world, "attribute", "rash", "source", source="ann2")
    assert content(curation)["attributes"] == []


def finish_everything(world, by="rev"):
    """Decide every disagreement (ann1's verdict, ann2's boundary, ann1's type, ann2's relation, ann1's
    attribute, no aspirin) and finish."""
    decide(world, "verdict", None, "source", source="ann1", by=by)
    decide(world, "span", "gastric bleeding", "source", source="ann2", by=by)
    decide(world, "type", None, "source", source="ann1", by=by)
    decide(world, "relation", None, "source", source="ann2", by=by)
    decide(world, "attribute", "rash", "source", source="ann1", by=by)
    decide(world, "span", "aspirin", "none", by=by)
    curation = AnnotationSet.objects.get(note=world.note, source_kind="curation")
    return curation_finish(note=world.note, expected_version=curation.version, by=world.users[by])


def test_finishing_needs_every_disagreement_decided_and_makes_the_curation_the_notes_gold(world):
    from inference.learning.selectors import training_examples

    curation, _ = curation_start(note=world.note, by=world.users["rev"])
    assert world.note.pk in gold_sets(project=world.project).awaiting_adjudication
    assert [row.note_id for row in curation_queue(project=world.project)] == [world.note.pk]
    decide(world, "verdict", None, "source", source="ann1")
    curation.refresh_from_db()
    with pytest.raises(ApplicationError) as refused:
        curation_finish(note=world.note, expected_version=curation.version, by=world.users["rev"])
    assert refused.value.code == "open_disagreements" and len(refused.value.details) == 5
    assert world.note.pk in gold_sets(project=world.project).awaiting_adjudication  # in progress: still waiting

    finished = finish_everything(world)
    assert finished.status == "gold"
    assert content(finished) == {
        "entities": ["Adverse-Effect:bleeding", "Adverse-Effect:rash", "Dose:5 mg daily", "Drug:Heparin",
                     "Drug:warfarin"],
        "relations": ["Adverse-Effect:Drug:warfarin->Adverse-Effect:bleeding"],
        "attributes": ["Adverse-Effect:rash:Certainty=possible"],
        "label": "ade",
    }
    selection = gold_sets(project=world.project)
    assert selection.set_ids()[world.note.pk] == finished.pk
    assert world.note.pk not in selection.awaiting_adjudication
    assert curation_queue(project=world.project) == []
    snapshot = training_examples(project=world.project, heldout_fraction=0.0)
    assert finished.pk in {e.annotation_set_id for e in snapshot.train}
    # finished is read-only, through every door, until reopened
    with pytest.raises(ApplicationError) as refused:
        editing.entity_delete(annotation_set=finished, expected_version=finished.version, entity_id="T1",
                              user=world.users["rev"])
    assert refused.value.code == "curation_finished"
    assert AuditEvent.objects.filter(details__operation="curation_finish").count() == 1
    assert Note.objects.get(pk=world.note.pk).review_status == "submitted"  # curating never touched it


def test_reopening_a_curation_puts_the_note_back_in_the_queue(world):
    curation_start(note=world.note, by=world.users["rev"])
    finished = finish_everything(world)
    with pytest.raises(ApplicationError):
        curation_reopen(note=world.note, expected_version=finished.version, by=world.users["rev2"])
    reopened = curation_reopen(note=world.note, expected_version=finished.version, by=world.users["rev"])
    assert reopened.status == "in_progress"
    assert world.note.pk in gold_sets(project=world.project).awaiting_adjudication
    assert curation_state(note=world.note).open_units == []  # the decisions stay


def test_a_curation_cannot_be_submitted_like_an_annotators_set(world):
    curation, _ = curation_start(note=world.note, by=world.users["rev"])
    with pytest.raises(ApplicationError) as refused:
        editing.annotation_set_submit(annotation_set=curation, expected_version=curation.version,
                                      user=world.users["rev"])
    assert refused.value.code == "curation_submit"


def test_survival_says_how_much_of_each_annotators_work_the_gold_kept(world):
    curation_start(note=world.note, by=world.users["rev"])
    finish_everything(world)
    rows = {r.annotator: r for r in curation_survival(project=world.project)}
    # gold: warfarin, 5 mg daily (Dose), bleeding, rash, Heparin; the relation to "bleeding"; verdict ade
    assert (rows["ann1"].entities_kept, rows["ann1"].entities) == (4, 5)
    assert (rows["ann2"].entities_kept, rows["ann2"].entities) == (4, 6)
    assert (rows["ann1"].relations_kept, rows["ann2"].relations_kept) == (0, 1)
    assert (rows["ann1"].verdicts_kept, rows["ann2"].verdicts_kept) == (1, 0)
    assert rows["ann1"].notes == rows["ann2"].notes == 1


def test_the_per_annotator_export_holds_every_annotators_set_and_the_gold(world, tmp_path):
    import zipfile

    from annotations.services.corpus_export import corpus_export

    curation_start(note=world.note, by=world.users["rev"])
    finish_everything(world)
    out = tmp_path / "all.zip"
    written = corpus_export(project=world.project, out=out, fmt="brat", source="annotators")
    names = set(zipfile.ZipFile(out).namelist())
    assert {"annotators/ann1/curated-note.ann", "annotators/ann2/curated-note.ann", "gold/curated-note.ann",
            "annotators/ann1/single-note.ann", "gold/single-note.ann", "annotation.conf"} <= names
    assert written == 5
    gold_ann = zipfile.ZipFile(out).read("gold/curated-note.ann").decode()
    assert "\tDose " in gold_ann and "gastric" not in gold_ann

    jsonl = tmp_path / "all.jsonl"
    corpus_export(project=world.project, out=jsonl, fmt="jsonl", source="annotators")
    lines = [json.loads(line) for line in jsonl.read_text().splitlines()]
    sources = [(d["id"], d["metadata"]["annotation_source"]["kind"],
                d["metadata"]["annotation_source"].get("annotator")) for d in lines]
    assert sources == [("curated-note", "annotator", "ann1"), ("curated-note", "annotator", "ann2"),
                       ("curated-note", "gold", None), ("single-note", "annotator", "ann1"),
                       ("single-note", "gold", None)]
    gold = lines[2]["metadata"]["annotation_source"]
    assert gold["source_kind"] == "curation" and [s["user"] for s in gold["curated_from"]] == ["ann1", "ann2"]


def test_the_curator_edits_the_curation_set_by_hand_like_any_set_and_the_note_stays_submitted(world):
    curation, _ = curation_start(note=world.note, by=world.users["rev"])
    start = world.note.text.index("aspirin")
    result = editing.entity_create(annotation_set=curation, expected_version=curation.version, type="Drug",
                                   spans=[(start, start + 7)], user=world.users["rev"])
    assert "Drug:aspirin" in content(curation)["entities"]
    assert Note.objects.get(pk=world.note.pk).review_status == "submitted"
    with pytest.raises(ApplicationError) as refused:  # an annotator may not touch it
        editing.entity_delete(annotation_set=curation, expected_version=result.version, entity_id=result.selected,
                              user=world.users["ann1"])
    assert refused.value.code == "forbidden"


def test_a_source_that_changes_after_the_start_marks_the_curation_stale(world):
    curation_start(note=world.note, by=world.users["rev"])
    assert not curation_state(note=world.note).stale
    aset = world.sets["ann2"]
    editing.annotation_set_reopen(annotation_set=aset, expected_version=aset.version, user=world.users["ann2"])
    state = curation_state(note=world.note)
    assert state.stale and [s.user.username for s in state.sources] == ["ann1"]
    with pytest.raises(ApplicationError) as refused:
        curation_finish(note=world.note, expected_version=state.curation.version, by=world.users["rev"])
    assert refused.value.code == "too_few_sources"
