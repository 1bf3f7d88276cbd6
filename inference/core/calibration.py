"""Calibration of the note's ADE probability: how far the stated probabilities are from the observed
frequencies (expected calibration error, Brier score), and temperature scaling fitted on held-out gold.

A pipeline's note probability is the strongest ADE relation's probability; over many candidate pairs the
maximum saturates near 1.0, so a queue ranked by it shows every flagged note as "p 1.00, uncertainty
0.00". Temperature scaling (Guo et al., 2017) divides the logit by T > 0 fitted to minimise the negative
log-likelihood of the held-out notes' verdicts: T > 1 softens an overconfident model, T < 1 sharpens an
underconfident one, and p = 0.5 stays 0.5 (decisions at the 0.5 threshold do not change). Framework-free.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

EPS = 1e-6
# T from 0.1 to ~31.6 on a log grid: a closed-form fit is not worth it for one parameter.
GRID = tuple(10 ** (-1 + i * 2.5 / 200) for i in range(201))
MIN_NOTES = 10  # fewer held-out notes (or only one class) say nothing about calibration


def _logit(p: float) -> float:
    p = min(max(p, EPS), 1 - EPS)
    return math.log(p / (1 - p))


def temperature_apply(p: float, temperature: float) -> float:
    """p with its logit divided by `temperature`."""
    if temperature == 1.0:
        return p
    z = _logit(p) / temperature
    return 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0


def negative_log_likelihood(probs: Sequence[float], labels: Sequence[bool]) -> float:
    total = 0.0
    for p, y in zip(probs, labels, strict=True):
        p = min(max(p, EPS), 1 - EPS)
        total -= math.log(p if y else 1 - p)
    return total / max(len(probs), 1)


def temperature_fit(probs: Sequence[float], labels: Sequence[bool]) -> float | None:
    """The T minimising the NLL of `labels` under the tempered `probs`; None when the data cannot say
    (fewer than MIN_NOTES notes, or only one class)."""
    if len(probs) < MIN_NOTES or all(labels) or not any(labels):
        return None
    return min(GRID, key=lambda t: negative_log_likelihood([temperature_apply(p, t) for p in probs], labels))


def expected_calibration_error(probs: Sequence[float], labels: Sequence[bool], bins: int = 10) -> float:
    """Mean |accuracy - confidence| over equal-width probability bins, weighted by their sizes."""
    if not probs:
        return 0.0
    counts, conf, hits = [0] * bins, [0.0] * bins, [0.0] * bins
    for p, y in zip(probs, labels, strict=True):
        b = min(int(p * bins), bins - 1)
        counts[b] += 1
        conf[b] += p
        hits[b] += 1.0 if y else 0.0
    return sum(abs(hits[b] - conf[b]) for b in range(bins) if counts[b]) / len(probs)


def brier_score(probs: Sequence[float], labels: Sequence[bool]) -> float:
    return sum((p - (1.0 if y else 0.0)) ** 2 for p, y in zip(probs, labels, strict=True)) / max(len(probs), 1)
