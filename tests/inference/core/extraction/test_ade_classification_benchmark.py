"""The ADE sentence-classification benchmark: its split, its dev-chosen thresholds, one tiny end-to-end run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from annotations.formats.document import Document

ROOT = Path(__file__).resolve().parents[4]


@pytest.fixture
def bench():
    import benchmarks.ade_classification as bench

    return bench


def _docs(n_pos: int, n_neg: int) -> list[Document]:
    return [
        Document(id=f"d{i}", text=f"sentence {i}", label="ade" if i < n_pos else "no_ade")
        for i in range(n_pos + n_neg)
    ]


def test_best_threshold_is_the_one_that_maximises_f1(bench):
    gold = ["ade", "ade", "no_ade", "no_ade", "no_ade"]
    # Any threshold in (0.3, 0.6] separates the classes perfectly; 0.31 is the first such candidate.
    probs = [0.9, 0.6, 0.3, 0.2, 0.1]
    thr, f1 = bench.best_threshold(gold, probs)
    assert f1 == 1.0
    assert 0.3 < thr <= 0.6
    # A threshold of 0.5 would miss nothing here either; with a low-scoring positive it would.
    thr, f1 = bench.best_threshold(["ade", "ade", "no_ade"], [0.9, 0.2, 0.1])
    assert f1 == 1.0 and 0.1 < thr <= 0.2


def test_dev_split_is_stratified_disjoint_and_seeded(bench):
    docs = _docs(100, 400)
    train, test = bench.stratified_split(docs, 0.2, seed=0)
    train2, dev = bench.stratified_split(train, 0.1, seed=10)
    ids = [d.id for d in train2] + [d.id for d in dev] + [d.id for d in test]
    assert len(ids) == len(set(ids)) == 500
    assert sum(d.label == "ade" for d in dev) == 8 and len(dev) == 40
    assert [d.id for d in bench.stratified_split(train, 0.1, seed=10)[1]] == [d.id for d in dev]


def test_tfidf_baselines_import_without_the_crf_library():
    # The GPU machine has scikit-learn but not sklearn-crfsuite; the classification benchmark needs only TF-IDF.
    code = (
        "import sys; sys.modules['sklearn_crfsuite'] = None\n"
        "from inference.core.extraction.baselines import tfidf_baselines\n"
        "try:\n"
        "    from inference.core.extraction.baselines import CrfNer\n"
        "except ImportError:\n"
        "    print('crf needs its library')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "crf needs its library"


def test_tiny_run_chooses_thresholds_on_dev_and_writes_every_decision(corpus_dir, tmp_path):
    from tests.factories import tiny_encoder

    enc = tiny_encoder(tmp_path / "tiny", hidden_size=32, num_layers=1)
    out = tmp_path / "c.json"
    cmd = [
        sys.executable,
        "benchmarks/ade_classification.py",
        "--encoder", str(enc),
        "--data", str(corpus_dir / "ade_corpus_v2"),
        "--max-train", "120", "--max-test", "60", "--max-pipeline-train", "40",
        "--re-negatives", "20", "--dev-fraction", "0.02", "--epochs", "1", "--threads", "1",
        "--note", "tiny test run",
        "--out", str(out),
    ]  # fmt: skip
    subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True, timeout=300)
    result = json.loads(out.read_text())
    m = result["metrics"]
    for name in ("pipeline", "direct", "mean"):
        assert 0.0 <= m[f"{name}_f1"] <= 1.0
        assert m[f"{name}_threshold"] == result["thresholds"][name]
        assert f"{name}_f1_at_0_5" in m
    assert result["thresholds"]["chosen_on"] == "dev"
    assert m["dev_sentences"] == result["split"]["dev"] > 0
    assert m["test_sentences"] == 60
    assert result["note"] == "tiny test run"
    assert "note" not in result["settings"]
