"""The one matcher (annotations.formats.matching) that the scorer, agreement and curation share."""

from __future__ import annotations

import itertools
import random

from annotations.formats.matching import fragments, max_matching, overlap, strict_matching


def _brute_force(n_g: int, n_p: int, adj: set) -> int:
    best = 0
    if n_g <= n_p:
        for perm in itertools.permutations(range(n_p), n_g):
            best = max(best, sum((i, perm[i]) in adj for i in range(n_g)))
    else:
        for perm in itertools.permutations(range(n_g), n_p):
            best = max(best, sum((perm[j], j) in adj for j in range(n_p)))
    return best


def test_the_relaxed_matching_is_one_to_one_and_maximum():
    rng = random.Random(3)
    for _ in range(300):
        n_g, n_p = rng.randint(0, 5), rng.randint(0, 5)
        adj = {(i, j) for i in range(n_g) for j in range(n_p) if rng.random() < 0.4}
        pairs = max_matching(list(range(n_g)), list(range(n_p)), lambda g, p, adj=adj: float((g, p) in adj))
        assert all(pair in adj for pair in pairs)
        assert len({i for i, _ in pairs}) == len({j for _, j in pairs}) == len(pairs)
        assert len(pairs) == _brute_force(n_g, n_p, adj)


def test_windowing_by_box_finds_the_same_matching_as_weighing_every_pair():
    rng = random.Random(5)
    for _ in range(200):
        spans = [(s, s + rng.randint(1, 30)) for s in (rng.randint(0, 300) for _ in range(rng.randint(1, 25)))]
        gold = [((s, e),) for s, e in spans]
        pred = [((s + rng.randint(-5, 5), e + rng.randint(-5, 5)),) for s, e in spans if rng.random() < 0.8]
        pred = [tuple((max(0, s), max(s + 1, e)) for s, e in p) for p in pred]

        def weight(g, p):
            ov = overlap(g, p)
            return ov + (1e6 if g == p else 0) if ov else 0.0

        def box(item):
            return min(s for s, _ in item), max(e for _, e in item)

        assert max_matching(gold, pred, weight, box=box) == max_matching(gold, pred, weight)


def test_exact_matches_are_preferred_over_larger_overlaps():
    gold = [((0, 10),), ((5, 20),)]
    pred = [((5, 20),)]

    def weight(g, p):
        ov = overlap(g, p)
        return ov + (1e6 if g == p else 0) if ov else 0.0

    assert max_matching(gold, pred, weight) == [(1, 0)]


def test_strict_matching_counts_identical_items_as_a_multiset():
    assert strict_matching(["a", "b"], ["a", "a", "b"], lambda x: x) == [(0, 0), (1, 2)]


def test_fragments_of_a_discontinuous_entity_are_sorted_and_overlap_skips_the_gap():
    class S:
        def __init__(self, start, end):
            self.start, self.end = start, end

    frags = fragments([S(20, 25), S(0, 5)])
    assert frags == ((0, 5), (20, 25))
    assert overlap(frags, ((6, 19),)) == 0
    assert overlap(frags, ((3, 22),)) == 4
