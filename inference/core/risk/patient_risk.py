"""Patient-level ADR risk from phrase states (TD(lambda) over nursing notes, as in the Korean nursing-notes study) and
the live risk curve; the research baselines it is compared with are in research_baselines.py.

Framework-free (numpy, scikit-learn).

- :class:`TDRiskModel` ("TD-LR", the study's model): TD(lambda) learns a value per phrase state on the
  training patients (reward shaping: :class:`~inference.core.risk.td_lambda.RewardShaping`); a patient's
  feature is the mean of the learnt values over its phrases; a logistic regression on that feature is
  fitted on the validation patients and scored on the test patients (8:1:1, :func:`split_stays`).
- :func:`risk_curve` and :class:`RiskMonitor`: the risk after each phrase, for the timeline.

All classifiers: ``fit(...)``, side-effect-free ``predict_proba(...) -> P(ADR)`` and
``score(..., labels) -> {"accuracy", "f1", "auroc"}`` (F1 of the ADR class, threshold 0.5).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from inference.core.risk.td_lambda import (
    Episode,
    RewardShaping,
    TabularFeatures,
    TDConfig,
    TDLambda,
    TDSnapshot,
)

__all__ = [
    "RiskMonitor",
    "Stay",
    "TDRiskModel",
    "binary_metrics",
    "mean_state_value",
    "risk_curve",
    "split_stays",
    "stays_from_patients",
]


# -- records -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Stay:
    """What the patient-level models read: phrase states, times, texts, report time and the label."""

    id: str
    states: tuple[int, ...]
    times: tuple[float, ...]
    texts: tuple[str, ...] = ()
    report_time: float | None = None
    adr: bool = False
    synthetic: bool = False


class _PatientLike(Protocol):
    id: str
    adr: bool
    report_time: float | None

    @property
    def states(self) -> list[int]: ...

    @property
    def times(self) -> list[float]: ...

    @property
    def texts(self) -> list[str]: ...


def stays_from_patients(
    patients: Iterable[_PatientLike], states: Sequence[Sequence[int]] | None = None
) -> list[Stay]:
    """:class:`Stay` records from patients (e.g. the synthetic cohort).

    Args:
        patients: objects with ``id``, ``adr``, ``report_time``, ``states``, ``times``, ``texts``.
        states: optional replacement state sequences (e.g. predicted by a phrase classifier).
    """
    out = []
    for i, p in enumerate(patients):
        out.append(
            Stay(
                id=p.id,
                states=tuple(int(s) for s in (p.states if states is None else states[i])),
                times=tuple(p.times),
                texts=tuple(p.texts),
                report_time=p.report_time,
                adr=bool(p.adr),
                synthetic=bool(getattr(p, "synthetic", False)),
            )
        )
    return out


def split_stays(
    stays: Sequence[Stay], ratios: tuple[int, int, int] = (8, 1, 1), seed: int = 0
) -> tuple[list[Stay], list[Stay], list[Stay]]:
    """Stratified train / validation / test split (the study's 8:1:1).

    Each class (ADR, non-ADR) is shuffled with ``seed`` and cut by ``ratios``, so every part has the
    cohort's class balance.
    """
    rng = np.random.default_rng(seed)
    parts: tuple[list[Stay], list[Stay], list[Stay]] = ([], [], [])
    total = sum(ratios)
    for label in (True, False):
        idx = [i for i, s in enumerate(stays) if s.adr == label]
        idx = [idx[j] for j in rng.permutation(len(idx))]
        n_train = round(len(idx) * ratios[0] / total)
        n_val = round(len(idx) * ratios[1] / total)
        for part, chunk in zip(
            parts, (idx[:n_train], idx[n_train : n_train + n_val], idx[n_train + n_val :]), strict=True
        ):
            part.extend(stays[i] for i in chunk)
    return parts


# -- metrics -----------------------------------------------------------------------------------------


def binary_metrics(
    labels: Sequence[bool] | np.ndarray, proba: Sequence[float] | np.ndarray
) -> dict[str, float]:
    """Accuracy and F1 (ADR class) at threshold 0.5, and AUROC (NaN when only one class is present)."""
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

    y = np.asarray(labels, dtype=int)
    p = np.asarray(proba, dtype=float)
    pred = (p >= 0.5).astype(int)
    auroc = float(roc_auc_score(y, p)) if len(set(y.tolist())) == 2 else math.nan
    return {
        "accuracy": float(accuracy_score(y, pred)),
        "f1": float(f1_score(y, pred, zero_division=0)),
        "auroc": auroc,
    }


# -- the risk curve ----------------------------------------------------------------------------------


def mean_state_value(values: Sequence[float] | np.ndarray, states: Sequence[int]) -> float:
    """Mean of ``values[s]`` over a stay's phrase states (0.0 for a stay with no phrases)."""
    if len(states) == 0:
        return 0.0
    return float(np.asarray(values, dtype=float)[np.asarray(states, dtype=int)].mean())


def risk_curve(values: Sequence[float] | np.ndarray, states: Sequence[int]) -> list[float]:
    """The incremental risk after each phrase: the running mean of the learnt state values.

    ``risk_curve(values, states)[k] == mean(values[states[0]], ..., values[states[k]])``: the patient
    feature of :class:`TDRiskModel` computed on the first ``k + 1`` phrases, so the curve's last point is
    the feature of the whole stay. Pass it through :meth:`TDRiskModel.probability` for P(ADR).

    Args:
        values: learnt value of each state (e.g. ``TDLambda.state_values()``).
        states: the patient's phrase states in time order.

    Returns:
        One float per phrase.
    """
    if len(states) == 0:
        return []
    v = np.asarray(values, dtype=float)[np.asarray(states, dtype=int)]
    return (np.cumsum(v) / np.arange(1, len(v) + 1)).tolist()


@dataclass(slots=True)
class RiskMonitor:
    """Constant-work live version of :func:`risk_curve`: feed phrase states as they arrive.

    Store ``total`` and ``count`` with the patient between note arrivals; ``update`` returns the new risk.
    """

    values: tuple[float, ...]
    total: float = 0.0
    count: int = 0

    def update(self, state: int) -> float:
        self.total += self.values[state]
        self.count += 1
        return self.risk

    @property
    def risk(self) -> float:
        return self.total / self.count if self.count else 0.0


# -- TD-LR -------------------------------------------------------------------------------------------


@dataclass
class TDRiskModel:
    """The study's TD-LR patient classifier.

    Args:
        td_config: TD(lambda) hyper-parameters (default: the study's alpha 0.1, gamma 0.1, lambda 0.3,
            dutch trace).
        shaping: reward shaping (default: the study's).
        n_states: size of the state set (one-hot features).
        epochs: passes of TD over the training patients.
        seed: order in which the training patients are visited.
    """

    td_config: TDConfig = field(default_factory=TDConfig)
    shaping: RewardShaping = field(default_factory=RewardShaping)
    n_states: int = 7
    epochs: int = 1
    seed: int = 0
    learner: TDLambda | None = None
    coef: float = 0.0
    intercept: float = 0.0

    def episodes(self, stays: Sequence[Stay]) -> list[Episode]:
        """The reward-shaped episodes of finished stays."""
        return [self.shaping.episode(s.states, s.times, s.report_time) for s in stays]

    def fit_values(self, train: Sequence[Stay]) -> TDRiskModel:
        """Learn the state values with TD(lambda) on the training stays (shuffled with ``seed``)."""
        order = np.random.default_rng(self.seed).permutation(len(train))
        eps = self.episodes([train[i] for i in order])
        self.learner = TDLambda(self.td_config, TabularFeatures(self.n_states)).fit_episodes(eps, self.epochs)
        return self

    @property
    def values(self) -> np.ndarray:
        """Learnt value of each state."""
        if self.learner is None:
            raise RuntimeError("call fit_values() first")
        return self.learner.state_values()

    def features(self, stays: Sequence[Stay]) -> np.ndarray:
        """Mean state value of each stay, shape ``(n,)``."""
        v = self.values
        return np.array([mean_state_value(v, s.states) for s in stays])

    def fit_classifier(self, val: Sequence[Stay]) -> TDRiskModel:
        """Fit the logistic regression on the validation stays' features."""
        from sklearn.linear_model import LogisticRegression

        x = self.features(val)
        scale = float(x.std()) or 1.0
        lr = LogisticRegression(C=1e4).fit((x / scale)[:, None], [s.adr for s in val])
        self.coef = float(lr.coef_[0, 0]) / scale
        self.intercept = float(lr.intercept_[0])
        return self

    def fit(self, train: Sequence[Stay], val: Sequence[Stay]) -> TDRiskModel:
        """The study's protocol: TD on ``train``, LR on ``val``."""
        return self.fit_values(train).fit_classifier(val)

    def probability(self, feature: float | np.ndarray) -> np.ndarray:
        """P(ADR) from mean state value(s) (the LR)."""
        return 1.0 / (1.0 + np.exp(-(self.coef * np.asarray(feature, dtype=float) + self.intercept)))

    def predict_proba(self, stays: Sequence[Stay]) -> np.ndarray:
        return self.probability(self.features(stays))

    def risk_curve(self, states: Sequence[int]) -> list[float]:
        """P(ADR) after each phrase (the LR applied to :func:`risk_curve`)."""
        return self.probability(np.array(risk_curve(self.values, states))).tolist()

    def score(self, stays: Sequence[Stay]) -> dict[str, float]:
        return binary_metrics([s.adr for s in stays], self.predict_proba(stays))

    def monitor(self) -> RiskMonitor:
        """A fresh :class:`RiskMonitor` over the learnt values (``probability(monitor.risk)`` is P(ADR))."""
        return RiskMonitor(tuple(float(v) for v in self.values))

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable fitted model (TD snapshot, reward shaping, LR); inverse of :meth:`from_dict`."""
        if self.learner is None:
            raise RuntimeError("call fit_values() first")
        return {
            "td": self.learner.snapshot().to_dict(),
            "shaping": {
                "rewarded_states": sorted(self.shaping.rewarded_states),
                "phrase_reward": self.shaping.phrase_reward,
                "report_reward": self.shaping.report_reward,
                "no_report_discharge_reward": self.shaping.no_report_discharge_reward,
            },
            "n_states": self.n_states,
            "epochs": self.epochs,
            "seed": self.seed,
            "coef": self.coef,
            "intercept": self.intercept,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TDRiskModel:
        snap = TDSnapshot.from_dict(data["td"])
        raw = dict(data["shaping"])
        raw["rewarded_states"] = frozenset(raw["rewarded_states"])
        model = cls(
            snap.config, RewardShaping(**raw), int(data["n_states"]), int(data["epochs"]), int(data["seed"])
        )
        model.learner = TDLambda.from_snapshot(snap, TabularFeatures(model.n_states))
        model.coef = float(data["coef"])
        model.intercept = float(data["intercept"])
        return model
