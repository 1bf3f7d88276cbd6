"""Patient-level risk: risk curve (incremental == batch), TD-LR protocol, baselines, phrase classifiers."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from inference.core.risk.patient_risk import (
    RiskMonitor,
    Stay,
    TDRiskModel,
    binary_metrics,
    mean_state_value,
    risk_curve,
    split_stays,
    stays_from_patients,
)
from inference.core.risk.phrase_classifier import (
    STUDY_STATES,
    TextCNNConfig,
    TextCNNPhraseClassifier,
    TfidfPhraseClassifier,
    TransformerPhraseClassifier,
    TransformerPhraseConfig,
    phrase_classifier_create,
    phrase_classifier_load,
    tokenize,
)
from inference.core.risk.research_baselines import (
    LSTMConfig,
    NaiveBayesIG,
    PatientTextCNN,
    PhraseLSTM,
    TfidfSVM,
    information_gain,
)
from inference.core.risk.synthetic_cohort import CohortConfig, generate_cohort
from inference.core.risk.td_lambda import TDConfig
from tests.factories import tiny_encoder


@pytest.fixture(scope="module")
def stays() -> list[Stay]:
    # an easy cohort (strong, unconfounded ADR episodes) so that learning is visible in a small sample
    cfg = CohortConfig(n_adr=60, seed=5, flare_prob=0.0, severity_a=8.0, severity_b=1.0, episode_scale_h=48.0)
    return stays_from_patients(generate_cohort(cfg))


def test_risk_curve_is_the_running_mean_of_state_values() -> None:
    values = np.array([0.1, -0.2, 0.5, 0.3, 0.0, 0.9, 0.4])
    states = [0, 5, 5, 1, 2, 6]
    curve = risk_curve(values, states)
    assert len(curve) == len(states)
    for k in range(len(states)):
        assert curve[k] == pytest.approx(values[states[: k + 1]].mean(), abs=1e-12)
    assert curve[-1] == pytest.approx(mean_state_value(values, states))
    assert risk_curve(values, []) == [] and mean_state_value(values, []) == 0.0


def test_risk_monitor_incremental_equals_batch_recomputation() -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(size=7)
    states = rng.integers(0, 7, size=200).tolist()
    monitor = RiskMonitor(tuple(values))
    live = [monitor.update(s) for s in states]
    np.testing.assert_allclose(live, risk_curve(values, states), rtol=0, atol=1e-12)
    # resumed from stored (total, count) after a restart
    resumed = RiskMonitor(tuple(values), total=RiskMonitor(tuple(values)).total, count=0)
    for s in states[:50]:
        resumed.update(s)
    again = RiskMonitor(tuple(values), total=resumed.total, count=resumed.count)
    assert [again.update(s) for s in states[50:]] == pytest.approx(live[50:], abs=1e-12)


def test_split_is_stratified_8_1_1_and_disjoint(stays) -> None:
    train, val, test = split_stays(stays, (8, 1, 1), seed=0)
    assert (len(train), len(val), len(test)) == (96, 12, 12)
    ids = [s.id for s in train + val + test]
    assert len(set(ids)) == len(stays)
    for part in (train, val, test):
        assert sum(s.adr for s in part) * 2 == len(part)
    assert split_stays(stays, seed=0) == (train, val, test)
    assert split_stays(stays, seed=1)[2] != test


def test_td_lr_protocol(stays) -> None:
    train, val, test = split_stays(stays, seed=0)
    model = TDRiskModel(TDConfig(trace="dutch")).fit(train, val)
    assert model.values.shape == (7,)
    proba = model.predict_proba(test)
    assert proba.shape == (len(test),) and np.all((proba >= 0) & (proba <= 1))
    scores = model.score(test)
    assert set(scores) == {"accuracy", "f1", "auroc"}
    assert scores["auroc"] > 0.7  # an easy cohort
    # the timeline's last point is the patient's score, and the live monitor agrees
    curve = model.risk_curve(test[0].states)
    assert curve[-1] == pytest.approx(float(proba[0]))
    monitor = model.monitor()
    live = [float(model.probability(monitor.update(s))) for s in test[0].states]
    np.testing.assert_allclose(live, curve, atol=1e-12)
    # a stored model (JSON) scores identically
    reloaded = TDRiskModel.from_dict(json.loads(json.dumps(model.to_dict())))
    np.testing.assert_array_equal(reloaded.predict_proba(test), proba)
    # states given by a phrase classifier replace the annotated ones
    replaced = stays_from_patients([_FakePatient()], states=[[2, 2]])
    assert replaced[0].states == (2, 2) and replaced[0].texts == ("a", "b")


class _FakePatient:
    id = "p"
    adr = True
    report_time = None
    states = [0, 1]
    times = [0.0, 1.0]
    texts = ["a", "b"]


def test_information_gain() -> None:
    y = np.array([0, 0, 1, 1])
    x = np.array([[0, 1, 1], [0, 0, 1], [1, 1, 1], [1, 0, 1]])
    ig = information_gain(x, y)
    np.testing.assert_allclose(ig, [1.0, 0.0, 0.0], atol=1e-12)
    import scipy.sparse as sp

    np.testing.assert_allclose(information_gain(sp.csr_matrix(x), y), ig, atol=1e-12)


def test_text_baselines(stays) -> None:
    train, val, test = split_stays(stays, seed=0)
    for model in (NaiveBayesIG(k_grid=(50, 200)), TfidfSVM("linear"), TfidfSVM("rbf")):
        proba = model.fit(train, val).predict_proba(test)
        assert proba.shape == (len(test),) and np.all((proba >= 0) & (proba <= 1))
        assert model.score(test)["auroc"] > 0.6
    with pytest.raises(ValueError):
        TfidfSVM("poly")


def test_neural_baselines_run_and_overfit_training(stays) -> None:
    import torch

    torch.set_num_threads(1)
    train = stays[:12]
    cnn = PatientTextCNN(TextCNNConfig(max_len=60, epochs=5, batch_size=6, n_filters=8, embed_dim=8))
    lstm = PhraseLSTM(LSTMConfig(max_phrases=20, max_tokens=6, epochs=5, batch_size=6, hidden=8, embed_dim=8))
    for model in (cnn, lstm):
        model.fit(train)
        assert model.losses[-1] < model.losses[0]
        proba = model.predict_proba(train)
        assert proba.shape == (12,)
        np.testing.assert_allclose(model.predict_proba(train), proba)  # side-effect free


def test_binary_metrics() -> None:
    m = binary_metrics([1, 0, 1, 0], [0.9, 0.2, 0.4, 0.6])
    assert m == {"accuracy": 0.5, "f1": 0.5, "auroc": 0.75}
    assert math.isnan(binary_metrics([1, 1], [0.2, 0.9])["auroc"])


# -- phrase-state classifiers ------------------------------------------------------------------------

PHRASES = [
    ("pt slept well overnight", 0),
    ("vital signs stable", 0),
    ("vancomycin 1 g iv given", 1),
    ("heparin started as ordered", 1),
    ("rash noted on both arms", 2),
    ("vomited 3 times", 2),
    ("dr kim notified", 3),
    ("md aware, orders received", 3),
    ("pt c/o headache", 4),
    ("pt states feeling tired", 4),
    ("rash after vancomycin administration", 5),
    ("heparin held d/t bruising", 5),
    ("pt c/o nausea after taking morphine", 6),
    ("pt refuses tramadol, says it causes dizziness", 6),
]


def test_tokenize_keeps_clinical_shorthand() -> None:
    assert tokenize("Pt c/o nausea; T 38.5, p.o. given") == [
        "pt", "c/o", "nausea", ";", "t", "38.5", ",", "p.o", ".", "given",
    ]  # fmt: skip


def test_tfidf_phrase_classifier_overfits_and_reloads(tmp_path) -> None:
    texts, labels = zip(*PHRASES, strict=True)
    model = TfidfPhraseClassifier(STUDY_STATES).fit(texts, labels)
    assert model.score(texts, labels)["accuracy"] == 1.0
    model.save(tmp_path / "m.pkl")
    np.testing.assert_array_equal(
        TfidfPhraseClassifier.load(tmp_path / "m.pkl").predict(texts), model.predict(texts)
    )
    with pytest.raises(ValueError):
        TfidfPhraseClassifier(("a", "b")).fit(["x", "y"], [0, 2])


def test_text_cnn_phrase_classifier_overfits_reloads_and_batches(tmp_path) -> None:
    texts, labels = zip(*PHRASES, strict=True)
    cfg = TextCNNConfig(
        embed_dim=16, n_filters=16, max_len=12, epochs=25, batch_size=14, lr=3e-2, dropout=0.0
    )
    model = TextCNNPhraseClassifier(STUDY_STATES, cfg).fit(texts, labels)
    assert model.score(texts, labels)["accuracy"] == 1.0
    proba = model.predict_proba(texts)
    single = np.concatenate([model.predict_proba([t]) for t in texts])
    np.testing.assert_allclose(single, proba, atol=1e-5)
    model.save(tmp_path / "cnn.pt")
    reloaded = TextCNNPhraseClassifier.load(tmp_path / "cnn.pt")
    assert reloaded.states == STUDY_STATES and reloaded.config == cfg
    np.testing.assert_allclose(reloaded.predict_proba(texts), proba, atol=1e-6)


@pytest.fixture(scope="module")
def transformer_phrases(tmp_path_factory) -> TransformerPhraseClassifier:
    """The transformer phrase classifier fitted on the toy phrases, on a tiny random encoder."""
    encoder = tiny_encoder(tmp_path_factory.mktemp("tiny"))
    cfg = TransformerPhraseConfig(
        encoder=str(encoder),
        epochs=30,
        batch_size=7,
        lr=1e-3,
        head_lr=1e-2,
        warmup=0.05,
        dropout=0.0,
        threads=1,
    )
    texts, labels = zip(*PHRASES, strict=True)
    return TransformerPhraseClassifier(STUDY_STATES, cfg).fit(texts, labels)


def test_transformer_phrase_classifier_lowers_its_loss_and_fits_the_toy_phrases(transformer_phrases) -> None:
    texts, labels = zip(*PHRASES, strict=True)
    assert transformer_phrases.losses[-1] < transformer_phrases.losses[0] / 5
    assert transformer_phrases.predict(texts).tolist() == list(labels)
    assert transformer_phrases.score(texts, labels) == {"accuracy": 1.0, "macro_f1": 1.0}


def test_transformer_phrase_classifier_batched_equals_single_and_predicting_changes_nothing(
    transformer_phrases,
) -> None:
    import torch

    texts = [t for t, _ in PHRASES]
    before = {k: v.clone() for k, v in transformer_phrases.module.state_dict().items()}
    batched = transformer_phrases.predict_proba(texts, batch_size=5)
    single = np.concatenate([transformer_phrases.predict_proba([t], batch_size=1) for t in texts])
    np.testing.assert_allclose(single, batched, atol=1e-5)
    np.testing.assert_allclose(batched.sum(axis=1), 1.0, atol=1e-6)
    after = transformer_phrases.module.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not transformer_phrases.module.training
    assert transformer_phrases.predict_proba([]).shape == (0, len(STUDY_STATES))


def test_transformer_phrase_classifier_saves_and_reloads_to_identical_predictions(
    transformer_phrases, tmp_path
) -> None:
    texts = [t for t, _ in PHRASES]
    transformer_phrases.save(tmp_path / "transformer")
    meta = json.loads((tmp_path / "transformer" / "phrase_classifier.json").read_text())
    assert meta["states"] == list(STUDY_STATES) and meta["seed"] == 0
    assert meta["data_fingerprint"].startswith("sha256:") and meta["encoder"]["config"]["hidden_size"] == 32
    reloaded = phrase_classifier_load("transformer", tmp_path / "transformer")
    assert isinstance(reloaded, TransformerPhraseClassifier)
    assert reloaded.states == STUDY_STATES and reloaded.config == transformer_phrases.config
    np.testing.assert_array_equal(reloaded.predict_proba(texts), transformer_phrases.predict_proba(texts))


def test_transformer_phrase_classifier_refuses_bad_input() -> None:
    model = TransformerPhraseClassifier(("a", "b"))
    with pytest.raises(RuntimeError):
        model.predict(["x"])
    with pytest.raises(ValueError):
        model.fit(["x", "y"], [0, 2])
    with pytest.raises(ValueError):
        model.fit([], [])


def test_phrase_classifiers_are_created_by_name() -> None:
    assert isinstance(phrase_classifier_create("tfidf", seed=3), TfidfPhraseClassifier)
    cnn = phrase_classifier_create("cnn", ("a", "b"), seed=2, epochs=1)
    assert cnn.states == ("a", "b") and cnn.config.seed == 2 and cnn.config.epochs == 1
    transformer = phrase_classifier_create("transformer", seed=4, encoder="/x", epochs=2)
    assert transformer.seed == 4 and transformer.config.encoder == "/x" and transformer.kind == "transformer"
    with pytest.raises(ValueError):
        phrase_classifier_create("svm")
    with pytest.raises(TypeError):
        phrase_classifier_create("tfidf", epochs=3)


def test_core_modules_import_without_django() -> None:
    code = (
        "import sys; sys.modules['django'] = None\n"
        "import inference.core.risk.td_lambda, inference.core.risk.phrases, inference.core.risk.synthetic_cohort\n"
        "import inference.core.risk.phrase_classifier, inference.core.risk.patient_risk, inference.core.risk.risk_bundle\n"
        "import inference.core.risk.phrase_labels\n"
        "assert 'torch' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=str(_root()))


def _root():
    from pathlib import Path

    return Path(__file__).resolve().parents[4]
