"""brat .ann/.txt parsing and writing."""

from __future__ import annotations

import pytest

from annotations.formats.brat import parse_ann, parse_brat, read_brat_document, write_ann, write_txt
from annotations.formats.canonical import canonical_diff
from annotations.formats.document import Document, Entity, FormatError, Span

from .conftest import FIXTURES, round_trip

GOOD = FIXTURES / "brat" / "good"
BROKEN = FIXTURES / "brat" / "broken"


def read(folder, stem):
    txt, ann = folder / f"{stem}.txt", folder / f"{stem}.ann"
    return read_brat_document(
        txt.read_bytes() if txt.exists() else None,
        ann.read_bytes() if ann.exists() else None,
        doc_id=stem,
        txt_name=txt.name,
        ann_name=ann.name,
    )


def messages(result):
    return [str(p) for p in result.problems]


@pytest.mark.parametrize("stem", ["basic", "crlf", "unicode"])
def test_good_fixture_parses_and_round_trips(stem):
    result = read(GOOD, stem)
    assert result.problems == []
    doc = result.document
    again = round_trip(doc)
    assert canonical_diff(doc, again) == []
    assert write_ann(again) == write_ann(doc)


def test_all_annotation_kinds_are_read():
    doc = read(GOOD, "basic").document
    assert len(doc.entities) == 9
    assert {r.id for r in doc.relations} == {"R1", "R2", "R3"}
    assert {e.id for e in doc.events} == {"E1", "E2", "E3"}
    assert [(a.id, a.name, a.value) for a in doc.attributes] == [
        ("A1", "Negated", None),
        ("M2", "Severity", "High"),
        ("A3", "Certain", None),
    ]
    n1 = doc.normalizations[0]
    assert (n1.resource, n1.resource_id, n1.text) == ("RxNorm", "1191", "aspirin")
    assert doc.normalizations[1].text == ""
    assert doc.notes[0].text == "check with the ward"
    assert doc.equivalences[0].members == ("T1", "T7")


def test_out_of_order_ids_keep_file_order_and_lines():
    result = read(GOOD, "basic")
    assert [e.id for e in result.document.entities][:3] == ["T3", "T1", "T2"]
    assert result.lines["T3"] == 1
    assert result.lines["R2"] == 4
    assert result.lines["*1"] == 20


def test_trailing_blanks_are_ignored_and_text_comes_from_the_txt():
    doc = read(GOOD, "basic").document
    by_id = {e.id: e for e in doc.entities}
    assert by_id["T3"].text == "severe rash"
    assert by_id["T2"].text == "100 mg"
    assert "100 mg\n" in write_ann(doc)


def test_events_point_at_events_and_relations_take_event_args():
    doc = read(GOOD, "basic").document
    events = {e.id: e for e in doc.events}
    assert events["E2"].args == (("Theme", "E1"), ("Cause", "E3"))
    r3 = next(r for r in doc.relations if r.id == "R3")
    assert (r3.arg1, r3.arg2) == ("E3", "E2")


def test_discontinuous_entity_round_trips():
    doc = read(GOOD, "basic").document
    t9 = next(e for e in doc.entities if e.id == "T9")
    assert len(t9.spans) == 2
    assert t9.text == "severe rash"
    assert t9.text == " ".join(doc.text[s.start : s.end] for s in t9.spans)
    line = next(x for x in write_ann(doc).splitlines() if x.startswith("T9\t"))
    assert (
        line
        == f"T9\tAdverse-Effect {t9.spans[0].start} {t9.spans[0].end};{t9.spans[1].start} {t9.spans[1].end}\tsevere rash"
    )
    assert round_trip(doc).entities[-1] == t9


def test_crlf_text_counts_carriage_returns_and_round_trips_byte_identically():
    raw = (GOOD / "crlf.txt").read_bytes()
    doc = read(GOOD, "crlf").document
    assert "\r\n" in doc.text
    nausea = next(e for e in doc.entities if e.text == "Nausea")
    assert doc.text.index("Nausea") == nausea.spans[0].start == 19
    assert write_txt(doc) == raw
    # A span across a line break is written with spaces for the line break and read back intact.
    t4 = next(e for e in doc.entities if e.id == "T4")
    assert t4.text == "500 mg.\r\nNausea"
    assert "\t500 mg.  Nausea\n" in write_ann(doc)


def test_swedish_korean_chinese_offsets_are_code_points():
    doc = read(GOOD, "unicode").document
    for e in doc.entities:
        assert doc.text[e.spans[0].start : e.spans[0].end] == e.text
    by_text = {e.text: e for e in doc.entities}
    assert by_text["huvudvärk"].spans[0].start == doc.text.index("huvudvärk")
    assert by_text["두통"].spans[0].start == doc.text.index("두통")
    # The emoji is one code point (four UTF-8 bytes) before "ålder".
    assert by_text["ålder"].spans[0].start == doc.text.index("ålder")
    assert doc.text.encode("utf-8").index("ålder".encode()) > by_text["ålder"].spans[0].start


def test_txt_without_ann_is_an_unannotated_note():
    result = read(GOOD / "sub", "unannotated")
    assert result.problems == []
    assert result.document.entities == ()
    assert result.source == "unannotated.txt"


def test_ann_without_txt_is_a_problem():
    result = read(BROKEN, "orphan")
    assert result.document is None
    assert messages(result) == ["orphan.ann: no matching text file orphan.txt"]


def test_malformed_lines_are_all_reported_with_line_numbers():
    result = read(BROKEN, "malformed")
    assert result.document is None
    assert [p.line for p in result.problems] == [2, 3, 4]
    assert "malformed line" in result.problems[0].message
    assert "malformed relation" in result.problems[1].message
    assert "malformed offsets" in result.problems[2].message


def test_offset_past_end_and_empty_span_are_reported():
    result = read(BROKEN, "offset_past_end")
    assert messages(result) == [
        "offset_past_end.ann:2: T2: offset 40 is past the end of the text (length 21)",
        "offset_past_end.ann:3: T3: empty or reversed span 5-5 (start must be < end)",
    ]


def test_text_mismatch_is_reported():
    result = read(BROKEN, "text_mismatch")
    assert messages(result) == [
        "text_mismatch.ann:1: T1: the entity's text (length 9) does not match the note's text at 0-7 (length 7)"
    ]


def test_non_utf8_names_file_line_and_reason():
    result = read(BROKEN, "non_utf8")
    assert result.document is None
    (problem,) = result.problems
    assert (problem.file, problem.line) == ("non_utf8.txt", 2)
    assert "not valid UTF-8" in problem.message and "0xe9" in problem.message


def test_unknown_duplicate_and_dangling_ids_are_all_collected():
    result = read(BROKEN, "dangling")
    text = "\n".join(messages(result))
    assert "dangling.ann:2: duplicate id T1" in text
    assert "dangling.ann:3: R1: Arg2 refers to T9, which does not exist" in text
    assert "dangling.ann:4: E1: trigger T8 does not exist" in text
    assert "dangling.ann:5: A1: attribute Negated targets X5" in text
    assert "dangling.ann:6: unknown annotation kind 'Q'" in text


def test_parse_brat_raises_format_error_with_every_problem():
    with pytest.raises(FormatError) as info:
        parse_brat("short", "T1\tDrug 0 99\tx\nT2\tDrug 0 5\tother\nbroken\n", source="x.ann")
    assert [p.line for p in info.value.problems] == [1, 2, 3]


def test_parse_ann_never_raises_on_garbage():
    doc, problems, lines = parse_ann("\x00\t\t\nE1\t\n*\tEquiv\nA1\tX\n", "text", doc_id="d", source="g.ann")
    assert [p.line for p in problems] == [1, 2, 3, 4] and lines == {}


def test_written_document_without_spans_text_is_rejected_by_reader():
    doc = Document(id="d", text="hello world", entities=(Entity("T1", "X", (Span(0, 5),), "hello"),))
    assert write_ann(doc) == "T1\tX 0 5\thello\n"
    assert round_trip(doc) == doc


def test_byte_order_mark_in_ann_is_ignored():
    doc = parse_brat("Aspirin", "\ufeffT1\tDrug 0 7\tAspirin\n")
    assert doc.entities[0].id == "T1"
