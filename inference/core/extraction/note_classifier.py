"""Direct note (sentence) classifier on the encoder: mean pooling + linear (framework-free).

Labels come from `Document.label` ("ade" / "no_ade" for ADE detection); a document without a label is
positive when it has a relation of one of `positive_relation_types` (the ADE relation), else negative.
Long notes are cut into windows (alignment.make_windows); a note's probabilities are those of the window
with the highest probability of the positive label ("aggregate": "max", an ADE anywhere flags the note),
or the mean over windows ("mean").
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

from annotations.formats.document import Document
from inference.core.extraction import alignment as al
from inference.core.layers import MeanPoolClassifier
from inference.core.training import pad


@dataclass
class NoteConfig:
    max_length: int = 256
    stride: int = 64
    dropout: float = 0.1
    positive_label: str = "ade"
    negative_label: str = "no_ade"
    positive_relation_types: tuple[str, ...] = ("Adverse-Effect", "ADE")
    aggregate: str = "max"  # "max" | "mean"
    labels: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["positive_relation_types"] = list(self.positive_relation_types)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> NoteConfig:
        d = {k: v for k, v in d.items() if k in {f.name for f in dataclasses.fields(cls)}}
        if "positive_relation_types" in d:
            d["positive_relation_types"] = tuple(d["positive_relation_types"])
        return cls(**d)


class NoteClassifier:
    """Trainable note-level classifier (the pipeline's "direct" ADE classifier)."""

    name = "note"


    def state(self) -> dict[str, Any]:
        """What `from_state` needs besides the encoder and tokenizer (saved in component.json)."""
        return {"config": self.config.to_dict(), "labels": list(self.labels)}

    @classmethod
    def from_state(cls, state: dict[str, Any], encoder_module: nn.Module, tokenizer) -> NoteClassifier:
        return cls(NoteConfig.from_dict(state["config"])).build(encoder_module, tokenizer)

    def __init__(self, config: NoteConfig | None = None):
        self.config = config or NoteConfig()
        self.tokenizer = None
        self.module: MeanPoolClassifier | None = None

    @property
    def labels(self) -> list[str]:
        return self.config.labels

    def doc_label(self, doc: Document) -> str:
        if doc.label is not None:
            return doc.label
        pos = any(r.type in self.config.positive_relation_types for r in doc.relations)
        return self.config.positive_label if pos else self.config.negative_label

    def initialize(
        self, docs: Sequence[Document] = (), *, encoder=None, labels: Sequence[str] | None = None
    ) -> NoteClassifier:
        from inference.core.encoder import load_encoder_model, load_tokenizer, resolve_encoder

        path = resolve_encoder(encoder)
        found = set(labels) if labels is not None else {self.doc_label(d) for d in docs}
        found |= {self.config.positive_label, self.config.negative_label}
        self.config.labels = sorted(found)
        self.tokenizer = load_tokenizer(path)
        self.module = MeanPoolClassifier(load_encoder_model(path), len(self.labels), self.config.dropout)
        self.module.eval()
        return self

    def build(self, encoder_module, tokenizer) -> NoteClassifier:
        self.tokenizer = tokenizer
        self.module = MeanPoolClassifier(encoder_module, len(self.labels), self.config.dropout)
        self.module.eval()
        return self

    def featurize(self, docs: Sequence[Document], train: bool = True) -> list[dict]:
        tok = self.tokenizer
        tts = al.tokenize_texts(tok, [d.text for d in docs])
        examples = []
        for d, (doc, tt) in enumerate(zip(docs, tts, strict=True)):
            label = self.labels.index(self.doc_label(doc)) if train else 0
            for w in al.make_windows(tt, self.config.max_length - 2, self.config.stride):
                ids = [tok.cls_token_id, *tt.input_ids[w.token_start : w.token_end], tok.sep_token_id]
                examples.append({"input_ids": ids, "length": len(ids), "label": label, "doc": d})
        return examples

    def collate(self, examples: Sequence[dict]) -> dict:
        ids, mask = pad([ex["input_ids"] for ex in examples], self.tokenizer.pad_token_id or 0)
        return {
            "input_ids": ids,
            "attention_mask": mask,
            "labels": torch.tensor([ex["label"] for ex in examples]),
        }

    def _logits(self, batch: dict) -> torch.Tensor:
        dev = next(self.module.parameters()).device
        return self.module(batch["input_ids"].to(dev), batch["attention_mask"].to(dev))

    def loss(self, batch: dict) -> torch.Tensor:
        logits = self._logits(batch)
        return nn.functional.cross_entropy(logits, batch["labels"].to(logits.device))

    def update(self, docs: Sequence[Document], optimizer=None, lr: float = 1e-3) -> dict[str, float]:
        """One gradient step on `docs`; returns {"note": loss}."""
        if optimizer is None:
            optimizer = torch.optim.Adam(self.module.parameters(), lr=lr)
        self.module.train()
        loss = self.loss(self.collate(self.featurize(docs, train=True)))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        self.module.eval()
        return {self.name: float(loss.detach())}

    def predict_proba(self, docs: Sequence[Document], batch_size: int = 32) -> list[dict[str, float]]:
        """Per document: {label: probability}; no side effects."""
        from inference.core.training import length_batches

        examples = self.featurize(docs, train=False)
        probs: list[list[float] | None] = [None] * len(examples)
        m = self.module
        was = m.training
        m.eval()
        with torch.inference_mode():
            for idx in length_batches([ex["length"] for ex in examples], batch_size):
                p = torch.softmax(
                    self._logits(self.collate([examples[i] for i in idx])).float(), dim=1
                ).tolist()
                for i, row in zip(idx, p, strict=True):
                    probs[i] = row
        m.train(was)
        per_doc: list[list[list[float]]] = [[] for _ in docs]
        for ex, p in zip(examples, probs, strict=True):
            per_doc[ex["doc"]].append(p)
        pos = self.labels.index(self.config.positive_label)
        out = []
        for rows in per_doc:
            if self.config.aggregate == "mean":
                agg = [sum(col) / len(rows) for col in zip(*rows, strict=True)]
            else:
                agg = max(rows, key=lambda r: r[pos])
            out.append(dict(zip(self.labels, agg, strict=True)))
        return out

    def predict(self, docs: Sequence[Document], batch_size: int = 32) -> list[Document]:
        """Documents with `label` set to the most probable label (probabilities in metadata["note_probs"])."""
        out = []
        for doc, p in zip(docs, self.predict_proba(docs, batch_size), strict=True):
            best = max(p, key=p.get)
            out.append(dataclasses.replace(doc, label=best, metadata={**doc.metadata, "note_probs": p}))
        return out

    def score(
        self, docs: Sequence[Document], predicted: Sequence[Document] | None = None
    ) -> dict[str, float]:
        """Label-only P/R/F1 of the positive label."""
        from inference.core.extraction.evaluation import prf

        predicted = self.predict(docs) if predicted is None else predicted
        pos = self.config.positive_label
        tp = sum(self.doc_label(g) == pos and p.label == pos for g, p in zip(docs, predicted, strict=True))
        fp = sum(self.doc_label(g) != pos and p.label == pos for g, p in zip(docs, predicted, strict=True))
        fn = sum(self.doc_label(g) == pos and p.label != pos for g, p in zip(docs, predicted, strict=True))
        p, r, f1 = prf(tp, fp, fn)
        return {"note_p": p, "note_r": r, "note_f1": f1, "note_tp": tp, "note_fp": fp, "note_fn": fn}
