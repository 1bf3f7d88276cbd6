"""Phrase -> state classifiers for method 2 (framework-free; torch only inside the neural models).

Each nursing phrase is mapped to one state of a configurable state set (default: the nursing-notes study's 7 states,
:data:`STUDY_STATES`). Three models share one interface (``fit``, side-effect-free ``predict`` /
``predict_proba``, ``score`` returning a flat metrics dict, ``save`` / ``load``, ``states``, ``seed``):

- :class:`TfidfPhraseClassifier`: TF-IDF (word 1-2-grams + character 2-4-grams) + multinomial logistic
  regression; the baseline.
- :class:`TextCNNPhraseClassifier`: the study's text-CNN (Kim 2014): word embeddings, parallel 1-D
  convolutions of several widths, max-pooling over time, dropout, a linear layer.
- :class:`TransformerPhraseClassifier`: the shared encoder (a local Hugging Face directory, default the
  shipped MiniLM-L6, loaded offline) fine-tuned with mean pooling + a linear layer (the note classifier's
  module), trained by :func:`inference.core.training.train_component`.

:data:`PHRASE_MODELS` names them for the command line, :func:`phrase_classifier_create` builds one by name
and :func:`phrase_classifier_load` reloads a saved one.

Labels are state indices ``0..len(states)-1``. Saved models carry their state names, config, seed and
vocabulary (or tokenizer).
"""

from __future__ import annotations

import json
import pickle
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "PHRASE_MODELS",
    "STUDY_STATES",
    "TextCNNConfig",
    "TextCNNPhraseClassifier",
    "TfidfPhraseClassifier",
    "TransformerPhraseClassifier",
    "TransformerPhraseConfig",
    "Vocabulary",
    "classification_metrics",
    "phrase_classifier_create",
    "phrase_classifier_load",
    "tokenize",
]

#: The study's 7 phrase states, indexed 0..6.
STUDY_STATES: tuple[str, ...] = (
    "unknown",
    "drug-related",
    "abnormal reaction",
    "doctor related",
    "subjective response",
    "drug-related + abnormal reaction",
    "subjective response + drug-related",
)

_TOKEN = re.compile(r"[^\W_]+(?:[-'/.][^\W_]+)*|[^\w\s]", re.UNICODE)


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens ("c/o", "p.o", "38.5" stay whole); punctuation marks are tokens."""
    return _TOKEN.findall(text.lower())


def classification_metrics(y_true: Sequence[int], y_pred: Sequence[int]) -> dict[str, float]:
    """Flat multi-class metrics: accuracy and macro F1."""
    from sklearn.metrics import accuracy_score, f1_score

    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, average="macro", zero_division=0)),
    }


class TfidfPhraseClassifier:
    """TF-IDF + logistic regression phrase-state classifier.

    Args:
        states: state names; labels index into them.
        C: inverse regularisation strength of the logistic regression.
        seed: random seed of the solver.
    """

    kind = "tfidf"

    def __init__(self, states: Sequence[str] = STUDY_STATES, *, C: float = 10.0, seed: int = 0) -> None:
        self.states = tuple(states)
        self.C = C
        self.seed = seed
        self.pipeline: Any = None

    def fit(self, texts: Sequence[str], labels: Sequence[int]) -> TfidfPhraseClassifier:
        """Fit on phrase texts and state indices; returns ``self``."""
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import FeatureUnion, make_pipeline

        features = FeatureUnion(
            [
                (
                    "word",
                    TfidfVectorizer(
                        tokenizer=tokenize, token_pattern=None, ngram_range=(1, 2), sublinear_tf=True
                    ),
                ),
                (
                    "char",
                    TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True, min_df=2),
                ),
            ]
        )
        clf = LogisticRegression(C=self.C, max_iter=2000, random_state=self.seed)
        self.pipeline = make_pipeline(features, clf).fit(list(texts), _check_labels(labels, self.states))
        return self

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probabilities, shape ``(n, len(states))`` (columns for states absent in training are 0)."""
        self._require_fit()
        proba = self.pipeline.predict_proba(list(texts))
        out = np.zeros((len(texts), len(self.states)))
        out[:, self.pipeline.classes_] = proba
        return out

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """State index of each phrase."""
        return self.predict_proba(texts).argmax(axis=1)

    def score(self, texts: Sequence[str], labels: Sequence[int]) -> dict[str, float]:
        """Flat metrics (accuracy, macro F1) on labelled phrases."""
        return classification_metrics(labels, self.predict(texts))

    def save(self, path: str | Path) -> None:
        self._require_fit()
        with open(path, "wb") as f:
            pickle.dump({"states": self.states, "C": self.C, "seed": self.seed, "pipeline": self.pipeline}, f)

    @property
    def config(self) -> dict[str, Any]:
        return {"C": self.C, "seed": self.seed}

    @classmethod
    def load(cls, path: str | Path) -> TfidfPhraseClassifier:
        """Load a model saved by :meth:`save` (a pickle: load only files you wrote)."""
        with open(path, "rb") as f:
            data = pickle.load(f)  # noqa: S301 - our own model files
        model = cls(data["states"], C=data["C"], seed=data["seed"])
        model.pipeline = data["pipeline"]
        return model

    def _require_fit(self) -> None:
        if self.pipeline is None:
            raise RuntimeError("the classifier is not fitted; call fit() first")


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """Token -> id map; id 0 is padding, id 1 unknown."""

    tokens: tuple[str, ...]

    @classmethod
    def build(cls, texts: Sequence[str], min_freq: int = 1, max_size: int = 20000) -> Vocabulary:
        counts = Counter(tok for t in texts for tok in tokenize(t))
        kept = [tok for tok, c in counts.most_common(max_size) if c >= min_freq]
        return cls(("<pad>", "<unk>", *sorted(kept)))

    def index(self) -> dict[str, int]:
        return {tok: i for i, tok in enumerate(self.tokens)}

    def encode(self, texts: Sequence[str], max_len: int) -> np.ndarray:
        """Token ids, shape ``(len(texts), max_len)``, right-padded with 0, truncated at ``max_len``."""
        idx = self.index()
        out = np.zeros((len(texts), max_len), dtype=np.int64)
        for i, t in enumerate(texts):
            ids = [idx.get(tok, 1) for tok in tokenize(t)][:max_len]
            out[i, : len(ids)] = ids
        return out


@dataclass(frozen=True, slots=True)
class TextCNNConfig:
    """Hyper-parameters of the text-CNN (phrase level and, in :mod:`patient_risk`, patient level)."""

    embed_dim: int = 64
    n_filters: int = 64
    kernel_sizes: tuple[int, ...] = (2, 3, 4)
    dropout: float = 0.3
    max_len: int = 24
    epochs: int = 4
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 0.0
    min_freq: int = 1
    seed: int = 0


def build_text_cnn(vocab_size: int, n_classes: int, config: TextCNNConfig) -> Any:
    """The text-CNN ``torch.nn.Module``: ids ``(batch, length)`` -> logits ``(batch, n_classes)``."""
    import torch
    from torch import nn

    class TextCNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(vocab_size, config.embed_dim, padding_idx=0)
            self.convs = nn.ModuleList(
                nn.Conv1d(config.embed_dim, config.n_filters, k, padding=k - 1) for k in config.kernel_sizes
            )
            self.dropout = nn.Dropout(config.dropout)
            self.out = nn.Linear(config.n_filters * len(config.kernel_sizes), n_classes)

        def forward(self, ids: torch.Tensor) -> torch.Tensor:
            x = self.embed(ids).transpose(1, 2)  # (batch, embed, length)
            mask = (ids == 0).unsqueeze(1)
            pooled = []
            for conv in self.convs:
                h = torch.relu(conv(x))[:, :, : ids.shape[1]]
                pooled.append(h.masked_fill(mask, 0.0).amax(dim=2))
            return self.out(self.dropout(torch.cat(pooled, dim=1)))

    return TextCNN()


def train_classifier(
    model: Any,
    inputs: Any,
    labels: np.ndarray,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    weight_decay: float,
    seed: int,
) -> list[float]:
    """Adam + cross-entropy training loop over tensors; returns the mean loss of each epoch."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    y = torch.as_tensor(labels, dtype=torch.long)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    loss_fn = torch.nn.CrossEntropyLoss()
    n = len(y)
    losses = []
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(n, generator=gen)
        total = 0.0
        for start in range(0, n, batch_size):
            batch = perm[start : start + batch_size]
            opt.zero_grad()
            loss = loss_fn(model(*[t[batch] for t in inputs]), y[batch])
            loss.backward()
            opt.step()
            total += loss.item() * len(batch)
        losses.append(total / max(n, 1))
    model.eval()
    return losses


class TextCNNPhraseClassifier:
    """The study's text-CNN phrase-state classifier (torch, CPU is enough).

    Args:
        states: state names; labels index into them.
        config: :class:`TextCNNConfig`.
    """

    kind = "cnn"

    def __init__(self, states: Sequence[str] = STUDY_STATES, config: TextCNNConfig | None = None) -> None:
        self.states = tuple(states)
        self.config = config or TextCNNConfig()
        self.vocab: Vocabulary | None = None
        self.model: Any = None
        self.losses: list[float] = []

    @property
    def seed(self) -> int:
        return self.config.seed

    def fit(self, texts: Sequence[str], labels: Sequence[int]) -> TextCNNPhraseClassifier:
        """Build the vocabulary and train; returns ``self`` (``self.losses`` holds the epoch losses)."""
        import torch

        cfg = self.config
        torch.manual_seed(cfg.seed)
        y = _check_labels(labels, self.states)
        self.vocab = Vocabulary.build(texts, cfg.min_freq)
        self.model = build_text_cnn(len(self.vocab.tokens), len(self.states), cfg)
        ids = torch.as_tensor(self.vocab.encode(texts, cfg.max_len))
        self.losses = train_classifier(
            self.model,
            (ids,),
            y,
            epochs=cfg.epochs,
            batch_size=cfg.batch_size,
            lr=cfg.lr,
            weight_decay=cfg.weight_decay,
            seed=cfg.seed,
        )
        return self

    def predict_proba(self, texts: Sequence[str], batch_size: int = 512) -> np.ndarray:
        """Probabilities, shape ``(n, len(states))``; no side effects (eval mode, no gradients)."""
        import torch

        if self.model is None or self.vocab is None:
            raise RuntimeError("the classifier is not fitted; call fit() first")
        ids = torch.as_tensor(self.vocab.encode(texts, self.config.max_len))
        out = []
        with torch.no_grad():
            for start in range(0, len(ids), batch_size):
                out.append(torch.softmax(self.model(ids[start : start + batch_size]), dim=1).numpy())
        return np.concatenate(out) if out else np.zeros((0, len(self.states)))

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        return self.predict_proba(texts).argmax(axis=1)

    def score(self, texts: Sequence[str], labels: Sequence[int]) -> dict[str, float]:
        return classification_metrics(labels, self.predict(texts))

    def save(self, path: str | Path) -> None:
        """Save weights, vocabulary, state names and config (``torch.save`` of plain containers)."""
        import torch

        if self.model is None or self.vocab is None:
            raise RuntimeError("the classifier is not fitted; call fit() first")
        torch.save(
            {
                "states": list(self.states),
                "config": json.dumps(asdict(self.config)),
                "vocab": list(self.vocab.tokens),
                "state_dict": self.model.state_dict(),
            },
            path,
        )

    @classmethod
    def load(cls, path: str | Path) -> TextCNNPhraseClassifier:
        import torch

        data = torch.load(path, weights_only=True)
        raw = json.loads(data["config"])
        raw["kernel_sizes"] = tuple(raw["kernel_sizes"])
        model = cls(tuple(data["states"]), TextCNNConfig(**raw))
        model.vocab = Vocabulary(tuple(data["vocab"]))
        model.model = build_text_cnn(len(model.vocab.tokens), len(model.states), model.config)
        model.model.load_state_dict(data["state_dict"])
        model.model.eval()
        return model


@dataclass(frozen=True, slots=True)
class TransformerPhraseConfig:
    """Hyper-parameters of the transformer phrase classifier (encoder fine-tuning, not the encoder's size).

    ``encoder`` is a local Hugging Face encoder directory or ``"minilm-l6"``; ``None`` is the configured one
    (``ADE_REVIEW_ENCODER``, else the shipped MiniLM-L6), see :func:`inference.core.encoder.resolve_encoder`.
    The loop settings mean what they mean in :class:`inference.core.training.TrainConfig`.
    """

    encoder: str | None = None
    max_length: int = 64
    dropout: float = 0.1
    epochs: int = 3
    batch_size: int = 32
    lr: float = 5e-5
    head_lr: float = 1e-3
    weight_decay: float = 0.01
    warmup: float = 0.1
    threads: int | None = None
    device: str | None = None
    seed: int = 0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TransformerPhraseConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


class TransformerPhraseClassifier:
    """Phrase-state classifier on the shared encoder: mean-pooled encoder states + a linear layer.

    The module is the shared :class:`inference.core.layers.MeanPoolClassifier` (as the note classifier's); training is
    the shared loop (:func:`inference.core.training.train_component`: length-bucketed batches, AdamW with
    warm-up, a larger learning rate for the new head, gradient clipping, seeded). Phrases longer than
    ``max_length`` subwords are cut (nursing phrases rarely are).

    Args:
        states: state names; labels index into them.
        config: :class:`TransformerPhraseConfig`.
    """

    kind = "transformer"
    META = "phrase_classifier.json"
    WEIGHTS = "model.safetensors"
    TOKENIZER = "tokenizer"

    def __init__(
        self, states: Sequence[str] = STUDY_STATES, config: TransformerPhraseConfig | None = None
    ) -> None:
        self.states = tuple(states)
        self.config = config or TransformerPhraseConfig()
        self.tokenizer: Any = None
        self.module: Any = None
        self.losses: list[float] = []
        self.encoder_name = ""
        self.fingerprint = ""

    @property
    def seed(self) -> int:
        return self.config.seed

    def fit(self, texts: Sequence[str], labels: Sequence[int]) -> TransformerPhraseClassifier:
        """Load the encoder (offline) and fine-tune it with a new head; returns ``self``.

        ``self.losses`` holds the mean loss of each epoch.
        Errors: ValueError when there are no phrases, texts and labels differ in length or a label is not a
        state index; FileNotFoundError when the encoder directory is missing.
        """
        from inference.core.encoder import encoder_name, load_encoder_model, load_tokenizer, resolve_encoder
        from inference.core.layers import MeanPoolClassifier
        from inference.core.training import TrainConfig, set_seed, train_component

        y = _check_labels(labels, self.states)
        if len(texts) != len(y):
            raise ValueError(f"{len(texts)} phrases but {len(y)} labels")
        if not len(texts):
            raise ValueError("no phrases to train on")
        cfg = self.config
        path = resolve_encoder(cfg.encoder)
        self.tokenizer = load_tokenizer(path)
        set_seed(cfg.seed)  # the head's initial weights
        self.module = MeanPoolClassifier(load_encoder_model(path), len(self.states), cfg.dropout)
        self.encoder_name = encoder_name(path)
        self.fingerprint = phrase_fingerprint(texts, y)
        examples = [{**ex, "label": int(label)} for ex, label in zip(self._featurize(texts), y, strict=True)]
        loop = TrainConfig(
            epochs=cfg.epochs,
            batch_size=cfg.batch_size,
            lr=cfg.lr,
            head_lr=cfg.head_lr,
            weight_decay=cfg.weight_decay,
            warmup=cfg.warmup,
            seed=cfg.seed,
            threads=cfg.threads,
            device=cfg.device,
        )
        self.losses = train_component(self, (), loop, examples=examples).losses
        return self

    # -- the component interface of inference.core.training ---------------------------------------------

    def _featurize(self, texts: Sequence[str]) -> list[dict]:
        ids = self.tokenizer(
            [str(t) for t in texts],
            truncation=True,
            max_length=self.config.max_length,
            add_special_tokens=True,
        )["input_ids"]
        return [{"input_ids": row, "length": len(row)} for row in ids]

    def collate(self, examples: Sequence[dict]) -> dict:
        import torch

        from inference.core.training import pad

        ids, mask = pad([ex["input_ids"] for ex in examples], self.tokenizer.pad_token_id or 0)
        batch = {"input_ids": ids, "attention_mask": mask}
        if examples and "label" in examples[0]:
            batch["labels"] = torch.tensor([ex["label"] for ex in examples], dtype=torch.long)
        return batch

    def _logits(self, batch: dict) -> Any:
        device = next(self.module.parameters()).device
        return self.module(batch["input_ids"].to(device), batch["attention_mask"].to(device))

    def loss(self, batch: dict) -> Any:
        import torch

        logits = self._logits(batch)
        return torch.nn.functional.cross_entropy(logits, batch["labels"].to(logits.device))

    # -- prediction ---------------------------------------------------------------------------------------

    def predict_proba(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Probabilities, shape ``(n, len(states))``; no side effects (eval mode, no gradients)."""
        import torch

        from inference.core.training import length_batches

        self._require_fit()
        out = np.zeros((len(texts), len(self.states)))
        if not len(texts):
            return out
        examples = self._featurize(texts)
        was = self.module.training
        self.module.eval()
        try:
            with torch.inference_mode():
                for idx in length_batches([ex["length"] for ex in examples], batch_size):
                    logits = self._logits(self.collate([examples[i] for i in idx]))
                    out[idx] = torch.softmax(logits.float(), dim=1).cpu().numpy()
        finally:
            self.module.train(was)
        return out

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        return self.predict_proba(texts).argmax(axis=1)

    def score(self, texts: Sequence[str], labels: Sequence[int]) -> dict[str, float]:
        return classification_metrics(labels, self.predict(texts))

    # -- files --------------------------------------------------------------------------------------------

    def save(self, path: str | Path) -> None:
        """Write a directory: weights (safetensors), the tokenizer, and ``phrase_classifier.json`` with the
        state names, config, seed, encoder name and config, training losses and the data fingerprint."""
        from safetensors.torch import save_model

        self._require_fit()
        out = Path(path)
        out.mkdir(parents=True, exist_ok=True)
        save_model(self.module, str(out / self.WEIGHTS))
        self.tokenizer.save_pretrained(str(out / self.TOKENIZER))
        meta = {
            "kind": self.kind,
            "states": list(self.states),
            "config": asdict(self.config),
            "seed": self.seed,
            "encoder": {"name": self.encoder_name, "config": self.module.encoder.config.to_dict()},
            "losses": self.losses,
            "data_fingerprint": self.fingerprint,
        }
        (out / self.META).write_text(json.dumps(meta, indent=2, default=str) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> TransformerPhraseClassifier:
        """Load a directory written by :meth:`save`, offline (the original encoder directory is not needed).

        Errors: FileNotFoundError when a file is missing.
        """
        from safetensors.torch import load_model

        from inference.core.encoder import encoder_from_config, load_tokenizer
        from inference.core.layers import MeanPoolClassifier

        path = Path(path)
        meta = json.loads((path / cls.META).read_text(encoding="utf-8"))
        model = cls(tuple(meta["states"]), TransformerPhraseConfig.from_dict(meta["config"]))
        model.tokenizer = load_tokenizer(path / cls.TOKENIZER)
        model.module = MeanPoolClassifier(
            encoder_from_config(meta["encoder"]["config"]), len(model.states), model.config.dropout
        )
        load_model(model.module, str(path / cls.WEIGHTS), strict=True)
        model.module.eval()
        model.encoder_name = meta["encoder"].get("name", "")
        model.losses = list(meta.get("losses", []))
        model.fingerprint = meta.get("data_fingerprint", "")
        return model

    def _require_fit(self) -> None:
        if self.module is None or self.tokenizer is None:
            raise RuntimeError("the classifier is not fitted; call fit() first")


#: Phrase classifier kinds by name (the ``--phrase-model`` choices).
PHRASE_MODELS: tuple[str, ...] = ("tfidf", "cnn", "transformer")

PhraseClassifier = TfidfPhraseClassifier | TextCNNPhraseClassifier | TransformerPhraseClassifier


def phrase_classifier_create(
    kind: str, states: Sequence[str] = STUDY_STATES, *, seed: int = 0, **options: Any
) -> PhraseClassifier:
    """An unfitted phrase classifier of ``kind`` (one of :data:`PHRASE_MODELS`).

    Args: the kind, the state names, the seed, and options of that kind (``C`` for tfidf, fields of
    :class:`TextCNNConfig` for cnn, of :class:`TransformerPhraseConfig` for transformer, e.g. ``encoder``).
    Errors: ValueError for an unknown kind, TypeError for an option the kind does not have.
    """
    if kind == "tfidf":
        return TfidfPhraseClassifier(states, seed=seed, **options)
    if kind == "cnn":
        return TextCNNPhraseClassifier(states, TextCNNConfig(seed=seed, **options))
    if kind == "transformer":
        return TransformerPhraseClassifier(states, TransformerPhraseConfig(seed=seed, **options))
    raise ValueError(f"unknown phrase model {kind!r}; choose one of {', '.join(PHRASE_MODELS)}")


def phrase_classifier_load(kind: str, path: str | Path) -> PhraseClassifier:
    """Load a phrase classifier of ``kind`` saved at ``path``. Errors: ValueError for an unknown kind."""
    classes = {
        "tfidf": TfidfPhraseClassifier,
        "cnn": TextCNNPhraseClassifier,
        "transformer": TransformerPhraseClassifier,
    }
    if kind not in classes:
        raise ValueError(f"unknown phrase model {kind!r}; choose one of {', '.join(PHRASE_MODELS)}")
    return classes[kind].load(path)


def phrase_fingerprint(texts: Sequence[str], labels: Sequence[int]) -> str:
    """sha256 of the training phrases and their labels, in order."""
    import hashlib

    h = hashlib.sha256()
    for text, label in zip(texts, labels, strict=True):
        h.update(json.dumps([str(text), int(label)], ensure_ascii=False).encode("utf-8"))
        h.update(b"\n")
    return "sha256:" + h.hexdigest()


def _check_labels(labels: Sequence[int], states: Sequence[str]) -> np.ndarray:
    y = np.asarray(labels, dtype=int)
    if y.size and (y.min() < 0 or y.max() >= len(states)):
        raise ValueError(f"labels must be state indices in [0, {len(states)}), got {y.min()}..{y.max()}")
    return y
