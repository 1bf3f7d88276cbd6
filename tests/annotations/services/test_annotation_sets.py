"""The one write path for annotations: rule checks and optimistic concurrency."""

from __future__ import annotations

from dataclasses import replace

import pytest

from annotations.errors import ApplicationError, ConflictError
from annotations.formats.document import Document, Entity, Span
from annotations.models import AnnotationSet, Note
from annotations.models import Entity as EntityRow
from annotations.services.annotation_sets import annotation_set_replace
from annotations.services.corpus_import import project_get_or_create, text_hash

pytestmark = pytest.mark.django_db

TEXT = "Warfarin caused bleeding."


@pytest.fixture
def annotation_set():
    project = project_get_or_create(slug="p")
    note = Note.objects.create(project=project, external_id="n1", text=TEXT, text_hash=text_hash(TEXT))
    return AnnotationSet.objects.create(note=note, source_kind="import", source_name="t", status="in_progress")


def doc_with(*entities):
    return Document(id="n1", text=TEXT, entities=tuple(entities))


DRUG = Entity("T1", "Drug", (Span(0, 8),), "Warfarin")
AE = Entity("T2", "Adverse-Effect", (Span(16, 24),), "bleeding")


def test_second_writer_with_a_stale_version_gets_a_conflict_and_loses_nothing(annotation_set):
    first = annotation_set_replace(
        annotation_set=annotation_set, document=doc_with(DRUG), schema=None, expected_version=1, origin="human"
    )
    assert first.version == 2
    with pytest.raises(ConflictError) as excinfo:
        annotation_set_replace(
            annotation_set=annotation_set, document=doc_with(AE), schema=None, expected_version=1, origin="human"
        )
    assert excinfo.value.current_version == 2
    assert list(EntityRow.objects.values_list("type", flat=True)) == ["Drug"]


def test_entity_outside_the_text_is_refused_and_nothing_changes(annotation_set):
    annotation_set_replace(
        annotation_set=annotation_set, document=doc_with(DRUG), schema=None, expected_version=None, origin="human"
    )
    broken = replace(AE, spans=(Span(16, 240),))
    with pytest.raises(ApplicationError) as excinfo:
        annotation_set_replace(
            annotation_set=annotation_set, document=doc_with(DRUG, broken), schema=None, expected_version=2,
            origin="human",
        )
    assert excinfo.value.code == "invalid_annotations"
    assert EntityRow.objects.count() == 1
    annotation_set.refresh_from_db()
    assert annotation_set.version == 2


def test_discontinuous_entity_is_stored_with_all_its_fragments(annotation_set):
    both = Entity("T1", "Drug", (Span(0, 4), Span(16, 24)), "Warf bleeding")
    annotation_set_replace(
        annotation_set=annotation_set, document=doc_with(both), schema=None, expected_version=None, origin="human"
    )
    row = EntityRow.objects.get()
    assert row.fragments == [[0, 4], [16, 24]] and (row.start, row.end) == (0, 24)
