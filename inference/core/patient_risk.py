"""Patient-level ADR risk from phrase states (method 2), its baselines and the live risk curve.

Framework-free (numpy, scikit-learn; torch only inside the two neural baselines).

- :class:`TDRiskModel` ("TD-LR", the study's model): TD(lambda) learns a value per phrase state on the
  training patients (reward shaping: :class:`~inference.core.td_lambda.RewardShaping`); a patient's
  feature is the mean of the learnt values over its phrases; a logistic regression on that feature is
  fitted on the validation patients and scored on the test patients (8:1:1, :func:`split_stays`).
- Baselines on the same split, fitted on the training patients (their few hyper-parameters chosen on
  validation): :class:`NaiveBayesIG` (naive Bayes on the words with the top information-gain
  features), :class:`TfidfSVM` (linear or RBF SVM on TF-IDF of the concatenated phrases),
  :class:`PatientTextCNN` (text-CNN over the concatenated phrases) and :class:`PhraseLSTM` (LSTM over
  the sequence of phrase embeddings).
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

from inference.core.phrase_classifier import (
    TextCNNConfig,
    Vocabulary,
    build_text_cnn,
    tokenize,
    train_classifier,
)
from inference.core.td_lambda import Episode, RewardShaping, TabularFeatures, TDConfig, TDLambda, TDSnapshot

__all__ = [
    "NaiveBayesIG",
    "PatientTextCNN",
    "PhraseLSTM",
    "RiskMonitor",
    "Stay",
    "TDRiskModel",
    "TfidfSVM",
    "binary_metrics",
    "information_gain",
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


# -- text baselines ----------------------------------------------------------------------------------


def _document(stay: Stay) -> str:
    return " \n ".join(stay.texts)


def information_gain(x: Any, y: Sequence[int] | np.ndarray) -> np.ndarray:
    """Information gain (mutual information, in bits) between each binary feature's presence and ``y``.

    Args:
        x: ``(n_samples, n_features)`` matrix (sparse or dense); a feature is present where it is > 0.
        y: class labels.
    """
    import scipy.sparse as sp

    y = np.asarray(y)
    present = (x > 0).astype(np.float64)
    present = present.tocsc() if sp.issparse(present) else np.asarray(present)
    n = len(y)
    classes = np.unique(y)

    def entropy(counts: np.ndarray, axis: int = 0) -> np.ndarray:
        total = counts.sum(axis=axis, keepdims=True)
        p = np.divide(counts, total, out=np.zeros_like(counts, dtype=float), where=total > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            h = -np.where(p > 0, p * np.log2(p), 0.0).sum(axis=axis)
        return h

    n_pos = np.asarray(present.sum(axis=0)).ravel()  # feature present
    per_class_present = np.stack([np.asarray(present[y == c].sum(axis=0)).ravel() for c in classes])
    per_class_total = np.array([(y == c).sum() for c in classes], dtype=float)[:, None]
    per_class_absent = per_class_total - per_class_present
    h_y = entropy(per_class_total[:, 0])
    h_cond = (n_pos / n) * entropy(per_class_present) + ((n - n_pos) / n) * entropy(per_class_absent)
    return h_y - h_cond


class NaiveBayesIG:
    """Multinomial naive Bayes on word (1-2-gram) counts, keeping the ``k`` features of highest IG.

    ``k`` is chosen on the validation stays from ``k_grid`` when :meth:`fit` gets them.
    """

    def __init__(self, k_grid: Sequence[int] = (100, 300, 1000, 3000), alpha: float = 1.0) -> None:
        self.k_grid = tuple(k_grid)
        self.alpha = alpha
        self.k: int | None = None
        self.vectorizer: Any = None
        self.keep: np.ndarray | None = None
        self.model: Any = None

    def _fit_k(self, x: Any, y: np.ndarray, ig: np.ndarray, k: int) -> tuple[np.ndarray, Any]:
        from sklearn.naive_bayes import MultinomialNB

        keep = np.argsort(-ig, kind="stable")[: min(k, len(ig))]
        return keep, MultinomialNB(alpha=self.alpha).fit(x[:, keep], y)

    def fit(self, train: Sequence[Stay], val: Sequence[Stay] | None = None) -> NaiveBayesIG:
        from sklearn.feature_extraction.text import CountVectorizer

        self.vectorizer = CountVectorizer(
            tokenizer=tokenize, token_pattern=None, ngram_range=(1, 2), min_df=2
        )
        x = self.vectorizer.fit_transform([_document(s) for s in train])
        y = np.array([s.adr for s in train], dtype=int)
        ig = information_gain(x, y)
        best = None
        for k in self.k_grid if val else self.k_grid[-1:]:
            keep, model = self._fit_k(x, y, ig, k)
            acc = 0.0
            if val:
                xv = self.vectorizer.transform([_document(s) for s in val])[:, keep]
                acc = float((model.predict(xv) == np.array([s.adr for s in val], dtype=int)).mean())
            if best is None or acc > best[0]:
                best = (acc, k, keep, model)
        assert best is not None
        _, self.k, self.keep, self.model = best
        return self

    def predict_proba(self, stays: Sequence[Stay]) -> np.ndarray:
        x = self.vectorizer.transform([_document(s) for s in stays])[:, self.keep]
        return self.model.predict_proba(x)[:, 1]

    def score(self, stays: Sequence[Stay]) -> dict[str, float]:
        return binary_metrics([s.adr for s in stays], self.predict_proba(stays))


class TfidfSVM:
    """Linear or RBF SVM on TF-IDF of the patient's concatenated phrases; ``C`` chosen on validation.

    ``predict_proba`` is the logistic of the SVM's decision value: a monotone score (enough for AUROC)
    whose 0.5 threshold is the SVM's own decision boundary, not a calibrated probability.
    """

    def __init__(
        self, kernel: str = "linear", c_grid: Sequence[float] = (0.1, 1.0, 10.0), seed: int = 0
    ) -> None:
        if kernel not in ("linear", "rbf"):
            raise ValueError(f"kernel must be 'linear' or 'rbf', got {kernel!r}")
        self.kernel = kernel
        self.c_grid = tuple(c_grid)
        self.seed = seed
        self.C: float | None = None
        self.vectorizer: Any = None
        self.model: Any = None

    def fit(self, train: Sequence[Stay], val: Sequence[Stay] | None = None) -> TfidfSVM:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.svm import SVC

        self.vectorizer = TfidfVectorizer(
            tokenizer=tokenize, token_pattern=None, ngram_range=(1, 2), min_df=2, sublinear_tf=True
        )
        x = self.vectorizer.fit_transform([_document(s) for s in train])
        y = np.array([s.adr for s in train], dtype=int)
        best = None
        for c in self.c_grid if val else self.c_grid[1:2]:
            model = SVC(kernel=self.kernel, C=c, random_state=self.seed).fit(x, y)
            acc = 0.0
            if val:
                xv = self.vectorizer.transform([_document(s) for s in val])
                acc = float((model.predict(xv) == np.array([s.adr for s in val], dtype=int)).mean())
            if best is None or acc > best[0]:
                best = (acc, c, model)
        assert best is not None
        _, self.C, self.model = best
        return self

    def predict_proba(self, stays: Sequence[Stay]) -> np.ndarray:
        d = self.model.decision_function(self.vectorizer.transform([_document(s) for s in stays]))
        return 1.0 / (1.0 + np.exp(-np.asarray(d, dtype=float)))

    def score(self, stays: Sequence[Stay]) -> dict[str, float]:
        return binary_metrics([s.adr for s in stays], self.predict_proba(stays))


# -- neural baselines --------------------------------------------------------------------------------


class _NeuralStayClassifier:
    """Shared training and scoring of the neural baselines; subclasses say what the vocabulary is built
    from (`_vocab_texts`), the network (`_build`) and how stays become tensors (`_encode`)."""

    config: Any
    vocab: Vocabulary | None
    model: Any
    losses: list[float]

    def fit(self, train: Sequence[Stay], val: Sequence[Stay] | None = None):
        import torch

        cfg = self.config
        torch.manual_seed(cfg.seed)
        self.vocab = Vocabulary.build(self._vocab_texts(train), cfg.min_freq)
        self.model = self._build(len(self.vocab.tokens))
        y = np.array([s.adr for s in train], dtype=int)
        self.losses = train_classifier(
            self.model,
            (self._encode(train),),
            y,
            epochs=cfg.epochs,
            batch_size=cfg.batch_size,
            lr=cfg.lr,
            weight_decay=cfg.weight_decay,
            seed=cfg.seed,
        )
        return self

    def predict_proba(self, stays: Sequence[Stay]) -> np.ndarray:
        import torch

        with torch.no_grad():
            return torch.softmax(self.model(self._encode(stays)), dim=1)[:, 1].numpy()

    def score(self, stays: Sequence[Stay]) -> dict[str, float]:
        return binary_metrics([s.adr for s in stays], self.predict_proba(stays))


class PatientTextCNN(_NeuralStayClassifier):
    """Text-CNN over a patient's concatenated phrases (truncated to the last ``config.max_len`` tokens)."""

    def __init__(self, config: TextCNNConfig | None = None) -> None:
        self.config = config or TextCNNConfig(
            max_len=400, epochs=12, batch_size=16, lr=1e-3, weight_decay=1e-4, min_freq=2
        )
        self.vocab: Vocabulary | None = None
        self.model: Any = None
        self.losses: list[float] = []

    def _encode(self, stays: Sequence[Stay]) -> Any:
        import torch

        assert self.vocab is not None
        docs = [" ".join(s.texts) for s in stays]
        ids = self.vocab.encode(
            [" ".join(tokenize(d)[-self.config.max_len :]) for d in docs], self.config.max_len
        )
        return torch.as_tensor(ids)

    def _vocab_texts(self, train: Sequence[Stay]) -> list[str]:
        return [_document(s) for s in train]

    def _build(self, vocab_size: int) -> Any:
        return build_text_cnn(vocab_size, 2, self.config)


@dataclass(frozen=True, slots=True)
class LSTMConfig:
    embed_dim: int = 48
    hidden: int = 48
    max_phrases: int = 160
    max_tokens: int = 16
    epochs: int = 12
    batch_size: int = 16
    lr: float = 2e-3
    weight_decay: float = 1e-4
    min_freq: int = 2
    seed: int = 0


class PhraseLSTM(_NeuralStayClassifier):
    """LSTM over the sequence of phrase embeddings (mean of word embeddings per phrase).

    The last ``max_phrases`` phrases are kept; the LSTM's outputs are mean-pooled over the real phrases
    and a linear layer gives the ADR logit pair.
    """

    def __init__(self, config: LSTMConfig | None = None) -> None:
        self.config = config or LSTMConfig()
        self.vocab: Vocabulary | None = None
        self.model: Any = None
        self.losses: list[float] = []

    def _encode(self, stays: Sequence[Stay]) -> Any:
        import torch

        assert self.vocab is not None
        cfg = self.config
        out = np.zeros((len(stays), cfg.max_phrases, cfg.max_tokens), dtype=np.int64)
        for i, s in enumerate(stays):
            texts = list(s.texts)[-cfg.max_phrases :]
            if texts:
                out[i, : len(texts)] = self.vocab.encode(texts, cfg.max_tokens)
        return torch.as_tensor(out)

    def _build(self, vocab_size: int) -> Any:
        import torch
        from torch import nn

        cfg = self.config

        class Net(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.embed = nn.Embedding(vocab_size, cfg.embed_dim, padding_idx=0)
                self.lstm = nn.LSTM(cfg.embed_dim, cfg.hidden, batch_first=True)
                self.out = nn.Linear(cfg.hidden, 2)

            def forward(self, ids: torch.Tensor) -> torch.Tensor:
                tok_mask = (ids != 0).float()  # (b, p, t)
                emb = self.embed(ids)  # (b, p, t, e)
                n_tok = tok_mask.sum(-1, keepdim=True)
                phrase = (emb * tok_mask.unsqueeze(-1)).sum(2) / n_tok.clamp(min=1.0)
                h, _ = self.lstm(phrase)
                ph_mask = (n_tok > 0).float()  # (b, p, 1)
                pooled = (h * ph_mask).sum(1) / ph_mask.sum(1).clamp(min=1.0)
                return self.out(pooled)

        return Net()

    def _vocab_texts(self, train: Sequence[Stay]) -> list[str]:
        return [t for s in train for t in s.texts]
