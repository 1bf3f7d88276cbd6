"""Research baselines for patient-level ADR risk, compared with the TD(lambda) model (patient_risk.py) in
benchmarks/td_patients.py on the same 8:1:1 split; not deployed by the product.

Fitted on the training patients (their few hyper-parameters chosen on validation): :class:`NaiveBayesIG`
(naive Bayes on the words with the top information-gain features), :class:`TfidfSVM` (linear or RBF SVM on
TF-IDF of the concatenated phrases), :class:`PatientTextCNN` (text-CNN over the concatenated phrases) and
:class:`PhraseLSTM` (LSTM over the sequence of phrase embeddings). Framework-free (numpy, scikit-learn;
torch only inside the two neural baselines).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from inference.core.risk.patient_risk import Stay, binary_metrics
from inference.core.risk.phrase_classifier import (
    TextCNNConfig,
    Vocabulary,
    build_text_cnn,
    tokenize,
    train_classifier,
)

__all__ = ["LSTMConfig", "NaiveBayesIG", "PatientTextCNN", "PhraseLSTM", "TfidfSVM", "information_gain"]


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
