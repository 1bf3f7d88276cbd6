"""CRF named-entity baseline (sklearn-crfsuite) over `text.tokenize` tokens with BIO tags.

Framework-free. Features are the classic lexical and shape features of a window of tokens (lower case,
prefix, suffixes, shape, is-upper / is-title / is-digit, the neighbours' words and shapes).

Limitations (BIO cannot express them):
- overlapping or nested gold entities: when two entities share a token only the longest is kept for
  training (ties: the earlier one); the others are dropped from the training tags;
- discontinuous entities are trained as their covering extent (first to last character);
- an entity boundary inside a token snaps outwards to whole tokens (rare: the tokenizer splits at
  every punctuation character and between digits and letters, "Aspirin-induced", "10mg").
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import sklearn_crfsuite

from annotations.formats.document import Document, Entity, Span
from inference.core.text import Token, tokenize

__all__ = ["CrfNerConfig", "CrfNer", "bio_tags", "bio_to_spans", "token_features"]


@dataclass(frozen=True)
class CrfNerConfig:
    c1: float = 0.1
    c2: float = 0.1
    max_iterations: int = 100
    window: int = 2
    all_possible_transitions: bool = True
    confidence: bool = True  # entity confidence = mean token marginal of its tags (one extra pass)
    extra: dict[str, Any] = field(default_factory=dict)  # passed to sklearn_crfsuite.CRF


def _shape(word: str) -> str:
    out: list[str] = []
    for ch in word:
        c = "X" if ch.isupper() else "x" if ch.isalpha() else "d" if ch.isdigit() else ch
        if not out or out[-1] != c:
            out.append(c)
    return "".join(out)


def _word_features(tok: str, prefix: str) -> dict[str, Any]:
    low = tok.lower()
    return {
        f"{prefix}lower": low,
        f"{prefix}shape": _shape(tok),
        f"{prefix}istitle": tok.istitle(),
        f"{prefix}isupper": tok.isupper(),
        f"{prefix}isdigit": tok.isdigit(),
    }


def token_features(tokens: Sequence[str], window: int = 2) -> list[dict[str, Any]]:
    """Feature dicts for each token of one sentence (or document)."""
    feats: list[dict[str, Any]] = []
    n = len(tokens)
    for i, tok in enumerate(tokens):
        low = tok.lower()
        f: dict[str, Any] = {
            "bias": 1.0,
            "lower": low,
            "prefix3": low[:3],
            "suffix2": low[-2:],
            "suffix3": low[-3:],
            "suffix4": low[-4:],
            "shape": _shape(tok),
            "isupper": tok.isupper(),
            "istitle": tok.istitle(),
            "isdigit": tok.isdigit(),
            "isalpha": tok.isalpha(),
            "len": min(len(tok), 12),
        }
        for d in range(1, window + 1):
            if i - d >= 0:
                f.update(_word_features(tokens[i - d], f"-{d}:"))
                if d == 1:
                    f["-1:suffix3"] = tokens[i - 1].lower()[-3:]
            else:
                f[f"-{d}:BOS"] = True
            if i + d < n:
                f.update(_word_features(tokens[i + d], f"+{d}:"))
                if d == 1:
                    f["+1:suffix3"] = tokens[i + 1].lower()[-3:]
            else:
                f[f"+{d}:EOS"] = True
        if 0 < i < n - 1:
            f["-1|+1"] = f"{tokens[i - 1].lower()}|{tokens[i + 1].lower()}"
        feats.append(f)
    return feats


def bio_tags(doc: Document, tokens: Sequence[Token]) -> list[str]:
    """BIO tags of `tokens` for the entities of `doc` (longest entity wins where they overlap)."""
    tags = ["O"] * len(tokens)
    order = sorted(enumerate(doc.entities), key=lambda ie: (-(ie[1].end - ie[1].start), ie[0]))
    for _, ent in order:
        start, end = ent.start, ent.end
        idx = [i for i, t in enumerate(tokens) if t.start < end and start < t.end]
        if not idx or any(tags[i] != "O" for i in idx):
            continue
        tags[idx[0]] = f"B-{ent.type}"
        for i in idx[1:]:
            tags[i] = f"I-{ent.type}"
    return tags


def bio_to_spans(tags: Sequence[str]) -> list[tuple[int, int, str]]:
    """(first token, last token exclusive, type) runs; an I- without a matching B- starts an entity."""
    spans: list[tuple[int, int, str]] = []
    cur: list[Any] | None = None
    for i, tag in enumerate(tags):
        kind, _, etype = tag.partition("-")
        if kind == "B" or (kind == "I" and (cur is None or cur[2] != etype)):
            if cur is not None:
                spans.append(tuple(cur))  # type: ignore[arg-type]
            cur = [i, i + 1, etype]
        elif kind == "I" and cur is not None:
            cur[1] = i + 1
        else:
            if cur is not None:
                spans.append(tuple(cur))  # type: ignore[arg-type]
            cur = None
    if cur is not None:
        spans.append(tuple(cur))  # type: ignore[arg-type]
    return spans


class CrfNer:
    """Linear-chain CRF NER: `fit(docs)`, then `predict(docs)` -> documents with predicted entities."""

    def __init__(self, config: CrfNerConfig | None = None):
        self.config = config or CrfNerConfig()
        self.crf: sklearn_crfsuite.CRF | None = None
        self.train_seconds = 0.0

    def _xy(self, docs: Sequence[Document]) -> tuple[list[list[Token]], list[list[dict[str, Any]]]]:
        toks = [tokenize(d.text) for d in docs]
        return toks, [token_features([t.text for t in ts], self.config.window) for ts in toks]

    def fit(self, docs: Sequence[Document]) -> CrfNer:
        """Train on the entities of `docs` (their relations and labels are ignored). Returns self."""
        t0 = time.perf_counter()
        toks, x = self._xy(docs)
        y = [bio_tags(d, ts) for d, ts in zip(docs, toks, strict=True)]
        cfg = self.config
        self.crf = sklearn_crfsuite.CRF(
            algorithm="lbfgs",
            c1=cfg.c1,
            c2=cfg.c2,
            max_iterations=cfg.max_iterations,
            all_possible_transitions=cfg.all_possible_transitions,
            **cfg.extra,
        )
        self.crf.fit(x, y)
        self.train_seconds = time.perf_counter() - t0
        return self

    def predict(self, docs: Sequence[Document]) -> list[Document]:
        """Predicted copies of `docs`: same id, text and metadata; entities T1.. with character offsets.

        Relations, label and other annotations of the input are not carried over. Entity confidence is
        the mean marginal probability of its predicted tags (None when config.confidence is False).
        Errors: RuntimeError before fit.
        """
        if self.crf is None:
            raise RuntimeError("CrfNer.predict called before fit")
        toks, x = self._xy(docs)
        tags = self.crf.predict(x)
        margs = self.crf.predict_marginals(x) if self.config.confidence else None
        out: list[Document] = []
        for n, (doc, ts, tg) in enumerate(zip(docs, toks, tags, strict=True)):
            ents: list[Entity] = []
            for a, b, etype in bio_to_spans(tg):
                start, end = ts[a].start, ts[b - 1].end
                conf = None
                if margs is not None:
                    conf = sum(margs[n][i][tg[i]] for i in range(a, b)) / (b - a)
                ents.append(
                    Entity(
                        f"T{len(ents) + 1}", etype, (Span(start, end),), doc.text[start:end], confidence=conf
                    )
                )
            out.append(Document(id=doc.id, text=doc.text, entities=tuple(ents), metadata=dict(doc.metadata)))
        return out

    def describe(self) -> dict[str, Any]:
        """Config and training time, for reports next to a score."""
        return {"model": "crf", **asdict(self.config), "train_seconds": self.train_seconds}
