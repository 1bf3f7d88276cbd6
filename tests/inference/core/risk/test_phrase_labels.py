"""Phrase-state labels as schema entity types, phrases labelled from entities, training patients from notes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from annotations.formats.brat_conf import load_schema, write_annotation_conf, write_visual_conf
from annotations.formats.document import Document, Entity, Span
from annotations.formats.validation import document_problems
from inference.core.risk.phrase_classifier import STUDY_STATES
from inference.core.risk.phrase_labels import (
    STATE_GROUP,
    LabelledNote,
    labelled_patient,
    phrase_states,
    state_entity_type,
    state_schema,
    state_types,
    state_types_from_schema,
)
from inference.core.risk.phrases import NursingNote, phrase_spans
from inference.core.risk.risk_bundle import UNLABELLED

T0 = datetime(2026, 5, 1, 7, 0, tzinfo=UTC)


def test_state_names_become_brat_safe_entity_types() -> None:
    assert state_entity_type("drug-related + abnormal reaction") == "drug-related+abnormal_reaction"
    assert state_entity_type(" doctor related ") == "doctor_related"
    assert state_types().types[0] == "unknown"
    with pytest.raises(ValueError):
        state_entity_type("  ")
    with pytest.raises(ValueError):
        state_types(["a b", "a_b"])


def test_the_state_schema_round_trips_through_annotation_conf_with_the_state_names_as_labels() -> None:
    schema = state_schema()
    assert [t.name for t in schema.entity_types if not t.annotatable] == [STATE_GROUP]
    again = load_schema(write_annotation_conf(schema), write_visual_conf(schema))
    types = state_types_from_schema(again)
    assert types.states == STUDY_STATES and types.types == state_types().types
    assert state_types_from_schema(None) is None
    assert state_types_from_schema(load_schema("[entities]\nDrug\n")) is None


def test_a_state_entity_is_valid_annotation_under_the_state_schema() -> None:
    text = "Pt c/o nausea after morphine."
    doc = Document("n1", text, (Entity("T1", "subjective_response+drug-related", (Span(0, 29),), text),))
    assert document_problems(doc, state_schema()) == []


def test_a_phrase_takes_the_state_of_the_entity_that_covers_it() -> None:
    text = "Pt slept well.\nRash on both arms noted; doctor informed.\nVitals stable."
    spans = phrase_spans(text)
    assert [text[s:e] for s, e in spans] == ["Pt slept well.", "Rash on both arms noted", "doctor informed.",
                                              "Vitals stable."]  # fmt: skip
    index = state_types().index()
    rash = text.index("Rash")
    entities = [
        ("abnormal_reaction", [[rash, rash + 4]]),  # one word labels its phrase
        # a selection over two phrases labels both; it spills two characters into "Vitals": not labelled
        ("doctor_related", [[text.index("doctor"), text.index("Vitals") + 2]]),
        ("Drug", [[0, 2]]),  # not a state type
    ]
    assert phrase_states(spans, entities, index) == [UNLABELLED, 2, 3, UNLABELLED]


def test_the_largest_overlap_wins_then_the_first_given() -> None:
    spans = [(0, 20)]
    index = state_types().index()
    assert phrase_states(spans, [("unknown", [[0, 5]]), ("drug-related", [[0, 12]])], index) == [1]
    assert phrase_states(spans, [("unknown", [[0, 20]]), ("drug-related", [[0, 20]])], index) == [0]
    # discontinuous fragments add up
    assert phrase_states(spans, [("unknown", [[0, 6]]), ("drug-related", [[0, 4], [10, 14]])], index) == [1]


def test_a_patient_is_split_labelled_and_timed_in_hours_since_the_first_phrase() -> None:
    index = state_types().index()
    late = NursingNote("n2", datetime(2026, 5, 1, 15, 0, tzinfo=UTC), "Nausea after morphine.\nResting.")
    early = NursingNote("n1", T0, "08:30 pt given morphine iv\nSlept.")
    undated = NursingNote("n3", None, "Discharged home.")
    notes = [
        LabelledNote(late, (("subjective_response+drug-related", [[0, 22]]),)),
        LabelledNote(early, (("drug-related", [[6, 26]]),)),
        LabelledNote(undated),
    ]
    patient = labelled_patient(
        "p1", notes, index=index, adr=True, reported_at=datetime(2026, 5, 1, 19, 0, tzinfo=UTC)
    )
    assert patient.texts == ("08:30 pt given morphine iv", "Slept.", "Nausea after morphine.", "Resting.",
                             "Discharged home.")  # fmt: skip
    assert patient.states == (1, UNLABELLED, 6, UNLABELLED, UNLABELLED)
    assert patient.times == (0.0, 0.0, 6.5, 6.5, 6.5)  # the undated phrase keeps the last time seen
    assert patient.report_time == pytest.approx(10.5)
    assert patient.labelled == 2 and patient.adr and not patient.synthetic
