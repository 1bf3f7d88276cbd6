"""Offsets of tokens and sentences are exact for any script."""

from __future__ import annotations

import pytest

from inference.core.text import Token, sentence_spans, tokenize

SAMPLES = {
    "english": "Patient (72 y) developed severe rash after 2.5 mg warfarin; stopped on 03/04. Dr. Lee agreed!",
    "swedish": "Patienten fick blödning i ögat efter Waran 2,5 mg. Åter på avdelningen, mår bättre.",
    "korean": "환자는 아스피린 복용 후 두드러기가 발생했다. 투약을 중단함.",
    "chinese": "患者服用阿司匹林后出现皮疹。停药后好转！",
    "mixed": "Tab. 타이레놀 500mg 复方 e\u0301clair\r\n\tend",
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_token_offsets_are_exact(name):
    text = SAMPLES[name]
    tokens = tokenize(text)
    assert tokens
    for t in tokens:
        assert isinstance(t, Token)
        assert text[t.start : t.end] == t.text
        assert t.text.strip() == t.text and t.text
    assert all(a.end <= b.start for a, b in zip(tokens, tokens[1:], strict=False))
    # nothing but whitespace is left out
    covered = {i for t in tokens for i in range(t.start, t.end)}
    assert all(text[i].isspace() for i in range(len(text)) if i not in covered)


def test_english_words_numbers_punctuation():
    words = [t.text for t in tokenize("Aspirin-induced rash (2.5 mg, 10,000 IU), Paget's.")]
    assert words == [
        "Aspirin", "-", "induced", "rash", "(", "2.5", "mg", ",", "10,000", "IU", ")", ",", "Paget", "'", "s", ".",
    ]  # fmt: skip
    assert [t.text for t in tokenize("10mg")] == ["10", "mg"]


def test_swedish_letters_stay_in_words():
    assert [t.text for t in tokenize("blödning i ögat, Åter")] == ["blödning", "i", "ögat", ",", "Åter"]


def test_korean_and_chinese_one_token_per_character():
    assert [t.text for t in tokenize("두드러기가")] == ["두", "드", "러", "기", "가"]
    assert [t.text for t in tokenize("出现皮疹。")] == ["出", "现", "皮", "疹", "。"]
    assert [t.text for t in tokenize("Aspirin아스피린")] == ["Aspirin", "아", "스", "피", "린"]


def test_combining_marks_stay_with_their_letter():
    assert [t.text for t in tokenize("e\u0301clair x")] == ["e\u0301clair", "x"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "english",
            [
                "Patient (72 y) developed severe rash after 2.5 mg warfarin; stopped on 03/04.",
                "Dr. Lee agreed!",
            ],
        ),
        (
            "swedish",
            ["Patienten fick blödning i ögat efter Waran 2,5 mg.", "Åter på avdelningen, mår bättre."],
        ),
        ("korean", ["환자는 아스피린 복용 후 두드러기가 발생했다.", "투약을 중단함."]),
        ("chinese", ["患者服用阿司匹林后出现皮疹。", "停药后好转！"]),
    ],
)
def test_sentences(name, expected):
    text = SAMPLES[name]
    spans = sentence_spans(text)
    assert [text[a:b] for a, b in spans] == expected


def test_sentence_rules():
    text = "Given e.g. aspirin. it continued\n\nNew para\nwrapped line. Last one"
    assert [text[a:b] for a, b in sentence_spans(text)] == [
        "Given e.g. aspirin. it continued",
        "New para\nwrapped line.",
        "Last one",
    ]
    assert sentence_spans("   \n ") == []
    assert sentence_spans("") == []


def test_sentence_boundaries_match_the_rules_read_on_whole_slices():
    # The split reads only the characters next to each candidate boundary; this is the same rule written
    # the slow way (slicing the text before and after every match), on text that exercises each branch.
    import random
    import re

    from inference.core import text as t

    def slow(text):
        cuts = set()
        for m in t._LATIN_END.finditer(text):
            end = m.end()
            rest = text[end:].lstrip()
            if rest and rest[0].islower():
                continue
            if text[m.start()] == ".":
                before = re.search(r"(\S+)$", text[: m.start()])
                word = before.group(1).lower().lstrip("([\"'") if before else ""
                if word in t._ABBREVIATIONS or (len(word) == 1 and word.isalpha()):
                    continue
            cuts.add(end)
        for m in t._CJK_END.finditer(text):
            cuts.add(m.end())
        for m in t._BLANK_LINE.finditer(text):
            cuts.add(m.start())
        for m in re.finditer(r"\n", text):
            rest = text[m.end() :].lstrip(" \t")
            if rest and not rest[0].islower():
                cuts.add(m.start())
        return cuts

    rng = random.Random(11)
    pieces = ["Pain", "dr.", "Dr.", "e.g.", "mg.", "A.", "x.", "ok!", "why?", "(see", "fig.)", "“Quote.”", "ends.",
              "患者。", "皮疹！", "next", "\n", "\n\n", " \t", "2.5", "\n  lower", "\nUpper"]  # fmt: skip
    for _ in range(200):
        text = " ".join(rng.choice(pieces) for _ in range(rng.randrange(1, 40)))
        assert t._boundaries(text) == slow(text), repr(text)


def test_chinese_sentences_end_at_full_stop_exclamation_question_and_semicolon():
    text = "查体：心肺无异常；血常规：白细胞减少。是否停药？停药！继续观察"
    assert [text[a:b] for a, b in sentence_spans(text)] == [
        "查体：心肺无异常；", "血常规：白细胞减少。", "是否停药？", "停药！", "继续观察",
    ]
    # a closing quote stays with its sentence; the ASCII semicolon of Latin text does not cut
    text = "医嘱：“停用顺铂；”次日复查。Rash; itching."
    assert [text[a:b] for a, b in sentence_spans(text)] == ["医嘱：“停用顺铂；”", "次日复查。", "Rash; itching."]
