"""Agreement read from the database: three annotators' submitted sets give the libraries' and the project
scorer's figures; other sets do not count; chunking changes nothing; queries do not grow with notes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import combinations

import krippendorff
import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

from annotations.agreement.selectors import _note_id_chunks, _rated_sets, project_agreement
from annotations.formats.agreement import AgreementCounter
from annotations.models import AnnotationSet, Decision, Entity, Event, EventArgument
from annotations.services.document_store import annotation_sets_to_documents
from inference.core.extraction.evaluation import ner_scores, re_scores
from tests.annotations.agreement_corpus import RATERS, VERDICTS

pytestmark = pytest.mark.django_db
CODE = {v: i for i, v in enumerate(VERDICTS)}


def agreement_documents_iter(*, project, chunk_notes: int = 500):
    """The reference reader: per note (in note id order), each annotator's whole Document, keyed by username,
    through the export's annotation_sets_to_documents; the agreement's lean reader must give the same report."""
    for note_ids in _note_id_chunks(project, chunk_notes):
        sets = list(_rated_sets(project).filter(note_id__in=note_ids).select_related("note", "user")
                    .order_by("note_id", "pk"))
        documents = annotation_sets_to_documents(sets)
        by_note = {note_id: {} for note_id in note_ids}
        for s in sets:
            by_note[s.note_id][s.user.username] = documents[s.pk]
        yield from by_note.values()


def test_three_annotators_figures_equal_scikit_learn_statsmodels_krippendorff_and_the_scorer(agreement_world):
    notes = agreement_world.notes
    report = project_agreement(project=agreement_world.project)
    assert report.raters == RATERS  # neither the unfinished set's author nor the import
    assert report.notes == len(notes)

    labels = {r: [n[r].label for n in notes] for r in RATERS}
    assert any(v is None for values in labels.values() for v in values)  # a missing rating for alpha
    data = np.array([[CODE[v] if v is not None else np.nan for v in labels[r]] for r in RATERS])
    assert report.alpha == pytest.approx(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"),
                                         abs=1e-9)

    complete = [i for i in range(len(notes)) if all(labels[r][i] is not None for r in RATERS)]
    table, _ = aggregate_raters(np.array([[CODE[labels[r][i]] for r in RATERS] for i in complete]))
    assert report.fleiss_notes == len(complete)
    assert report.fleiss_kappa == pytest.approx(fleiss_kappa(table, method="fleiss"), abs=1e-9)

    pairs = {(p.a, p.b): p for p in report.pairs}
    assert set(pairs) == set(combinations(RATERS, 2))
    for (a, b), pair in pairs.items():
        both = [i for i in range(len(notes)) if labels[a][i] is not None and labels[b][i] is not None]
        expected = cohen_kappa_score([labels[a][i] for i in both], [labels[b][i] for i in both])
        assert pair.verdict_kappa == pytest.approx(expected, abs=1e-9)
        assert pair.notes == len(notes)
        gold, pred = [n[a] for n in notes], [n[b] for n in notes]
        ner, rel = ner_scores(gold, pred), re_scores(gold, pred)
        assert pair.entity_f1_strict == pytest.approx(ner["strict_micro_f1"], abs=1e-12)
        assert pair.entity_f1_relaxed == pytest.approx(ner["relaxed_micro_f1"], abs=1e-12)
        assert pair.relation_f1_strict == pytest.approx(rel["strict_micro_f1"], abs=1e-12)


def test_chunks_read_every_note_once_and_give_the_same_report(agreement_world):
    project = agreement_world.project
    seen = [next(iter(docs.values())).id for docs in agreement_documents_iter(project=project, chunk_notes=7)]
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == len(agreement_world.notes)
    assert project_agreement(project=project, chunk_notes=7) == project_agreement(project=project)


def test_queries_are_a_fixed_number_per_chunk(agreement_world):
    project = agreement_world.project
    with CaptureQueriesContext(connection) as one_chunk:
        project_agreement(project=project, chunk_notes=1000)
    with CaptureQueriesContext(connection) as three_chunks:
        project_agreement(project=project, chunk_notes=10)
    per_chunk = len(one_chunk.captured_queries) - 1  # the last, empty keyset query
    assert len(three_chunks.captured_queries) == 3 * per_chunk + 1
    assert per_chunk < 15


def test_a_project_without_submissions_has_undefined_figures(db):
    from annotations.models import Project

    report = project_agreement(project=Project.objects.create(slug="empty", name="Empty"))
    assert report.notes == 0 and report.pairs == () and report.alpha is None and report.fleiss_kappa is None


def test_the_lean_reader_gives_the_report_the_whole_documents_give(agreement_world):
    project = agreement_world.project
    sets = AnnotationSet.objects.filter(note__project=project, source_kind="user", status__in=["submitted", "gold"])
    for k, aset in enumerate(sets.order_by("pk")):  # submitted over two months, a pair now and then apart
        aset.submitted_at = datetime(2026, 4, 27, 23, 30, tzinfo=UTC) + timedelta(days=(k // 3) % 40, hours=k % 2)
        aset.save(update_fields=["submitted_at"])
    # a rejected pre-label is no one's annotation: both readers leave it out
    # (not an event's trigger or argument: the Documents' reader cannot leave those out)
    in_events = [*Event.objects.values_list("trigger_id", flat=True), *EventArgument.objects.values_list("entity_id", flat=True)]
    rejected = Entity.objects.filter(annotation_set__in=sets, local_id="T1").exclude(pk__in=in_events)
    assert rejected.update(decision=Decision.REJECTED) > 5
    days = {(s.note.external_id, s.user.username): timezone.localtime(s.submitted_at).date()
            for s in sets.select_related("user", "note")}
    expected = AgreementCounter()
    for docs in agreement_documents_iter(project=project):
        note = next(iter(docs.values())).id
        expected.add_note(docs, submitted={rater: days[(note, rater)] for rater in docs})
    report = project_agreement(project=project)
    assert report == expected.report()
    assert report.over_time and report.periods("month")
