"""Temperature scaling and calibration scores, checked against hand-worked cases and scikit-learn."""

from __future__ import annotations

import random

import pytest

from inference.core.calibration import (
    brier_score,
    expected_calibration_error,
    temperature_apply,
    temperature_fit,
)


def test_an_overconfident_model_gets_a_temperature_above_one_and_a_lower_calibration_error():
    rng = random.Random(0)
    # True probability q; the model states q pushed towards 0/1 (logit x4): overconfident.
    truth = [rng.random() for _ in range(400)]
    labels = [rng.random() < q for q in truth]
    stated = [temperature_apply(q, 0.25) for q in truth]
    t = temperature_fit(stated, labels)
    assert t is not None and 2.5 < t < 6.5  # about 4 recovers the truth
    tempered = [temperature_apply(p, t) for p in stated]
    assert expected_calibration_error(tempered, labels) < expected_calibration_error(stated, labels)


def test_temperature_keeps_one_half_and_the_order():
    assert temperature_apply(0.5, 3.0) == pytest.approx(0.5)
    probs = [0.1, 0.6, 0.9, 0.999]
    tempered = [temperature_apply(p, 2.0) for p in probs]
    assert tempered == sorted(tempered) and tempered[-1] < 0.999


def test_too_few_notes_or_one_class_give_no_temperature():
    assert temperature_fit([0.9] * 5, [True] * 5) is None
    assert temperature_fit([0.9] * 50, [True] * 50) is None


def test_brier_score_matches_scikit_learn():
    from sklearn.metrics import brier_score_loss

    rng = random.Random(1)
    probs = [rng.random() for _ in range(50)]
    labels = [rng.random() < 0.4 for _ in range(50)]
    assert brier_score(probs, labels) == pytest.approx(brier_score_loss(labels, probs))


def test_expected_calibration_error_by_hand():
    # bin [0.9, 1.0): two notes at 0.95, one right: |0.5 - 0.95| = 0.45; bin [0.1, 0.2): one at 0.1, wrong
    # (label False, so accuracy of "ADE" is 0): |0 - 0.1| = 0.1; weighted: (2 * 0.45 + 0.1) / 3
    assert expected_calibration_error([0.95, 0.95, 0.1], [True, False, False]) == pytest.approx((0.9 + 0.1) / 3)
