"""Active-learning query strategies: which unreviewed notes an annotator should see next (framework-free).

Every strategy is a pure function from a model's outputs on the unlabelled items to a score: the higher
the score, the less sure the model is and the earlier the item is proposed. The app stores the score per
note (`uncertainty`) and ranks its queue by it; `select` picks one batch, optionally spread over the
embedding space (`diversity=True`) and with a random cold start while too little gold exists.

Inputs are `ItemScores` records. `token_probs` holds one probability distribution per unit: a token's
distribution over BIO tags (CRF marginals, a tagger's softmax), or a candidate span's distribution over
the entity types + "none" (span models). A one-element list `[p]` is read as the binary `[p, 1 - p]`.

Strategies (`STRATEGIES`), score = "uncertainty", higher first:
- "random": a seeded uniform number per item (hash of seed and item id: stable whatever the item order);
- "least_confidence": 1 - P(best sequence) (Culotta & McCallum 2005); P = exp(sequence_logprob) when the
  model gives it (CRF Viterbi probability), else the product of the units' top probabilities;
- "margin": 1 - min over units of (top-1 - top-2 probability) (Scheffer et al. 2001, per unit), so the
  item with the closest top two anywhere comes first;
- "entropy": total token entropy, sum over units of -sum p log p in nats (Settles & Craven 2008, "TTE");
  it grows with length, so it favours long sentences;
- "mnlp": -(log P(best sequence)) / length (maximum normalised log-probability, Shen et al. 2017: lowest
  MNLP first), with log P = sequence_logprob, else the sum of the units' log top probabilities;
- "ade": binary entropy (bits) of the note-level ADE probability: 1 at p = 0.5, 0 at p in {0, 1}.

Errors: ValueError for an unknown strategy, an item that lacks what its strategy needs (token_probs for
the sequence strategies, ade_probability for "ade", embedding for diversity), or a bad k.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "STRATEGIES",
    "SEQUENCE_STRATEGIES",
    "DEFAULT_COLD_START",
    "ItemScores",
    "uncertainty",
    "uncertainties",
    "rank",
    "select",
    "diverse_batch",
    "note_scores",
    "kmeans",
]

SEQUENCE_STRATEGIES = ("least_confidence", "margin", "entropy", "mnlp")
STRATEGIES = ("random", *SEQUENCE_STRATEGIES, "ade")
DEFAULT_COLD_START = 20  # gold items below which `select` samples at random whatever the strategy
_EPS = 1e-12


@dataclass(frozen=True)
class ItemScores:
    """What a model said about one unlabelled item (a note or a sentence).

    item_id: the caller's id; token_probs: one distribution per unit (see the module docstring), or
    None; ade_probability: P(note describes an ADE), or None; embedding: a vector for diversity, or
    None; length: the item's size in tokens (reported as annotation cost; MNLP divides by it when
    positive, else by the number of units); sequence_logprob: log P(best labelling) when the model
    can compute it exactly (a CRF's Viterbi path), else None.
    """

    item_id: Hashable
    token_probs: Sequence[Sequence[float]] | None = None
    ade_probability: float | None = None
    embedding: np.ndarray | None = None
    length: int = 0
    sequence_logprob: float | None = None


def _units(item: ItemScores, strategy: str) -> np.ndarray | list[np.ndarray]:
    """The item's distributions: one 2-D array when they all have the same width (the fast path: a
    span model's note has thousands of candidate spans), else a list of 1-D arrays."""
    if item.token_probs is None:
        raise ValueError(f"strategy {strategy!r} needs token_probs; item {item.item_id!r} has none")
    if isinstance(item.token_probs, np.ndarray) and item.token_probs.ndim == 2:
        p = np.clip(item.token_probs.astype(float, copy=False), 0.0, 1.0)
        return np.column_stack([p[:, 0], 1.0 - p[:, 0]]) if p.shape[1] == 1 else p
    out = []
    for dist in item.token_probs:
        p = np.asarray(dist, dtype=float)
        if p.size == 1:
            p = np.array([p[0], 1.0 - p[0]])
        out.append(np.clip(p, 0.0, 1.0))
    return out


def _best_logprob(item: ItemScores, units) -> float:
    if item.sequence_logprob is not None:
        return float(item.sequence_logprob)
    if isinstance(units, np.ndarray):
        return float(np.log(np.maximum(units.max(axis=1), _EPS)).sum())
    return float(sum(math.log(max(float(p.max()), _EPS)) for p in units))


def _random_score(item_id: Hashable, seed: int) -> float:
    digest = hashlib.blake2b(f"{seed}\x1f{item_id!r}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def uncertainty(strategy: str, item: ItemScores, *, seed: int = 0) -> float:
    """The item's score under `strategy` (higher = more uncertain = proposed earlier).

    Args: strategy: one of STRATEGIES; item: the model's outputs on the item; seed: for "random" only.
    Returns: a finite float (0 for an item with no units under the sequence strategies). Errors:
    ValueError (see the module docstring).
    """
    if strategy == "random":
        return _random_score(item.item_id, seed)
    if strategy == "ade":
        if item.ade_probability is None:
            raise ValueError(f"strategy 'ade' needs ade_probability; item {item.item_id!r} has none")
        p = min(max(float(item.ade_probability), 0.0), 1.0)
        return float(-sum(q * math.log2(q) for q in (p, 1.0 - p) if q > 0.0))
    if strategy not in SEQUENCE_STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; expected one of {', '.join(STRATEGIES)}")
    units = _units(item, strategy)
    if len(units) == 0:
        return 0.0
    if strategy == "least_confidence":
        return 1.0 - math.exp(_best_logprob(item, units))
    if strategy == "margin":
        if isinstance(units, np.ndarray):
            if units.shape[1] < 2:
                return 1.0 - float(units[:, 0].min())
            top2 = -np.partition(-units, 1, axis=1)[:, :2]
            return 1.0 - float((top2[:, 0] - top2[:, 1]).min())
        margins = []
        for p in units:
            top = np.sort(p)[::-1]
            margins.append(float(top[0] - (top[1] if top.size > 1 else 0.0)))
        return 1.0 - min(margins)
    if strategy == "entropy":
        if isinstance(units, np.ndarray):
            safe = np.where(units > 0, units, 1.0)
            return float(-(units * np.log(safe)).sum())
        return float(sum(-(p[p > 0] * np.log(p[p > 0])).sum() for p in units))
    # mnlp
    n = item.length if item.length > 0 else len(units)
    return -_best_logprob(item, units) / n


def note_scores(item: ItemScores, *, seed: int = 0) -> dict[str, float]:
    """Every strategy's score of one item that it has the inputs for (what the app stores per note, so
    that a project can switch strategy without running the model again). Keys: STRATEGIES members."""
    out = {"random": uncertainty("random", item, seed=seed)}
    if item.token_probs is not None:
        for strategy in SEQUENCE_STRATEGIES:
            out[strategy] = uncertainty(strategy, item)
    if item.ade_probability is not None:
        out["ade"] = uncertainty("ade", item)
    return out


def uncertainties(strategy: str, items: Sequence[ItemScores], *, seed: int = 0) -> np.ndarray:
    """`uncertainty` of every item, as a float array in the items' order."""
    return np.array([uncertainty(strategy, it, seed=seed) for it in items], dtype=float)


def rank(strategy: str, items: Sequence[ItemScores], *, seed: int = 0) -> list[Hashable]:
    """All item ids, most uncertain first; ties keep the input order. Errors: as `uncertainty`."""
    scores = uncertainties(strategy, items, seed=seed)
    order = sorted(range(len(items)), key=lambda i: (-scores[i], i))
    return [items[i].item_id for i in order]


def kmeans(x: np.ndarray, k: int, *, seed: int = 0, iterations: int = 20) -> np.ndarray:
    """Cluster labels (0..k-1) of the rows of `x`: k-means++ seeding, then Lloyd iterations (numpy).

    Rows are used as given (normalise them first for cosine geometry). k is capped at the number of
    distinct rows. Deterministic for a seed.
    """
    x = np.asarray(x, dtype=float)
    n = len(x)
    if n == 0:
        return np.zeros(0, dtype=int)
    k = max(1, min(k, len(np.unique(x, axis=0))))
    rng = np.random.default_rng(seed)
    centers = [x[rng.integers(n)]]
    d2 = ((x - centers[0]) ** 2).sum(1)
    for _ in range(1, k):
        total = d2.sum()
        idx = int(rng.choice(n, p=d2 / total)) if total > 0 else int(rng.integers(n))
        centers.append(x[idx])
        d2 = np.minimum(d2, ((x - x[idx]) ** 2).sum(1))
    c = np.array(centers)
    labels = np.full(n, -1)
    x2 = (x**2).sum(1)[:, None]
    for _ in range(iterations):
        dist = x2 - 2 * x @ c.T + (c**2).sum(1)[None, :]
        new = dist.argmin(1)
        if np.array_equal(new, labels):
            break
        labels = new
        for j in range(k):
            members = x[labels == j]
            if len(members):
                c[j] = members.mean(0)
    return labels


def select(
    strategy: str,
    items: Sequence[ItemScores],
    k: int,
    *,
    seed: int = 0,
    labelled_count: int = 0,
    cold_start: int = DEFAULT_COLD_START,
    diversity: bool = False,
    pool_factor: int = 3,
) -> list[Hashable]:
    """The ids of the next `k` items to annotate, most uncertain first.

    Args: strategy: one of STRATEGIES; items: the unlabelled items; k: batch size (capped at
    len(items)); seed: for random choices (cold start, "random", k-means); labelled_count: gold items
    so far; cold_start: below this many gold items the batch is random (the model's scores are not
    worth much yet); diversity: take the `pool_factor * k` most uncertain items, cluster their
    embeddings (L2-normalised, k-means into k clusters) and keep the most uncertain item of each
    cluster, so one batch holds no near-duplicates; empty clusters are filled by uncertainty.
    Returns: a list of at most k distinct item ids. Errors: ValueError for k < 0, an unknown
    strategy, or missing inputs (embedding when diversity is asked).
    """
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; expected one of {', '.join(STRATEGIES)}")
    k = min(k, len(items))
    if k == 0:
        return []
    if labelled_count < cold_start:
        strategy = "random"
    scores = uncertainties(strategy, items, seed=seed)
    order = sorted(range(len(items)), key=lambda i: (-scores[i], i))
    if not diversity or k == 1:
        return [items[i].item_id for i in order[:k]]

    missing = [items[i].item_id for i in order if items[i].embedding is None]
    if missing:
        raise ValueError(f"diversity needs an embedding on every item; {missing[0]!r} has none")
    embeddings = [items[i].embedding for i in range(len(items))]
    chosen = diverse_batch(scores, embeddings, k, seed=seed, pool_factor=pool_factor)
    return [items[i].item_id for i in chosen]


def diverse_batch(
    scores: Sequence[float], embeddings: Sequence, k: int, *, seed: int = 0, pool_factor: int = 3
) -> list[int]:
    """Indexes of a batch of `k` items: the `pool_factor * k` highest scores, clustered on their
    embeddings (L2-normalised, k-means into k clusters), the best item of each cluster; empty clusters
    are filled by score. Sorted by score, highest first (ties: lower index first).

    Args: one score and one embedding per item (only the pool's embeddings are read, so the others may
    be None). Errors: ValueError when a pool item has no embedding.
    """
    scores = np.asarray(scores, dtype=float)
    k = min(k, len(scores))
    if k <= 0:
        return []
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    cand = order[: max(k, min(len(scores), pool_factor * k))]
    if k == 1:
        return cand[:1]
    if any(embeddings[i] is None for i in cand):
        raise ValueError("diversity needs an embedding on every item of the pool")
    emb = np.stack([np.asarray(embeddings[i], dtype=float).ravel() for i in cand])
    emb = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), _EPS)
    labels = kmeans(emb, k, seed=seed)
    chosen: list[int] = []
    seen: set[int] = set()
    for pos, i in enumerate(cand):  # cand is sorted by score: the first of a cluster is its best
        if labels[pos] not in seen:
            seen.add(int(labels[pos]))
            chosen.append(i)
    picked = set(chosen)
    chosen += [i for i in cand if i not in picked][: k - len(chosen)]
    chosen.sort(key=lambda i: (-scores[i], i))
    return chosen[:k]
