"""ADE-Corpus-V2 joint NER + RE on the standard 10-fold split (SpERT / PFN folds).

Per fold: fine-tune the span NER and the typed-marker RE on the fold's training sentences, run the
integrated pipeline (NER, then RE on the *predicted* entities) on its test sentences and score strictly:
NER macro F1 over Drug and Adverse-Effect (exact span + type), RE F1 with both arguments exact (spans and
types), as SpERT/PFN report them. The CRF / Random Forest baselines run on the same folds.

Usage:
  python benchmarks/ade_corpus.py                       # all ten folds, MiniLM-L6, defaults
  python benchmarks/ade_corpus.py --folds 0 --ner-epochs 5 --re-epochs 2
  python benchmarks/ade_corpus.py --folds 0 --encoder /tmp/tiny --max-train 200 --out /tmp/ade.json

On one GPU the ten folds run fastest as ten processes (each is small), then merge:
  for k in 0 1 2 3 4 5 6 7 8 9; do python benchmarks/ade_corpus.py --folds $k --head hybrid --ner-epochs 8 \
      --re-epochs 4 --batch-size 16 --threads 1 --no-baselines --out folds/fold_$k.json & done; wait
  python benchmarks/ade_corpus.py --merge folds/fold_?.json --baselines-from benchmarks/results/ade_baselines.json

Writes benchmarks/results/ade_corpus.json (or --out): metrics.ner_macro_f1_strict and
metrics.re_f1_strict (fractions, mean over the folds run), per-fold values, folds, training seconds,
inference sentences/s, the encoder and the baselines' figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._common import command_line, log, write_result  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--folds", default="0,1,2,3,4,5,6,7,8,9", help="comma-separated fold numbers (0..9)")
    ap.add_argument(
        "--data", default=None, help="ade_spert_folds folder (default: $ADE_REVIEW_DATA/ade_spert_folds)"
    )
    ap.add_argument(
        "--encoder", default=None, help="local encoder directory (default: the bundled MiniLM-L6)"
    )
    ap.add_argument(
        "--epochs", type=int, default=None, help="epochs for both models (overrides the two below)"
    )
    ap.add_argument("--ner-epochs", type=int, default=5)
    ap.add_argument("--re-epochs", type=int, default=2)
    ap.add_argument("--head", default="linear", choices=["linear", "crf", "hybrid"])
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--head-lr", type=float, default=1e-3)
    ap.add_argument("--max-train", type=int, default=None, help="use only the first N training sentences")
    ap.add_argument("--max-test", type=int, default=None, help="use only the first N test sentences")
    ap.add_argument(
        "--re-max-train", type=int, default=None, help="train RE on the first N training sentences"
    )
    ap.add_argument("--warmup", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--no-baselines", action="store_true")
    ap.add_argument("--out", default=None, help="results file (default: benchmarks/results/ade_corpus.json)")
    ap.add_argument(
        "--merge",
        nargs="+",
        default=None,
        metavar="FILE",
        help="do not train: combine result files of single-fold runs of one configuration into one result",
    )
    ap.add_argument("--note", default=None, help="a remark stored with the result (e.g. how the encoder travelled)")
    ap.add_argument(
        "--baselines-from",
        default=None,
        metavar="FILE",
        help="take the CRF / Random Forest figures from an ade_baselines.py result (same folds) instead of "
        "running them here",
    )
    return ap.parse_args(argv)


def run_fold(k: int, args, encoder_path) -> dict:
    from inference.core.extraction.datasets import ADE_DRUG, ADE_EFFECT, ade_fold, ade_folds_dir
    from inference.core.extraction.evaluation import ner_scores, re_scores
    from inference.core.extraction.ner import NER, NERConfig
    from inference.core.extraction.relations import RelationExtractor, infer_relation_types
    from inference.core.training import TrainConfig, train_component

    train, test = ade_fold(args.data or ade_folds_dir(), k)
    if args.max_train:
        train = train[: args.max_train]
    if args.max_test:
        test = test[: args.max_test]
    log(f"fold {k}: {len(train)} training, {len(test)} test sentences")
    ner_epochs = args.epochs or args.ner_epochs
    re_epochs = args.epochs or args.re_epochs
    cfg = dict(
        batch_size=args.batch_size,
        lr=args.lr,
        head_lr=args.head_lr,
        warmup=args.warmup,
        seed=args.seed,
        threads=args.threads,
        log_every=50,
    )

    ner = NER(NERConfig(head=args.head)).initialize(train, encoder=encoder_path)
    ner_rep = train_component(ner, train, TrainConfig(epochs=ner_epochs, **cfg), log=log)
    rtypes = infer_relation_types(train)
    rex = RelationExtractor().initialize(train, encoder=encoder_path, relation_types=rtypes)
    re_train = train[: args.re_max_train] if args.re_max_train else train
    re_rep = train_component(rex, re_train, TrainConfig(epochs=re_epochs, **cfg), log=log)

    t0 = time.perf_counter()
    pred_ents = ner.predict(test)
    pred = rex.predict(pred_ents)
    infer_s = time.perf_counter() - t0
    types = [ADE_DRUG, ADE_EFFECT]
    ner_s = ner_scores(test, pred_ents, types=types)
    re_s = re_scores(test, pred, types=[t.name for t in rtypes])
    gold_ents = rex.predict(test)  # RE alone, on the gold entities
    re_gold = re_scores(test, gold_ents, types=[t.name for t in rtypes])
    fold = {
        "fold": k,
        "train_sentences": len(train),
        "re_train_sentences": len(re_train),
        "test_sentences": len(test),
        "ner_macro_f1_strict": ner_s["strict_macro_f1"],
        "ner_micro_f1_strict": ner_s["strict_micro_f1"],
        "ner_macro_f1_relaxed": ner_s["relaxed_macro_f1"],
        "ner_drug_f1_strict": ner_s.get(f"strict_{ADE_DRUG}_f1", 0.0),
        "ner_adverse_effect_f1_strict": ner_s.get(f"strict_{ADE_EFFECT}_f1", 0.0),
        "re_f1_strict": re_s["strict_macro_f1"],
        "re_p_strict": re_s["strict_macro_p"],
        "re_r_strict": re_s["strict_macro_r"],
        "re_f1_relaxed": re_s["relaxed_macro_f1"],
        "re_f1_strict_gold_entities": re_gold["strict_macro_f1"],
        "ner_train_seconds": ner_rep.seconds,
        "re_train_seconds": re_rep.seconds,
        "train_seconds": round(ner_rep.seconds + re_rep.seconds, 2),
        "ner_seconds_per_epoch": ner_rep.seconds_per_epoch,
        "re_seconds_per_epoch": re_rep.seconds_per_epoch,
        "ner_losses": [round(x, 5) for x in ner_rep.losses],
        "re_losses": [round(x, 5) for x in re_rep.losses],
        "ner_epochs": ner_epochs,
        "re_epochs": re_epochs,
        "inference_seconds": round(infer_s, 2),
        "inference_sentences_per_s": round(len(test) / infer_s, 2),
        "threads": ner_rep.threads,
    }
    log(
        f"fold {k}: NER strict macro F1 {fold['ner_macro_f1_strict']:.4f}, RE strict F1 {fold['re_f1_strict']:.4f} "
        f"(gold entities {fold['re_f1_strict_gold_entities']:.4f}), {fold['inference_sentences_per_s']} sent/s"
    )
    if not args.no_baselines:
        try:
            from inference.core.extraction.baselines import crf_rf_baselines

            t0 = time.perf_counter()
            base = crf_rf_baselines(train, test, seed=args.seed)
            fold["baselines"] = {k2: v for k2, v in base.items() if isinstance(v, int | float | str)}
            fold["baselines_seconds"] = round(time.perf_counter() - t0, 2)
            log(f"fold {k}: baselines {fold['baselines']}")
        except ImportError as exc:
            fold["baselines"] = {"unavailable": str(exc)}
    return fold


def merge(paths: list[str]) -> tuple[list[dict], dict]:
    """The per-fold rows of result files written by runs of single folds (e.g. ten processes sharing one
    GPU), and the first file's header. Errors: SystemExit when their settings differ (other than the
    folds) or a fold appears twice."""
    per_fold, header, seen = [], None, set()
    for path in paths:
        data = json.loads(Path(path).read_text())
        settings = {k: v for k, v in data["settings"].items() if k not in ("folds", "out")}
        if header is None:
            header = {**data, "settings": settings}
        elif settings != header["settings"]:
            raise SystemExit(f"{path}: settings differ from {paths[0]}; only runs of one configuration merge")
        for row in data["per_fold"]:
            if row["fold"] in seen:
                raise SystemExit(f"{path}: fold {row['fold']} appears twice")
            seen.add(row["fold"])
            per_fold.append(row)
    return sorted(per_fold, key=lambda r: r["fold"]), header


def main(argv=None) -> int:
    args = parse_args(argv)
    from inference.core.encoder import encoder_name, resolve_encoder

    merged_from = None
    if args.merge:
        per_fold, header = merge(args.merge)
        folds = [r["fold"] for r in per_fold]
        merged_from = {
            "files": [Path(p).name for p in args.merge],
            "commands": sorted({json.loads(Path(p).read_text())["command"] for p in args.merge}),
            "date": header["date"],
            "machine": header["machine"],
            "settings": header["settings"],
        }
        enc_name = header["encoder"]
    else:
        encoder_path = resolve_encoder(args.encoder)
        enc_name = encoder_name(encoder_path)
        folds = [int(x) for x in args.folds.split(",") if x.strip()]
        per_fold = []
        partial = Path(args.out or "/tmp/ade_corpus.partial.json")
        for k in folds:
            per_fold.append(run_fold(k, args, encoder_path))
            partial.with_suffix(".folds.json").write_text(json.dumps(per_fold, indent=2))

    def mean(key, rows=per_fold):
        vals = [r[key] for r in rows if isinstance(r.get(key), int | float)]
        return statistics.fmean(vals) if vals else float("nan")

    metrics = {
        "ner_macro_f1_strict": mean("ner_macro_f1_strict"),
        "re_f1_strict": mean("re_f1_strict"),
        "ner_micro_f1_strict": mean("ner_micro_f1_strict"),
        "ner_macro_f1_relaxed": mean("ner_macro_f1_relaxed"),
        "re_f1_relaxed": mean("re_f1_relaxed"),
        "re_f1_strict_gold_entities": mean("re_f1_strict_gold_entities"),
        "train_seconds": sum(r["train_seconds"] for r in per_fold),
        "ner_seconds_per_epoch": statistics.fmean(s for r in per_fold for s in r["ner_seconds_per_epoch"]),
        "re_seconds_per_epoch": statistics.fmean(s for r in per_fold for s in r["re_seconds_per_epoch"]),
        "inference_sentences_per_s": mean("inference_sentences_per_s"),
        "folds_run": len(per_fold),
    }
    base_rows = [r["baselines"] for r in per_fold if isinstance(r.get("baselines"), dict)]
    for key in sorted({k for b in base_rows for k, v in b.items() if isinstance(v, int | float)}):
        metrics[f"baseline_{key}"] = statistics.fmean(
            b[key] for b in base_rows if isinstance(b.get(key), int | float)
        )
    if args.baselines_from:
        base = json.loads(Path(args.baselines_from).read_text())
        for key, value in base["metrics"].items():
            if isinstance(value, int | float) and not key.endswith("_sd"):
                metrics[f"baseline_{key}"] = value
    extra = {
        "benchmark": "ADE-Corpus-V2 joint NER + RE, standard SpERT/PFN 10-fold split, strict, macro over 2 entity types",
        "folds": folds,
        "encoder": enc_name,
        "seed": merged_from["settings"]["seed"] if merged_from else args.seed,
        "settings": merged_from["settings"] if merged_from else {k: v for k, v in vars(args).items() if k != "out"},
        "merged_from": merged_from,
        "note": args.note,
        "baselines_from": (
            {k: v for k, v in json.loads(Path(args.baselines_from).read_text()).items() if k in ("command", "date", "machine")}
            if args.baselines_from else None
        ),
        "per_fold": per_fold,
        "published": {"PFN BERT-base": [0.896, 0.800], "SpERT BERT-base": [0.893, 0.788]},
        "goal": {"ner_macro_f1_strict": 0.896, "re_f1_strict": 0.800},
    }
    if merged_from:  # the figures are the fold runs': their date and machine, not this merge's
        from benchmarks._common import RESULTS_DIR

        payload = {
            "date": merged_from["date"],
            "machine": merged_from["machine"],
            "command": command_line(),
            "metrics": {k: (None if isinstance(v, float) and v != v else v) for k, v in metrics.items()},
            **extra,
        }
        path = Path(args.out) if args.out else RESULTS_DIR / "ade_corpus.json"
        path.write_text(json.dumps(payload, indent=2) + "\n")
    else:
        path = write_result("ade_corpus", metrics, extra=extra, out=Path(args.out) if args.out else None)
    log(f"wrote {path}: {json.dumps(metrics)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
