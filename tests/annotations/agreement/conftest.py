"""A project where three annotators submitted the fixed agreement corpus (tests/annotations/agreement_corpus),
plus sets that must not count: a model's, an unfinished one, an import."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model

from annotations.formats.document import Document, Entity, Span
from annotations.models import AnnotationSet, Note, Project, ProjectMembership
from annotations.services.corpus_import import text_hash
from annotations.services.document_store import annotation_sets_write
from tests.annotations.agreement_corpus import RATERS, agreement_corpus


@dataclass
class AgreementWorld:
    project: Project
    notes: list[dict[str, Document]]
    users: dict


def build_agreement_project(*, slug: str = "agree", n_notes: int = 30) -> AgreementWorld:
    User = get_user_model()
    project = Project.objects.create(slug=slug, name="Agreement")
    users = {name: User.objects.create_user(name) for name in (*RATERS, "late", "outsider")}
    for name in (*RATERS, "late"):
        ProjectMembership.objects.create(project=project, user=users[name], role="annotator")
    corpus = agreement_corpus(n_notes=n_notes)
    pairs = []
    for i, docs in enumerate(corpus):
        text = next(iter(docs.values())).text
        note = Note.objects.create(project=project, external_id=f"n{i:03d}", text=text, text_hash=text_hash(text))
        for rater, doc in docs.items():
            # one set a reviewer signed off (gold) still counts as its annotator's
            status = "gold" if (i, rater) == (0, "ann1") else "submitted"
            aset = AnnotationSet.objects.create(note=note, source_kind="user", user=users[rater],
                                                source_name=rater, status=status)
            pairs.append((aset, doc))
        # never counted: someone's unfinished set, an import
        noise = Document(id=note.external_id, text=text, label="ade",
                         entities=(Entity(id="T1", type="Drug", spans=(Span(10, 14),), text=text[10:14]),))
        pairs.append((AnnotationSet.objects.create(note=note, source_kind="user", user=users["late"],
                                                   source_name="late", status="in_progress"), noise))
        pairs.append((AnnotationSet.objects.create(note=note, source_kind="import", source_name="corpus",
                                                   status="gold"), noise))
    annotation_sets_write(pairs, origin="human")
    return AgreementWorld(project=project, notes=corpus, users=users)


@pytest.fixture
def agreement_world(db) -> AgreementWorld:
    return build_agreement_project()
