"""The active-learning loop end to end on a tiny model: corrections submitted through the API queue a
retrain, the new version is judged on held-out gold and promoted (or refused), a promoted version
pre-annotates the unreviewed notes, and the annotation queue is re-ranked from its scores.

Celery runs eagerly here, so every step runs when the transaction before it commits, as a worker would.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from annotations.errors import ApplicationError
from annotations.models import AnnotationSet, AnnotationSetStatus, Note, ReviewStatus
from annotations.services import editing
from annotations.services.review import note_sign_off
from inference.learning.retraining import retrain_maybe, retrain_request
from inference.learning.selectors import annotation_queue, is_heldout, training_examples
from inference.models import GateOutcome, Job, JobState, ModelVersion
from inference.models.learning import NoteScore

pytestmark = pytest.mark.django_db(transaction=True)


def queue_order(project) -> list[str]:
    return [n.external_id for n in annotation_queue(project=project, limit=1000)]


def annotate_through_the_api(loop, note: Note, role: str = "annotator") -> None:
    """What an annotator does: open the note (own set from the model's pre-labels), replace the
    annotations with the right ones, give the verdict, submit."""
    client = loop.client(role)
    opened = client.post(reverse("api-note-annotation-sets", kwargs={"slug": loop.project.slug, "note_id": note.pk}))
    assert opened.status_code == 200, opened.content
    aset = opened.json()
    doc = loop.truth[note.external_id]
    body = {
        "version": aset["version"],
        "entities": [{"id": e.id, "type": e.type, "fragments": [[e.start, e.end]]} for e in doc.entities],
        "relations": [{"id": r.id, "type": r.type, "arg1": r.arg1, "arg2": r.arg2} for r in doc.relations],
        "label": doc.label,
    }
    url = reverse("api-annotation-set-detail", kwargs={"slug": loop.project.slug, "pk": aset["id"]})
    put = client.put(url, body, format="json")
    assert put.status_code == 200, put.content
    submit = reverse("api-submit", kwargs={"slug": loop.project.slug, "pk": aset["id"]})
    done = client.post(submit, {"version": put.json()["version"]}, format="json")
    assert done.status_code == 200, done.content


def test_corrections_queue_a_retrain_that_is_promoted_and_reorders_the_queue(loop):
    project = loop.project
    assert loop.v1.gate_outcome == GateOutcome.PROMOTED and loop.v1.gate["reason"] == "first model of the project"
    before = queue_order(project)
    assert sorted(before) == sorted(loop.truth)  # every unreviewed note is queued
    assert set(NoteScore.objects.filter(project=project).values_list("model_version__name", flat=True)) == {"v1"}

    # The annotator works down the queue; held-out notes are gold too, but only training notes count
    # towards the retrain policy (3 here).
    submitted_for_training = 0
    for external_id in before:
        note = Note.objects.get(project=project, external_id=external_id)
        annotate_through_the_api(loop, note)
        if not is_heldout(project_id=project.pk, external_id=external_id, fraction=0.25):
            submitted_for_training += 1
        if submitted_for_training == 3:
            break
        assert Job.objects.filter(project=project, kind="train").count() == 1  # v1's only

    train = Job.objects.filter(project=project, kind="train").exclude(pk=loop.v1.training_job_id).get()
    assert train.state == JobState.SUCCEEDED, train.message
    assert "3 new gold notes" in train.parameters["reason"]
    v2 = ModelVersion.objects.get(project=project, training_job=train)
    assert v2.name == "v2" and v2.parent == loop.v1
    assert v2.gate_outcome == GateOutcome.PROMOTED and v2.is_active
    assert not ModelVersion.objects.get(pk=loop.v1.pk).is_active
    gate = v2.gate
    assert gate["metric"] == "ner_macro_f1_strict" and gate["incumbent_version"] == "v1"
    assert gate["candidate"] >= gate["incumbent"] and gate["candidate"] == v2.metrics["ner_macro_f1_strict"]
    assert gate["candidate"] > 0.8  # the loop really learnt the toy task from the gold
    snapshot = training_examples(project=project, heldout_fraction=0.25)
    assert set(v2.training_notes.values_list("pk", flat=True)) == {e.note_id for e in snapshot.train}
    assert set(v2.heldout_notes.values_list("pk", flat=True)) == {e.note_id for e in snapshot.heldout}
    assert not set(v2.training_notes.values_list("pk", flat=True)) & set(v2.heldout_notes.values_list("pk", flat=True))

    # After the promotion the unreviewed notes were pre-annotated and scored by v2 and re-ranked.
    follow_up = Job.objects.get(project=project, kind="pre_annotate", model_version=v2)
    assert follow_up.state == JobState.SUCCEEDED and follow_up.parameters["selection"] == "unlabelled"
    unreviewed = Note.objects.filter(project=project, review_status=ReviewStatus.UNREVIEWED, external_id__in=loop.truth)
    assert AnnotationSet.objects.filter(model_version=v2, note__in=unreviewed).count() == unreviewed.count()
    assert set(NoteScore.objects.filter(note__in=unreviewed).values_list("model_version__name", flat=True)) == {"v2"}
    after = queue_order(project)
    assert sorted(after) == sorted(n.external_id for n in unreviewed)
    assert after != [e for e in before if e in set(after)]  # v2's uncertainty orders the notes differently
    ranks = list(NoteScore.objects.filter(note__in=unreviewed).order_by("rank").values_list("rank", flat=True))
    assert ranks == list(range(1, len(ranks) + 1))

    # Provenance of a submitted set: the model whose pre-labels it started from.
    submitted = AnnotationSet.objects.filter(note__project=project, source_kind="user", status="submitted")
    assert submitted.count() >= 3
    assert set(submitted.values_list("prelabel_model_version__name", flat=True)) == {"v1"}

    # An admin's retrain from the base encoder with one epoch is worse on the held-out notes: refused.
    refused_job = retrain_request(project=project, start_from="base", epochs=1, reason="test")
    refused_job.refresh_from_db()
    assert refused_job.state == JobState.SUCCEEDED, refused_job.message
    v3 = ModelVersion.objects.get(training_job=refused_job)
    assert v3.gate_outcome == GateOutcome.REFUSED and not v3.is_active and v3.parent == v2
    assert v3.gate["candidate"] < v3.gate["incumbent"] and "worse" in v3.gate["reason"]
    assert "refused" in refused_job.message
    assert ModelVersion.objects.get(project=project, is_active=True) == v2
    assert not Job.objects.filter(kind="pre_annotate", model_version=v3).exists()
    assert queue_order(project) == after  # a refused version changes nothing for annotators


def test_a_retrain_is_not_queued_before_enough_new_gold_nor_while_one_is_running(loop):
    project = loop.project
    assert retrain_maybe(project_id=project.pk) is None  # nothing new since v1 was trained
    job = loop.v1.training_job
    Job.objects.filter(pk=job.pk).update(state=JobState.RUNNING)
    with pytest.raises(ApplicationError) as busy:
        retrain_request(project=project)
    assert busy.value.code == "training_busy"


def test_a_double_annotated_note_trains_only_once_a_reviewer_has_signed_it_off(loop):
    project = loop.project
    # A training note (the split depends on the project's id) that describes an ADE, so that the reviewer's
    # "confirm" agrees with the annotators' verdict (a disagreeing sign-off returns the set instead).
    note = next(n for n in loop.unreviewed if loop.truth[n.external_id].label == "ade"
                and not is_heldout(project_id=project.pk, external_id=n.external_id, fraction=0.25))
    for role in ("annotator", "annotator2"):
        annotate_through_the_api(loop, note, role)
    snapshot = training_examples(project=project, heldout_fraction=0.25)
    assert note.pk in snapshot.awaiting_adjudication
    assert note.pk not in {e.note_id for e in snapshot.train}
    submitted = AnnotationSet.objects.filter(note=note, status=AnnotationSetStatus.SUBMITTED).latest("submitted_at")
    note_sign_off(note=note, user=loop.users["reviewer"], decision="confirm", comment="checked",
                  annotation_set_id=submitted.pk, version=submitted.version)
    snapshot = training_examples(project=project, heldout_fraction=0.25)
    assert note.pk not in snapshot.awaiting_adjudication
    gold = next(e for e in snapshot.train if e.note_id == note.pk)
    assert AnnotationSet.objects.get(pk=gold.annotation_set_id).status == AnnotationSetStatus.GOLD


def test_time_spent_and_decisions_are_recorded_on_the_annotators_set(loop):
    note = loop.unreviewed[0]
    user = loop.users["annotator"]
    aset = editing.annotation_set_for_editor(note=note, user=user)
    assert aset.prelabel_model_version == loop.v1
    AnnotationSet.objects.filter(pk=aset.pk).update(updated_at=aset.updated_at.replace(year=2000))
    aset.refresh_from_db()
    result = editing.entity_create(annotation_set=aset, expected_version=aset.version, type="Drug",
                                   spans=[(0, 4)], user=user)
    stored = AnnotationSet.objects.get(pk=aset.pk)
    assert stored.seconds_spent == editing.IDLE_CAP_S  # an idle gap counts as the cap, not 26 years
    entity = stored.entities.get(local_id=result.selected)
    assert entity.decision == "added" and entity.decided_at is not None


def test_an_encoder_only_active_model_is_replaced_and_the_gate_says_why(loop, loop_encoder):
    ModelVersion.objects.filter(pk=loop.v1.pk).update(is_active=False)
    scorer = ModelVersion.objects.create(project=loop.project, name="scorer", path=str(loop_encoder), is_active=True)
    job = retrain_request(project=loop.project, epochs=1)
    job.refresh_from_db()
    version = ModelVersion.objects.get(training_job=job)
    assert version.gate_outcome == GateOutcome.PROMOTED and version.parent == scorer
    assert "scorer is no NER/RE pipeline" in version.gate["reason"] and version.gate["incumbent"] is None
