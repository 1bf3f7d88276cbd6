"""19-state random walk (Sutton & Barto 2018, ch. 12): TD(lambda) with dutch, accumulating and replacing traces.

Start in the middle state, rewards -1 / +1 at the left / right exits, gamma = 1, values initialised to 0,
tabular (one-hot) features. Score: RMS error over the 19 states after each episode, averaged over the
first 10 episodes and over N runs, for every (trace, lambda, alpha). Within a run every configuration sees
the same (seeded) episodes. All 432 configurations of a run are updated at once by the library's
vectorised kernel ``td_lambda_step`` (one batch row per (lambda, alpha)).

A configuration diverges when its weights overflow or exceed 1e6 in any run; its RMS is then NaN.

Usage: python benchmarks/td_random_walk.py --runs 100 --out rows.json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._common import command_line, write_result  # noqa: E402
from inference.core.risk.td_lambda import TRACES, td_lambda_step  # noqa: E402

N_STATES = 19
LAMBDAS = (0.0, 0.4, 0.8, 0.9, 0.95, 0.975, 0.99, 1.0)
ALPHAS = (0.01, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
EPISODES = 10
TRUE_VALUES = np.arange(1, N_STATES + 1) / (N_STATES + 1) * 2 - 1  # -0.9 ... 0.9
DIVERGED = 1e6
TRACE_ORDER = ("dutch", "accumulating", "replacing")
NAME = "td_random_walk"


def random_walk_episode(rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """States visited (0..18, starting at 9) and the exit reward (-1 left, +1 right)."""
    pos = N_STATES // 2
    states = [pos]
    while True:
        path = pos + np.cumsum(rng.choice((-1, 1), size=512))
        out = np.flatnonzero((path < 0) | (path >= N_STATES))
        if out.size:
            k = int(out[0])
            states.extend(path[:k].tolist())
            return np.array(states, dtype=int), (-1.0 if path[k] < 0 else 1.0)
        states.extend(path.tolist())
        pos = int(path[-1])


def run_all(runs: int, seed: int) -> dict[str, np.ndarray]:
    """Mean RMS over ``runs`` for every trace, as arrays of shape (len(LAMBDAS), len(ALPHAS))."""
    lam = np.repeat(np.array(LAMBDAS), len(ALPHAS))
    alpha = np.tile(np.array(ALPHAS), len(LAMBDAS))
    n_cfg = lam.size
    eye = np.eye(N_STATES)
    zero = np.zeros(N_STATES)
    totals = {t: np.zeros(n_cfg) for t in TRACES}
    diverged = {t: np.zeros(n_cfg, dtype=bool) for t in TRACES}
    for run in range(runs):
        rng = np.random.default_rng([seed, run])
        episodes = [random_walk_episode(rng) for _ in range(EPISODES)]
        for trace in TRACES:
            w = np.zeros((n_cfg, N_STATES))
            div = diverged[trace]
            for states, exit_reward in episodes:
                e = np.zeros_like(w)
                v_old = np.zeros(n_cfg)
                last = len(states) - 1
                with np.errstate(over="ignore", invalid="ignore"):
                    for t, s in enumerate(states):
                        if t < last:
                            x_next, r = eye[states[t + 1]], 0.0
                        else:
                            x_next, r = zero, exit_reward
                        v_old, _ = td_lambda_step(
                            w, e, v_old, eye[s], r, x_next, alpha=alpha, gamma=1.0, lam=lam, trace=trace
                        )
                    bad = ~np.isfinite(w).all(axis=1) | (np.abs(w).max(axis=1) > DIVERGED)
                div |= bad
                w[bad] = 0.0  # keep the arithmetic finite; the configuration is already marked
                rms = np.sqrt(np.mean((w - TRUE_VALUES) ** 2, axis=1))
                totals[trace] += rms
    out = {}
    for trace in TRACES:
        mean = totals[trace] / (runs * EPISODES)
        mean[diverged[trace]] = np.nan
        out[trace] = mean.reshape(len(LAMBDAS), len(ALPHAS))
    return out


def _nan_to_none(rows: list[dict[str, float]]) -> list[dict[str, object]]:
    return [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()} for r in rows]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100, help="independent runs (default 100)")
    parser.add_argument(
        "--out", type=Path, default=None, help="JSON list of {trace, lambda, alpha, rms} rows"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    table = run_all(args.runs, args.seed)
    seconds = time.perf_counter() - t0

    rows = []
    for trace in TRACE_ORDER:
        for i, lam in enumerate(LAMBDAS):
            for j, alpha in enumerate(ALPHAS):
                rms = float(table[trace][i, j])
                rows.append({"trace": trace, "lambda": lam, "alpha": alpha, "rms": rms})
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(rows, indent=1) + "\n")

    print(f"19-state random walk, {args.runs} runs x {EPISODES} episodes, seed {args.seed}, {seconds:.1f} s")
    print(f"{'trace':<13} {'lambda':>6} {'best alpha':>10} {'best RMS':>9} {'diverged alphas':>16}")
    best_table = []
    metrics: dict[str, float] = {}
    for trace in TRACE_ORDER:
        for i, lam in enumerate(LAMBDAS):
            row = table[trace][i]
            n_div = int(np.isnan(row).sum())
            j = int(np.nanargmin(row)) if n_div < len(ALPHAS) else -1
            best_alpha = ALPHAS[j] if j >= 0 else math.nan
            best_rms = float(row[j]) if j >= 0 else math.nan
            best_table.append(
                {
                    "trace": trace,
                    "lambda": lam,
                    "alpha": best_alpha,
                    "rms": best_rms,
                    "diverged_alphas": n_div,
                }
            )
            metrics[f"best_rms_{trace}_lambda_{lam:g}"] = round(best_rms, 6)
            print(f"{trace:<13} {lam:>6g} {best_alpha:>10g} {best_rms:>9.4f} {n_div:>16d}")
        metrics[f"best_rms_{trace}"] = round(float(np.nanmin(table[trace])), 6)

    high = [i for i, lam in enumerate(LAMBDAS) if lam >= 0.9]
    dutch_better = all(np.nanmin(table["dutch"][i]) < np.nanmin(table["accumulating"][i]) for i in high)
    acc_diverges = bool(np.isnan(table["accumulating"][LAMBDAS.index(1.0), ALPHAS.index(1.0)]))
    metrics["check_dutch_beats_accumulating_lambda_ge_0.9"] = float(dutch_better)
    metrics["check_accumulating_diverges_alpha1_lambda1"] = float(acc_diverges)
    metrics["diverged_configs_accumulating"] = float(np.isnan(table["accumulating"]).sum())
    metrics["diverged_configs_replacing"] = float(np.isnan(table["replacing"]).sum())
    metrics["diverged_configs_dutch"] = float(np.isnan(table["dutch"]).sum())
    metrics["runs"] = float(args.runs)
    metrics["seconds"] = round(seconds, 2)
    print(f"check: dutch best RMS < accumulating best RMS for every lambda >= 0.9: {dutch_better}")
    print(f"check: accumulating diverges at alpha = lambda = 1: {acc_diverges}")

    path = write_result(
        NAME,
        metrics,
        command=command_line(),
        extra={
            "benchmark": "19-state random walk (Sutton & Barto 2018, ch. 12), RMS over the first 10 episodes",
            "seed": args.seed,
            "lambdas": list(LAMBDAS),
            "alphas": list(ALPHAS),
            "best": _nan_to_none(best_table),
            "rows": _nan_to_none(rows),
        },
    )
    print(f"wrote {path}" + (f" and {args.out}" if args.out else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
