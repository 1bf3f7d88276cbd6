"""TD(lambda) policy evaluation with linear function approximation (numpy only, framework-free).

Method 2 of the domain notes: each phrase of a patient's stay is a state; TD(lambda) learns the value
(ADR risk) of each state while walking the sequence. Three eligibility traces are offered:

- ``"accumulating"``: ``e <- gamma*lam*e + x``.
- ``"replacing"``: ``e <- gamma*lam*e`` then ``e_i <- x_i`` wherever ``x_i != 0`` (the usual replacing
  trace for binary features, generalised to real features).
- ``"dutch"``: true online TD(lambda) (van Seijen, Mahmood, Pilarski, Machado & Sutton, JMLR 2016,
  Algorithm 1) with the dutch trace ``e <- gamma*lam*e + (1 - alpha*gamma*lam*e.x) x`` and the
  ``V_old`` correction ``w <- w + alpha*(delta + V - V_old)*e - alpha*(V - V_old)*x``. Within an
  episode it produces exactly the weights of the online lambda-return algorithm
  (:func:`online_lambda_return`, the forward view).

Features: :class:`TabularFeatures` (one-hot, one weight per state) or :class:`LinearFeatures` (a fixed
feature matrix with one row per state). The terminal state has the all-zero feature vector.

Episodes (:class:`Episode`) hold the visited states and the reward of each transition; the study's
reward shaping (:class:`RewardShaping`) turns a patient's phrase states, times and report time into one.

The incremental API (:class:`TDLambda`) takes one ``(state, reward, next_state)`` transition at a time
with O(d) work and can be snapshotted and restored between note arrivals; :meth:`TDLambda.fit_episodes`
is the batch version and runs the very same step function. :func:`td_lambda_step` is the vectorised
kernel (any leading batch shape, per-row step size and trace decay) that the benchmarks also use.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

TRACES: tuple[str, ...] = ("replacing", "accumulating", "dutch")

#: Study hyper-parameters (the Korean nursing-notes study): step size, discount, trace decay.
STUDY_ALPHA = 0.1
STUDY_GAMMA = 0.1
STUDY_LAMBDA = 0.3


@dataclass(frozen=True, slots=True)
class TDConfig:
    """Hyper-parameters of TD(lambda).

    Args:
        alpha: step size (> 0).
        gamma: discount factor in [0, 1].
        lam: trace decay lambda in [0, 1].
        trace: one of :data:`TRACES`.

    Raises:
        ValueError: on an unknown trace or an out-of-range parameter.
    """

    alpha: float = STUDY_ALPHA
    gamma: float = STUDY_GAMMA
    lam: float = STUDY_LAMBDA
    trace: str = "dutch"

    def __post_init__(self) -> None:
        if self.trace not in TRACES:
            raise ValueError(f"unknown trace {self.trace!r}; expected one of {', '.join(TRACES)}")
        if not self.alpha > 0:
            raise ValueError(f"alpha must be > 0, got {self.alpha}")
        if not 0.0 <= self.gamma <= 1.0:
            raise ValueError(f"gamma must be in [0, 1], got {self.gamma}")
        if not 0.0 <= self.lam <= 1.0:
            raise ValueError(f"lam must be in [0, 1], got {self.lam}")


class FeatureMap(Protocol):
    """Maps a state to its feature vector (length ``n_features``)."""

    n_features: int

    def __call__(self, state: Any) -> np.ndarray: ...


@dataclass(frozen=True, slots=True)
class TabularFeatures:
    """One-hot features: state ``s`` (an int in ``[0, n_states)``) has a single 1 at index ``s``."""

    n_states: int

    @property
    def n_features(self) -> int:
        return self.n_states

    @property
    def matrix(self) -> np.ndarray:
        return np.eye(self.n_states)

    def __call__(self, state: int) -> np.ndarray:
        x = np.zeros(self.n_states)
        x[state] = 1.0
        return x


@dataclass(frozen=True, slots=True, eq=False)
class LinearFeatures:
    """Fixed linear features: state ``s`` (an int) has feature vector ``matrix[s]``."""

    matrix: np.ndarray

    def __post_init__(self) -> None:
        m = np.asarray(self.matrix, dtype=float)
        if m.ndim != 2:
            raise ValueError(f"feature matrix must be 2-D (n_states, n_features), got shape {m.shape}")
        object.__setattr__(self, "matrix", m)

    @property
    def n_features(self) -> int:
        return int(self.matrix.shape[1])

    def __call__(self, state: int) -> np.ndarray:
        return self.matrix[state]


@dataclass(frozen=True, slots=True)
class Episode:
    """One episode: visited states and the reward of each transition.

    With ``terminal=True`` (a finished stay) ``rewards[t]`` is received on leaving ``states[t]`` for
    ``states[t + 1]``, and the last reward on leaving ``states[-1]`` for the terminal state (value 0), so
    ``len(rewards) == len(states)``. With ``terminal=False`` (a stay still going on) there is no
    terminal transition and ``len(rewards) == len(states) - 1``.
    """

    states: tuple[Any, ...]
    rewards: tuple[float, ...]
    terminal: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "states", tuple(self.states))
        object.__setattr__(self, "rewards", tuple(float(r) for r in self.rewards))
        expected = len(self.states) - (0 if self.terminal else 1)
        if len(self.rewards) != max(expected, 0):
            raise ValueError(
                f"episode with {len(self.states)} states (terminal={self.terminal}) needs {max(expected, 0)} "
                f"rewards, got {len(self.rewards)}"
            )

    def transitions(self) -> list[tuple[Any, float, Any | None]]:
        """The ``(state, reward, next_state)`` steps; ``next_state`` is ``None`` for the terminal one."""
        out: list[tuple[Any, float, Any | None]] = []
        for t, r in enumerate(self.rewards):
            nxt = self.states[t + 1] if t + 1 < len(self.states) else None
            out.append((self.states[t], r, nxt))
        return out


@dataclass(frozen=True, slots=True)
class RewardShaping:
    """The study's reward shaping, configurable.

    A transition into a phrase whose state is in ``rewarded_states`` earns ``phrase_reward`` (the study:
    +1 for states other than 0 and 1, hence 0 for transitions into state 1 or 0). The transition during
    which the official ADR report was filed (the first one arriving at or after ``report_time``; the
    discharge transition arrives at +infinity) earns ``report_reward`` (+1). The discharge (terminal)
    transition of a patient with no ADR report earns ``no_report_discharge_reward`` (-1). Rewards add up.
    The first phrase of a stay is the start state: no transition leads into it.
    """

    rewarded_states: frozenset[int] = frozenset({2, 3, 4, 5, 6})
    phrase_reward: float = 1.0
    report_reward: float = 1.0
    no_report_discharge_reward: float = -1.0

    def transition_reward(
        self, next_state: int | None, *, report_filed: bool = False, adr_reported: bool = False
    ) -> float:
        """Reward of one transition into ``next_state`` (``None`` = discharge).

        Args:
            next_state: the state of the phrase arrived at, or ``None`` for the discharge.
            report_filed: whether the official ADR report was filed during this transition.
            adr_reported: whether the patient has an official ADR report at all (used at discharge).
        """
        r = 0.0
        if next_state is not None and next_state in self.rewarded_states:
            r += self.phrase_reward
        if report_filed:
            r += self.report_reward
        if next_state is None and not adr_reported:
            r += self.no_report_discharge_reward
        return r

    def episode(
        self,
        states: Sequence[int],
        times: Sequence[float] | None = None,
        report_time: float | None = None,
        *,
        discharged: bool = True,
    ) -> Episode:
        """Build a patient's :class:`Episode` from its phrase states.

        Args:
            states: phrase states in time order.
            times: phrase times (same length, non-decreasing); needed only when ``report_time`` is set.
            report_time: when the official ADR report was filed, ``None`` if never.
            discharged: ``True`` for a finished stay (adds the discharge transition).

        Raises:
            ValueError: if ``report_time`` is set without ``times`` or the lengths differ.
        """
        states = tuple(int(s) for s in states)
        if report_time is not None and times is None:
            raise ValueError("report_time needs the phrase times")
        if times is not None and len(times) != len(states):
            raise ValueError(f"{len(states)} states but {len(times)} times")
        adr_reported = report_time is not None
        n_trans = len(states) if discharged else max(len(states) - 1, 0)
        report_at: int | None = None
        if adr_reported:
            assert times is not None
            for t in range(n_trans):
                arrival = times[t + 1] if t + 1 < len(states) else float("inf")
                if arrival >= report_time:
                    report_at = t
                    break
        rewards = []
        for t in range(n_trans):
            nxt = states[t + 1] if t + 1 < len(states) else None
            rewards.append(
                self.transition_reward(nxt, report_filed=(t == report_at), adr_reported=adr_reported)
            )
        return Episode(states, tuple(rewards), terminal=discharged)


def td_lambda_step(
    w: np.ndarray,
    e: np.ndarray,
    v_old: np.ndarray | float,
    x: np.ndarray,
    reward: np.ndarray | float,
    x_next: np.ndarray,
    *,
    alpha: np.ndarray | float,
    gamma: np.ndarray | float,
    lam: np.ndarray | float,
    trace: str,
) -> tuple[np.ndarray, np.ndarray]:
    """One TD(lambda) update, in place on ``w`` and ``e``; O(d) work per row.

    Args:
        w: weights, shape ``(..., d)`` (any leading batch shape), updated in place.
        e: eligibility traces, same shape as ``w``, updated in place (zeros at the start of an episode).
        v_old: the dutch trace's ``V_old`` (0 at the start of an episode), shape ``(...)``; ignored by
            the other traces.
        x: features of the current state, shape ``(d,)`` or ``(..., d)``.
        reward: reward of the transition, scalar or shape ``(...)``.
        x_next: features of the next state (zeros if terminal), like ``x``.
        alpha, gamma, lam: scalars or shape ``(...)`` arrays (one value per batch row).
        trace: one of :data:`TRACES`.

    Returns:
        ``(v_old_next, delta)``: the ``V_old`` to pass to the next step and the TD error.
    """
    alpha = np.asarray(alpha, dtype=float)
    gl = np.asarray(gamma, dtype=float) * np.asarray(lam, dtype=float)
    v = np.sum(w * x, axis=-1)
    v_next = np.sum(w * x_next, axis=-1)
    delta = reward + np.asarray(gamma, dtype=float) * v_next - v
    if trace == "accumulating":
        e *= gl[..., None]
        e += x
        w += (alpha * delta)[..., None] * e
    elif trace == "replacing":
        e *= gl[..., None]
        np.copyto(e, np.broadcast_to(x, e.shape), where=np.broadcast_to(x != 0, e.shape))
        w += (alpha * delta)[..., None] * e
    elif trace == "dutch":
        ex = np.sum(e * x, axis=-1)
        e *= gl[..., None]
        e += (1.0 - alpha * gl * ex)[..., None] * x
        dv = v - v_old
        w += (alpha * (delta + dv))[..., None] * e
        w -= (alpha * dv)[..., None] * x
    else:
        raise ValueError(f"unknown trace {trace!r}; expected one of {', '.join(TRACES)}")
    return v_next, delta


@dataclass(frozen=True, slots=True)
class TDSnapshot:
    """Everything a :class:`TDLambda` needs to resume mid-episode (store it between note arrivals).

    ``pending_state`` is the state the next step must start from (``None`` between episodes).
    """

    config: TDConfig
    weights: tuple[float, ...]
    trace: tuple[float, ...]
    v_old: float
    pending_state: Any = None
    steps: int = 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (for a JSON field); inverse of :meth:`from_dict`."""
        return {
            "config": {
                "alpha": self.config.alpha,
                "gamma": self.config.gamma,
                "lam": self.config.lam,
                "trace": self.config.trace,
            },
            "weights": list(self.weights),
            "trace": list(self.trace),
            "v_old": self.v_old,
            "pending_state": self.pending_state,
            "steps": self.steps,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TDSnapshot:
        return cls(
            config=TDConfig(**data["config"]),
            weights=tuple(float(v) for v in data["weights"]),
            trace=tuple(float(v) for v in data["trace"]),
            v_old=float(data["v_old"]),
            pending_state=data.get("pending_state"),
            steps=int(data.get("steps", 0)),
        )


class TDLambda:
    """Incremental TD(lambda) learner (tabular or linear features).

    Feed it one transition at a time with :meth:`step` (constant, O(d), work per phrase) or whole
    episodes with :meth:`fit_episodes` (which calls :meth:`step`, so both give identical weights).

    Args:
        config: hyper-parameters (defaults: the study's alpha 0.1, gamma 0.1, lambda 0.3, dutch trace).
        features: a feature map (default: one-hot over the nursing-notes study's 7 states states).
        weights: initial weights (default zeros).
    """

    def __init__(
        self,
        config: TDConfig | None = None,
        features: FeatureMap | None = None,
        weights: np.ndarray | None = None,
    ) -> None:
        self.config = config or TDConfig()
        self.features: FeatureMap = features if features is not None else TabularFeatures(7)
        d = self.features.n_features
        self.w = np.zeros(d) if weights is None else np.array(weights, dtype=float)
        if self.w.shape != (d,):
            raise ValueError(f"weights must have shape ({d},), got {self.w.shape}")
        self.e = np.zeros(d)
        self.v_old = 0.0
        self.pending_state: Any = None
        self.steps = 0
        self._zero = np.zeros(d)

    # -- reading ------------------------------------------------------------------------------------
    @property
    def weights(self) -> np.ndarray:
        """A copy of the current weights."""
        return self.w.copy()

    def value(self, state: Any) -> float:
        """Current estimate of ``V(state)``."""
        return float(self.features(state) @ self.w)

    def state_values(self) -> np.ndarray:
        """Values of every state, for features with a ``matrix`` (tabular or linear)."""
        matrix = getattr(self.features, "matrix", None)
        if matrix is None:
            raise TypeError("state_values needs a feature map with a matrix (tabular or linear features)")
        return np.asarray(matrix) @ self.w

    # -- learning -----------------------------------------------------------------------------------
    def step(self, state: Any, reward: float, next_state: Any | None) -> float:
        """Learn from one transition; ``next_state=None`` is the terminal state and ends the episode.

        Within an episode, ``state`` must be the previous step's ``next_state`` (the dutch trace's
        ``V_old`` correction relies on it).

        Returns:
            The TD error of the transition.

        Raises:
            ValueError: if ``state`` does not continue the current episode.
        """
        if self.pending_state is not None and not _same_state(self.pending_state, state):
            raise ValueError(
                f"step from state {state!r} but the episode is at {self.pending_state!r}; call end_episode() first"
            )
        c = self.config
        x = self.features(state)
        x_next = self._zero if next_state is None else self.features(next_state)
        v_old, delta = td_lambda_step(
            self.w,
            self.e,
            self.v_old,
            x,
            reward,
            x_next,
            alpha=c.alpha,
            gamma=c.gamma,
            lam=c.lam,
            trace=c.trace,
        )
        self.v_old = float(v_old)
        self.steps += 1
        if next_state is None:
            self.end_episode()
        else:
            self.pending_state = next_state
        return float(delta)

    def end_episode(self) -> None:
        """Reset the traces (call after a truncated episode; terminal steps do it themselves)."""
        self.e[:] = 0.0
        self.v_old = 0.0
        self.pending_state = None

    def fit_episode(self, episode: Episode) -> TDLambda:
        """Learn from one episode, step by step; a non-terminal episode leaves the learner mid-episode."""
        for s, r, s_next in episode.transitions():
            self.step(s, r, s_next)
        return self

    def fit_episodes(self, episodes: Iterable[Episode], epochs: int = 1) -> TDLambda:
        """Batch version: :meth:`fit_episode` over ``episodes``, ``epochs`` times; returns ``self``.

        Every episode starts with fresh traces (a truncated one is closed with :meth:`end_episode`).
        """
        episodes = list(episodes)
        for _ in range(epochs):
            for ep in episodes:
                self.end_episode()
                self.fit_episode(ep)
            self.end_episode()
        return self

    # -- persistence --------------------------------------------------------------------------------
    def snapshot(self) -> TDSnapshot:
        """The learner's full state (weights, traces, ``V_old``, pending state)."""
        return TDSnapshot(
            config=self.config,
            weights=tuple(float(v) for v in self.w),
            trace=tuple(float(v) for v in self.e),
            v_old=self.v_old,
            pending_state=self.pending_state,
            steps=self.steps,
        )

    @classmethod
    def from_snapshot(cls, snap: TDSnapshot, features: FeatureMap | None = None) -> TDLambda:
        """Restore a learner from :meth:`snapshot`; bit-identical continuation."""
        learner = cls(snap.config, features, np.array(snap.weights))
        learner.e = np.array(snap.trace, dtype=float)
        learner.v_old = snap.v_old
        learner.pending_state = snap.pending_state
        learner.steps = snap.steps
        return learner


def _same_state(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return bool(np.array_equal(a, b))
    return a == b


def fit_td(
    episodes: Iterable[Episode],
    config: TDConfig | None = None,
    features: FeatureMap | None = None,
    epochs: int = 1,
) -> TDLambda:
    """Convenience: a fresh :class:`TDLambda` fitted on ``episodes``."""
    return TDLambda(config, features).fit_episodes(episodes, epochs=epochs)


def online_lambda_return(
    episodes: Iterable[Episode],
    features: FeatureMap,
    *,
    alpha: float,
    gamma: float,
    lam: float,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """The online lambda-return algorithm (forward view; Sutton & Barto 2018, section 12.4).

    At every horizon ``h`` of an episode the updates of steps ``0..h-1`` are redone from the episode's
    initial weights towards the truncated lambda-return ``G_{t:h}``, whose n-step returns bootstrap with
    the weights reached at the end of horizon ``t+n-1``. O(T^3) per episode: a reference for tests, not
    for production. Returns the final weights (true online TD(lambda) must match them).
    """
    w = np.zeros(features.n_features) if weights is None else np.array(weights, dtype=float)
    for ep in episodes:
        steps = ep.transitions()
        T = len(steps)
        if T == 0:
            continue
        xs = [features(s) for s, _, _ in steps]
        # features of the state reached by step t (zeros for the terminal state)
        x_next = [np.zeros_like(xs[0]) if s2 is None else features(s2) for _, _, s2 in steps]
        rs = np.array([r for _, r, _ in steps])
        diag = [w.copy()]  # diag[h] = weights at the end of horizon h
        for h in range(1, T + 1):
            wh = diag[0].copy()
            for t in range(h):
                g = _truncated_lambda_return(t, h, rs, x_next, diag, gamma, lam)
                wh = wh + alpha * (g - wh @ xs[t]) * xs[t]
            diag.append(wh)
        w = diag[-1]
    return w


def _truncated_lambda_return(
    t: int, h: int, rs: np.ndarray, x_next: list[np.ndarray], diag: list[np.ndarray], gamma: float, lam: float
) -> float:
    def n_step(n: int) -> float:
        ret = sum(gamma**i * rs[t + i] for i in range(n))
        # bootstrap on S_{t+n} (reached by step t+n-1) with the weights of horizon t+n-1
        return ret + gamma**n * float(x_next[t + n - 1] @ diag[t + n - 1])

    total = (1.0 - lam) * sum(lam ** (n - 1) * n_step(n) for n in range(1, h - t))
    return total + lam ** (h - t - 1) * n_step(h - t)


__all__ = [
    "STUDY_ALPHA",
    "STUDY_GAMMA",
    "STUDY_LAMBDA",
    "TRACES",
    "Episode",
    "FeatureMap",
    "LinearFeatures",
    "RewardShaping",
    "TDConfig",
    "TDLambda",
    "TDSnapshot",
    "TabularFeatures",
    "fit_td",
    "online_lambda_return",
    "td_lambda_step",
]
