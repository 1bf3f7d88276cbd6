"""Vocabulary extension: no [UNK] left in the training text, old tokens untouched, new rows from their old
pieces, Korean read as syllables, Swedish words whole, offsets exact, and NER's spans round-trip in Chinese."""

from __future__ import annotations

import json
import unicodedata

import pytest
import torch
from transformers import AutoModel, AutoTokenizer

from inference.core.adaptation.synthetic import synthetic_documents
from inference.core.adaptation.vocabulary import (
    VocabularyConfig,
    extend_encoder,
    plan_extension,
    tokenizer_stats,
    wordpiece,
)
from inference.core.extraction import alignment as al

KOREAN = "수액 주입중 환자 오심 호소함"


def _fresh(path):
    return AutoTokenizer.from_pretrained(str(path), local_files_only=True)


@pytest.fixture(scope="module")
def extended(tiny_dir, texts, tmp_path_factory):
    """(old tokenizer, old embedding rows, extended tokenizer, extended model, extension, tokenizer dir)."""
    old_tok = _fresh(tiny_dir)
    model = AutoModel.from_pretrained(str(tiny_dir), local_files_only=True)
    old_rows = model.get_input_embeddings().weight.detach().clone()
    out = tmp_path_factory.mktemp("extended")
    extra = [*texts, KOREAN, "Patienten fick klåda, KLÅDA och Klåda igen; klåda klåda."]
    new_tok, ext = extend_encoder(model, old_tok, tiny_dir, extra, out, VocabularyConfig(min_word_count=3))
    return old_tok, old_rows, new_tok, model, ext, out, extra


def test_no_character_of_the_training_text_is_unk_after_extension(extended):
    old_tok, _, new_tok, _, ext, _, extra = extended
    for lang in ("zh", "ko"):
        lang_texts = [t for t in extra if any(unicodedata.name(c, "").startswith(
            "CJK" if lang == "zh" else "HANGUL") for c in t)]
        assert tokenizer_stats(old_tok, lang_texts).unk_rate > 0.05, lang  # the problem is real
    after = tokenizer_stats(new_tok, extra)
    assert after.unk_characters == 0 and after.unk_examples == ()
    assert ext.characters > 0 and ext.syllables > 0 and ext.words > 0
    assert ext.vocab_size_after == len(new_tok) == ext.vocab_size_before + ext.added


def test_old_tokens_keep_their_ids_and_embeddings(extended):
    old_tok, old_rows, new_tok, model, ext, _, _ = extended
    old_vocab, new_vocab = old_tok.get_vocab(), new_tok.get_vocab()
    assert all(new_vocab[t] == i for t, i in old_vocab.items())
    assert sorted(new_vocab[t] for t in ext.tokens) == list(range(ext.first_new_id, ext.vocab_size_after))
    weight = model.get_input_embeddings().weight.detach()
    assert weight.shape[0] == ext.vocab_size_after == model.config.vocab_size
    assert torch.equal(weight[: old_rows.shape[0]], old_rows)
    # English that was fully known reads exactly as before
    english = "Methotrexate-induced pneumonitis developed after 5 mg of methotrexate; no rash."
    assert new_tok(english)["input_ids"] == old_tok(english)["input_ids"]


def test_new_rows_start_at_the_mean_of_their_old_pieces(extended):
    old_tok, old_rows, new_tok, model, _, _, _ = extended
    vocab, weight = new_tok.get_vocab(), model.get_input_embeddings().weight.detach()
    old_vocab = old_tok.get_vocab()
    assert wordpiece("klada", old_vocab) == ["k", "##lad", "##a"]
    expected = old_rows[[old_vocab[p] for p in ("k", "##lad", "##a")]].mean(dim=0)
    assert torch.allclose(weight[vocab["klada"]], expected)
    # a Chinese character the old vocabulary read as [UNK]: the mean of all old rows
    assert "癌" not in old_vocab and "癌" in vocab
    assert torch.allclose(weight[vocab["癌"]], old_rows.mean(dim=0), atol=1e-6)
    # a Hangul syllable: the mean of its jamo
    syllable = unicodedata.normalize("NFD", "환")
    jamo = wordpiece(syllable, old_vocab)
    assert jamo and len(jamo) == 3
    assert torch.allclose(weight[vocab[syllable]], old_rows[[old_vocab[p] for p in jamo]].mean(dim=0))


def test_korean_is_read_as_syllables_with_offsets_on_whole_syllables(extended):
    old_tok, _, new_tok, _, _, _, _ = extended
    before = old_tok(KOREAN, add_special_tokens=False)["input_ids"]
    enc = new_tok(KOREAN, add_special_tokens=False, return_offsets_mapping=True)
    assert len(before) == 30  # the count: jamo pieces
    syllables = sum(1 for c in KOREAN if not c.isspace())
    assert len(enc["input_ids"]) <= syllables
    assert new_tok.unk_token_id not in enc["input_ids"]
    for s, e in enc["offset_mapping"]:
        assert e > s and not KOREAN[s:e].isspace()
    # pieces tile the words exactly: no two pieces share a syllable
    covered = [i for s, e in enc["offset_mapping"] for i in range(s, e)]
    assert covered == [i for i, c in enumerate(KOREAN) if not c.isspace()]


def test_frequent_swedish_words_become_one_token_in_their_normalized_form(extended):
    old_tok, _, new_tok, _, _, _, _ = extended
    text = "Klåda efter penicillin."
    assert old_tok.tokenize(text)[:3] == ["k", "##lad", "##a"]
    enc = new_tok(text, add_special_tokens=False, return_offsets_mapping=True)
    # the uncased normalizer strips the accent before the vocabulary is read: the entry is "klada"
    assert new_tok.convert_ids_to_tokens(enc["input_ids"])[0] == "klada"
    assert enc["offset_mapping"][0] == (0, 5)


def test_the_saved_tokenizer_files_agree(extended):
    _, _, new_tok, _, ext, out, _ = extended
    vocab_txt = (out / "vocab.txt").read_text(encoding="utf-8").splitlines()
    assert len(vocab_txt) == ext.vocab_size_after
    data = json.loads((out / "tokenizer.json").read_text(encoding="utf-8"))
    assert all(vocab_txt[i] == t for t, i in data["model"]["vocab"].items())
    assert _fresh(out).get_vocab() == new_tok.get_vocab()


def test_word_threshold_and_planning_are_deterministic(tiny_dir, texts):
    tok = _fresh(tiny_dir)
    a, kinds_a = plan_extension(tok, texts, VocabularyConfig(min_word_count=3))
    b, _ = plan_extension(tok, list(texts), VocabularyConfig(min_word_count=3))
    assert a == b and len(set(a)) == len(a)
    none, kinds = plan_extension(tok, texts, VocabularyConfig(add_words=False))
    assert kinds["words"] == 0 and kinds["characters"] == kinds_a["characters"]
    rare, kinds_rare = plan_extension(tok, texts, VocabularyConfig(min_word_count=10_000))
    assert kinds_rare["words"] == 0 and set(rare) == set(none)


def test_chinese_entity_spans_round_trip_through_the_extended_tokenizer(extended):
    """NER aligns character spans to units via offsets (alignment.py); with the extended tokenizer every
    Chinese entity is exact, no unit is [UNK], and spans -> units -> BIO -> units -> spans is the identity."""
    _, _, new_tok, _, _, _, _ = extended
    docs = synthetic_documents("zh", 25, seed=1, sentences_per_document=2)
    for doc in docs:
        tt = al.tokenize_text(new_tok, doc.text)
        assert new_tok.unk_token_id not in tt.input_ids
        assert len(tt.units) == sum(1 for c in doc.text if not c.isspace())  # one unit per character
        gold = sorted({(e.start, e.end, e.type) for e in doc.entities})
        units = []
        for s, e, t in gold:
            first, last, exact = al.align_span(tt, s, e)
            assert exact, (doc.text[s:e], doc.id)
            units.append((first, last, t))
        spans = al.bio_to_spans(al.spans_to_bio(len(tt.units), al.drop_overlaps(units)))
        back = sorted((*al.unit_span_to_chars(tt, f, la), t) for f, la, t in spans)
        assert back == gold
