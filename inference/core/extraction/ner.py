"""Transformer NER with character offsets out, one confidence per entity (framework-free).

Choice of scheme: **span classification** (the default, head "linear"). Every span of up to `max_width`
units (word-start subwords, see alignment.py) of a window is classified into one of the entity types or
"none" from [first subword of its first unit; last subword of its last unit; width embedding] through an
MLP. Because each span is decided on its own, nested and overlapping entities (ADE-Corpus-V2 has 120
overlapping pairs, e.g. a drug inside its "drug-induced ..." adverse effect) are represented; a BIO
tagger cannot. At decoding, `overlap` says what may overlap: "all", "cross_type" (the default: a span
may overlap spans of other types but not a more confident span of its own type) or "none".

Measured on ADE-Corpus-V2 (all 10,839 gold entities, MiniLM tokenizer): every entity aligns exactly to
word units and spans at most 15 units, so span classification (max_width 16) can represent all of them;
a BIO tagger can hold only 10,719 (98.9 %: 120 are nested in or overlap another), a strict recall ceiling
of 0.989 (F1 ceiling 0.994) before any learning.

Heads (NERConfig.head):
- "linear": span classifier over the encoder's states.
- "crf": a BIO tagger over the units with a linear-chain CRF written in torch (constrained BIO
  transitions, Viterbi decoding, forward-backward marginals for confidences). No overlaps: overlapping
  gold entities are reduced to a non-overlapping subset (longest first) for training.
- "hybrid" (as in the Chinese cancer-records study): BiLSTM -> dilated gated CNN -> multi-head self-attention stacked on the encoder,
  then a CRF tagger (`hybrid_decoder="crf"`, the default) or the span classifier (`"span"`).

Training the span heads counts every gold span and a fresh sample of at most `max_negative_spans` "none"
spans a window (with all ~4,000 candidates of a 254-character Chinese window in the loss, a short training
learnt the prior, "none" everywhere: docs/chinese_ner.md).

Long notes are cut into overlapping windows; each span is decided by its owner window (alignment.py).
Discontinuous gold entities are trained on as their hull (first start to last end).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from annotations.formats.document import Document, Entity, Span
from inference.core.extraction import alignment as al
from inference.core.layers import CRF, HybridStack, bio_constraints
from inference.core.training import pad

NONE = "none"


@dataclass
class NERConfig:
    head: str = "linear"  # "linear" | "crf" | "hybrid"
    hybrid_decoder: str = "crf"  # "crf" | "span" (head "hybrid" only)
    max_width: int = 16  # units per span (span heads)
    max_length: int = 256  # subwords per window, special tokens included
    stride: int = 64  # overlap between windows, in subwords
    units: str = "word"  # "word" | "token" (alignment.py)
    width_dim: int = 32
    hidden_dim: int = 256
    dropout: float = 0.1
    overlap: str = "cross_type"  # "all" | "cross_type" | "none"
    hybrid_heads: int = 4
    hybrid_dilations: tuple[int, ...] = (1, 2, 4)
    # "window": sliding windows over the whole note; "sentence": windows never cross a sentence boundary
    # (for models that learnt from single sentences; see context_for and benchmarks/long_notes.py).
    context: str = "window"
    # Training only, span heads: how many "none" spans of one window count towards the loss (drawn afresh at
    # every step; the gold spans always count). A 254-character Chinese window has ~4,000 candidate spans
    # and ~30 entities: with all of them in the loss the classifier first learns to answer "none" everywhere
    # and a short training never leaves it (see docs/chinese_ner.md). None: every span counts. A sentence of
    # ADE-Corpus-V2 (at most ~400 candidates) is not sampled at the default.
    max_negative_spans: int | None = 512

    @property
    def tagging(self) -> bool:
        return self.head == "crf" or (self.head == "hybrid" and self.hybrid_decoder == "crf")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["hybrid_dilations"] = list(self.hybrid_dilations)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> NERConfig:
        d = {k: v for k, v in d.items() if k in {f.name for f in dataclasses.fields(cls)}}
        if "hybrid_dilations" in d:
            d["hybrid_dilations"] = tuple(d["hybrid_dilations"])
        return cls(**d)

    def validate(self) -> None:
        if self.head not in ("linear", "crf", "hybrid"):
            raise ValueError(f"NER head must be linear, crf or hybrid, not {self.head!r}")
        if self.hybrid_decoder not in ("crf", "span"):
            raise ValueError(f"hybrid_decoder must be crf or span, not {self.hybrid_decoder!r}")
        if self.overlap not in ("all", "cross_type", "none"):
            raise ValueError(f"overlap must be all, cross_type or none, not {self.overlap!r}")
        if self.context not in ("window", "sentence"):
            raise ValueError(f"context must be window or sentence, not {self.context!r}")
        if self.max_negative_spans is not None and self.max_negative_spans < 0:
            raise ValueError(f"max_negative_spans must be >= 0 or None, not {self.max_negative_spans!r}")


def context_for(docs: Sequence[Document], share: float = 0.9) -> str:
    """ "sentence" when at least `share` of the documents are one sentence long, else "window".

    A model fine-tuned only on single sentences loses most of its recall when it reads a window of many
    (measured: benchmarks/long_notes.py), so it should read long notes sentence by sentence.
    """
    from inference.core.text import sentence_spans

    texts = [d.text for d in docs if d.text.strip()]
    if not texts:
        return "window"
    single = sum(len(sentence_spans(t)) <= 1 for t in texts)
    return "sentence" if single >= share * len(texts) else "window"


class NERModule(nn.Module):
    def __init__(self, encoder: nn.Module, config: NERConfig, n_types: int):
        super().__init__()
        self.encoder = encoder
        self.config = config
        H = encoder.config.hidden_size
        self.stack = (
            HybridStack(H, config.hybrid_heads, config.hybrid_dilations, config.dropout)
            if config.head == "hybrid"
            else None
        )
        self.drop = nn.Dropout(config.dropout)
        if config.tagging:
            n_tags = 1 + 2 * n_types
            self.emit = nn.Linear(H, n_tags)
            allowed, start_allowed = bio_constraints(n_types)
            self.crf = CRF(n_tags, allowed)
            self.crf.set_start_allowed(start_allowed)
        else:
            self.width = nn.Embedding(config.max_width + 1, config.width_dim)
            self.span_mlp = nn.Sequential(
                nn.Linear(2 * H + config.width_dim, config.hidden_dim),
                nn.GELU(),
                nn.Dropout(config.dropout),
                nn.Linear(config.hidden_dim, n_types + 1),
            )

    def hidden(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        h = self.encoder(input_ids=input_ids, attention_mask=attention_mask.long()).last_hidden_state
        if self.stack is not None:
            h = self.stack(h, attention_mask)
        return self.drop(h)

    def span_logits(self, h, span_batch, span_first, span_last, span_width) -> torch.Tensor:
        rep = torch.cat([h[span_batch, span_first], h[span_batch, span_last], self.width(span_width)], dim=1)
        return self.span_mlp(rep)

    def emissions(self, h, unit_pos, unit_mask) -> torch.Tensor:
        b = torch.arange(h.size(0), device=h.device).unsqueeze(1)
        return self.emit(h[b, unit_pos]) * unit_mask.unsqueeze(2)


# ------------------------------------------------------------------------------------------ component


@dataclass(frozen=True)
class _WindowRef:
    doc: int
    window: int


@dataclass
class NoteUncertainty:
    """What active learning reads of one document's NER pass.

    probs: one distribution per unit the model decided on, [units, classes]: every candidate span over
    "none" + the entity types (span heads), or every word's BIO marginals (CRF heads); units in the
    overlap of two windows are counted once (by the window that owns them). n_units: the document's
    words (or subword tokens), the length MNLP normalises by. embedding: the mean encoder state over
    the document's subwords (for diversity), float32.
    """

    probs: np.ndarray
    n_units: int
    embedding: np.ndarray


class _Collector:
    """Accumulates NoteUncertainty parts per document over the batches of one predict call."""

    def __init__(self, n_docs: int):
        self.rows: list[list[np.ndarray]] = [[] for _ in range(n_docs)]
        self.sums: list[np.ndarray | None] = [None] * n_docs
        self.counts = [0] * n_docs

    def pool(self, h: torch.Tensor, attention_mask: torch.Tensor, exs) -> None:
        mask = attention_mask.unsqueeze(-1).to(h.dtype)
        sums = (h * mask).sum(1).float().cpu().numpy()
        counts = attention_mask.sum(1).tolist()
        for i, ex in enumerate(exs):
            d = ex["ref"].doc
            self.sums[d] = sums[i] if self.sums[d] is None else self.sums[d] + sums[i]
            self.counts[d] += int(counts[i])

    def spans(self, probs: torch.Tensor, keys, exs, wins) -> None:
        p = probs.cpu().numpy()
        owned = np.ones(len(keys), dtype=bool)
        doc_of = np.empty(len(keys), dtype=np.int64)
        for s, (i, f, la) in enumerate(keys):
            ref = exs[i]["ref"]
            doc_of[s] = ref.doc
            windows = wins[ref.doc]
            if len(windows) > 1:
                w = windows[ref.window]
                owned[s] = al.span_owner(windows, f + w.unit_start, la + w.unit_start) == ref.window
        for d in np.unique(doc_of):
            self.rows[int(d)].append(p[(doc_of == d) & owned])

    def units(self, marg: torch.Tensor, umask: torch.Tensor, exs, wins) -> None:
        p, m = marg.cpu().numpy(), umask.cpu().numpy()
        for r, ex in enumerate(exs):
            ref = ex["ref"]
            windows = wins[ref.doc]
            w = windows[ref.window]
            n = int(m[r].sum())
            keep = [
                u
                for u in range(n)
                if len(windows) == 1
                or al.span_owner(windows, u + w.unit_start, u + w.unit_start) == ref.window
            ]
            self.rows[ref.doc].append(p[r, keep])

    def results(self, n_units: list[int], n_classes: int) -> list[NoteUncertainty]:
        out = []
        for d, rows in enumerate(self.rows):
            probs = np.concatenate(rows) if rows else np.zeros((0, n_classes), dtype=np.float32)
            emb = self.sums[d] / max(1, self.counts[d]) if self.sums[d] is not None else np.zeros(0)
            out.append(NoteUncertainty(probs=probs, n_units=n_units[d], embedding=emb.astype(np.float32)))
        return out


class NER:
    """Trainable span-classification (or CRF tagging) NER component.

    Use `NER(config)`, then `initialize(docs, encoder=...)` (label set from the documents), `update` or
    `training.train_component` to fit, `predict(docs)` for documents with predicted entities.
    """

    name = "ner"


    def state(self) -> dict[str, Any]:
        """What `from_state` needs besides the encoder and tokenizer (saved in component.json)."""
        return {"config": self.config.to_dict(), "labels": list(self.labels)}

    @classmethod
    def from_state(cls, state: dict[str, Any], encoder_module: nn.Module, tokenizer) -> NER:
        return cls(NERConfig.from_dict(state["config"])).build(encoder_module, tokenizer, state["labels"])

    def __init__(self, config: NERConfig | None = None):
        self.config = config or NERConfig()
        self.config.validate()
        self.labels: list[str] = []
        self.tokenizer = None
        self.module: NERModule | None = None

    # -- set-up
    def initialize(
        self, docs: Sequence[Document] = (), *, encoder=None, labels: Sequence[str] | None = None
    ) -> NER:
        """Build the model on an encoder directory; labels are the entity types of `docs` unless given."""
        from inference.core.encoder import load_encoder_model, load_tokenizer, resolve_encoder

        path = resolve_encoder(encoder)
        self.labels = sorted(
            set(labels) if labels is not None else {e.type for d in docs for e in d.entities}
        )
        if not self.labels:
            raise ValueError("NER needs at least one entity type")
        self.tokenizer = load_tokenizer(path)
        self.module = NERModule(load_encoder_model(path), self.config, len(self.labels))
        self.module.eval()
        return self

    def build(self, encoder_module: nn.Module, tokenizer, labels: Sequence[str]) -> NER:
        """Assemble from parts (artifact loading)."""
        self.labels = list(labels)
        self.tokenizer = tokenizer
        self.module = NERModule(encoder_module, self.config, len(self.labels))
        self.module.eval()
        return self

    @property
    def tag_names(self) -> list[str]:
        return ["O"] + [f"{p}-{t}" for t in self.labels for p in ("B", "I")]

    # -- features
    def _windows(self, docs: Sequence[Document]):
        cfg = self.config
        tts = al.tokenize_texts(self.tokenizer, [d.text for d in docs], cfg.units)
        if cfg.context == "sentence":
            from inference.core.text import sentence_spans

            return tts, [
                al.sentence_windows(tt, cfg.max_length - 2, cfg.stride, sentence_spans(tt.text)) for tt in tts
            ]
        return tts, [al.make_windows(tt, cfg.max_length - 2, cfg.stride) for tt in tts]

    def _window_example(self, tt: al.TokenizedText, w: al.Window) -> dict:
        tok = self.tokenizer
        ids = [tok.cls_token_id, *tt.input_ids[w.token_start : w.token_end], tok.sep_token_id]
        first, last = [], []
        for u in range(w.unit_start, w.unit_end):
            a, b = tt.unit_tokens[u]
            first.append(min(a, w.token_end - 1) - w.token_start + 1)
            last.append(min(b, w.token_end - 1) - w.token_start + 1)
        return {"input_ids": ids, "unit_first": first, "unit_last": last, "length": len(ids)}

    def gold_units(self, doc: Document, tt: al.TokenizedText) -> tuple[list[tuple[int, int, str]], int]:
        """Gold entities as (first, last, type) unit spans and the count of inexact alignments."""
        out, inexact = [], 0
        for e in doc.entities:
            if e.type not in self.labels:
                continue
            a = al.align_span(tt, e.start, e.end)
            if a is None:
                inexact += 1
                continue
            inexact += not a[2]
            out.append((a[0], a[1], e.type))
        return sorted(set(out)), inexact

    def too_wide(self, docs: Sequence[Document]) -> int:
        """How many gold entities of `docs` span more than `max_width` units (words; characters in Chinese):
        the span heads never train on them nor predict them (the tagging heads take any length)."""
        tts = al.tokenize_texts(self.tokenizer, [d.text for d in docs], self.config.units)
        return sum(
            la - f + 1 > self.config.max_width
            for doc, tt in zip(docs, tts, strict=True)
            for f, la, _ in self.gold_units(doc, tt)[0]
        )

    def featurize(self, docs: Sequence[Document], train: bool = True) -> list[dict]:
        tts, wins = self._windows(docs)
        examples = []
        for d, (doc, tt, windows) in enumerate(zip(docs, tts, wins, strict=True)):
            gold = self.gold_units(doc, tt)[0] if train else []
            for wi, w in enumerate(windows):
                ex = self._window_example(tt, w)
                ex["ref"] = _WindowRef(d, wi)
                inside = [
                    (f - w.unit_start, la - w.unit_start, self.labels.index(t) + 1)
                    for f, la, t in gold
                    if f >= w.unit_start and la < w.unit_end
                ]
                ex["gold"] = inside
                ex["train"] = train
                examples.append(ex)
        return examples

    def collate(self, examples: Sequence[dict]) -> dict[str, torch.Tensor]:
        cfg = self.config
        ids, mask = pad([ex["input_ids"] for ex in examples], self.tokenizer.pad_token_id or 0)
        batch: dict[str, Any] = {"input_ids": ids, "attention_mask": mask}
        if cfg.tagging:
            pos, umask = pad([ex["unit_first"] for ex in examples], 0)
            batch["unit_pos"], batch["unit_mask"] = pos, umask
            tags = torch.zeros_like(pos)
            for i, ex in enumerate(examples):
                for f, la, t in al.drop_overlaps([(f, la, str(t)) for f, la, t in ex.get("gold", [])]):
                    t = int(t)
                    tags[i, f] = 2 * t - 1
                    tags[i, f + 1 : la + 1] = 2 * t
            batch["tags"] = tags
            return batch
        sb, sf, sl, sw, lab, keys = [], [], [], [], [], []
        for i, ex in enumerate(examples):
            gold = {(f, la): t for f, la, t in ex.get("gold", [])}
            n = len(ex["unit_first"])
            spans = al.enumerate_spans(n, cfg.max_width)
            if ex.get("train") and cfg.max_negative_spans is not None:
                spans = self._sample_negatives(spans, gold, cfg.max_negative_spans)
            for f, la in spans:
                sb.append(i)
                sf.append(ex["unit_first"][f])
                sl.append(ex["unit_last"][la])
                sw.append(la - f + 1)
                lab.append(gold.get((f, la), 0))
                keys.append((i, f, la))
        batch.update(
            span_batch=torch.tensor(sb, dtype=torch.long),
            span_first=torch.tensor(sf, dtype=torch.long),
            span_last=torch.tensor(sl, dtype=torch.long),
            span_width=torch.tensor(sw, dtype=torch.long),
            labels=torch.tensor(lab, dtype=torch.long),
            span_keys=keys,
        )
        return batch

    @staticmethod
    def _sample_negatives(spans, gold: dict, cap: int) -> list[tuple[int, int]]:
        """Of the candidate `spans`, the gold ones and `cap` of the "none" ones, drawn with torch's generator
        (which training seeds), as SpERT samples its negative entities."""
        positives = [sp for sp in spans if sp in gold]  # a gold span wider than max_width is no candidate
        if len(spans) - len(positives) <= cap:
            return spans
        negatives = [sp for sp in spans if sp not in gold]
        return sorted([*positives, *(negatives[k] for k in torch.randperm(len(negatives))[:cap].tolist())])

    def _to(self, batch: dict) -> dict:
        dev = next(self.module.parameters()).device
        return {k: (v.to(dev) if isinstance(v, torch.Tensor) else v) for k, v in batch.items()}

    def loss(self, batch: dict) -> torch.Tensor:
        batch = self._to(batch)
        m = self.module
        h = m.hidden(batch["input_ids"], batch["attention_mask"])
        if self.config.tagging:
            em = m.emissions(h, batch["unit_pos"], batch["unit_mask"])
            keep = batch["unit_mask"].any(1)
            if not bool(keep.any()):
                return em.sum() * 0.0
            return m.crf.nll(em[keep], batch["tags"][keep], batch["unit_mask"][keep])
        if batch["span_batch"].numel() == 0:
            return h.sum() * 0.0
        logits = m.span_logits(
            h, batch["span_batch"], batch["span_first"], batch["span_last"], batch["span_width"]
        )
        return nn.functional.cross_entropy(logits, batch["labels"])

    def update(
        self, docs: Sequence[Document], optimizer: torch.optim.Optimizer | None = None, lr: float = 1e-3
    ) -> dict[str, float]:
        """One gradient step on `docs`; returns {"ner": loss}. Creates an Adam optimizer when none is given."""
        if optimizer is None:
            optimizer = torch.optim.Adam(self.module.parameters(), lr=lr)
        self.module.train()
        loss = self.loss(self.collate(self.featurize(docs, train=True)))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        self.module.eval()
        return {self.name: float(loss.detach())}

    # -- inference
    def predict_units(self, docs: Sequence[Document], batch_size: int = 32, *, collect: bool = False):
        """Per document: {(first, last): (type, confidence)} of predicted unit spans, and the tokenized text.

        With `collect`, also one NoteUncertainty per document (third element of the result).
        """
        from inference.core.training import length_batches

        tts, wins = self._windows(docs)
        examples = []
        for d, (tt, windows) in enumerate(zip(tts, wins, strict=True)):
            for wi, w in enumerate(windows):
                ex = self._window_example(tt, w)
                ex["ref"] = _WindowRef(d, wi)
                examples.append(ex)
        found: list[dict[tuple[int, int], tuple[str, float]]] = [{} for _ in docs]
        acc = _Collector(len(docs)) if collect else None
        m = self.module
        was_training = m.training
        m.eval()
        with torch.inference_mode():
            for idx in length_batches([ex["length"] for ex in examples], batch_size):
                exs = [examples[i] for i in idx]
                batch = self._to(self.collate(exs))
                h = m.hidden(batch["input_ids"], batch["attention_mask"])
                if acc is not None:
                    acc.pool(h, batch["attention_mask"], exs)
                if self.config.tagging:
                    self._decode_tagging(m, h, batch, exs, wins, found, acc)
                else:
                    self._decode_spans(m, h, batch, exs, wins, found, acc)
        m.train(was_training)
        if acc is None:
            return found, tts
        n_classes = len(self.tag_names) if self.config.tagging else len(self.labels) + 1
        return found, tts, acc.results([len(tt.unit_tokens) for tt in tts], n_classes)

    def _decode_spans(self, m, h, batch, exs, wins, found, acc=None) -> None:
        if batch["span_batch"].numel() == 0:
            return
        probs = torch.softmax(
            m.span_logits(
                h, batch["span_batch"], batch["span_first"], batch["span_last"], batch["span_width"]
            ).float(),
            dim=1,
        )
        if acc is not None:
            acc.spans(probs, batch["span_keys"], exs, wins)
        conf, label = probs.max(dim=1)
        hit = (label > 0).nonzero().flatten().tolist()
        conf, label = conf.tolist(), label.tolist()
        for s in hit:
            i, f, la = batch["span_keys"][s]
            ref = exs[i]["ref"]
            windows = wins[ref.doc]
            w = windows[ref.window]
            gf, gl = f + w.unit_start, la + w.unit_start
            if len(windows) > 1 and al.span_owner(windows, gf, gl) != ref.window:
                continue
            found[ref.doc][(gf, gl)] = (self.labels[label[s] - 1], conf[s])

    def _decode_tagging(self, m, h, batch, exs, wins, found, acc=None) -> None:
        em = m.emissions(h, batch["unit_pos"], batch["unit_mask"]).float()
        umask = batch["unit_mask"]
        keep = umask.any(1)
        if not bool(keep.any()):
            return
        rows = keep.nonzero().flatten().tolist()
        paths = m.crf.viterbi(em[keep], umask[keep])
        marg = m.crf.marginals(em[keep], umask[keep])
        if acc is not None:
            acc.units(marg, umask[keep], [exs[i] for i in rows], wins)
        names = self.tag_names
        for r, (i, path) in enumerate(zip(rows, paths, strict=True)):
            ref = exs[i]["ref"]
            windows = wins[ref.doc]
            w = windows[ref.window]
            for f, la, typ in al.bio_to_spans([names[t] for t in path]):
                gf, gl = f + w.unit_start, la + w.unit_start
                if len(windows) > 1 and al.span_owner(windows, gf, gl) != ref.window:
                    continue
                conf = min(float(marg[r, k, path[k]]) for k in range(f, la + 1))
                found[ref.doc][(gf, gl)] = (typ, conf)

    def _select(self, spans: dict[tuple[int, int], tuple[str, float]]) -> list[tuple[int, int, str, float]]:
        items = sorted(
            ((f, la, t, c) for (f, la), (t, c) in spans.items()), key=lambda x: (-x[3], x[0], x[1])
        )
        mode = self.config.overlap
        if mode == "all" or self.config.tagging:
            return sorted(items)
        kept: list[tuple[int, int, str, float]] = []
        for s in items:
            clash = any(not (s[1] < k[0] or k[1] < s[0]) and (mode == "none" or k[2] == s[2]) for k in kept)
            if not clash:
                kept.append(s)
        return sorted(kept)

    def predict(self, docs: Sequence[Document], batch_size: int = 32) -> list[Document]:
        """Documents with predicted entities (ids T1.., character offsets, confidence); no side effects.

        Relations, events and attributes of the input are dropped (they referred to the gold entities).
        """
        found, tts = self.predict_units(docs, batch_size)
        return self._documents(docs, found, tts)

    def predict_with_uncertainty(
        self, docs: Sequence[Document], batch_size: int = 32
    ) -> tuple[list[Document], list[NoteUncertainty]]:
        """`predict`, plus what active learning needs of each document (same pass, no second forward)."""
        found, tts, extra = self.predict_units(docs, batch_size, collect=True)
        return self._documents(docs, found, tts), extra

    def _documents(self, docs, found, tts) -> list[Document]:
        out = []
        for doc, spans, tt in zip(docs, found, tts, strict=True):
            ents = []
            for n, (f, la, typ, conf) in enumerate(self._select(spans), start=1):
                s, e = al.unit_span_to_chars(tt, f, la)
                ents.append(
                    Entity(id=f"T{n}", type=typ, spans=(Span(s, e),), text=doc.text[s:e], confidence=conf)
                )
            out.append(
                dataclasses.replace(
                    doc,
                    entities=tuple(ents),
                    relations=(),
                    events=(),
                    attributes=(),
                    normalizations=(),
                    notes=(),
                    equivalences=(),
                )
            )
        return out

    def score(
        self, docs: Sequence[Document], predicted: Sequence[Document] | None = None
    ) -> dict[str, float]:
        """Flat strict/relaxed NER metrics of `predicted` (predicted now when None) against `docs`."""
        from inference.core.extraction.evaluation import ner_scores

        predicted = self.predict(docs) if predicted is None else predicted
        return {
            f"ner_{k}": v
            for k, v in ner_scores(list(docs), list(predicted)).items()
            if isinstance(v, int | float)
        }
