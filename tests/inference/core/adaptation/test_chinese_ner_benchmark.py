"""`benchmarks/chinese_ner.py` end to end on a tiny random encoder: one run writes the adapted and the shipped
encoder's hybrid-head scores and the CRF baseline's, on test records holding words kept out of training."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.factories import tiny_encoder

ROOT = Path(__file__).resolve().parents[4]


def test_a_tiny_run_scores_the_three_models_on_the_same_test_records(tmp_path):
    encoder = tiny_encoder(tmp_path / "tiny", hidden_size=32, num_layers=1)
    out = tmp_path / "chinese_ner.json"
    cmd = [sys.executable, "benchmarks/chinese_ner.py", "--encoder", str(encoder), "--train-docs", "12",
           "--test-docs", "6", "--unlabelled-docs", "6", "--sentences", "3", "--adapt-steps", "2",
           "--adapt-max-length", "48", "--ner-epochs", "1", "--out", str(out)]
    subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True, timeout=300)
    result = json.loads(out.read_text())
    m = result["metrics"]
    assert result["synthetic"] is True and result["command"].startswith("python")
    assert m["unk_rate_before"] > 0.5 and m["unk_rate_after"] == 0.0
    assert 0 < m["test_entities_unseen_words"] < m["test_entities"]
    for model in ("crf", "adapted_hybrid", "shipped_hybrid"):
        for key in ("ner_micro_f1_strict", "ner_macro_f1_relaxed", "unseen_recall_strict", "seen_recall_strict"):
            assert 0.0 <= m[f"{model}_{key}"] <= 1.0
    assert m["crf_ner_micro_f1_strict"] > 0.5  # characters it saw labelled, read by the CRF
    assert m["adapted_hybrid_train_steps"] == m["shipped_hybrid_train_steps"] > 0
