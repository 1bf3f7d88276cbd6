"""Phrase splitting of nursing notes: rules, offsets, clock times."""

from __future__ import annotations

from datetime import datetime

from inference.core.risk.phrases import NursingNote, PhraseConfig, phrase_spans, split_note, split_notes

NOTE = (
    "08:30 pt c/o nausea; BP 100/60. iv fluids started.\n"
    "- Dr. Kim notified, ondansetron 4 mg p.o. given\n"
    "\n"
    "10:15 rash on both arms!  itching++ ;\n"
    "1000 ml NS infused\n"
    "23:50 slept well\n"
    "[01:10] woke up, c/o dizziness"
)


def _texts(text: str, config: PhraseConfig | None = None) -> list[str]:
    return [text[s:e] for s, e in phrase_spans(text, config)]


def test_default_rules_split_lines_semicolons_and_sentence_ends() -> None:
    assert _texts(NOTE) == [
        "08:30 pt c/o nausea",
        "BP 100/60.",
        "iv fluids started.",
        "Dr. Kim notified, ondansetron 4 mg p.o. given",
        "10:15 rash on both arms!",
        "itching++",
        "1000 ml NS infused",
        "23:50 slept well",
        "[01:10] woke up, c/o dizziness",
    ]


def test_offsets_point_into_the_note() -> None:
    for p in split_note(NursingNote("n1", datetime(2024, 3, 1, 8, 0), NOTE)):
        assert NOTE[p.start : p.end] == p.text
        assert p.note_id == "n1"


def test_rules_are_configurable() -> None:
    lines_only = PhraseConfig(semicolons=False, sentences=False, strip_bullets=False)
    assert _texts("a pt calm; slept. ok\n- b line", lines_only) == ["a pt calm; slept. ok", "- b line"]
    assert _texts("pt calm; slept", PhraseConfig(semicolons=False)) == ["pt calm; slept"]
    assert _texts("x; pt calm", PhraseConfig(min_chars=3)) == ["pt calm"]
    assert _texts("환자 어지러움 호소함. 혈압 측정함。 안정됨") == [
        "환자 어지러움 호소함.",
        "혈압 측정함。",
        "안정됨",
    ]
    assert _texts("   \n ;; \n") == []


def test_clock_times_give_phrase_times_with_midnight_rollover() -> None:
    phrases = split_note(NursingNote("n1", datetime(2024, 3, 1, 8, 0), NOTE))
    times = [p.time for p in phrases]
    assert times[0] == datetime(2024, 3, 1, 8, 30)
    assert times[3] == datetime(2024, 3, 1, 8, 30)  # inherits the last clock time
    assert times[4] == datetime(2024, 3, 1, 10, 15)
    assert times[6] == datetime(2024, 3, 1, 10, 15)  # "1000 ml" is a quantity, not a time
    assert times[7] == datetime(2024, 3, 1, 23, 50)
    assert times[8] == datetime(2024, 3, 2, 1, 10)  # night shift: next day
    assert [p.index for p in phrases] == list(range(9))


def test_split_notes_orders_a_patients_phrases_by_time() -> None:
    later = NursingNote("b", datetime(2024, 3, 2, 9, 0), "pt stable. no rash")
    earlier = NursingNote("a", datetime(2024, 3, 1, 9, 0), "fever 38.5; paracetamol given")
    undated = NursingNote("c", None, "transferred")
    out = split_notes([later, undated, earlier])
    assert [p.text for p in out] == [
        "fever 38.5",
        "paracetamol given",
        "pt stable.",
        "no rash",
        "transferred",
    ]
    assert split_note("pt calm")[0].time is None
