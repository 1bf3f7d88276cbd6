"""CRF NER + Random Forest RE baselines on the standard ADE-Corpus-V2 10-fold split (CPU, minutes).

    python benchmarks/ade_baselines.py [--folds 0,1,...]

Prints per-fold strict figures and writes benchmarks/results/ade_baselines.json (means and standard
deviations over the folds run).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import write_result  # noqa: E402

from inference.core.extraction.baselines import crf_rf_baselines  # noqa: E402
from inference.core.extraction.datasets import ADE_FOLDS, ade_fold, ade_folds_dir  # noqa: E402

KEYS = ("crf_ner_macro_f1_strict", "crf_ner_macro_f1_relaxed", "rf_re_f1_strict", "rf_re_f1_strict_gold_entities")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folds", default=",".join(str(k) for k in range(ADE_FOLDS)))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    folds = [int(k) for k in args.folds.split(",")]
    started = time.perf_counter()
    per_fold: dict[str, list[float]] = {key: [] for key in KEYS}
    for k in folds:
        train, test = ade_fold(ade_folds_dir(), k)
        scores = crf_rf_baselines(train, test, seed=args.seed)
        for key in KEYS:
            per_fold[key].append(float(scores[key]))
        print(f"fold {k}: " + ", ".join(f"{key} {scores[key]:.4f}" for key in KEYS), flush=True)
    metrics: dict[str, float] = {"folds_run": len(folds), "seconds": round(time.perf_counter() - started, 1)}
    for key, values in per_fold.items():
        metrics[key] = round(statistics.fmean(values), 4)
        metrics[f"{key}_sd"] = round(statistics.stdev(values), 4) if len(values) > 1 else 0.0
    path = write_result("ade_baselines", metrics, extra={"folds": folds, "per_fold": per_fold, "seed": args.seed})
    print(f"means over {len(folds)} folds: " + ", ".join(f"{key} {metrics[key]:.4f}" for key in KEYS))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
