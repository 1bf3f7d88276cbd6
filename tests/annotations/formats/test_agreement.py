"""Agreement figures (annotations.formats.agreement) equal the well-kept libraries' and the project scorer's."""

from __future__ import annotations

import json
import math
from datetime import date, timedelta
from itertools import combinations

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss_kappa

from annotations.formats.agreement import (
    AgreementCounter,
    AgreementReport,
    cohen_kappa,
    fleiss_kappa,
    krippendorff_alpha,
)
from annotations.formats.document import Document, Entity, Event, Span
from inference.core.extraction.evaluation import ner_scores, re_scores
from tests.annotations.agreement_corpus import RATERS, VERDICTS, agreement_corpus

CODE = {v: i for i, v in enumerate(VERDICTS)}


def _reference_alpha(notes) -> float:
    data = np.array([[CODE[n[r].label] if n[r].label is not None else np.nan for n in notes] for r in RATERS])
    return krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")


def _reference_fleiss(notes) -> float:
    rows = [[CODE[n[r].label] for r in RATERS] for n in notes]
    table, _ = aggregate_raters(np.array(rows))
    return sm_fleiss_kappa(table, method="fleiss")


def test_cohen_kappa_equals_scikit_learn():
    notes = agreement_corpus(missing=False)
    for a, b in combinations(RATERS, 2):
        la, lb = [n[a].label for n in notes], [n[b].label for n in notes]
        assert cohen_kappa(la, lb) == pytest.approx(cohen_kappa_score(la, lb), abs=1e-9)


def test_fleiss_kappa_equals_statsmodels():
    notes = agreement_corpus(missing=False)
    ours = fleiss_kappa([[n[r].label for r in RATERS] for n in notes])
    assert ours == pytest.approx(_reference_fleiss(notes), abs=1e-9)


def test_krippendorff_alpha_equals_krippendorff_with_missing_ratings():
    notes = agreement_corpus(missing=True)
    assert any(n[r].label is None for n in notes for r in RATERS)
    ours = krippendorff_alpha([[n[r].label for r in RATERS] for n in notes])
    assert ours == pytest.approx(_reference_alpha(notes), abs=1e-9)


def test_counter_figures_equal_the_references_for_three_annotators():
    notes = agreement_corpus(missing=True)
    counter = AgreementCounter()
    for docs in notes:
        counter.add_note(docs)
    report = counter.report()
    assert report.raters == RATERS and report.notes == len(notes)
    assert report.alpha == pytest.approx(_reference_alpha(notes), abs=1e-9)
    complete = [n for n in notes if all(n[r].label is not None for r in RATERS)]
    assert report.fleiss_notes == len(complete)
    assert report.fleiss_kappa == pytest.approx(_reference_fleiss(complete), abs=1e-9)
    for pair in report.pairs:
        both = [n for n in notes if n[pair.a].label is not None and n[pair.b].label is not None]
        expected = cohen_kappa_score([n[pair.a].label for n in both], [n[pair.b].label for n in both])
        assert pair.verdict_notes == len(both)
        assert pair.verdict_kappa == pytest.approx(expected, abs=1e-9)


def test_pairwise_entity_and_relation_f1_equal_the_project_scorer():
    notes = agreement_corpus()
    counter = AgreementCounter()
    for docs in notes:
        counter.add_note(docs)
    report = counter.report()
    assert len(report.pairs) == 3
    for pair in report.pairs:
        gold, pred = [n[pair.a] for n in notes], [n[pair.b] for n in notes]
        ner, rel = ner_scores(gold, pred), re_scores(gold, pred)
        assert pair.entity_f1_strict == pytest.approx(ner["strict_micro_f1"], abs=1e-12)
        assert pair.entity_f1_relaxed == pytest.approx(ner["relaxed_micro_f1"], abs=1e-12)
        assert pair.relation_f1_strict == pytest.approx(rel["strict_micro_f1"], abs=1e-12)
        assert pair.relation_f1_relaxed == pytest.approx(rel["relaxed_micro_f1"], abs=1e-12)
        # the corpus holds every kind of disagreement, so these figures are not trivially 0 or 1
        assert 0 < pair.entity_f1_strict < pair.entity_f1_relaxed < 1
        assert pair.boundary_disagreements > 0 and pair.type_disagreements > 0
        # boundary disagreements are the relaxed matches that are not strict
        assert pair.boundary_disagreements == ner["relaxed_micro_tp"] - ner["strict_micro_tp"]
    for t in report.entity_types:  # per type: counts summed over the pairs, as the scorer counts each pair
        tps = [ner_scores([n[p.a] for n in notes], [n[p.b] for n in notes]).get(f"strict_{t.type}_tp", 0)
               for p in report.pairs]
        assert t.tp_strict == sum(tps)


def test_pair_f1_does_not_depend_on_which_annotator_is_gold():
    notes = agreement_corpus()
    for a, b in combinations(RATERS, 2):
        ab = ner_scores([n[a] for n in notes], [n[b] for n in notes])
        ba = ner_scores([n[b] for n in notes], [n[a] for n in notes])
        assert ab["relaxed_micro_f1"] == pytest.approx(ba["relaxed_micro_f1"])


def _doc(*ents, label=None) -> Document:
    text = "x" * 100
    return Document(id="n", text=text, label=label, entities=tuple(
        Entity(id=f"T{i}", type=t, spans=tuple(Span(s, e) for s, e in frags), text="") for i, (t, frags) in enumerate(ents)))


def test_relaxed_matching_is_one_to_one_over_discontinuous_fragments():
    # one long entity of B covers two of A: one relaxed match, not two
    counter = AgreementCounter()
    counter.add_note({"a": _doc(("Drug", [(0, 5)]), ("Drug", [(10, 15)])), "b": _doc(("Drug", [(0, 15)]))})
    pair = counter.report().pairs[0]
    assert pair.entity_f1_strict == 0.0
    assert pair.entity_f1_relaxed == pytest.approx(2 * 1 / (2 * 1 + 0 + 1))
    # a discontinuous entity overlapping only through its second fragment still matches relaxed
    counter = AgreementCounter()
    counter.add_note({"a": _doc(("ADE", [(0, 5), (20, 25)])), "b": _doc(("ADE", [(22, 30)]))})
    assert counter.report().pairs[0].entity_f1_relaxed == 1.0


def test_type_confusion_counts_same_span_pairs_by_type():
    counter = AgreementCounter()
    counter.add_note({"a": _doc(("Drug", [(0, 5)]), ("ADE", [(10, 15)]), ("Dose", [(20, 22)])),
                      "b": _doc(("Drug", [(0, 5)]), ("Drug", [(10, 15)]), ("Dose", [(30, 32)]))})
    report = counter.report()
    assert report.confusion == (("ADE", "Drug", 1), ("Drug", "Drug", 1))
    assert report.pairs[0].type_disagreements == 1


def test_undefined_figures_are_none_not_an_error():
    assert cohen_kappa(["ade", "ade"], ["ade", "ade"]) is None
    assert krippendorff_alpha([["ade", None], [None, "no_ade"]]) is None
    assert fleiss_kappa([]) is None
    report = AgreementCounter().report()
    assert report.alpha is None and report.fleiss_kappa is None and report.pairs == ()


def test_fleiss_refuses_items_with_different_numbers_of_ratings():
    with pytest.raises(ValueError):
        fleiss_kappa([["ade", "ade"], ["ade", "no_ade", "ade"]])


def test_the_counter_keeps_no_notes():
    # streaming: after many notes the counter's state is counts only (nothing grows with the notes)
    counter = AgreementCounter()
    for docs in agreement_corpus(n_notes=5):
        counter.add_note(docs)
    small = len(repr(counter.__dict__))
    for docs in agreement_corpus(n_notes=200, seed=3):
        counter.add_note(docs)
    assert not math.isnan(counter.report().entity_f1_strict)
    assert len(repr(counter.__dict__)) < small * 3


def test_event_f1_needs_the_same_type_trigger_and_arguments():
    def doc(trigger, theme, type_="Reaction"):
        return Document(id="n", text="x" * 60, entities=(
            Entity(id="T1", type="Drug", spans=(Span(*trigger),), text=""),
            Entity(id="T2", type="ADE", spans=(Span(*theme),), text=""),
        ), events=(Event(id="E1", type=type_, trigger="T1", args=(("Theme", "T2"),)),))

    def event_f1(a, b):
        counter = AgreementCounter()
        counter.add_note({"a": a, "b": b})
        p = counter.report().pairs[0]
        return p.event_f1_strict, p.event_f1_relaxed

    assert event_f1(doc((0, 5), (10, 15)), doc((0, 5), (10, 15))) == (1.0, 1.0)
    assert event_f1(doc((0, 5), (10, 15)), doc((0, 5), (12, 18))) == (0.0, 1.0)  # argument boundary differs
    assert event_f1(doc((0, 5), (10, 15)), doc((0, 5), (30, 35))) == (0.0, 0.0)  # another argument
    assert event_f1(doc((0, 5), (10, 15)), doc((0, 5), (10, 15), "Other")) == (0.0, 0.0)


def _over_time(notes, days):
    """A counter fed `notes`, each rater's set submitted on days[(note index, rater)] (None: not known)."""
    counter = AgreementCounter()
    for i, docs in enumerate(notes):
        counter.add_note(docs, submitted={r: days.get((i, r)) for r in docs})
    return counter.report()


def test_agreement_over_time_counts_pairs_submitted_in_the_same_week_or_month():
    notes = agreement_corpus(n_notes=40)
    # ann1 submits every note on the Monday of week i % 4 of March 2026; ann2 the same day; ann3 on the Sunday
    # before, so that ann3's pairs fall in the week before (and, for week 0, in February).
    monday = date(2026, 3, 2)
    days = {}
    for i in range(len(notes)):
        day = monday + timedelta(weeks=i % 4)
        days[(i, "ann1")] = days[(i, "ann2")] = day
        days[(i, "ann3")] = day - timedelta(days=1) if i % 5 else None
    report = _over_time(notes, days)
    weeks = report.periods("week")
    assert [p.start for p in weeks] == [monday + timedelta(weeks=k) for k in range(4)]
    for k, period in enumerate(weeks):
        idx = [i for i in range(len(notes)) if i % 4 == k]  # only ann1 and ann2 share a week
        assert period.pair_notes == len(idx)
        ner = ner_scores([notes[i]["ann1"] for i in idx], [notes[i]["ann2"] for i in idx])
        assert period.entity_f1_strict == pytest.approx(ner["strict_micro_f1"], abs=1e-12)
        assert period.entity_f1_relaxed == pytest.approx(ner["relaxed_micro_f1"], abs=1e-12)
        both = [i for i in idx if notes[i]["ann1"].label is not None and notes[i]["ann2"].label is not None]
        assert period.verdict_notes == len(both)
        expected = cohen_kappa_score([notes[i]["ann1"].label for i in both], [notes[i]["ann2"].label for i in both])
        assert period.verdict_kappa == pytest.approx(expected, abs=1e-9)
    (march,) = report.periods("month")  # ann3's Sundays are in March too, except 1 March's (February)
    in_march = [(i, p) for i in range(len(notes)) for p in combinations(RATERS, 2)
                if all(days.get((i, r)) and days[(i, r)].month == 3 for r in p)]
    assert march.start == date(2026, 3, 1) and march.pair_notes == len(in_march)


def test_over_time_is_empty_without_submission_days():
    report = _over_time(agreement_corpus(n_notes=5), {})
    assert report.over_time == () and report.periods("week") == ()


def test_a_report_reads_back_equal_from_its_dict():
    notes = agreement_corpus(n_notes=12)
    report = _over_time(notes, {(i, r): date(2026, 1, 1) + timedelta(days=i * 9) for i in range(12) for r in RATERS})
    assert report.over_time and report.pairs and report.confusion
    data = json.loads(json.dumps(report.to_dict()))  # what a job stores
    assert AgreementReport.from_dict(data) == report

