"""Span-classification / CRF / hybrid NER on a tiny random encoder: overfitting, save/reload, batching."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from annotations.formats.document import Document, Entity, Span
from inference.core.extraction.artifacts import clear_cache, load_component, save_component
from inference.core.extraction.ner import NER, NERConfig
from inference.core.layers import CRF, bio_constraints
from inference.core.training import TrainConfig, train_component
from tests.factories import tiny_encoder


def make_doc(doc_id: str, text: str, ents: list[tuple[str, str]]) -> Document:
    out = []
    for n, (surface, typ) in enumerate(ents, start=1):
        i = text.index(surface)
        out.append(Entity(f"T{n}", typ, (Span(i, i + len(surface)),), surface))
    return Document(doc_id, text, tuple(out))


DOCS = [
    make_doc(
        "en", "Aspirin-induced rash after three days.", [("Aspirin", "Drug"), ("Aspirin-induced rash", "AE")]
    ),
    make_doc("sv", "Patienten fick utslag efter penicillin.", [("penicillin", "Drug"), ("utslag", "AE")]),
    make_doc("ko", "환자는 아스피린 복용 후 발진 발생 .", [("아스피린", "Drug"), ("발진", "AE")]),
    make_doc("zh", "患者服用阿司匹林后出现皮疹。", [("阿司匹林", "Drug"), ("皮疹", "AE")]),
    make_doc("none", "The patient was discharged home.", []),
]
FAST = TrainConfig(epochs=40, batch_size=5, lr=1e-3, head_lr=1e-2, warmup=0.05, seed=0, threads=1)


def gold_set(docs):
    return {(d.id, e.start, e.end, e.type) for d in docs for e in d.entities}


def pred_set(docs):
    return {(d.id, e.start, e.end, e.type) for d in docs for e in d.entities}


@pytest.fixture(scope="module")
def enc(tmp_path_factory):
    return tiny_encoder(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module")
def trained(enc):
    # small windows force the sliding-window path even on these short texts
    ner = NER(NERConfig(max_length=12, stride=4)).initialize(DOCS, encoder=enc)
    report = train_component(ner, DOCS, FAST)
    return ner, report


def test_training_lowers_the_loss_and_fits_the_toy_set_with_overlaps(trained):
    ner, report = trained
    assert report.losses[-1] < report.losses[0] / 10
    assert len(report.seconds_per_epoch) == FAST.epochs
    pred = ner.predict(DOCS)
    # the nested pair Aspirin / Aspirin-induced rash is represented: span classification
    assert pred_set(pred) == gold_set(DOCS)
    for d in pred:
        for e in d.entities:
            assert 0.0 < e.confidence <= 1.0
            assert d.text[e.start : e.end] == e.text


@pytest.mark.parametrize("head,decoder", [("crf", "crf"), ("hybrid", "crf"), ("hybrid", "span")])
def test_other_heads_fit_the_toy_set(enc, head, decoder):
    ner = NER(NERConfig(head=head, hybrid_decoder=decoder, max_length=12, stride=4)).initialize(
        DOCS, encoder=enc
    )
    report = train_component(ner, DOCS, FAST)
    assert report.losses[-1] < report.losses[0] / 10
    got = pred_set(ner.predict(DOCS))
    gold = gold_set(DOCS)
    if ner.config.tagging:  # BIO cannot hold the nested drug: the longest entity is kept
        gold = gold - {("en", 0, 7, "Drug")}
    assert got == gold


def test_save_and_reload_give_identical_predictions(trained, tmp_path):
    ner, _ = trained
    save_component(ner, tmp_path / "ner", encoder_name="tiny", seed=0, fingerprint="sha256:x")
    clear_cache()
    again = load_component(tmp_path / "ner")
    assert load_component(tmp_path / "ner") is again  # cached per process
    assert again.labels == ner.labels and again.config == ner.config
    a, b = ner.predict(DOCS), again.predict(DOCS)
    assert [[(e.start, e.end, e.type) for e in d.entities] for d in a] == [
        [(e.start, e.end, e.type) for e in d.entities] for d in b
    ]
    for da, db in zip(a, b, strict=True):
        for ea, eb in zip(da.entities, db.entities, strict=True):
            assert ea.confidence == pytest.approx(eb.confidence, abs=1e-6)


def test_batched_equals_single(trained):
    ner, _ = trained
    batched = ner.predict(DOCS, batch_size=8)
    single = [ner.predict([d], batch_size=1)[0] for d in DOCS]
    for a, b in zip(batched, single, strict=True):
        assert [(e.start, e.end, e.type) for e in a.entities] == [
            (e.start, e.end, e.type) for e in b.entities
        ]
        for ea, eb in zip(a.entities, b.entities, strict=True):
            assert ea.confidence == pytest.approx(eb.confidence, abs=1e-5)


def test_predict_has_no_side_effects(trained):
    ner, _ = trained
    before = {k: v.clone() for k, v in ner.module.state_dict().items()}
    ner.predict(DOCS)
    after = ner.module.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not ner.module.training


def test_update_returns_losses_and_score_is_flat(enc):
    ner = NER().initialize(DOCS, encoder=enc)
    opt = torch.optim.Adam(ner.module.parameters(), lr=1e-2)
    losses = [ner.update(DOCS, opt)["ner"] for _ in range(8)]
    assert losses[-1] < losses[0]
    scores = ner.score(DOCS)
    assert "ner_strict_macro_f1" in scores and "ner_relaxed_macro_f1" in scores
    assert all(isinstance(v, int | float) for v in scores.values())


def test_overlap_modes(trained):
    ner, _ = trained
    spans = {(0, 0): ("Drug", 0.9), (0, 2): ("AE", 0.8), (1, 2): ("AE", 0.7)}
    ner.config.overlap = "cross_type"
    assert [s[:3] for s in ner._select(spans)] == [(0, 0, "Drug"), (0, 2, "AE")]
    ner.config.overlap = "none"
    assert [s[:3] for s in ner._select(spans)] == [(0, 0, "Drug"), (1, 2, "AE")]
    ner.config.overlap = "all"
    assert len(ner._select(spans)) == 3
    ner.config.overlap = "cross_type"


def test_crf_viterbi_and_marginals_agree_with_brute_force():
    torch.manual_seed(0)
    allowed, start = bio_constraints(1)  # O, B, I
    crf = CRF(3, allowed)
    crf.set_start_allowed(start)
    with torch.no_grad():
        crf.transitions.normal_()
        crf.end.normal_()
    em = torch.randn(1, 4, 3)
    mask = torch.tensor([[True, True, True, False]])
    import itertools

    best, scores = None, {}
    for path in itertools.product(range(3), repeat=3):
        tags = torch.tensor([list(path) + [0]])
        s = float(crf.score(em, tags, mask).detach())
        if not bool(start[path[0]]) or any(
            not bool(allowed[a, b]) for a, b in zip(path, path[1:], strict=False)
        ):
            continue
        scores[path] = s
        if best is None or s > scores[best]:
            best = path
    assert crf.viterbi(em, mask)[0] == list(best)
    z = torch.logsumexp(torch.tensor(list(scores.values())), 0)
    assert float(crf.log_partition(em, mask)) == pytest.approx(float(z), abs=1e-3)
    marg = crf.marginals(em, mask)[0]
    for t in range(3):
        for k in range(3):
            p = sum(torch.exp(torch.tensor(s) - z) for path, s in scores.items() if path[t] == k)
            assert float(marg[t, k]) == pytest.approx(float(p), abs=1e-3)


def test_bad_config_is_refused():
    with pytest.raises(ValueError):
        NER(NERConfig(head="lstm"))


def test_sentence_context_reads_a_long_note_as_it_reads_each_sentence(trained):
    from inference.core.extraction.ner import context_for

    ner, _ = trained
    by_sentence = NER(dataclasses.replace(ner.config, context="sentence")).build(
        ner.module.encoder, ner.tokenizer, ner.labels
    )
    by_sentence.module = ner.module
    sentences = [d.text for d in DOCS if d.id in ("en", "sv", "none")] * 3
    note = Document("note", " ".join(sentences))
    alone = by_sentence.predict([Document(str(i), s) for i, s in enumerate(sentences)])
    expected, offset = set(), 0
    for s, d in zip(sentences, alone, strict=True):
        expected |= {(e.start + offset, e.end + offset, e.type) for e in d.entities}
        offset += len(s) + 1
    got = {(e.start, e.end, e.type) for e in by_sentence.predict([note])[0].entities}
    assert expected and got == expected
    assert context_for(DOCS) == "sentence"
    assert context_for([note, *DOCS[:2]]) == "window"
