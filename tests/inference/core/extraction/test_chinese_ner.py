"""Chinese records through NER: why a short training predicted no entity at all, and the character path end to
end (sentences cut at 。！？；, windows and offsets by characters, brat in and out through `ade-review`).

A tiny random encoder reads the synthetic Chinese records through MiniLM's tokenizer extended with their
characters (no [UNK]); its new embedding rows are drawn at random (no pre-training here), so that characters
can be told apart.
"""

from __future__ import annotations

import pytest
import torch

from annotations.formats import registry
from inference.cli import main
from inference.core.adaptation.synthetic import synthetic_documents
from inference.core.extraction import alignment as al
from inference.core.extraction.evaluation import ner_scores
from inference.core.extraction.ner import NER, NERConfig
from inference.core.training import TrainConfig, train_component
from tests.factories import tiny_chinese_encoder


@pytest.fixture(scope="module")
def records():
    """Six Chinese records of four sentences each (~90 characters, ~20 entities a record)."""
    return synthetic_documents("zh", 6, seed=3, sentences_per_document=4)


@pytest.fixture(scope="module")
def zh_encoder(tmp_path_factory, records):
    texts = [d.text for d in synthetic_documents("zh", 40, seed=0, sentences_per_document=4)]
    return tiny_chinese_encoder(tmp_path_factory.mktemp("zh") / "tiny-zh", texts + [d.text for d in records])


def test_a_chinese_record_is_read_character_by_character(zh_encoder, records):
    ner = NER(NERConfig(max_length=64, stride=16)).initialize(records, encoder=zh_encoder)
    tt = al.tokenize_text(ner.tokenizer, records[0].text)
    assert tt.units == tuple((i, i + 1) for i in range(len(records[0].text)))  # one unit per character
    assert ner.tokenizer.unk_token_id not in tt.input_ids
    assert all(al.align_span(tt, e.start, e.end)[2] for e in records[0].entities)  # every entity exact
    # a record longer than a window: windows of at most 62 characters, overlapping, covering every character
    windows = al.make_windows(tt, 62, 16)
    assert len(windows) > 1 and max(w.n_units for w in windows) <= 62
    assert windows[0].unit_start == 0 and windows[-1].unit_end == len(tt.units)
    # sentence context: no window crosses a 。
    ner.config.context = "sentence"
    _, (sentence_windows,) = ner._windows(records[:1])
    for w in sentence_windows:
        inside = records[0].text[tt.units[w.unit_start][0] : tt.units[w.unit_end - 1][1]]
        assert "。" not in inside[:-1]


def test_the_span_loss_counts_every_gold_span_and_a_sample_of_the_none_spans(zh_encoder, records):
    ner = NER(NERConfig(max_length=128, max_negative_spans=50)).initialize(records, encoder=zh_encoder)
    examples = ner.featurize(records[:2], train=True)
    torch.manual_seed(0)
    batch = ner.collate(examples)
    gold = sum(len(ex["gold"]) for ex in examples)
    assert int((batch["labels"] > 0).sum()) == gold > 0
    assert int((batch["labels"] == 0).sum()) == 50 * len(examples)
    # prediction still reads every candidate span
    full = ner.collate(ner.featurize(records[:2], train=False))
    n_units = [len(ex["unit_first"]) for ex in examples]
    assert len(full["span_keys"]) == sum(len(al.enumerate_spans(n, ner.config.max_width)) for n in n_units)
    with pytest.raises(ValueError, match="max_negative_spans"):
        NERConfig(max_negative_spans=-1).validate()


def test_a_briefly_trained_span_model_predicts_chinese_entities_instead_of_none_everywhere(zh_encoder, records):
    # The failure of issue 19: trained on whole records (one window each) for a few dozen steps with every
    # candidate span in the loss (~1,400 a record, 1.4 % of them entities), the span classifier learnt the
    # class prior, "none" everywhere, and predicted no entity. With the "none" spans sampled it finds them.
    def train(max_negative_spans):
        ner = NER(NERConfig(max_length=128, max_negative_spans=max_negative_spans)).initialize(
            records, encoder=zh_encoder
        )
        train_component(ner, records, TrainConfig(epochs=15, batch_size=2, lr=1e-3, head_lr=3e-3, threads=1))
        return ner.predict(records)

    every_span = train(None)
    sampled = train(NERConfig().max_negative_spans)
    assert sum(len(d.entities) for d in sampled) > sum(len(d.entities) for d in every_span)
    assert ner_scores(records, sampled)["strict_micro_f1"] > 0.5
    for doc in sampled:
        assert all(doc.text[e.start : e.end] == e.text for e in doc.entities)


def test_a_chinese_brat_corpus_trains_predicts_and_evaluates_through_the_cli(zh_encoder, records, tmp_path, capsys):
    registry.write_corpus(records, tmp_path / "train", "brat")
    model = tmp_path / "model"
    rc = main(["train", "--data", str(tmp_path / "train"), "--out", str(model), "--encoder", str(zh_encoder),
               "--no-re", "--ner-epochs", "30", "--batch-size", "2", "--lr", "1e-3", "--head-lr", "3e-3",
               "--max-length", "128", "--threads", "1"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert "NER step 90/90 (all epochs)" in captured.err
    rc = main(["predict", "--model", str(model), "--data", str(tmp_path / "train"), "--out", str(tmp_path / "pred")])
    assert rc == 0
    predicted = {r.document.id: r.document for r in registry.read_corpus(tmp_path / "pred", "brat")}
    assert sum(len(d.entities) for d in predicted.values()) > 0
    for doc in records:
        pred = predicted[doc.id]
        assert pred.text == doc.text
        assert all(pred.text[e.start : e.end] == e.text for e in pred.entities)  # offsets are characters
    assert ner_scores(records, [predicted[d.id] for d in records])["strict_micro_f1"] > 0.5
    capsys.readouterr()
    assert main(["evaluate", "--model", str(model), "--data", str(tmp_path / "train")]) == 0
    assert "NER   strict" in capsys.readouterr().out


def test_a_gold_entity_wider_than_the_span_width_is_left_out_of_the_sample(zh_encoder, records):
    ner = NER(NERConfig(max_length=128, max_width=2, max_negative_spans=10)).initialize(records, encoder=zh_encoder)
    (example,) = ner.featurize(records[:1], train=True)
    assert any(la - f + 1 > 2 for f, la, _ in example["gold"])  # e.g. a four-character drug name
    assert ner.too_wide(records[:1]) == sum(la - f + 1 > 2 for f, la, _ in example["gold"]) > 0
    batch = ner.collate([example])
    assert int(batch["span_width"].max()) <= 2
    assert int((batch["labels"] > 0).sum()) == sum(la - f + 1 <= 2 for f, la, _ in example["gold"])
