"""One-to-one matching of annotations (framework-free): the one matcher behind the project's scorer
(`inference.core.extraction.evaluation`), inter-annotator agreement (`annotations.formats.agreement`) and
curation (`annotations.formats.curation`), so that "the same entity" means the same thing in all three.

- Fragments: an entity's spans as a sorted tuple of (start, end); two discontinuous entities are
  identical only when every fragment is.
- **Strict** matching (`strict_matching`): items with equal keys, counted as multisets (two identical
  predictions against one gold give one pair); the earliest unused gold item of a key is taken.
- **Relaxed** matching (`max_matching`): a maximum one-to-one matching over the pairs whose weight is
  positive (Kuhn's augmenting paths, iterative so a long note cannot overflow the stack). Each item's
  candidates are tried best-first (higher weight, then lower gold index), so exact matches and larger
  overlaps are preferred while the number of pairs stays maximal. Given `box` (the span each item lies in),
  only gold items whose box intersects the item's are weighed: a weight that needs shared characters is
  zero outside it anyway, and a dense note then costs O(n log n) rather than O(n^2).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any, TypeVar

__all__ = ["Frags", "fragments", "overlap", "strict_matching", "max_matching"]

Frags = tuple[tuple[int, int], ...]
G = TypeVar("G")
P = TypeVar("P")


def fragments(spans: Iterable[Any]) -> Frags:
    """Spans (anything with .start and .end) as sorted (start, end) pairs."""
    return tuple(sorted((s.start, s.end) for s in spans))


def overlap(a: Frags, b: Frags) -> int:
    """Characters two fragment sets share (0 when disjoint; the gap of a discontinuous entity is not its text)."""
    return sum(max(0, min(e1, e2) - max(s1, s2)) for s1, e1 in a for s2, e2 in b)


def strict_matching(gold: Sequence[G], pred: Sequence[P], key: Callable[[Any], Hashable]) -> list[tuple[int, int]]:
    """Multiset matching on equal keys: (gold index, pred index) pairs, in pred order."""
    free: dict[Hashable, list[int]] = defaultdict(list)
    for i, g in enumerate(gold):
        free[key(g)].append(i)
    pairs = []
    for j, p in enumerate(pred):
        bucket = free.get(key(p))
        if bucket:
            pairs.append((bucket.pop(0), j))
    return pairs


def _candidates(
    gold: Sequence[G], pred: Sequence[P], weight: Callable[[Any, Any], float],
    box: Callable[[Any], tuple[int, int]] | None,
) -> list[list[int]]:
    """Per pred item, the gold indexes with a positive weight, best first (higher weight, then lower index)."""
    edges: list[list[int]] = []
    if box is None or not gold:
        for p in pred:
            scored = sorted((-w, i) for i, g in enumerate(gold) if (w := weight(g, p)) > 0)
            edges.append([i for _, i in scored])
        return edges
    boxes = [box(g) for g in gold]
    order = sorted(range(len(gold)), key=lambda i: boxes[i][0])
    starts = [boxes[i][0] for i in order]
    longest = max(e - s for s, e in boxes)
    for p in pred:
        ps, pe = box(p)
        # only gold boxes starting less than `longest` before p's start (and before p's end) can reach into p
        scored = [(-w, i) for i in order[bisect_right(starts, ps - longest): bisect_left(starts, pe)]
                  if boxes[i][1] > ps and (w := weight(gold[i], p)) > 0]
        if len(scored) > 1:  # most items have one candidate or none: nothing to order
            scored.sort()
        edges.append([i for _, i in scored])
    return edges


def max_matching(
    gold: Sequence[G],
    pred: Sequence[P],
    weight: Callable[[Any, Any], float],
    *,
    box: Callable[[Any], tuple[int, int]] | None = None,
) -> list[tuple[int, int]]:
    """A maximum one-to-one matching over pairs with weight > 0, as sorted (gold index, pred index) pairs.

    `box(item)`: the (start, end) every part of an item lies in, when a positive weight needs the two
    boxes to intersect (an overlap of characters); leave it out for any other weight."""
    if not gold or not pred:
        return []
    edges = _candidates(gold, pred, weight, box)
    first = [e[0] for e in edges if e]
    if all(len(e) <= 1 for e in edges) and len(set(first)) == len(first):
        # No two candidates compete (the usual case): every candidate pair is a match.
        return sorted((e[0], j) for j, e in enumerate(edges) if e)
    owner: dict[int, int] = {}  # gold index -> pred index
    for root in range(len(pred)):
        if not edges[root]:
            continue
        seen: set[int] = set()
        stack: list[tuple[int, int]] = [(root, 0)]  # (pred index, next edge position)
        path: list[int] = []  # gold indexes taken along the stack
        while stack:
            j, pos = stack[-1]
            if pos >= len(edges[j]):
                stack.pop()
                if path:
                    path.pop()
                continue
            stack[-1] = (j, pos + 1)
            i = edges[j][pos]
            if i in seen:
                continue
            seen.add(i)
            path.append(i)
            if i not in owner:
                for (pj, _), gi in zip(stack, path, strict=True):
                    owner[gi] = pj
                break
            stack.append((owner[i], 0))
    return sorted(owner.items())
