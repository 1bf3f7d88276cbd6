"""Random Forest relation-extraction baseline over hand-made features (framework-free).

Candidates are ordered pairs (arg1, arg2) of distinct entities whose types form a signature seen in
the training relations (for ADE-Corpus-V2: arg1 Adverse-Effect, arg2 Drug, the data's direction) and
that are at most `max_token_distance` tokens apart. Each candidate is classified into one of the seen
relation types or "no relation" by a Random Forest over: the argument types, their order, the token
distance (raw and binned), the entities between them (count and types), the words between (bag of
words), the first / last word between, the words of each argument and the words around each argument
(positional), and whether both lie in the same sentence (`text.sentence_spans`).

`predict` on documents whose entities come from the CRF gives the end-to-end baseline; on gold
entities it gives the RE-only score.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sklearn.ensemble import RandomForestClassifier
from sklearn.feature_extraction import DictVectorizer

from annotations.formats.document import Document, Entity, Relation
from inference.core.text import Token, sentence_spans, tokenize

__all__ = ["RandomForestReConfig", "RandomForestRe", "NO_RELATION"]

NO_RELATION = "<none>"


@dataclass(frozen=True)
class RandomForestReConfig:
    max_token_distance: int = 40  # tokens strictly between the two entities
    context_window: int = 3  # words each side of each argument
    n_estimators: int = 300
    max_features: str | float = "sqrt"
    min_samples_leaf: int = 1
    class_weight: str | None = "balanced"
    threshold: float | None = None  # None: argmax class; else best relation class when P >= threshold
    n_jobs: int = 1
    seed: int = 0


def _bin(d: int) -> str:
    for lim, name in ((0, "0"), (1, "1"), (2, "2"), (5, "3-5"), (10, "6-10"), (20, "11-20")):
        if d <= lim:
            return name
    return ">20"


class _DocView:
    """Tokens, entity token ranges and sentence ids of one document, computed once."""

    def __init__(self, doc: Document):
        self.doc = doc
        self.tokens: list[Token] = tokenize(doc.text)
        self.words = [t.text.lower() for t in self.tokens]
        starts = [t.start for t in self.tokens]
        ends = [t.end for t in self.tokens]
        sents = sentence_spans(doc.text)
        sent_starts = [s for s, _ in sents]
        self.span: dict[str, tuple[int, int]] = {}
        self.sent: dict[str, int] = {}
        for e in doc.entities:
            a = bisect.bisect_right(ends, e.start)  # first token ending after the start
            b = bisect.bisect_left(starts, e.end)  # tokens starting before the end
            if b <= a:  # entity inside whitespace or between tokens: an empty range at a
                b = a
            self.span[e.id] = (a, b)
            self.sent[e.id] = bisect.bisect_right(sent_starts, e.start) - 1

    def features(self, e1: Entity, e2: Entity, window: int) -> dict[str, Any]:
        (a1, b1), (a2, b2) = self.span[e1.id], self.span[e2.id]
        first_end, second_start = (b1, a2) if a1 <= a2 else (b2, a1)
        gap = max(0, second_start - first_end)
        f: dict[str, Any] = {
            f"t1={e1.type}": 1,
            f"t2={e2.type}": 1,
            "order=arg1_first" if a1 <= a2 else "order=arg2_first": 1,
            "dist": gap,
            f"dist_bin={_bin(gap)}": 1,
            "overlap": int(a1 < b2 and a2 < b1),
            "same_sentence": int(self.sent[e1.id] == self.sent[e2.id]),
        }
        between = self.words[first_end:second_start]
        for w in between:
            f[f"btw={w}"] = 1
        if between:
            f[f"btw_first={between[0]}"] = 1
            f[f"btw_last={between[-1]}"] = 1
        n_between = 0
        for e in self.doc.entities:
            a, b = self.span[e.id]
            if e.id not in (e1.id, e2.id) and first_end <= a and b <= second_start:
                n_between += 1
                f[f"btw_ent={e.type}"] = f.get(f"btw_ent={e.type}", 0) + 1
        f["n_ents_between"] = n_between
        for tag, (a, b) in (("a1", (a1, b1)), ("a2", (a2, b2))):
            words = self.words[a:b]
            for w in words:
                f[f"{tag}w={w}"] = 1
            if words:
                f[f"{tag}_head={words[-1]}"] = 1
            for i in range(1, window + 1):
                f[f"{tag}_l{i}={self.words[a - i] if a - i >= 0 else '<s>'}"] = 1
                f[f"{tag}_r{i}={self.words[b + i - 1] if b + i - 1 < len(self.words) else '</s>'}"] = 1
        return f


class RandomForestRe:
    """Random Forest RE: `fit(docs)` on gold entities and relations, `predict(docs)` adds relations."""

    def __init__(self, config: RandomForestReConfig | None = None):
        self.config = config or RandomForestReConfig()
        self.signatures: set[tuple[str, str]] = set()
        self.vectorizer: DictVectorizer | None = None
        self.forest: RandomForestClassifier | None = None
        self.train_seconds = 0.0

    def _candidates(self, view: _DocView) -> list[tuple[Entity, Entity]]:
        out = []
        for e1 in view.doc.entities:
            for e2 in view.doc.entities:
                if e1.id == e2.id or (e1.type, e2.type) not in self.signatures:
                    continue
                (a1, b1), (a2, b2) = view.span[e1.id], view.span[e2.id]
                gap = max(0, max(a1, a2) - min(b1, b2))
                if gap <= self.config.max_token_distance:
                    out.append((e1, e2))
        return out

    def fit(self, docs: Sequence[Document]) -> RandomForestRe:
        """Learn from the (gold) entities and relations of `docs`. Returns self.

        Errors: ValueError when the documents hold no relation between entities.
        """
        t0 = time.perf_counter()
        self.signatures = set()
        gold: set[tuple[str, str, str, str]] = set()
        for d in docs:
            types = {e.id: e.type for e in d.entities}
            for r in d.relations:
                if r.arg1 in types and r.arg2 in types:
                    self.signatures.add((types[r.arg1], types[r.arg2]))
                    gold.add((d.id, r.arg1, r.arg2, r.type))
        if not gold:
            raise ValueError("RandomForestRe.fit: the training documents hold no relation between entities")
        label_of = {(doc_id, a1, a2): t for doc_id, a1, a2, t in gold}
        x: list[dict[str, Any]] = []
        y: list[str] = []
        for d in docs:
            view = _DocView(d)
            for e1, e2 in self._candidates(view):
                x.append(view.features(e1, e2, self.config.context_window))
                y.append(label_of.get((d.id, e1.id, e2.id), NO_RELATION))
        cfg = self.config
        self.vectorizer = DictVectorizer(sparse=True)
        xm = self.vectorizer.fit_transform(x)
        self.forest = RandomForestClassifier(
            n_estimators=cfg.n_estimators,
            max_features=cfg.max_features,
            min_samples_leaf=cfg.min_samples_leaf,
            class_weight=cfg.class_weight,
            n_jobs=cfg.n_jobs,
            random_state=cfg.seed,
        )
        self.forest.fit(xm, y)
        self.train_seconds = time.perf_counter() - t0
        return self

    def predict(self, docs: Sequence[Document]) -> list[Document]:
        """Copies of `docs` (same id, text, entities, metadata) with predicted relations R1.. only.

        Input relations and labels are dropped; a relation's confidence is the forest's probability of
        its type. Errors: RuntimeError before fit.
        """
        if self.forest is None or self.vectorizer is None:
            raise RuntimeError("RandomForestRe.predict called before fit")
        views = [_DocView(d) for d in docs]
        cands = [self._candidates(v) for v in views]
        feats = [
            v.features(e1, e2, self.config.context_window)
            for v, cs in zip(views, cands, strict=True)
            for e1, e2 in cs
        ]
        probs = self.forest.predict_proba(self.vectorizer.transform(feats)) if feats else []
        classes = list(self.forest.classes_)
        none_idx = classes.index(NO_RELATION) if NO_RELATION in classes else -1
        out: list[Document] = []
        k = 0
        for d, cs in zip(docs, cands, strict=True):
            rels: list[Relation] = []
            for e1, e2 in cs:
                p = probs[k]
                k += 1
                if self.config.threshold is None:
                    best = int(p.argmax())
                    if best == none_idx:
                        continue
                else:
                    order = [i for i in p.argsort()[::-1] if i != none_idx]
                    if not order or p[order[0]] < self.config.threshold:
                        continue
                    best = int(order[0])
                rels.append(
                    Relation(f"R{len(rels) + 1}", classes[best], e1.id, e2.id, confidence=float(p[best]))
                )
            out.append(
                Document(
                    id=d.id,
                    text=d.text,
                    entities=d.entities,
                    relations=tuple(rels),
                    metadata=dict(d.metadata),
                )
            )
        return out

    def describe(self) -> dict[str, Any]:
        return {"model": "random_forest_re", **asdict(self.config), "train_seconds": self.train_seconds}
