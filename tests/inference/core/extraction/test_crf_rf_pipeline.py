"""The CRF + RF baseline as a saved model: it learns the demo's gold, reloads to identical predictions, and
refuses a model file that does not match its manifest."""

from __future__ import annotations

import pytest

from annotations.demo_corpus import demo_documents
from inference.core.extraction.baselines.crf_rf_pipeline import MODEL_FILE, CrfRfPipeline, is_baseline_dir


@pytest.fixture(scope="module")
def trained():
    documents = demo_documents()
    return CrfRfPipeline.fit(documents[:28], ade_relation_types=("Adverse-Effect",)), documents[28:]


def test_the_baseline_flags_unseen_ade_notes_above_the_others(trained):
    pipeline, unseen = trained
    predictions = pipeline.predict(unseen)
    assert all(0.0 <= p.ade_probability <= 1.0 for p in predictions)
    ade = [p.ade_probability for p, d in zip(predictions, unseen, strict=True) if d.label == "ade"]
    other = [p.ade_probability for p, d in zip(predictions, unseen, strict=True) if d.label != "ade"]
    assert ade and other and sum(ade) / len(ade) > sum(other) / len(other)
    assert any(p.document.entities for p in predictions)
    assert all(p.document.label is None for p in predictions)  # a prediction never carries the gold verdict


def test_a_saved_baseline_reloads_to_identical_predictions(trained, tmp_path):
    pipeline, unseen = trained
    pipeline.save(tmp_path / "m")
    assert is_baseline_dir(tmp_path / "m")
    again = CrfRfPipeline.load(tmp_path / "m")
    assert [p.ade_probability for p in again.predict(unseen)] == [p.ade_probability for p in pipeline.predict(unseen)]


def test_a_changed_model_file_is_refused(trained, tmp_path):
    pipeline, _ = trained
    pipeline.save(tmp_path / "m")
    (tmp_path / "m" / MODEL_FILE).write_bytes(b"not the model")
    with pytest.raises(ValueError, match="does not match"):
        CrfRfPipeline.load(tmp_path / "m")
