"""A sign-off is bound to what the reviewer saw, status changes go through the editor's services, an
overturn decides the note, and every door leaves the same audit record (issue 13 finding 4 and "one home
per rule"; issue 14 point 2)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from annotations.audit.models import AuditAction, AuditEvent
from annotations.models import AnnotationSet, Note, NoteLabel, ReviewStatus, SignOff
from annotations.services import editing, review
from annotations.services.document_store import annotation_sets_to_documents

pytestmark = pytest.mark.django_db


def set_url(world, aset=None):
    return reverse("api-annotation-set-detail", kwargs={"slug": "alpha", "pk": (aset or world.annotator_set).pk})


def sign_off_url(world):
    return reverse("api-note-sign-offs", kwargs={"slug": "alpha", "note_id": world.note_a1.pk})


def submitted(world, *, verdict: str = "ade") -> AnnotationSet:
    """The annotator's set of note a1 with a verdict, submitted through the editing services."""
    user = world.users["annotator"]
    aset = AnnotationSet.objects.get(pk=world.annotator_set.pk)
    v = editing.note_label_set(annotation_set=aset, expected_version=aset.version, value=verdict, evidence=None,
                               user=user).version
    editing.annotation_set_submit(annotation_set=aset, expected_version=v, user=user)
    Note.objects.filter(pk=world.note_a1.pk).update(flagged=True, ade_probability=0.97)
    return AnnotationSet.objects.get(pk=aset.pk)


def body_of(aset: AnnotationSet, **changes) -> dict:
    doc = annotation_sets_to_documents([aset])[aset.pk]
    body = {
        "version": aset.version,
        "entities": [{"id": e.id, "type": e.type, "fragments": [[s.start, s.end] for s in e.spans]}
                     for e in doc.entities],
        "relations": [], "attributes": [], "label": doc.label,
    }
    body.update(changes)
    return body


def test_a_content_change_to_a_submitted_set_returns_it_to_in_progress(world):
    aset = submitted(world, verdict="ade")
    response = world.client("annotator").put(set_url(world), body_of(aset, label="no_ade"), format="json")
    assert response.status_code == 200, response.content
    aset.refresh_from_db()
    assert aset.status == "in_progress"
    assert Note.objects.get(pk=world.note_a1.pk).review_status == ReviewStatus.IN_PROGRESS
    # ... so the reviewer's sign-off of what they saw is refused.
    response = world.client("reviewer").post(
        sign_off_url(world), {"decision": "confirm", "annotation_set": aset.pk, "version": aset.version - 1},
        format="json")
    assert response.status_code == 409


def test_putting_status_submitted_runs_the_same_checks_as_the_submit_button(world):
    aset = AnnotationSet.objects.get(pk=world.annotator_set.pk)
    response = world.client("annotator").put(set_url(world), body_of(aset, status="submitted"), format="json")
    assert response.status_code == 400 and response.json()["code"] == "no_verdict"
    aset.refresh_from_db()
    assert aset.status == "in_progress"  # nothing of the refused write stayed
    response = world.client("annotator").put(
        set_url(world), body_of(aset, status="submitted", label="ade"), format="json")
    assert response.status_code == 200, response.content
    assert AnnotationSet.objects.get(pk=aset.pk).status == "submitted"


def test_a_sign_off_of_a_set_changed_since_it_was_read_is_refused(world):
    aset = submitted(world)
    seen = aset.version
    AnnotationSet.objects.filter(pk=aset.pk).update(version=seen + 1)  # someone wrote after the reviewer read
    response = world.client("reviewer").post(
        sign_off_url(world), {"decision": "confirm", "annotation_set": aset.pk, "version": seen}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "conflict"
    assert not SignOff.objects.exists()
    assert AnnotationSet.objects.get(pk=aset.pk).status == "submitted"


def test_a_sign_off_must_name_the_set_and_version_reviewed(world):
    submitted(world)
    response = world.client("reviewer").post(sign_off_url(world), {"decision": "confirm"}, format="json")
    assert response.status_code == 400
    assert not SignOff.objects.exists()


def test_nobody_signs_off_their_own_submission(world):
    admin = world.users["admin"]
    aset = AnnotationSet.objects.create(note=world.note_a2, source_kind="user", user=admin, source_name="admin",
                                        status="in_progress")
    v = editing.note_label_set(annotation_set=aset, expected_version=aset.version, value="no_ade", evidence=None,
                               user=admin).version
    v = editing.annotation_set_submit(annotation_set=aset, expected_version=v, user=admin).version
    url = reverse("api-note-sign-offs", kwargs={"slug": "alpha", "note_id": world.note_a2.pk})
    response = world.client("admin").post(
        url, {"decision": "overturn", "comment": "mine", "annotation_set": aset.pk, "version": v}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "own_submission"
    assert AnnotationSet.objects.get(pk=aset.pk).status == "submitted"


def test_an_overturn_of_an_ade_submission_decides_no_ade_clears_the_flag_and_returns_the_set(world):
    aset = submitted(world, verdict="ade")
    response = world.client("reviewer").post(
        sign_off_url(world),
        {"decision": "overturn", "comment": "epistaxis predates warfarin", "annotation_set": aset.pk,
         "version": aset.version},
        format="json")
    assert response.status_code == 201, response.content
    assert response.json()["final_verdict"] == "no_ade" and response.json()["outcome"] == "returned"
    note = Note.objects.get(pk=world.note_a1.pk)
    assert (note.final_verdict, note.flagged, note.review_status) == ("no_ade", False, ReviewStatus.RETURNED)
    aset.refresh_from_db()
    assert aset.status == "in_progress"  # back to its annotator, never gold while it says ADE
    assert not AnnotationSet.objects.filter(note=note, source_kind="user", status="gold").exists()
    # The annotator sees why, corrects the verdict and submits again; the next sign-off makes it gold.
    client = Client()
    client.force_login(world.users["annotator"])
    page = client.get(reverse("note-detail", args=["alpha", note.pk])).content.decode()
    assert "epistaxis predates warfarin" in page and 'id="returned"' in page
    user = world.users["annotator"]
    v = editing.note_label_set(annotation_set=aset, expected_version=aset.version, value="no_ade", evidence=None,
                               user=user).version
    v = editing.annotation_set_submit(annotation_set=aset, expected_version=v, user=user).version
    sign_off = review.note_sign_off(note=note, user=world.users["reviewer"], decision="overturn", comment="agreed",
                                    annotation_set_id=aset.pk, version=v)
    assert sign_off.outcome == "gold"
    assert AnnotationSet.objects.get(pk=aset.pk).status == "gold"
    assert NoteLabel.objects.get(annotation_set=aset).value == "no_ade"
    assert Note.objects.get(pk=note.pk).review_status == ReviewStatus.SIGNED_OFF


def test_the_flagged_queue_and_the_lists_tell_confirmed_from_overturned(world):
    aset = submitted(world, verdict="ade")
    review.note_sign_off(note=world.note_a1, user=world.users["reviewer"], decision="confirm",
                         annotation_set_id=aset.pk, version=aset.version)
    client = Client()
    client.force_login(world.users["reviewer"])
    flagged = client.get(reverse("note-queue", args=["alpha"])).content.decode()
    assert f'href="/projects/alpha/notes/{world.note_a1.pk}/"' not in flagged  # decided: out of the flagged queue
    everything = client.get(reverse("note-queue", args=["alpha"]), {"all": "1", "status": "signed_off"})
    html = everything.content.decode()
    assert "ADE confirmed" in html and "ADE overturned" not in html


def test_a_decided_note_is_not_flagged_again_by_a_later_classification(world):
    from inference.models import Job
    from inference.serving.classification import classifications_write

    aset = submitted(world, verdict="ade")
    review.note_sign_off(note=world.note_a1, user=world.users["reviewer"], decision="overturn", comment="no",
                         annotation_set_id=aset.pk, version=aset.version)

    class Prediction:
        ade_probability, uncertainty = 0.99, 0.01

    job = Job.objects.create(project=world.alpha, kind="pre_annotate")
    notes = list(Note.objects.filter(pk__in=[world.note_a1.pk, world.note_a2.pk]))
    classifications_write(job=job, notes=notes, predictions={n.pk: Prediction() for n in notes})
    flags = dict(Note.objects.filter(pk__in=[n.pk for n in notes]).values_list("external_id", "flagged"))
    assert flags == {"a1": False, "a2": True}


def test_an_editor_edit_and_the_same_api_edit_leave_identical_audit_records(world):
    """The editing service writes the record, in the edit's transaction, whatever the door."""
    def last_change():
        event = AuditEvent.objects.filter(action=AuditAction.ANNOTATION_CHANGE).latest("pk")
        return event.actor_username, event.note_id, event.object_id, event.details

    user = world.users["annotator"]
    aset = AnnotationSet.objects.get(pk=world.annotator_set.pk)
    # Through the editor page (HTML form post) ...
    client = Client()
    client.force_login(user)
    url = reverse("note-edit", args=["alpha", world.note_a1.pk, "entity-create"])
    response = client.post(url, {"version": aset.version, "type": "Drug", "spans": "0-7", "set": aset.pk})
    assert response.status_code in (200, 302)
    html_record = last_change()
    v = AnnotationSet.objects.get(pk=aset.pk).version
    editing.edit_undo(annotation_set=aset, expected_version=v, user=user)
    # ... and through the API: the same edit.
    v = AnnotationSet.objects.get(pk=aset.pk).version
    api = reverse("api-entity-create", kwargs={"slug": "alpha", "pk": aset.pk})
    response = world.client("annotator").post(api, {"version": v, "type": "Drug", "fragments": [[0, 7]]},
                                               format="json")
    assert response.status_code == 201, response.content
    api_record = last_change()
    strip = lambda r: (r[0], r[1], r[2], {k: v for k, v in r[3].items() if not k.startswith("version")})  # noqa: E731
    assert strip(html_record) == strip(api_record)
    assert html_record[3]["operation"] == "entity_create"
    assert html_record[3]["after"]["entities"][0]["fragments"] == [[0, 7]]


def test_a_refused_edit_leaves_no_audit_record(world):
    before = AuditEvent.objects.filter(action=AuditAction.ANNOTATION_CHANGE).count()
    aset = AnnotationSet.objects.get(pk=world.annotator_set.pk)
    api = reverse("api-entity-create", kwargs={"slug": "alpha", "pk": aset.pk})
    stale = world.client("annotator").post(api, {"version": aset.version + 5, "type": "Drug", "fragments": [[0, 7]]},
                                            format="json")
    assert stale.status_code == 409
    assert AuditEvent.objects.filter(action=AuditAction.ANNOTATION_CHANGE).count() == before


def test_deciding_from_the_model_names_its_set_and_version_and_needs_a_reviewer(world):
    from annotations.errors import ApplicationError
    from annotations.models import Entity

    model_set = AnnotationSet.objects.create(note=world.note_a1, source_kind="model", status="pre_annotated",
                                             model_version=world.model_version, source_name="m1")
    Entity.objects.create(annotation_set=model_set, local_id="T1", type="Drug", fragments=[[11, 19]], start=11,
                          end=19, text="warfarin", origin="model", confidence=0.9)
    with pytest.raises(ApplicationError) as stale:
        review.note_decide_from_model(note=world.note_a1, user=world.users["reviewer"], decision="confirm",
                                      model_set_id=model_set.pk, version=model_set.version + 1)
    assert stale.value.code == "conflict"
    with pytest.raises(ApplicationError) as annotator:
        review.note_decide_from_model(note=world.note_a1, user=world.users["annotator"], decision="confirm",
                                      model_set_id=model_set.pk, version=model_set.version)
    assert annotator.value.code == "forbidden"
    with pytest.raises(ApplicationError) as not_model:
        review.note_decide_from_model(note=world.note_a1, user=world.users["reviewer"], decision="confirm",
                                      model_set_id=world.annotator_set.pk, version=1)
    assert not_model.value.code == "not_found"
    sign_off = review.note_decide_from_model(note=world.note_a1, user=world.users["reviewer"], decision="confirm",
                                             model_set_id=model_set.pk, version=model_set.version)
    gold = sign_off.annotation_set
    assert gold.status == "gold" and gold.prelabel_model_version_id == world.model_version.pk
    assert list(gold.entities.values_list("local_id", "decision")) == [("T1", "accepted")]
    assert AuditEvent.objects.filter(action=AuditAction.SIGN_OFF, details__from_model_set=model_set.pk).exists()
