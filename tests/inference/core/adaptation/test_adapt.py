"""adapt_encoder end to end on a tiny random BERT: the MLM loss falls, the directory reloads offline as a
standard Hugging Face encoder, cancel stops between steps, and a run killed after its last checkpoint
resumes there and ends where the uninterrupted run ends."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModel, AutoTokenizer

from inference.core.adaptation.adapt import (
    REPORT_FILE,
    AdaptationConfig,
    AdaptationStopped,
    CheckpointMismatch,
    adapt_encoder,
    read_adaptation,
)
from inference.core.adaptation.vocabulary import VocabularyConfig


@pytest.fixture(scope="module")
def dropout_dir(tiny_dir, tmp_path_factory):
    """The tiny encoder with dropout on, so that resuming must restore the RNG to end where it would."""
    import shutil

    out = tmp_path_factory.mktemp("tiny-dropout")
    for p in tiny_dir.iterdir():
        shutil.copyfile(p, out / p.name)
    cfg = json.loads((out / "config.json").read_text())
    cfg.update(hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1)
    (out / "config.json").write_text(json.dumps(cfg))
    return out


def _config(encoder, out, **kw):
    base = dict(encoder=str(encoder), out=str(out), steps=40, batch_size=8, max_length=48, lr=2e-3, head_lr=2e-3,
                head_warmup_steps=5, head_warmup_lr=2e-3, checkpoint_every=0, threads=1,
                vocabulary=VocabularyConfig(min_word_count=3), device="cpu")
    base.update(kw)
    return AdaptationConfig(**base)


def test_mlm_loss_falls_and_the_directory_reloads_offline(tiny_dir, texts, tmp_path):
    seen = []
    out = tmp_path / "adapted"
    report = adapt_encoder(_config(tiny_dir, out), texts, progress=seen.append)
    assert report.heldout_loss_after < report.heldout_loss_before - 0.3
    assert report.heldout_perplexity_after < report.heldout_perplexity_before
    assert sum(report.losses[-3:]) / 3 < sum(report.losses[:3]) / 3
    m = report.metrics()
    assert m["unk_rate_before"] > 0.05 and m["unk_rate_after"] == 0.0
    assert m["pieces_per_word_after"] < m["pieces_per_word_before"]
    assert report.steps == 40 and report.resumed_from_step is None and report.head == "new"

    steps = [p.step for p in seen if p.stage == "train"]
    assert steps == list(range(1, 41))
    train = [p for p in seen if p.stage == "train"]
    assert all(p.tokens_per_second > 0 and p.seconds_left >= 0 for p in train) and train[-1].seconds_left == 0
    fractions = [p.fraction for p in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0

    # a standard Hugging Face directory: AutoModel / AutoTokenizer, offline, no checkpoints left behind
    assert not (out / "checkpoints").exists()
    tok = AutoTokenizer.from_pretrained(str(out), local_files_only=True)
    model = AutoModel.from_pretrained(str(out), local_files_only=True)
    assert len(tok) == model.config.vocab_size == report.vocabulary["vocab_size_after"]
    assert tok.unk_token_id not in tok(texts[0])["input_ids"]
    with torch.no_grad():
        hidden = model(**tok(texts[:2], padding=True, return_tensors="pt"))[0]
    assert hidden.shape[-1] == 32 and torch.isfinite(hidden).all()
    saved = read_adaptation(out)
    assert saved["base_encoder"] == str(tiny_dir.resolve()) and saved["metrics"]["steps"] == 40
    assert read_adaptation(tiny_dir) is None


def test_old_rows_are_kept_when_nothing_is_trained(tiny_dir, texts, tmp_path):
    report = adapt_encoder(_config(tiny_dir, tmp_path / "zero", steps=0, head_warmup_steps=0), texts)
    before = load_file(str(tiny_dir / "model.safetensors"))["embeddings.word_embeddings.weight"]
    after = load_file(str(tmp_path / "zero" / "model.safetensors"))["embeddings.word_embeddings.weight"]
    assert after.shape[0] == before.shape[0] + report.vocabulary["added"]
    assert torch.equal(after[: before.shape[0]], before)


def test_cancel_stops_between_steps(tiny_dir, texts, tmp_path):
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 3

    with pytest.raises(AdaptationStopped) as stopped:
        adapt_encoder(_config(tiny_dir, tmp_path / "c", head_warmup_steps=0), texts, should_cancel=cancel)
    assert stopped.value.step == 3 and stopped.value.checkpoint == 0
    assert not (tmp_path / "c" / REPORT_FILE).exists()


def test_a_killed_run_resumes_from_its_last_checkpoint_and_ends_where_the_whole_run_ends(dropout_dir, texts, tmp_path):
    whole = adapt_encoder(_config(dropout_dir, tmp_path / "whole", steps=12, checkpoint_every=4), texts)

    # The "kill": stop after step 10; the newest checkpoint is step 8 and steps 9-10 are lost.
    done = []
    with pytest.raises(AdaptationStopped) as stopped:
        adapt_encoder(_config(dropout_dir, tmp_path / "killed", steps=12, checkpoint_every=4), texts,
                      progress=lambda p: done.append(p.step) if p.stage == "train" else None,
                      should_cancel=lambda: len(done) >= 10)
    assert stopped.value.checkpoint == 8
    assert sorted(p.name for p in (tmp_path / "killed" / "checkpoints").glob("step-*")) == ["step-000004", "step-000008"]

    resumed_steps = []
    resumed = adapt_encoder(_config(dropout_dir, tmp_path / "killed", steps=12, checkpoint_every=4), texts,
                            progress=lambda p: resumed_steps.append(p.step) if p.stage == "train" else None)
    assert resumed.resumed_from_step == 8 and resumed_steps == [9, 10, 11, 12]
    assert resumed.heldout_loss_before == whole.heldout_loss_before
    assert resumed.heldout_loss_after == pytest.approx(whole.heldout_loss_after, abs=1e-4)
    a = load_file(str(tmp_path / "whole" / "model.safetensors"))
    b = load_file(str(tmp_path / "killed" / "model.safetensors"))
    assert a.keys() == b.keys()
    for k in a:
        assert torch.allclose(a[k], b[k], atol=1e-5), k
    # training moved the weights (the equality above is no accident of an untrained model)
    base = load_file(str(dropout_dir / "model.safetensors"))
    assert not torch.allclose(a["encoder.layer.0.attention.self.query.weight"], base["encoder.layer.0.attention.self.query.weight"])


def test_checkpoints_of_other_texts_are_refused(tiny_dir, texts, tmp_path):
    cfg = _config(tiny_dir, tmp_path / "o", steps=6, checkpoint_every=2, head_warmup_steps=0)
    with pytest.raises(AdaptationStopped):
        adapt_encoder(cfg, texts, should_cancel=iter([False] * 3 + [True]).__next__)
    with pytest.raises(CheckpointMismatch, match="other texts or settings"):
        adapt_encoder(cfg, texts[:-1])
    # starting over is always possible
    report = adapt_encoder(dataclasses.replace(cfg, resume=False), texts[:-1])
    assert report.resumed_from_step is None and report.steps == 6


def test_out_may_not_be_the_encoder_itself(tiny_dir, texts):
    with pytest.raises(ValueError, match="encoder's own directory"):
        adapt_encoder(_config(tiny_dir, tiny_dir), texts)
