"""Character offsets <-> subword units and sliding windows, for English, Swedish, Korean and Chinese."""

from __future__ import annotations

import pytest

from inference.core.encoder import load_tokenizer
from inference.core.extraction import alignment as al
from tests.factories import tiny_encoder

# (text, gold entities as (surface, occurrence, type)); overlapping gold entities in every script
CASES = {
    "english": (
        "Methotrexate-induced pneumonitis developed after 5 mg of methotrexate; no rash.",
        [
            ("Methotrexate", "Drug"),
            ("Methotrexate-induced pneumonitis", "AE"),
            ("pneumonitis", "AE2"),
            ("methotrexate", "Drug"),
            ("rash", "AE"),
        ],
    ),
    "swedish": (
        "Patienten fick utslag och klåda efter penicillin, så vi avslutade behandlingen med penicillin.",
        [
            ("utslag", "AE"),
            ("utslag och klåda", "AE2"),
            ("klåda", "AE"),
            ("penicillin", "Drug"),
            ("behandlingen med penicillin", "Event"),
        ],
    ),
    "korean": (
        "환자는 아스피린 복용 후 피부 발진 발생 . 아스피린 중단",
        [("아스피린", "Drug"), ("피부 발진", "AE"), ("발진", "AE2"), ("아스피린 복용", "Event")],
    ),
    "chinese": (
        "患者服用阿司匹林后出现皮疹，停用阿司匹林后皮疹消退。",
        [("阿司匹林", "Drug"), ("皮疹", "AE"), ("出现皮疹", "AE2"), ("服用阿司匹林", "Event")],
    ),
}


def _spans(text, ents):
    out = []
    for surface, typ in ents:
        start = 0
        while (i := text.find(surface, start)) >= 0:
            out.append((i, i + len(surface), typ))
            start = i + 1
    return out


@pytest.fixture(scope="module")
def tok(tmp_path_factory):
    return load_tokenizer(tiny_encoder(tmp_path_factory.mktemp("tiny")))


@pytest.mark.parametrize("lang", sorted(CASES))
def test_offsets_survive_tokenization(tok, lang):
    text, ents = CASES[lang]
    tt = al.tokenize_text(tok, text)
    for s, e in tt.offsets:  # every subword points inside the text, in order
        assert 0 <= s < e <= len(text)
    assert [u[0] for u in tt.units] == sorted(u[0] for u in tt.units)
    for s, e, _ in _spans(text, ents):
        first, last, exact = al.align_span(tt, s, e)
        assert exact, (lang, text[s:e])
        assert al.unit_span_to_chars(tt, first, last) == (s, e)


@pytest.mark.parametrize("lang", sorted(CASES))
@pytest.mark.parametrize("max_tokens,stride", [(6, 2), (9, 4), (512, 64)])
def test_offsets_survive_windowing(tok, lang, max_tokens, stride):
    text, ents = CASES[lang]
    tt = al.tokenize_text(tok, text)
    wins = al.make_windows(tt, max_tokens, stride)
    # windows are whole units, cover every unit, respect the length and overlap
    assert wins[0].unit_start == 0 and wins[-1].unit_end == len(tt.units)
    for w, nxt in zip(wins, wins[1:], strict=False):
        assert nxt.unit_start > w.unit_start and nxt.unit_start <= w.unit_end
    for w in wins:
        assert w.n_tokens <= max_tokens
        assert w.token_start == tt.unit_tokens[w.unit_start][0]
    for s, e, _ in _spans(text, ents):
        first, last, _ = al.align_span(tt, s, e)
        owner = al.span_owner(wins, first, last)
        n_sub = tt.unit_tokens[last][1] - tt.unit_tokens[first][0] + 1
        if n_sub <= stride:  # a span no longer than the overlap always lies whole in some window
            assert owner is not None
        if owner is not None:
            w = wins[owner]
            # the span rebuilt from window-relative units gives the same characters
            rel = (first - w.unit_start, last - w.unit_start)
            assert al.unit_span_to_chars(tt, rel[0] + w.unit_start, rel[1] + w.unit_start) == (s, e)


def test_merging_rule_picks_the_window_with_most_context():
    tt = al.TokenizedText("", (), (), tuple((i, i + 1) for i in range(10)), tuple((i, i) for i in range(10)))
    wins = al.make_windows(tt, 6, 3)
    assert [(w.unit_start, w.unit_end) for w in wins] == [(0, 6), (3, 9), (6, 10)]
    assert al.span_owner(wins, 0, 0) == 0  # only the first window holds it
    assert al.span_owner(wins, 5, 5) == 1  # margin 0 in window 0, 2 in window 1
    assert al.span_owner(wins, 4, 4) == 0  # margins 1 and 1: ties go to the earlier window
    assert al.span_owner(wins, 9, 9) == 2
    assert al.span_owner(wins, 2, 8) is None  # wider than any window


def test_spans_to_bio_to_spans_round_trip():
    spans = [(0, 1, "Drug"), (3, 3, "AE"), (4, 6, "AE"), (8, 8, "Drug")]
    tags = al.spans_to_bio(10, spans)
    assert tags[:5] == ["B-Drug", "I-Drug", "O", "B-AE", "B-AE"]
    assert al.bio_to_spans(tags) == spans
    with pytest.raises(ValueError):
        al.spans_to_bio(10, [(0, 2, "AE"), (1, 1, "Drug")])
    assert al.bio_to_spans(["I-AE", "I-AE", "O", "B-Drug"]) == [(0, 1, "AE"), (3, 3, "Drug")]


@pytest.mark.parametrize("lang", sorted(CASES))
def test_chars_to_units_to_bio_to_chars_round_trip(tok, lang):
    text, ents = CASES[lang]
    tt = al.tokenize_text(tok, text)
    gold = _spans(text, ents)
    unit_spans = []
    for s, e, t in gold:
        f, la, _ = al.align_span(tt, s, e)
        unit_spans.append((f, la, t))
    flat = al.drop_overlaps(unit_spans)  # BIO keeps a non-overlapping subset, longest first
    back = [
        (*al.unit_span_to_chars(tt, f, la), t)
        for f, la, t in al.bio_to_spans(al.spans_to_bio(len(tt.units), flat))
    ]
    assert back == sorted((*al.unit_span_to_chars(tt, f, la), t) for f, la, t in flat)
    assert set(back) <= set(gold)


def test_token_units_split_words_at_subwords(tok):
    text = "penicillinbehandlingen"
    words = al.tokenize_text(tok, text, units="word")
    toks = al.tokenize_text(tok, text, units="token")
    assert len(words.units) == 1 and len(toks.units) > 1
    assert toks.units[0][0] == 0 and toks.units[-1][1] == len(text)


def test_inexact_spans_snap_outward(tok):
    tt = al.tokenize_text(tok, "aspirin-induced rash")
    first, last, exact = al.align_span(tt, 1, 6)  # inside "aspirin"
    assert not exact and al.unit_span_to_chars(tt, first, last) == (0, 7)
    assert al.align_span(tt, 15, 16) is None  # only whitespace


def test_a_note_longer_than_the_tokenizers_own_truncation_is_tokenized_whole(tmp_path):
    # The shipped MiniLM tokenizer.json truncates at 128 subwords; a long note must keep every word.
    tok = load_tokenizer(tiny_encoder(tmp_path / "enc"))
    text = " ".join(["metformin associated lactic acidosis"] * 60)
    tt = al.tokenize_text(tok, text)
    assert len(tt.input_ids) > 128
    assert len(tt.units) == len(text.split())
    assert text[tt.units[-1][0] : tt.units[-1][1]] == "acidosis"
    # a Hugging Face call that truncates still truncates (the setting is per call)
    assert len(tok(text, truncation=True, max_length=32)["input_ids"]) == 32


def test_sentence_windows_cover_every_unit_and_never_cross_a_sentence(tok):
    from inference.core.text import sentence_spans

    text = "Aspirin caused a rash. " * 3 + " ".join(["Nausea"] * 40) + " after ibuprofen. The end."
    tt = al.tokenize_text(tok, text, "word")
    sentences = sentence_spans(text)
    windows = al.sentence_windows(tt, 16, 4, sentences)
    covered = set()
    for w in windows:
        assert w.n_tokens <= 16
        covered.update(range(w.unit_start, w.unit_end))
        first, last = tt.units[w.unit_start][0], tt.units[w.unit_end - 1][1]
        assert any(a <= first and last <= b for a, b in sentences), text[first:last]
    assert covered == set(range(len(tt.units)))
    # The long sentence (40 x Nausea) is cut into overlapping windows of its own; the short ones are one each.
    assert len(windows) > len(sentences)
    assert [text[tt.units[w.unit_start][0] : tt.units[w.unit_end - 1][1]] for w in windows[:3]] == [
        "Aspirin caused a rash."
    ] * 3


def test_span_owner_agrees_with_a_scan_of_every_window(tok):
    import random

    from inference.core.text import sentence_spans

    rng = random.Random(7)
    words = ["Aspirin", "caused", "a", "rash.", "The", "nausea", "after", "ibuprofen", "lasted", "days."]
    text = " ".join(rng.choice(words) for _ in range(400))
    tt = al.tokenize_text(tok, text, "word")

    def scan(windows, first, last):
        best, best_margin = None, -1
        for i, w in enumerate(windows):
            if w.unit_start <= first and last < w.unit_end:
                margin = min(first - w.unit_start, w.unit_end - 1 - last)
                if margin > best_margin:
                    best, best_margin = i, margin
        return best

    for windows in (al.make_windows(tt, 24, 8), al.sentence_windows(tt, 12, 4, sentence_spans(text))):
        for first in range(len(tt.units)):
            for last in range(first, min(len(tt.units), first + 6)):
                assert al.span_owner(windows, first, last) == scan(windows, first, last), (first, last)


def _space_only_tokenizer():
    """A fast tokenizer that splits words at spaces only (as SentencePiece and byte-level BPE do) with a
    WordPiece vocabulary of single characters: a Chinese clause is one word of many subwords."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    chars = sorted(set("患者服用阿司匹林后出现皮疹，停药 Drug rash"))
    vocab = {"[UNK]": 0, "[CLS]": 1, "[SEP]": 2, "[PAD]": 3}
    for ch in chars:
        vocab.setdefault(ch, len(vocab))
        vocab.setdefault(f"##{ch}", len(vocab))
    backend = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="[UNK]", cls_token="[CLS]",
                                   sep_token="[SEP]", pad_token="[PAD]")


def test_chinese_is_read_by_characters_even_when_the_tokenizer_splits_only_at_spaces():
    tok = _space_only_tokenizer()
    text = "患者服用阿司匹林后出现皮疹，停药 Drug rash"
    tt = al.tokenize_text(tok, text)
    chinese = [u for u in tt.units if u[1] <= text.index(" ")]
    assert chinese == [(i, i + 1) for i in range(text.index(" "))]  # one unit per character
    latin = [text[s:e] for s, e in tt.units if s > text.index(" ")]
    assert latin == ["Drug", "rash"]  # spaced words stay whole
    i = text.index("阿司匹林")
    assert al.align_span(tt, i, i + 4)[2]  # an entity inside the clause aligns exactly
