"""A deployable ADR-risk model for live monitoring (TD(lambda) over nursing notes, as in the Korean nursing-notes study), framework-free.

Bundles what the monitor needs per phrase: a phrase -> state classifier, the TD(lambda) value of each
state and the logistic regression that turns a patient's running mean value into P(ADR). Trained with
the study's protocol (phrase classifier and TD on the training patients, LR on validation, scored on
test; 8:1:1). Saved as a directory: `risk.json` plus the phrase classifier's own files (a file for
TF-IDF and the text-CNN, a directory for the transformer); `phrase_model` in `risk.json` says which.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from inference.core.risk.patient_risk import TDRiskModel, split_stays, stays_from_patients
from inference.core.risk.phrase_classifier import (
    STUDY_STATES,
    PhraseClassifier,
    phrase_classifier_create,
    phrase_classifier_load,
)
from inference.core.risk.td_lambda import RewardShaping, TDConfig

__all__ = [
    "InsufficientData",
    "RiskBundle",
    "SPLIT",
    "UNLABELLED",
    "min_patients_per_class",
    "study_shaping",
    "train_risk_bundle",
]

#: The state of a phrase nobody labelled: it is walked by TD(lambda) (with the state the classifier
#: predicts) but is no training example of the phrase classifier.
UNLABELLED = -1
#: The study's train / validation / test ratios.
SPLIT = (8, 1, 1)


class InsufficientData(ValueError):
    """Too few labelled phrases or patients to train a risk model; the message says what is missing and
    ``code`` which of the two (``too_few_patients`` or ``too_few_phrase_labels``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class RiskBundle:
    values: tuple[float, ...]
    coef: float
    intercept: float
    state_names: tuple[str, ...] = tuple(STUDY_STATES)
    synthetic: bool = False
    trace: str = "dutch"
    metrics: dict[str, float] = field(default_factory=dict)
    phrase_model: str = "tfidf"

    def probability(self, mean_value: float) -> float:
        """P(ADR) for a patient whose phrases so far have this mean state value."""
        return float(1.0 / (1.0 + np.exp(-(self.coef * mean_value + self.intercept))))

    def save(self, directory: str | Path, classifier: PhraseClassifier) -> None:
        """Write `risk.json` and the phrase classifier into `directory` (created).

        Errors: ValueError when the classifier is not of the bundle's `phrase_model` kind.
        """
        if classifier.kind != self.phrase_model:
            raise ValueError(
                f"a {classifier.kind} classifier in a bundle of phrase model {self.phrase_model}"
            )
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "risk.json").write_text(json.dumps(asdict(self), indent=2))
        classifier.save(directory / "phrase_classifier")

    @classmethod
    def load(cls, directory: str | Path) -> tuple[RiskBundle, PhraseClassifier]:
        """The bundle and its phrase classifier (bundles written before `phrase_model` existed are TF-IDF)."""
        directory = Path(directory)
        data = json.loads((directory / "risk.json").read_text())
        bundle = cls(**{**data, "values": tuple(data["values"]), "state_names": tuple(data["state_names"])})
        return bundle, phrase_classifier_load(bundle.phrase_model, directory / "phrase_classifier")


def min_patients_per_class(ratios: tuple[int, int, int] = SPLIT) -> int:
    """The fewest patients of one class (ADR or not) that give every part of the split at least one.

    Mirrors the rounding of :func:`inference.core.risk.patient_risk.split_stays` (8:1:1: 8).
    """
    total = sum(ratios)
    n = 1
    while True:
        n_train = round(n * ratios[0] / total)
        n_val = round(n * ratios[1] / total)
        if n_train >= 1 and n_val >= 1 and n - n_train - n_val >= 1:
            return n
        n += 1


def study_shaping(n_states: int) -> RewardShaping:
    """The study's reward shaping for a state set of `n_states`: every state but the first two (the
    study's "unknown" and "drug-related", which say nothing about a reaction) earns the phrase reward."""
    return RewardShaping(rewarded_states=frozenset(range(2, n_states)))


def train_risk_bundle(
    patients: Sequence,
    *,
    states: Sequence[str] = STUDY_STATES,
    phrase_model: str = "tfidf",
    phrase_options: dict[str, Any] | None = None,
    trace: str = "dutch",
    seed: int = 0,
) -> tuple[RiskBundle, PhraseClassifier]:
    """Train on patients with annotated phrase states (e.g. the synthetic cohort, or annotations).

    The phrase classifier learns from the training patients' labelled phrases (a state of
    :data:`UNLABELLED` is no example); TD values are learnt from the states the classifier predicts for
    every phrase (as in deployment), the LR on validation, metrics on test (phrase metrics on the
    labelled test phrases only).

    Args:
        patients: objects with ``id``, ``adr``, ``report_time``, ``states``, ``times``, ``texts`` (and
            ``synthetic``), states indexing ``states`` or :data:`UNLABELLED`.
        states: the state names.
        phrase_model: ``tfidf``, ``cnn`` or ``transformer``.
        phrase_options: options of that phrase model (e.g. ``{"encoder": DIR, "epochs": 2}``).
        trace: the TD(lambda) trace.
        seed: split, classifier and TD seed.

    Returns:
        The bundle and the fitted phrase classifier.

    Errors:
        InsufficientData when fewer than :func:`min_patients_per_class` ADR or non-ADR patients are given,
        or the training patients' labelled phrases cover fewer than two states; ValueError for an unknown
        phrase model.
    """
    states = tuple(states)
    stays = stays_from_patients(patients)
    need = min_patients_per_class()
    n_adr = sum(s.adr for s in stays)
    if n_adr < need or len(stays) - n_adr < need:
        raise InsufficientData(
            "too_few_patients",
            f"a risk model needs at least {need} ADR and {need} non-ADR patients (split "
            f"{':'.join(map(str, SPLIT))}); there are {n_adr} ADR and {len(stays) - n_adr} non-ADR patients",
        )
    train, val, test = split_stays(stays, SPLIT, seed=seed)
    texts = [t for s in train for t, st in zip(s.texts, s.states, strict=True) if st != UNLABELLED]
    labels = [st for s in train for st in s.states if st != UNLABELLED]
    if len(set(labels)) < 2:
        raise InsufficientData(
            "too_few_phrase_labels",
            f"the training patients have {len(labels)} labelled phrases in {len(set(labels))} state(s); "
            "label phrases of at least two states",
        )
    classifier = phrase_classifier_create(phrase_model, states, seed=seed, **(phrase_options or {}))
    classifier.fit(texts, labels)

    def predicted(part: list) -> list:
        return [replace(s, states=tuple(int(x) for x in classifier.predict(list(s.texts)))) for s in part]

    train_p, val_p, test_p = predicted(train), predicted(val), predicted(test)
    model = TDRiskModel(
        td_config=TDConfig(trace=trace), shaping=study_shaping(len(states)), n_states=len(states), seed=seed
    ).fit(train_p, val_p)
    metrics = {f"patient_{k}": float(v) for k, v in model.score(test_p).items()}
    test_texts = [t for s in test for t, st in zip(s.texts, s.states, strict=True) if st != UNLABELLED]
    test_labels = [st for s in test for st in s.states if st != UNLABELLED]
    if test_labels:
        phrase_scores = classifier.score(test_texts, test_labels)
        metrics |= {f"phrase_{k}": float(v) for k, v in phrase_scores.items() if isinstance(v, int | float)}
    metrics |= {
        "train_patients": len(train),
        "val_patients": len(val),
        "test_patients": len(test),
        "labelled_train_phrases": len(labels),
        "labelled_test_phrases": len(test_labels),
    }
    bundle = RiskBundle(
        values=tuple(float(v) for v in model.values),
        coef=model.coef,
        intercept=model.intercept,
        state_names=states,
        synthetic=all(s.synthetic for s in stays),
        trace=trace,
        metrics=metrics,
        phrase_model=phrase_model,
    )
    return bundle, classifier
