"""Segments pack texts without losing a token; whole-word masking masks words whole, never special tokens,
and the same generator seed gives the same masks."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModel, AutoTokenizer

from inference.core.adaptation.mlm import (
    IGNORE,
    MLMHead,
    load_head,
    make_segments,
    mask_batch,
    save_head,
    step_generator,
)


@pytest.fixture(scope="module")
def tok(tiny_dir):
    return AutoTokenizer.from_pretrained(str(tiny_dir), local_files_only=True)


def test_segments_keep_every_token_in_order_and_fit(tok, texts):
    segments = make_segments(tok, texts, 40)
    assert all(len(s.ids) <= 40 and len(s.ids) == len(s.words) for s in segments)
    specials = {tok.cls_token_id, tok.sep_token_id}
    packed = [i for s in segments for i in s.ids if i not in specials]
    expected = [i for t in texts for i in tok(t, add_special_tokens=False)["input_ids"]]
    assert packed == expected
    for s in segments:
        assert s.ids[0] == tok.cls_token_id and s.ids[-1] == tok.sep_token_id
        words = [w for w in s.words if w >= 0]
        assert words == sorted(words) and words[0] == 0
    assert len(segments) < len(texts)  # short notes are packed together


def test_whole_words_are_masked_together_and_specials_never(tok, texts):
    segments = make_segments(tok, texts, 48)
    args = {"mask_id": tok.mask_token_id, "vocab_size": len(tok), "probability": 0.3}
    batch = mask_batch(segments[:8], generator=step_generator(0, 5), **args)
    again = mask_batch(segments[:8], generator=step_generator(0, 5), **args)
    other = mask_batch(segments[:8], generator=step_generator(0, 6), **args)
    assert all(torch.equal(batch[k], again[k]) for k in ("input_ids", "labels"))
    assert not torch.equal(batch["labels"], other["labels"])
    chosen = batch["labels"] != IGNORE
    for row, seg in enumerate(segments[:8]):
        masked_words = {seg.words[i] for i in range(len(seg.ids)) if chosen[row, i]}
        assert masked_words and -1 not in masked_words
        for i, w in enumerate(seg.words):  # every piece of a chosen word is chosen
            assert bool(chosen[row, i]) == (w in masked_words)
        assert torch.equal(batch["labels"][row, chosen[row]], torch.tensor(seg.ids)[chosen[row, : len(seg.ids)]])
    assert not chosen[batch["attention_mask"] == 0].any()
    share_masked = (batch["input_ids"][chosen] == tok.mask_token_id).float().mean()
    assert 0.6 < float(share_masked) < 0.95  # 80 % [MASK], the rest random or kept
    assert batch["tokens"] == int(batch["attention_mask"].sum())


def test_a_head_saved_and_loaded_is_the_same_and_grows_with_the_vocabulary(tiny_dir, tmp_path):
    encoder = AutoModel.from_pretrained(str(tiny_dir), local_files_only=True)
    head, source = load_head(encoder, tiny_dir)
    assert source == "new" and isinstance(head, MLMHead)
    torch.nn.init.normal_(head.bias)
    save_head(head, tmp_path)
    encoder.resize_token_embeddings(encoder.get_input_embeddings().weight.shape[0] + 3, mean_resizing=False)
    again, source = load_head(encoder, tmp_path)
    assert source == "adapted"
    n = head.bias.shape[0]
    assert torch.equal(again.bias[:n], head.bias) and again.bias.shape[0] == n + 3
    assert torch.allclose(again.bias[n:], head.bias.mean().expand(3))
    assert torch.equal(again.dense.weight, head.dense.weight)
