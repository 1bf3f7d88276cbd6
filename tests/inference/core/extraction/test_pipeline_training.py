"""Training a whole pipeline (from the encoder or from an earlier model), its evaluation, the promotion
gate, and the active-learning scores a prediction carries (tiny random encoder, never the real one)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from annotations.formats.document import Document, Entity, Relation, Span
from inference.core.extraction.active_learning import SEQUENCE_STRATEGIES, STRATEGIES, ItemScores, uncertainty
from inference.core.extraction.ner import NER, NERConfig
from inference.core.extraction.pipeline import Pipeline
from inference.core.extraction.pipeline_training import (
    GATE_METRICS,
    PipelineTrainConfig,
    TrainingStopped,
    evaluate_pipeline,
    gate_decide,
    train_pipeline,
)
from tests.factories import tiny_encoder

DRUGS = ("aspirin", "warfarin", "ibuprofen", "metformin")
EFFECTS = ("rash", "bleeding", "nausea", "dizziness")


def toy_doc(i: int) -> Document:
    """'<drug> caused <effect>.' (ADE) or '<drug> given for pain.' (no ADE): a pattern a tiny model learns."""
    drug = DRUGS[i % len(DRUGS)]
    if i % 2 == 0:
        effect = EFFECTS[(i // 2) % len(EFFECTS)]
        text = f"{drug} caused {effect}."
        e = text.index(effect)
        ents = (
            Entity("T1", "Drug", (Span(0, len(drug)),), drug),
            Entity("T2", "Adverse-Effect", (Span(e, e + len(effect)),), effect),
        )
        return Document(f"d{i}", text, ents, (Relation("R1", "Adverse-Effect", "T2", "T1"),), label="ade")
    text = f"{drug} given for pain."
    return Document(f"d{i}", text, (Entity("T1", "Drug", (Span(0, len(drug)),), drug),), label="no_ade")


DOCS = [toy_doc(i) for i in range(12)]
FAST = dict(epochs=25, batch_size=4, lr=1e-3, head_lr=1e-2, max_length=32, threads=1)


@pytest.fixture(scope="module")
def encoder(tmp_path_factory):
    return str(tiny_encoder(tmp_path_factory.mktemp("tiny")))


@pytest.fixture(scope="module")
def trained(encoder):
    return train_pipeline(DOCS, PipelineTrainConfig(encoder=encoder, **FAST))


def test_training_from_the_encoder_fits_the_toy_set(trained):
    metrics = evaluate_pipeline(trained.pipeline, DOCS)
    assert trained.started_from == {"ner": "base", "re": "base"}
    assert metrics["documents"] == len(DOCS)
    assert metrics["ner_macro_f1_strict"] == pytest.approx(1.0)
    assert metrics["re_f1_strict"] == pytest.approx(1.0)
    assert metrics["note_f1"] == pytest.approx(1.0)
    losses = trained.component_meta["ner"]["train_report"]["losses"]
    assert losses[-1] < losses[0] / 5
    assert set(GATE_METRICS) <= set(metrics)


def test_continuing_from_a_model_keeps_the_source_untouched(trained, encoder):
    before = {k: v.clone() for k, v in trained.pipeline.ner.module.state_dict().items()}
    cont = train_pipeline(
        DOCS[:4], PipelineTrainConfig(encoder=encoder, **{**FAST, "epochs": 2}), start_from=trained.pipeline
    )
    assert cont.started_from == {"ner": "current", "re": "current"}
    assert cont.pipeline.ner is not trained.pipeline.ner
    after = trained.pipeline.ner.module.state_dict()
    assert all(bool((before[k] == after[k]).all()) for k in before)
    changed = cont.pipeline.ner.module.state_dict()
    assert any(not bool((before[k] == changed[k]).all()) for k in before)
    # a fine-tuned model still knows the task (it did not start over)
    assert evaluate_pipeline(cont.pipeline, DOCS)["ner_macro_f1_strict"] > 0.9


def test_new_entity_type_restarts_the_ner_from_the_encoder(trained, encoder):
    doc = Document("x", "aspirin caused fever.", (Entity("T1", "Symptom", (Span(15, 20),), "fever"),), label="ade")
    lines = []
    cont = train_pipeline(
        [*DOCS[:2], doc],
        PipelineTrainConfig(encoder=encoder, **{**FAST, "epochs": 1}),
        start_from=trained.pipeline,
        log=lines.append,
    )
    assert cont.started_from["ner"] == "base"
    assert any("entity types changed" in line for line in lines)
    assert "Symptom" in cont.pipeline.ner.labels


def test_progress_callback_reports_steps_and_can_stop_training(encoder):
    seen = []

    def progress(component, done, total):
        seen.append((component, done, total))
        if component == "re":
            raise TrainingStopped

    with pytest.raises(TrainingStopped):
        train_pipeline(DOCS, PipelineTrainConfig(encoder=encoder, **{**FAST, "epochs": 2}), progress=progress)
    ner_steps = [s for s in seen if s[0] == "ner"]
    assert ner_steps[-1][1] == ner_steps[-1][2] == 2 * math.ceil(len(DOCS) / 4)
    assert seen[-1][0] == "re" and seen[-1][1] == 1


def test_saved_model_records_how_it_was_trained(trained, tmp_path):
    out = trained.save(tmp_path / "m", trained_on="toy")
    loaded = Pipeline.load(out)
    assert loaded.meta["started_from"] == {"ner": "base", "re": "base"}
    assert loaded.meta["data_fingerprint"] == trained.fingerprint
    assert loaded.ner.meta["training"]["started_from"] == "base"


def test_evaluation_of_nothing_is_empty(trained):
    assert evaluate_pipeline(trained.pipeline, []) == {"documents": 0}


# ------------------------------------------------------------------------------------------------ gate


def test_gate_promotes_when_not_worse_and_refuses_when_worse():
    m = "ner_macro_f1_strict"
    assert gate_decide(m, {m: 0.8, "documents": 5}, {m: 0.8, "documents": 5}).promote
    assert gate_decide(m, {m: 0.81, "documents": 5}, {m: 0.8, "documents": 5}).promote
    worse = gate_decide(m, {m: 0.7, "documents": 5}, {m: 0.8, "documents": 5})
    assert not worse.promote and "worse" in worse.reason
    assert gate_decide(m, {m: 0.79, "documents": 5}, {m: 0.8}, tolerance=0.02).promote


def test_gate_first_model_and_empty_heldout():
    m = "note_f1"
    first = gate_decide(m, {"documents": 0}, None)
    assert first.promote and first.incumbent is None
    empty = gate_decide(m, {"documents": 0}, {"documents": 0})
    assert not empty.promote and "held-out" in empty.reason
    with pytest.raises(ValueError):
        gate_decide("accuracy", {}, None)


# ------------------------------------------------------------------------- active-learning scores


def test_prediction_carries_every_strategy_score_and_an_embedding(trained):
    plain = trained.pipeline.predict(DOCS[:4])
    rich = trained.pipeline.predict(DOCS[:4], with_uncertainty=True)
    for a, b in zip(plain, rich, strict=True):
        assert a.document == b.document and a.ade_probability == b.ade_probability
        assert a.al_scores is None and a.embedding is None
        assert set(b.al_scores) == set(STRATEGIES)
        assert all(math.isfinite(v) for v in b.al_scores.values())
        assert b.embedding.shape == (trained.pipeline.ner.module.encoder.config.hidden_size,)


def test_uncertainty_scores_do_not_depend_on_the_batch(trained):
    together = trained.pipeline.predict(DOCS, batch_size=8, with_uncertainty=True)
    alone = [trained.pipeline.predict([d], with_uncertainty=True)[0] for d in DOCS]
    for a, b in zip(together, alone, strict=True):
        for k in a.al_scores:
            assert a.al_scores[k] == pytest.approx(b.al_scores[k], rel=1e-4, abs=1e-6)
        np.testing.assert_allclose(a.embedding, b.embedding, rtol=1e-4, atol=1e-5)


def test_every_candidate_span_of_a_windowed_note_is_scored_once(encoder):
    words = " ".join(DRUGS[i % 4] for i in range(60))
    doc = Document("long", words, (Entity("T1", "Drug", (Span(0, 7),), "aspirin"),))
    one = NER(NERConfig(max_length=512, max_width=4)).initialize([doc], encoder=encoder)
    many = NER(NERConfig(max_length=24, stride=8, max_width=4)).initialize([doc], encoder=encoder)
    many.module.load_state_dict(one.module.state_dict())
    _, [a] = one.predict_with_uncertainty([doc])
    _, [b] = many.predict_with_uncertainty([doc])
    n = 60
    assert a.n_units == b.n_units == n
    assert a.probs.shape == (sum(min(4, n - f) for f in range(n)), 2)
    # windows of 24 subwords hold fewer spans than the whole text, but none is counted twice
    assert len(b.probs) <= len(a.probs)
    assert np.allclose(a.probs.sum(1), 1.0, atol=1e-5)


def test_vectorised_scores_equal_the_per_unit_definitions():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(3), size=40)
    as_array = ItemScores("a", token_probs=probs, ade_probability=0.3, length=12)
    as_list = ItemScores("a", token_probs=[list(p) for p in probs], ade_probability=0.3, length=12)
    for strategy in SEQUENCE_STRATEGIES:
        assert uncertainty(strategy, as_array) == pytest.approx(uncertainty(strategy, as_list), rel=1e-9)


def test_min_steps_trains_a_small_set_for_more_epochs(encoder):
    result = train_pipeline(DOCS[:4], PipelineTrainConfig(encoder=encoder, **{**FAST, "epochs": 1, "min_steps": 6}))
    report = result.component_meta["ner"]["train_report"]
    assert report["steps"] == 6 and report["epochs"] == 6  # 4 documents at batch 4: one step an epoch


def test_the_negative_sample_cap_of_the_training_settings_reaches_the_saved_ner(encoder, tmp_path):
    """ADE_REVIEW_TRAIN_CONFIG's `ner_max_negatives` (and the CLI's --ner-max-negatives) set the span head's
    sampling; `null` keeps every candidate span in the loss, and the saved model says which it was."""
    assert PipelineTrainConfig.from_dict({}).ner_max_negatives == 512
    for cap in (None, 7):
        config = PipelineTrainConfig.from_dict({"encoder": encoder, **FAST, "epochs": 1, "ner_max_negatives": cap})
        result = train_pipeline(DOCS[:4], config)
        assert result.pipeline.ner.config.max_negative_spans == cap
        saved = result.save(tmp_path / f"model-{cap}")
        assert Pipeline.load(saved).ner.config.max_negative_spans == cap
