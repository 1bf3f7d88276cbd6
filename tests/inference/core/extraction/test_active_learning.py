"""Query strategies (hand-computed cases), batch selection, and the simulation loop of the benchmark."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[4]
if str(ROOT) not in sys.path:  # `pytest -p no:django` does not put the project root on sys.path
    sys.path.insert(0, str(ROOT))

from inference.core.extraction.active_learning import (  # noqa: E402
    STRATEGIES,
    ItemScores,
    kmeans,
    rank,
    select,
    uncertainty,
)


def item(i, probs=None, **kw) -> ItemScores:
    return ItemScores(item_id=i, token_probs=probs, **kw)


# --------------------------------------------------------------------------- single-item scores


def test_entropy_of_uniform_distribution_is_maximal():
    uniform = item("u", [[1 / 3, 1 / 3, 1 / 3]])
    peaked = item("p", [[0.8, 0.1, 0.1]])
    sure = item("s", [[1.0, 0.0, 0.0]])
    assert uncertainty("entropy", uniform) == pytest.approx(math.log(3))
    assert uncertainty("entropy", peaked) == pytest.approx(-(0.8 * math.log(0.8) + 0.2 * math.log(0.1)))
    assert uncertainty("entropy", sure) == 0.0
    assert rank("entropy", [sure, peaked, uniform]) == ["u", "p", "s"]


def test_entropy_is_total_over_tokens():
    # two uniform binary tokens: 2 ln 2 (total token entropy grows with length)
    assert uncertainty("entropy", item("a", [[0.5, 0.5], [0.5, 0.5]])) == pytest.approx(2 * math.log(2))


def test_margin_picks_the_closest_top_two():
    a = item("a", [[0.5, 0.4, 0.1]])  # margin 0.1
    b = item("b", [[0.6, 0.2, 0.2]])  # margin 0.4
    c = item("c", [[0.9, 0.1, 0.0], [0.45, 0.45, 0.1]])  # worst token: margin 0
    assert uncertainty("margin", a) == pytest.approx(0.9)
    assert uncertainty("margin", c) == pytest.approx(1.0)
    assert rank("margin", [a, b, c]) == ["c", "a", "b"]
    assert select("margin", [a, b, c], 1, labelled_count=100) == ["c"]


def test_least_confidence_from_marginals_and_from_sequence_probability():
    # product of the top token probabilities: 0.9 * 0.8 = 0.72
    assert uncertainty("least_confidence", item("a", [[0.9, 0.1], [0.8, 0.2]])) == pytest.approx(0.28)
    # the exact sequence probability wins when the model gives it
    exact = item("b", [[0.9, 0.1], [0.8, 0.2]], sequence_logprob=math.log(0.5))
    assert uncertainty("least_confidence", exact) == pytest.approx(0.5)


def test_mnlp_length_normalisation_prefers_the_short_uncertain_sentence():
    # long: 10 tokens at 0.9 -> P = 0.9**10 = 0.3487, LC = 0.6513; MNLP score = -10 ln 0.9 / 10 = 0.1054
    # short: 2 tokens at 0.7 -> P = 0.49, LC = 0.51;                  MNLP score = -2 ln 0.7 / 2 = 0.3567
    long_ = item("long", [[0.9, 0.1]] * 10, length=10)
    short = item("short", [[0.7, 0.3]] * 2, length=2)
    assert uncertainty("least_confidence", long_) == pytest.approx(1 - 0.9**10)
    assert uncertainty("mnlp", long_) == pytest.approx(-math.log(0.9))
    assert uncertainty("mnlp", short) == pytest.approx(-math.log(0.7))
    assert rank("least_confidence", [short, long_]) == ["long", "short"]
    assert rank("mnlp", [long_, short]) == ["short", "long"]


def test_mnlp_uses_sequence_logprob_and_length():
    it = item("a", [[0.9, 0.1]] * 4, length=4, sequence_logprob=-2.0)
    assert uncertainty("mnlp", it) == pytest.approx(0.5)


def test_single_probability_is_read_as_binary():
    # span models: [p] = [p, 1 - p]
    assert uncertainty("margin", item("a", [[0.6]])) == pytest.approx(1 - 0.2)
    assert uncertainty("entropy", item("a", [[0.5]])) == pytest.approx(math.log(2))


def test_empty_item_is_certain():
    for strategy in ("least_confidence", "margin", "entropy", "mnlp"):
        assert uncertainty(strategy, item("e", [])) == 0.0


def test_ade_uncertainty_is_binary_entropy_of_the_note_probability():
    half = item("half", ade_probability=0.5)
    high = item("high", ade_probability=0.9)
    low = item("low", ade_probability=0.1)
    sure = item("sure", ade_probability=1.0)
    h09 = -(0.9 * math.log2(0.9) + 0.1 * math.log2(0.1))  # 0.469
    assert uncertainty("ade", half) == pytest.approx(1.0)
    assert uncertainty("ade", high) == pytest.approx(h09)
    assert uncertainty("ade", low) == pytest.approx(h09)
    assert uncertainty("ade", sure) == 0.0
    assert rank("ade", [sure, high, half]) == ["half", "high", "sure"]


def test_random_is_seeded_and_independent_of_order():
    items = [item(i) for i in range(50)]
    a = select("random", items, 10, seed=3, labelled_count=100)
    assert a == select("random", list(reversed(items)), 10, seed=3, labelled_count=100)
    assert a != select("random", items, 10, seed=4, labelled_count=100)
    assert len(set(a)) == 10
    assert 0.0 <= uncertainty("random", items[0], seed=1) < 1.0


def test_errors():
    with pytest.raises(ValueError, match="unknown strategy"):
        uncertainty("bald", item("a", [[0.5, 0.5]]))
    with pytest.raises(ValueError, match="unknown strategy"):
        select("bald", [item("a")], 1)
    with pytest.raises(ValueError, match="token_probs"):
        uncertainty("mnlp", item("a"))
    with pytest.raises(ValueError, match="ade_probability"):
        uncertainty("ade", item("a", [[0.5, 0.5]]))
    with pytest.raises(ValueError, match="k must be"):
        select("random", [item("a")], -1)
    with pytest.raises(ValueError, match="embedding"):
        select("ade", [item("a", ade_probability=0.5), item("b", ade_probability=0.4)], 2, diversity=True)
    assert set(STRATEGIES) == {"random", "least_confidence", "margin", "entropy", "mnlp", "ade"}


# --------------------------------------------------------------------------- batches


def test_select_caps_k_and_returns_distinct_ids():
    items = [item(i, [[0.5 + i / 10, 0.5 - i / 10]]) for i in range(3)]
    assert select("least_confidence", items, 10, labelled_count=100) == [0, 1, 2]
    assert select("least_confidence", items, 0, labelled_count=100) == []


def test_cold_start_is_random_and_seeded_until_enough_gold():
    items = [item(i, ade_probability=i / 40) for i in range(40)]  # item 20 (p = 0.5) is the most uncertain
    cold = select("ade", items, 5, seed=7, labelled_count=3, cold_start=10)
    assert cold == select("random", items, 5, seed=7, labelled_count=3, cold_start=10)
    assert cold == select("ade", items, 5, seed=7, labelled_count=3, cold_start=10)
    assert cold != select("ade", items, 5, seed=8, labelled_count=3, cold_start=10)
    warm = select("ade", items, 5, seed=7, labelled_count=10, cold_start=10)
    assert warm == [20, 19, 21, 18, 22]


def _two_clusters():
    rng = np.random.default_rng(0)
    a, b = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])
    # four near-duplicates around a, all more uncertain than the two around b
    items = [
        item(f"a{i}", ade_probability=0.5 + 0.01 * i, embedding=a + rng.normal(0, 0.01, 3)) for i in range(4)
    ]
    items += [
        item(f"b{i}", ade_probability=0.7 + 0.05 * i, embedding=b + rng.normal(0, 0.01, 3)) for i in range(2)
    ]
    return items


def test_diversity_picks_from_different_clusters():
    items = _two_clusters()
    assert select("ade", items, 2, labelled_count=100) == ["a0", "a1"]
    assert select("ade", items, 2, labelled_count=100, diversity=True) == ["a0", "b0"]


def test_diversity_fills_up_when_clusters_run_out():
    items = _two_clusters()
    for it in items:  # every embedding identical: one cluster only
        object.__setattr__(it, "embedding", np.ones(3))
    assert select("ade", items, 3, labelled_count=100, diversity=True) == ["a0", "a1", "a2"]


def test_kmeans_is_deterministic_and_separates_blobs():
    rng = np.random.default_rng(1)
    x = np.vstack([rng.normal(0, 0.1, (10, 2)), rng.normal(5, 0.1, (10, 2))])
    labels = kmeans(x, 2, seed=3)
    assert np.array_equal(labels, kmeans(x, 2, seed=3))
    assert len(set(labels[:10])) == 1 and len(set(labels[10:])) == 1 and labels[0] != labels[10]


# --------------------------------------------------------------------------- the benchmark's loop


@pytest.fixture
def bench():
    import benchmarks.active_learning as bench

    return bench


class _CountingLearner:
    """Scores = the labelled share; ADE probability = a fixed number per item id."""

    fits: list[int] = []

    def __init__(self, probs):
        self.probs = probs
        self.n = 0

    def fit(self, docs):
        self.n = len(docs)
        _CountingLearner.fits.append(len(docs))

    def evaluate(self, test):
        return {"ner_f1": self.n / 20, "re_f1": self.n / 40}

    def item_scores(self, docs, *, ade):
        return [ItemScores(item_id=d.id, ade_probability=self.probs[d.id], length=1) for d in docs]


def test_simulation_loop_with_a_trivial_learner(bench):
    pool = bench.synthetic_corpus(20, seed=1)
    probs = {d.id: abs(0.5 - i / 40) + 0.5 for i, d in enumerate(pool)}  # p = 1 - i / 40
    _CountingLearner.fits = []
    cache: dict = {}
    rounds = bench.simulate(
        pool,
        pool[:3],
        lambda: _CountingLearner(probs),
        "ade",
        fractions=(0.1, 0.3, 1.0),
        seed=0,
        cache=cache,
    )
    assert [r.sentences for r in rounds] == [2, 6, 20]
    assert [r.ner_f1 for r in rounds] == [0.1, 0.3, 1.0]
    assert rounds[1].tokens > rounds[0].tokens
    assert _CountingLearner.fits == [2, 6, 20]
    # a second strategy at the same seed reuses the seed-set and full-data rounds
    again = bench.simulate(
        pool, pool[:3], lambda: _CountingLearner(probs), "random", fractions=(0.1, 0.3, 1.0), cache=cache
    )
    assert _CountingLearner.fits == [2, 6, 20, 6]
    assert again[0].sentences == 2 and again[-1].ner_f1 == 1.0


def test_fraction_to_target_and_summary(bench):
    full = {"fraction": 1.0, "sentences": 100, "tokens": 1000, "ner_f1": 0.8, "re_f1": 0.6}

    def curve(ner, re_):
        return [
            {"fraction": f, "sentences": 100 * f, "tokens": 1000 * f, "ner_f1": n, "re_f1": r}
            for f, n, r in zip((0.1, 0.3, 0.5), ner, re_, strict=True)
        ] + [full]

    curves = {
        "random": curve((0.5, 0.7, 0.77), (0.3, 0.5, 0.58)),
        "mnlp": curve((0.6, 0.77, 0.8), (0.4, 0.57, 0.6)),
    }
    # 95 % of 0.8 = 0.76, of 0.6 = 0.57
    metrics, detail = bench.summarize(curves, 1000)
    assert metrics["label_fraction_to_95pct_best"] == 0.3
    assert metrics["label_fraction_to_95pct_random"] == 0.5
    assert metrics["token_fraction_to_95pct_best"] == pytest.approx(0.3)
    assert metrics["label_fraction_to_95pct_ner_random"] == 0.5
    assert detail["best_strategy"] == "mnlp"
    # nothing learnt on the full data: no figure rather than the first point
    assert bench.fraction_to_target(curves["mnlp"], {**full, "re_f1": 0.0}, ("ner_f1", "re_f1")) is None


def test_quick_benchmark_runs_end_to_end_on_a_synthetic_corpus(bench, tmp_path):
    out = bench.main(["--quick", "--synthetic", "--results-dir", str(tmp_path)])
    data = json.loads((tmp_path / "active_learning.json").read_text())
    assert (tmp_path / "active_learning.png").stat().st_size > 0
    assert data["learner"] == "crf"
    assert set(data["curves"]) == {"random", "mnlp", "mnlp_diverse"}
    m = data["metrics"]
    assert 0 < m["label_fraction_to_95pct_random"] <= 1.0
    assert 0 < m["label_fraction_to_95pct_best"] <= 1.0
    assert m["token_fraction_to_95pct_best"] > 0
    assert out["metrics"]["full_data_ner_f1_strict"] > 0.9


def test_module_imports_with_django_absent():
    code = "import sys; sys.modules['django'] = None; import inference.core.extraction.active_learning"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr[-2000:]
