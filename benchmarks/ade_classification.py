"""ADE-Corpus-V2 sentence classification (ADE vs no ADE): pipeline, direct classifier, TF-IDF baselines.

All of ADE-Corpus-V2 (4,272 sentences with a drug -> adverse-effect relation, 16,695 negative sentences)
is split once, stratified by label, with a fixed seed (test fraction 0.2). Compared on the same test set:
- pipeline: span NER (Drug, Adverse-Effect) -> typed-marker RE -> "ade" when an Adverse-Effect relation
  is predicted with probability >= the threshold (method 1's note rule); label-only and evidence F1.
  NER and RE learn from the annotated (ADE) sentences of the training split only: the ADE-NEG sentences
  have no entity annotation at all, so their drug and symptom mentions would be taught as non-entities;
- direct: the mean-pooled encoder classifier (note_classifier.py);
- mean: the mean of the pipeline's and the direct classifier's ADE probabilities;
- TF-IDF + logistic regression / naive Bayes / linear SVM (trained on the full training split).
With `--dev-fraction F` (stratified, seeded) that share of the training split is held out from the
neural models' training and each decision's threshold is the one that maximises F1 on it; the
`*_f1` figures then use those thresholds and `*_f1_at_0_5` the fixed 0.5. The test split never
chooses anything.
`--max-train` / `--max-test` take stratified subsets (seeded) for quick or CPU-bound runs; they are
recorded in the results.

Usage:
  python benchmarks/ade_classification.py --epochs 1 --max-train 2000 --max-test 1000
  python benchmarks/ade_classification.py --epochs 4 --batch-size 32 --dev-fraction 0.1 --re-negatives -1
  python benchmarks/ade_classification.py --encoder /tmp/tiny --max-train 200 --max-test 100 --out /tmp/c.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._common import log, write_result  # noqa: E402

ENTITY_TYPES = ("Drug", "Adverse-Effect")
RELATION = "Adverse-Effect"


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--data", default=None, help="ADE-Corpus-V2 folder (default: $ADE_REVIEW_DATA/ade_corpus_v2)"
    )
    ap.add_argument("--encoder", default=None)
    ap.add_argument("--epochs", type=int, default=2, help="epochs of each model")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--head-lr", type=float, default=1e-3)
    ap.add_argument("--threshold", type=float, default=0.5)
    ap.add_argument("--test-fraction", type=float, default=0.2)
    ap.add_argument("--max-train", type=int, default=None, help="stratified subset of the training split")
    ap.add_argument("--max-test", type=int, default=None, help="stratified subset of the test split")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--no-direct", action="store_true")
    ap.add_argument(
        "--pipeline-train",
        choices=["positive", "all"],
        default="positive",
        help="NER/RE training sentences: the annotated ADE sentences (default; ADE-NEG sentences carry no "
        "entity annotation, so their drug mentions would teach the NER that drugs are not entities) or all",
    )
    ap.add_argument("--max-pipeline-train", type=int, default=None, help="cap on NER/RE training sentences")
    ap.add_argument("--re-max-train", type=int, default=None, help="cap on RE training sentences")
    ap.add_argument(
        "--re-negatives",
        type=int,
        default=0,
        help="also train RE on the NER's entities in this many ADE-NEG training sentences (no relation); "
        "-1: all of them",
    )
    ap.add_argument(
        "--dev-fraction",
        type=float,
        default=0.0,
        help="hold this share of the training split out of the neural models' training and choose each "
        "decision's threshold on it (0: every threshold is --threshold)",
    )
    ap.add_argument("--ner-epochs", type=int, default=None, help="NER epochs (default: --epochs)")
    ap.add_argument("--re-epochs", type=int, default=None, help="RE epochs (default: --epochs)")
    ap.add_argument("--out", default=None)
    ap.add_argument(
        "--note", default=None, help="a remark stored with the result (e.g. the machine it ran on)"
    )
    return ap.parse_args(argv)


def load_corpus(path) -> list:
    """ADE-Corpus-V2 as documents restricted to Drug / Adverse-Effect entities and Adverse-Effect relations."""
    from annotations.formats import registry

    docs = []
    for res in registry.read_corpus(path, "ade"):
        if res.document is None:
            raise SystemExit(f"cannot read {res.source}: {res.problems}")
        d = res.document
        ents = tuple(e for e in d.entities if e.type in ENTITY_TYPES)
        keep = {e.id for e in ents}
        rels = tuple(r for r in d.relations if r.type == RELATION and r.arg1 in keep and r.arg2 in keep)
        docs.append(dataclasses.replace(d, entities=ents, relations=rels))
    return docs


def stratified_split(docs, test_fraction: float, seed: int):
    """(train, test): per label, a seeded shuffle and the first `test_fraction` to test."""
    rng = random.Random(seed)
    train, test = [], []
    for label in sorted({d.label for d in docs}):
        group = [d for d in docs if d.label == label]
        rng.shuffle(group)
        n_test = round(len(group) * test_fraction)
        test += group[:n_test]
        train += group[n_test:]
    return train, test


def stratified_subset(docs, n: int | None, seed: int):
    if not n or n >= len(docs):
        return list(docs)
    rng = random.Random(seed + 1)
    out = []
    for label in sorted({d.label for d in docs}):
        group = [d for d in docs if d.label == label]
        rng.shuffle(group)
        out += group[: round(n * len(group) / len(docs))]
    rng.shuffle(out)
    return out


def binary_f1(gold: list[str], pred: list[str], pos: str = "ade") -> dict[str, float]:
    from inference.core.extraction.evaluation import prf

    tp = sum(g == pos and p == pos for g, p in zip(gold, pred, strict=True))
    fp = sum(g != pos and p == pos for g, p in zip(gold, pred, strict=True))
    fn = sum(g == pos and p != pos for g, p in zip(gold, pred, strict=True))
    p, r, f1 = prf(tp, fp, fn)
    acc = sum(g == p_ for g, p_ in zip(gold, pred, strict=True)) / max(1, len(gold))
    return {"p": p, "r": r, "f1": f1, "accuracy": acc}


def best_threshold(gold: list[str], probs: list[float]) -> tuple[float, float]:
    """(threshold, F1) maximising F1 of "ade when p >= threshold" over the candidate thresholds."""
    best = (0.5, -1.0)
    for t in sorted({round(i / 100, 2) for i in range(1, 100)}):
        f1 = binary_f1(gold, ["ade" if p >= t else "no_ade" for p in probs])["f1"]
        if f1 > best[1]:
            best = (t, f1)
    return best


def main(argv=None) -> int:
    args = parse_args(argv)
    from inference.core.encoder import encoder_name, resolve_encoder
    from inference.core.extraction.baselines import tfidf_baselines
    from inference.core.extraction.datasets import data_dir
    from inference.core.extraction.evaluation import note_scores
    from inference.core.extraction.ner import NER, NERConfig
    from inference.core.extraction.note_classifier import NoteClassifier
    from inference.core.extraction.pipeline import Pipeline, PipelineConfig
    from inference.core.extraction.relations import RelationExtractor, infer_relation_types
    from inference.core.training import TrainConfig, train_component

    enc = resolve_encoder(args.encoder)
    docs = load_corpus(args.data or data_dir() / "ade_corpus_v2")
    n_pos = sum(d.label == "ade" for d in docs)
    log(f"{len(docs)} sentences: {n_pos} ade, {len(docs) - n_pos} no_ade")
    train_full, test_full = stratified_split(docs, args.test_fraction, args.seed)
    dev: list = []
    if args.dev_fraction:
        # Same seeded stratified rule as the test split, applied to the training split.
        train_full, dev = stratified_split(train_full, args.dev_fraction, args.seed + 10)
    train = stratified_subset(train_full, args.max_train, args.seed)
    test = stratified_subset(test_full, args.max_test, args.seed)
    log(
        f"split (seed {args.seed}): train {len(train_full)}, dev {len(dev)}, test {len(test_full)}; "
        f"used: train {len(train)}, test {len(test)}"
    )
    gold = [d.label for d in test]

    t0 = time.perf_counter()
    base = tfidf_baselines(
        [d.text for d in train_full],
        [d.label for d in train_full],
        [d.text for d in test],
        gold,
        seed=args.seed,
    )
    log(
        f"TF-IDF baselines ({time.perf_counter() - t0:.1f} s): "
        + ", ".join(f"{k} {v:.4f}" for k, v in base.items() if k.endswith("_f1"))
    )

    cfg = TrainConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        head_lr=args.head_lr,
        warmup=0.05,
        seed=args.seed,
        threads=args.threads,
        log_every=100,
    )
    pipe_train = train_full if args.pipeline_train == "positive" else train
    if args.pipeline_train == "positive":
        pipe_train = [d for d in pipe_train if d.label == "ade"]
    if args.max_pipeline_train:
        pipe_train = random.Random(args.seed + 2).sample(
            pipe_train, min(args.max_pipeline_train, len(pipe_train))
        )
    re_train = pipe_train[: args.re_max_train] if args.re_max_train else pipe_train
    log(f"pipeline: NER on {len(pipe_train)}, RE on {len(re_train)} sentences ({args.pipeline_train})")
    ner = NER(NERConfig()).initialize(pipe_train, encoder=enc, labels=list(ENTITY_TYPES))
    ner_rep = train_component(
        ner, pipe_train, dataclasses.replace(cfg, epochs=args.ner_epochs or args.epochs), log=log
    )
    re_negatives = 0
    if args.re_negatives:
        # ADE-NEG sentences state that no drug -> adverse-effect relation holds in them: whatever entities
        # the trained NER finds there, their pairs are true "no relation" examples for RE. Without them
        # RE only ever sees ADE sentences, where ~97 % of pairs are related, and learns co-occurrence.
        pool = [d for d in train_full if d.label != "ade"]
        n_neg = len(pool) if args.re_negatives < 0 else min(args.re_negatives, len(pool))
        sample = random.Random(args.seed + 3).sample(pool, n_neg)
        t0 = time.perf_counter()
        tagged = [d for d in ner.predict(sample, batch_size=32) if len(d.entities) >= 2]
        re_negatives = len(tagged)
        re_train = [*re_train, *tagged]
        log(
            f"RE negatives: {re_negatives} of {len(sample)} ADE-NEG sentences have 2+ predicted entities "
            f"({time.perf_counter() - t0:.0f} s); RE on {len(re_train)} sentences"
        )
    rtypes = infer_relation_types(pipe_train)
    rex = RelationExtractor().initialize(pipe_train, encoder=enc, relation_types=rtypes)
    re_rep = train_component(
        rex, re_train, dataclasses.replace(cfg, epochs=args.re_epochs or args.epochs), log=log
    )
    note = None
    note_rep = None
    if not args.no_direct:
        note = NoteClassifier().initialize(train, encoder=enc)
        note_rep = train_component(note, train, cfg, log=log)
    pipe = Pipeline(ner, rex, note, PipelineConfig(threshold=args.threshold, ade_relation_types=(RELATION,)))

    def decision_probs(preds) -> dict[str, list[float]]:
        out = {"pipeline": [p.relation_probability for p in preds]}
        if note is not None:
            out["direct"] = [p.direct_probability for p in preds]
            out["mean"] = [(a + b) / 2.0 for a, b in zip(out["pipeline"], out["direct"], strict=True)]
        return out

    thresholds = {name: args.threshold for name in ("pipeline", "direct", "mean")}
    dev_f1 = {}
    if dev:
        t0 = time.perf_counter()
        dev_probs = decision_probs(pipe.predict(dev, batch_size=32))
        for name, probs in dev_probs.items():
            thresholds[name], dev_f1[name] = best_threshold([d.label for d in dev], probs)
        log(f"dev thresholds ({time.perf_counter() - t0:.0f} s): {thresholds}, dev F1 {dev_f1}")

    t0 = time.perf_counter()
    preds = pipe.predict(test, batch_size=32)
    infer_s = time.perf_counter() - t0
    test_probs = decision_probs(preds)
    metrics = {}
    for name, probs in test_probs.items():
        thr = thresholds[name]
        scores = binary_f1(gold, ["ade" if p >= thr else "no_ade" for p in probs])
        metrics.update({f"{name}_{k}": v for k, v in scores.items()})
        metrics[f"{name}_threshold"] = thr
        fixed = binary_f1(gold, ["ade" if p >= args.threshold else "no_ade" for p in probs])
        metrics[f"{name}_f1_at_0_5" if args.threshold == 0.5 else f"{name}_f1_at_fixed"] = fixed["f1"]
    # Evidence-grounded scores count only relations the RE keeps (its own threshold), so they do not
    # depend on the note threshold.
    ev = note_scores(
        test, [dataclasses.replace(p.document, label=None) for p in preds], relation_type=RELATION
    )
    metrics["pipeline_evidence_f1_strict"] = ev["evidence_strict_f1"]
    metrics["pipeline_evidence_f1_relaxed"] = ev["evidence_relaxed_f1"]
    for name in ("logreg", "nb", "svm"):
        for k in ("f1", "precision", "recall", "accuracy"):
            key = f"tfidf_{name}_{k}"
            if key in base:
                metrics[key] = base[key]
    metrics.update(
        {
            "train_sentences": len(train),
            "pipeline_ner_train_sentences": len(pipe_train),
            "pipeline_re_train_sentences": len(re_train),
            "pipeline_re_negative_sentences": re_negatives,
            "dev_sentences": len(dev),
            "test_sentences": len(test),
            "ner_seconds_per_epoch": sum(ner_rep.seconds_per_epoch) / len(ner_rep.seconds_per_epoch),
            "re_seconds_per_epoch": sum(re_rep.seconds_per_epoch) / len(re_rep.seconds_per_epoch),
            "train_seconds": ner_rep.seconds + re_rep.seconds + (note_rep.seconds if note_rep else 0.0),
            "inference_sentences_per_s": len(test) / infer_s,
        }
    )
    if note_rep:
        metrics["direct_seconds_per_epoch"] = sum(note_rep.seconds_per_epoch) / len(
            note_rep.seconds_per_epoch
        )
    log(json.dumps({k: round(v, 4) for k, v in metrics.items()}))
    extra = {
        "benchmark": "ADE-Corpus-V2 sentence classification, ADE vs no ADE, fixed stratified split",
        "split": {
            "seed": args.seed,
            "test_fraction": args.test_fraction,
            "train_full": len(train_full),
            "dev": len(dev),
            "dev_fraction": args.dev_fraction,
            "test_full": len(test_full),
            "max_train": args.max_train,
            "max_test": args.max_test,
            "tfidf_trained_on": len(train_full),
        },
        "corpus": {"sentences": len(docs), "ade": n_pos, "no_ade": len(docs) - n_pos},
        "encoder": encoder_name(enc),
        "seed": args.seed,
        "settings": {k: v for k, v in vars(args).items() if k not in ("out", "note")},
        "training": {
            "ner": ner_rep.to_dict(),
            "re": re_rep.to_dict(),
            "direct": note_rep.to_dict() if note_rep else None,
        },
        "thresholds": {"chosen_on": "dev" if dev else "fixed", **thresholds},
        "dev_f1": dev_f1,
        "goal": {"pipeline_f1": 0.92},
    }
    if args.note:
        extra["note"] = args.note
    path = write_result("ade_classification", metrics, extra=extra, out=Path(args.out) if args.out else None)
    log(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
