"""A deployable ADR-risk model for live monitoring (method 2), framework-free.

Bundles what the monitor needs per phrase: a phrase -> state classifier, the TD(lambda) value of each
state and the logistic regression that turns a patient's running mean value into P(ADR). Trained with
the study's protocol (phrase classifier and TD on the training patients, LR on validation, scored on
test; 8:1:1). Saved as a directory: `risk.json` plus the phrase classifier's own files.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from inference.core.patient_risk import TDRiskModel, split_stays, stays_from_patients
from inference.core.phrase_classifier import STUDY_STATES, TfidfPhraseClassifier
from inference.core.td_lambda import TDConfig


@dataclass(frozen=True)
class RiskBundle:
    values: tuple[float, ...]
    coef: float
    intercept: float
    state_names: tuple[str, ...] = tuple(STUDY_STATES)
    synthetic: bool = False
    trace: str = "dutch"
    metrics: dict[str, float] = field(default_factory=dict)

    def probability(self, mean_value: float) -> float:
        """P(ADR) for a patient whose phrases so far have this mean state value."""
        return float(1.0 / (1.0 + np.exp(-(self.coef * mean_value + self.intercept))))

    def save(self, directory: str | Path, classifier: TfidfPhraseClassifier) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "risk.json").write_text(json.dumps(asdict(self), indent=2))
        classifier.save(directory / "phrase_classifier")

    @classmethod
    def load(cls, directory: str | Path) -> tuple[RiskBundle, TfidfPhraseClassifier]:
        directory = Path(directory)
        data = json.loads((directory / "risk.json").read_text())
        bundle = cls(
            **{**data, "values": tuple(data["values"]), "state_names": tuple(data["state_names"])}
        )
        return bundle, TfidfPhraseClassifier.load(directory / "phrase_classifier")


def train_risk_bundle(patients: Sequence, *, trace: str = "dutch", seed: int = 0) -> tuple[RiskBundle, TfidfPhraseClassifier]:
    """Train on patients with annotated phrase states (e.g. the synthetic cohort).

    The phrase classifier learns from the training patients' phrases; TD values are learnt from the
    states the classifier predicts (as in deployment), the LR on validation, metrics on test.
    """
    stays = stays_from_patients(patients)
    train, val, test = split_stays(stays, seed=seed)
    classifier = TfidfPhraseClassifier(seed=seed).fit(
        [t for s in train for t in s.texts], [st for s in train for st in s.states]
    )

    def predicted(part: list) -> list:
        return [replace(s, states=tuple(int(x) for x in classifier.predict(list(s.texts)))) for s in part]

    train_p, val_p, test_p = predicted(train), predicted(val), predicted(test)
    model = TDRiskModel(td_config=TDConfig(trace=trace), seed=seed).fit(train_p, val_p)
    phrase_scores = classifier.score([t for s in test for t in s.texts], [st for s in test for st in s.states])
    metrics = {f"patient_{k}": float(v) for k, v in model.score(test_p).items()}
    metrics |= {f"phrase_{k}": float(v) for k, v in phrase_scores.items() if isinstance(v, int | float)}
    metrics |= {"train_patients": len(train), "val_patients": len(val), "test_patients": len(test)}
    bundle = RiskBundle(
        values=tuple(float(v) for v in model.values),
        coef=model.coef,
        intercept=model.intercept,
        synthetic=all(s.synthetic for s in stays),
        trace=trace,
        metrics=metrics,
    )
    return bundle, classifier
