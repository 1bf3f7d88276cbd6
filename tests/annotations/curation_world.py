"""A note two annotators submitted with five differences (a verdict, a boundary, a type, an attribute, an
entity only one of them has), a reviewer to curate it, and helpers; shared by the curation tests of the
services, the views, the API and the browser."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model

from annotations.demo_corpus import ANNOTATION_CONF, VISUAL_CONF
from annotations.formats.brat_conf import load_schema
from annotations.formats.document import Attribute, Document, Entity, Relation, Span
from annotations.models import AnnotationSet, Note, Project, ProjectMembership
from annotations.services.corpus_import import text_hash
from annotations.services.document_store import annotation_sets_write
from annotations.services.schemas import project_schema_set

PASSWORD = "pw-for-curation-tests"
TEXT = (
    "Pt started warfarin 5 mg daily on admission.\n"
    "On day 3 developed gastric bleeding and a rash.\n"
    "Heparin was held; aspirin continued.\n"
)


def ent(local_id: str, type_: str, word: str, nth: int = 0) -> Entity:
    start = -1
    for _ in range(nth + 1):
        start = TEXT.index(word, start + 1)
    return Entity(local_id, type_, (Span(start, start + len(word)),), word)


def annotator_documents() -> tuple[Document, Document]:
    """ann1 and ann2's versions of the note."""
    ann1 = Document(
        "curated-note", TEXT,
        entities=(ent("T1", "Drug", "warfarin"), ent("T2", "Dose", "5 mg daily"),
                  ent("T3", "Adverse-Effect", "gastric bleeding"), ent("T4", "Adverse-Effect", "rash"),
                  ent("T5", "Drug", "Heparin")),
        relations=(Relation("R1", "Adverse-Effect", "T1", "T3"),),
        attributes=(Attribute("A1", "Certainty", "T4", "possible"),),
        label="ade",
    )
    ann2 = Document(
        "curated-note", TEXT,
        entities=(ent("T1", "Drug", "warfarin"), ent("T2", "Drug", "5 mg daily"),
                  ent("T3", "Adverse-Effect", "bleeding"), ent("T4", "Adverse-Effect", "rash"),
                  ent("T5", "Drug", "Heparin"), ent("T6", "Drug", "aspirin")),
        relations=(Relation("R1", "Adverse-Effect", "T1", "T3"),),
        label="no_ade",
    )
    return ann1, ann2


@dataclass
class CurationWorld:
    project: Project
    note: Note
    users: dict
    sets: dict  # username -> AnnotationSet
    single: Note  # a note only ann1 submitted


def build_curation_world(*, slug: str = "cur") -> CurationWorld:
    User = get_user_model()
    project = Project.objects.create(slug=slug, name="Curation")
    project_schema_set(project=project, schema=load_schema(ANNOTATION_CONF, VISUAL_CONF), inferred=False)
    users = {}
    for name, role in (("ann1", "annotator"), ("ann2", "annotator"), ("rev", "reviewer"), ("rev2", "reviewer"),
                       ("boss", "admin"), ("outsider", None)):
        users[name] = User.objects.create_user(name, password=PASSWORD)
        if role:
            ProjectMembership.objects.create(project=project, user=users[name], role=role)
    note = Note.objects.create(project=project, external_id="curated-note", text=TEXT, text_hash=text_hash(TEXT),
                               review_status="submitted")
    single = Note.objects.create(project=project, external_id="single-note", text=TEXT, text_hash=text_hash(TEXT))
    docs = annotator_documents()
    sets = {}
    pairs = []
    for name, document in zip(("ann1", "ann2"), docs, strict=True):
        sets[name] = AnnotationSet.objects.create(note=note, source_kind="user", user=users[name], source_name=name,
                                                  status="submitted")
        pairs.append((sets[name], document))
    only = AnnotationSet.objects.create(note=single, source_kind="user", user=users["ann1"], source_name="ann1",
                                        status="submitted")
    pairs.append((only, Document("single-note", TEXT, entities=(ent("T1", "Drug", "warfarin"),), label="ade")))
    annotation_sets_write(pairs, origin="human")
    return CurationWorld(project=project, note=note, users=users, sets=sets, single=single)
