"""A small pharmacovigilance world for the service, view and API tests: a project in the demo schema, members in
every role (and an outsider), one patient's notes, one of them confirmed by a reviewer's sign-off of an
annotator's submission (the real services), and helpers to make more."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.contrib.auth import get_user_model

from annotations.demo_corpus import ANNOTATION_CONF, VISUAL_CONF
from annotations.formats.brat_conf import load_schema
from annotations.formats.document import Attribute, Document, Entity, Relation, Span
from annotations.models import AnnotationSet, Note, Patient, Project, ProjectMembership
from annotations.services import review
from annotations.services.corpus_import import text_hash
from annotations.services.document_store import annotation_sets_write
from annotations.services.schemas import project_schema_set

PASSWORD = "pw-for-tests"
START = datetime(2026, 3, 1, 8, tzinfo=UTC)
TEXT = ("Admitted with worsening symptoms.\nMedications: warfarin 5 mg daily, metformin 500 mg.\nOn day 4 the "
        "patient developed gastrointestinal bleeding, considered probably caused by warfarin; it was stopped and "
        "symptoms resolved.\nNo rash.\nPlan: review in clinic in two weeks.\n")
FOLLOW_UP = "Follow-up: warfarin was restarted and the gastrointestinal bleeding recurred; melaena noted.\n"


def span(text: str, word: str, nth: int = 0) -> Span:
    start = -1
    for _ in range(nth + 1):
        start = text.index(word, start + 1)
    return Span(start, start + len(word))


def ade_document(external_id: str, text: str = TEXT) -> Document:
    """The demo schema's annotations of TEXT: warfarin with its dose, metformin, the bleeding (certainty
    probable) related to the second warfarin, and a negated rash."""
    def e(id_, type_, word, nth=0):
        s = span(text, word, nth)
        return Entity(id_, type_, (s,), text[s.start:s.end])

    return Document(
        id=external_id, text=text, label="ade",
        entities=(e("T1", "Drug", "warfarin"), e("T2", "Dose", "5 mg daily"), e("T3", "Drug", "metformin"),
                  e("T4", "Adverse-Effect", "gastrointestinal bleeding"), e("T5", "Drug", "warfarin", 1),
                  e("T6", "Adverse-Effect", "rash")),
        relations=(Relation("R1", "Dose", "T2", "T1"), Relation("R2", "Adverse-Effect", "T5", "T4")),
        attributes=(Attribute("A1", "Certainty", "T4", "probable"), Attribute("A2", "Negation", "T6")),
    )


@dataclass
class PvWorld:
    project: Project
    other: Project
    users: dict
    patient: Patient
    confirmed: Note  # signed off, ADE confirmed: a case opens from it
    follow_up: Note  # the same patient, later; gold imported
    unconfirmed: Note  # the same patient, never decided
    stranger: Note  # another patient's note


def note(project, external_id: str, text: str, *, patient=None, days: int = 0) -> Note:
    return Note.objects.create(project=project, patient=patient, external_id=external_id, text=text,
                               text_hash=text_hash(text), timestamp=START + timedelta(days=days),
                               author_role="physician", note_type="discharge summary")


def confirm(note_: Note, document: Document, *, annotator, reviewer) -> AnnotationSet:
    """The annotator submits `document` on the note and the reviewer confirms it (annotations.services.review)."""
    aset = AnnotationSet.objects.create(note=note_, source_kind="user", user=annotator,
                                        source_name=annotator.username, status="submitted", submitted_at=START)
    annotation_sets_write([(aset, document)], origin="human")
    note_.review_status = "submitted"
    note_.save(update_fields=["review_status"])
    review.note_sign_off(note=note_, user=reviewer, decision="confirm", annotation_set_id=aset.pk,
                         version=aset.version)
    aset.refresh_from_db()
    note_.refresh_from_db()
    return aset


def gold_import(note_: Note, document: Document) -> AnnotationSet:
    aset = AnnotationSet.objects.create(note=note_, source_kind="import", source_name="gold", status="gold")
    annotation_sets_write([(aset, document)], origin="import")
    return aset


def build_world() -> PvWorld:
    User = get_user_model()
    project = Project.objects.create(slug="pv", name="Drug safety")
    other = Project.objects.create(slug="elsewhere", name="Elsewhere")
    project_schema_set(project=project, schema=load_schema(ANNOTATION_CONF, VISUAL_CONF), inferred=False)
    users = {}
    for name, role in (("admin", "admin"), ("reviewer", "reviewer"), ("reviewer2", "reviewer"),
                       ("annotator", "annotator"), ("outsider", None)):
        users[name] = User.objects.create_user(name, password=PASSWORD)
        if role:
            ProjectMembership.objects.create(project=project, user=users[name], role=role)
    ProjectMembership.objects.create(project=other, user=users["outsider"], role="admin")
    patient = Patient.objects.create(project=project, external_id="patient-7", metadata={"sex": "F", "age": 71})
    confirmed = note(project, "note-ade", TEXT, patient=patient, days=3)
    confirm(confirmed, ade_document("note-ade"), annotator=users["annotator"], reviewer=users["reviewer"])
    follow_up = note(project, "note-follow-up", FOLLOW_UP, patient=patient, days=20)
    s = lambda w, nth=0: span(FOLLOW_UP, w, nth)  # noqa: E731
    gold_import(follow_up, Document(
        id="note-follow-up", text=FOLLOW_UP, label="ade",
        entities=(Entity("T1", "Drug", (s("warfarin"),), "warfarin"),
                  Entity("T2", "Adverse-Effect", (s("gastrointestinal bleeding"),), "gastrointestinal bleeding"),
                  Entity("T3", "Adverse-Effect", (s("melaena"),), "melaena")),
        relations=(Relation("R1", "Adverse-Effect", "T1", "T2"), Relation("R2", "Adverse-Effect", "T1", "T3")),
    ))
    unconfirmed = note(project, "note-open", "Routine review, stable on metformin.\n", patient=patient, days=1)
    stranger_patient = Patient.objects.create(project=project, external_id="patient-9")
    stranger = note(project, "note-other", "Amoxicillin rash on day three.\n", patient=stranger_patient, days=2)
    return PvWorld(project, other, users, patient, confirmed, follow_up, unconfirmed, stranger)
