"""TD(lambda): forward/backward equivalence, trace reductions, incremental == batch, reward shaping."""

from __future__ import annotations

import json

import numpy as np
import pytest

from inference.core.risk.td_lambda import (
    TRACES,
    Episode,
    LinearFeatures,
    RewardShaping,
    TabularFeatures,
    TDConfig,
    TDLambda,
    TDSnapshot,
    fit_td,
    online_lambda_return,
    td_lambda_step,
)


def _random_episodes(
    rng: np.random.Generator, n_states: int, n_episodes: int, max_len: int = 10
) -> list[Episode]:
    episodes = []
    for i in range(n_episodes):
        length = int(rng.integers(1, max_len + 1))
        states = tuple(int(s) for s in rng.integers(0, n_states, size=length))
        terminal = i % 3 != 2  # some truncated (non-terminal) episodes too
        n_rewards = length if terminal else length - 1
        episodes.append(Episode(states, tuple(rng.normal(size=n_rewards)), terminal=terminal))
    return episodes


def _td0_reference(episodes: list[Episode], features, alpha: float, gamma: float) -> np.ndarray:
    w = np.zeros(features.n_features)
    for ep in episodes:
        for s, r, s2 in ep.transitions():
            x = features(s)
            x2 = np.zeros_like(x) if s2 is None else features(s2)
            w = w + alpha * (r + gamma * (w @ x2) - w @ x) * x
    return w


@pytest.mark.parametrize("seed", range(6))
def test_true_online_td_equals_online_lambda_return(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_states, d = 8, 5
    features = LinearFeatures(rng.normal(size=(n_states, d)) / np.sqrt(d))
    alpha = float(rng.uniform(0.01, 0.1))
    gamma = float(rng.uniform(0.5, 1.0))
    lam = float(rng.uniform(0.0, 1.0))
    episodes = _random_episodes(rng, n_states, n_episodes=6)
    w0 = rng.normal(size=d)

    forward = online_lambda_return(episodes, features, alpha=alpha, gamma=gamma, lam=lam, weights=w0)
    learner = TDLambda(TDConfig(alpha=alpha, gamma=gamma, lam=lam, trace="dutch"), features, w0)
    backward = learner.fit_episodes(episodes).weights

    assert np.abs(forward - w0).max() > 1e-3  # the problem is not trivial
    np.testing.assert_allclose(backward, forward, rtol=0, atol=1e-10)


def test_accumulating_differs_from_lambda_return_when_lambda_positive() -> None:
    rng = np.random.default_rng(1)
    features = LinearFeatures(rng.normal(size=(6, 4)))
    episodes = _random_episodes(rng, 6, n_episodes=4)
    forward = online_lambda_return(episodes, features, alpha=0.05, gamma=0.9, lam=0.8)
    acc = TDLambda(TDConfig(alpha=0.05, gamma=0.9, lam=0.8, trace="accumulating"), features).fit_episodes(
        episodes
    )
    assert np.abs(acc.weights - forward).max() > 1e-6


@pytest.mark.parametrize("trace", TRACES)
@pytest.mark.parametrize("features", ["tabular", "linear"])
def test_lambda_zero_is_td0(trace: str, features: str) -> None:
    rng = np.random.default_rng(7)
    n_states = 6
    fmap = (
        TabularFeatures(n_states) if features == "tabular" else LinearFeatures(rng.normal(size=(n_states, 4)))
    )
    episodes = _random_episodes(rng, n_states, n_episodes=10)
    w = TDLambda(TDConfig(alpha=0.1, gamma=0.9, lam=0.0, trace=trace), fmap).fit_episodes(episodes).weights
    np.testing.assert_allclose(w, _td0_reference(episodes, fmap, 0.1, 0.9), rtol=0, atol=1e-12)


def test_replacing_equals_accumulating_without_repeated_states() -> None:
    rng = np.random.default_rng(3)
    n_states = 12
    episodes = []
    for _ in range(8):
        length = int(rng.integers(2, n_states + 1))
        states = tuple(int(s) for s in rng.permutation(n_states)[:length])  # no state repeats
        episodes.append(Episode(states, tuple(rng.normal(size=length))))
    cfg = {"alpha": 0.2, "gamma": 0.95, "lam": 0.9}
    rep = fit_td(episodes, TDConfig(**cfg, trace="replacing"), TabularFeatures(n_states)).weights
    acc = fit_td(episodes, TDConfig(**cfg, trace="accumulating"), TabularFeatures(n_states)).weights
    np.testing.assert_allclose(rep, acc, rtol=0, atol=1e-12)
    # ... and they do differ once a state repeats
    loop = [Episode((0, 1, 0, 1, 2), (0.0, 1.0, 0.0, 1.0, -1.0))]
    rep = fit_td(loop, TDConfig(**cfg, trace="replacing"), TabularFeatures(3)).weights
    acc = fit_td(loop, TDConfig(**cfg, trace="accumulating"), TabularFeatures(3)).weights
    assert np.abs(rep - acc).max() > 1e-6


@pytest.mark.parametrize("trace", TRACES)
def test_incremental_patient_update_equals_batch(trace: str) -> None:
    """Phrases arriving a few at a time (snapshot stored in between) == one batch pass over the stay."""
    rng = np.random.default_rng(11)
    shaping = RewardShaping()
    cfg = TDConfig(trace=trace)  # the study's 0.1 / 0.1 / 0.3
    prior = fit_td([shaping.episode(rng.integers(0, 7, size=9).tolist()) for _ in range(5)], cfg)
    states = rng.integers(0, 7, size=23).tolist()
    times = np.cumsum(rng.uniform(0.5, 3.0, size=23)).tolist()
    report_time = times[15] - 0.1
    episode = shaping.episode(states, times, report_time)

    batch = TDLambda.from_snapshot(prior.snapshot()).fit_episode(episode)

    snap = prior.snapshot()
    steps = episode.transitions()
    for chunk in (steps[:4], steps[4:5], steps[5:17], steps[17:]):
        learner = TDLambda.from_snapshot(TDSnapshot.from_dict(json.loads(json.dumps(snap.to_dict()))))
        for s, r, s2 in chunk:
            learner.step(s, r, s2)
        snap = learner.snapshot()
    np.testing.assert_array_equal(np.array(snap.weights), batch.weights)
    assert snap.pending_state is None and batch.pending_state is None


def test_step_refuses_a_state_that_does_not_continue_the_episode() -> None:
    learner = TDLambda()
    learner.step(2, 1.0, 3)
    with pytest.raises(ValueError, match="end_episode"):
        learner.step(4, 0.0, 5)
    learner.end_episode()
    learner.step(4, 0.0, None)


def test_batched_kernel_matches_single_rows() -> None:
    """The vectorised kernel (used by the benchmarks) == one learner per (alpha, lambda) row."""
    rng = np.random.default_rng(5)
    fmap = TabularFeatures(5)
    ep = Episode((2, 3, 2, 1, 0), tuple(rng.normal(size=5)))
    alphas = np.array([0.1, 0.5, 0.9])
    lams = np.array([0.0, 0.5, 1.0])
    for trace in TRACES:
        w = np.zeros((3, 5))
        e = np.zeros((3, 5))
        v_old = np.zeros(3)
        for s, r, s2 in ep.transitions():
            x2 = np.zeros(5) if s2 is None else fmap(s2)
            v_old, _ = td_lambda_step(
                w, e, v_old, fmap(s), r, x2, alpha=alphas, gamma=1.0, lam=lams, trace=trace
            )
        for i in range(3):
            single = fit_td([ep], TDConfig(alpha=alphas[i], gamma=1.0, lam=lams[i], trace=trace), fmap)
            np.testing.assert_allclose(w[i], single.weights, rtol=0, atol=1e-12)


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="unknown trace"):
        TDConfig(trace="eligible")
    with pytest.raises(ValueError):
        TDConfig(lam=1.5)
    with pytest.raises(ValueError):
        Episode((1, 2), (0.0,), terminal=True)


def test_reward_shaping_follows_the_study() -> None:
    shaping = RewardShaping()
    # no report: +1 into states 2..6, 0 into 0 and 1, -1 at discharge
    ep = shaping.episode([0, 1, 2, 5, 0, 1])
    assert ep.rewards == (0.0, 1.0, 1.0, 0.0, 0.0, -1.0)
    # report filed between the 3rd and 4th phrase: +1 on that transition, no -1 at discharge
    ep = shaping.episode([0, 1, 2, 5, 0], times=[0, 1, 2, 3, 4], report_time=2.5)
    assert ep.rewards == (0.0, 1.0, 2.0, 0.0, 0.0)
    # report after the last phrase: on the discharge transition
    ep = shaping.episode([1, 1], times=[0, 1], report_time=9.0)
    assert ep.rewards == (0.0, 1.0)
    # a stay still going on has no discharge transition
    ep = shaping.episode([1, 4, 1], discharged=False)
    assert ep.rewards == (1.0, 0.0) and not ep.terminal
    # configurable
    custom = RewardShaping(rewarded_states=frozenset({2}), phrase_reward=0.5, no_report_discharge_reward=-2.0)
    assert custom.episode([0, 2, 3]).rewards == (0.5, 0.0, -2.0)
