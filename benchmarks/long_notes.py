"""Pipeline inference on long, dense notes: how the time per note grows with its length.

A small real pipeline (MiniLM-L6 NER + RE, trained for `--epochs` on `--train-sentences` annotated
ADE-Corpus-V2 sentences, so that entity density is realistic) pre-annotates notes built by joining
ADE-Corpus-V2 sentences (ADE and non-ADE, seeded shuffle) up to each target length. Each note goes
through `Pipeline.predict(with_uncertainty=True)`, as the pre-annotation job calls it; then NER and RE
run once more separately for the breakdown. Per length: seconds, characters per second, NER windows,
predicted entities, RE candidate pairs, kept relations, and seconds in NER / RE.

The figures of interest are the slope: a pipeline that reads long notes well costs about the same
per 1,000 characters at 1,000 and at 64,000 characters.

Usage:
  python benchmarks/long_notes.py                                   # 1k, 4k, 16k, 64k characters
  python benchmarks/long_notes.py --lengths 1000,4000 --max-char-distance 600
  python benchmarks/long_notes.py --encoder /tmp/tiny --train-sentences 40 --lengths 500,2000 --out /tmp/l.json
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._common import log, write_result  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--data", default=None, help="ADE-Corpus-V2 folder (default: $ADE_REVIEW_DATA/ade_corpus_v2)"
    )
    ap.add_argument("--encoder", default=None)
    ap.add_argument("--lengths", default="1000,4000,16000,64000", help="note lengths in characters")
    ap.add_argument("--train-sentences", type=int, default=300)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument(
        "--min-steps",
        type=int,
        default=200,
        help="optimizer steps per component at least (the app's default)",
    )
    ap.add_argument(
        "--model",
        default=None,
        help="pipeline directory: loaded when it exists, else trained and saved there",
    )
    ap.add_argument(
        "--max-char-distance",
        type=int,
        default=-1,
        help="RE candidate pairs at most this many characters apart (-1: the pipeline's default; 0: no limit)",
    )
    ap.add_argument(
        "--context",
        choices=["auto", "window", "sentence"],
        default="auto",
        help="how NER and RE read the note (a loaded model keeps its own unless window or sentence is given)",
    )
    ap.add_argument("--batch-size", type=int, default=16, help="inference batch (the jobs' default)")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None)
    return ap.parse_args(argv)


def build_note(sentences: list[str], length: int, rng: random.Random) -> str:
    """Whole sentences, shuffled, joined with a space until the note reaches `length` characters."""
    parts, n = [], 0
    while n < length:
        s = sentences[rng.randrange(len(sentences))]
        parts.append(s)
        n += len(s) + 1
    return " ".join(parts)


def main(argv=None) -> int:
    args = parse_args(argv)
    from annotations.formats.document import Document
    from benchmarks.ade_classification import load_corpus
    from inference.core.encoder import encoder_name, resolve_encoder
    from inference.core.extraction.datasets import data_dir
    from inference.core.extraction.pipeline import Pipeline
    from inference.core.extraction.pipeline_training import PipelineTrainConfig, train_pipeline
    from inference.core.training import set_threads

    threads = set_threads(args.threads)
    enc = resolve_encoder(args.encoder)
    docs = load_corpus(args.data or data_dir() / "ade_corpus_v2")
    rng = random.Random(args.seed)
    annotated = [d for d in docs if d.label == "ade"]
    train = rng.sample(annotated, min(args.train_sentences, len(annotated)))
    cfg = PipelineTrainConfig(
        encoder=str(enc),
        epochs=args.epochs,
        min_steps=args.min_steps,
        threads=args.threads,
        seed=args.seed,
        context=args.context,
    )
    if args.max_char_distance >= 0:
        cfg.max_char_distance = args.max_char_distance or None
    t0 = time.perf_counter()
    if args.model and Path(args.model, "pipeline.json").is_file():
        pipe = Pipeline.load(args.model)
        if args.max_char_distance >= 0:
            pipe.re.config.max_char_distance = cfg.max_char_distance
        if args.context != "auto":
            pipe.ner.config.context = pipe.re.config.context = args.context
        log(f"loaded {args.model}")
    else:
        pipe = train_pipeline(train, cfg, log=log).pipeline
        if args.model:
            pipe.save(args.model)
    train_s = time.perf_counter() - t0
    log(
        f"pipeline ready in {train_s:.0f} s; NER context {pipe.ner.config.context}, RE {pipe.re.config.context}, "
        f"RE max_char_distance {pipe.re.config.max_char_distance}"
    )

    sentences = [d.text for d in docs]
    rows = []
    for length in [int(x) for x in args.lengths.split(",")]:
        note = Document(id=f"note-{length}", text=build_note(sentences, length, random.Random(length)))
        # An untimed pass first: first-call costs (allocations, kernels' warm-up) are not the note's.
        pipe.predict([note], batch_size=args.batch_size, with_uncertainty=True)
        t0 = time.perf_counter()
        pred = pipe.predict([note], batch_size=args.batch_size, with_uncertainty=True)[0]
        total = time.perf_counter() - t0
        t0 = time.perf_counter()
        with_ents = pipe.ner.predict([note], batch_size=args.batch_size)
        ner_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        pairs = pipe.re.predict_pairs(with_ents, batch_size=args.batch_size)[0]
        re_s = time.perf_counter() - t0
        windows = len(pipe.ner._windows([note])[1][0])
        row = {
            "chars": len(note.text),
            "seconds": round(total, 3),
            "chars_per_s": round(len(note.text) / total, 1),
            "seconds_per_1000_chars": round(1000 * total / len(note.text), 4),
            "ner_seconds": round(ner_s, 3),
            "re_seconds": round(re_s, 3),
            "ner_windows": windows,
            "entities": len(pred.document.entities),
            "re_candidate_pairs": len(pairs),
            "relations": len(pred.document.relations),
        }
        rows.append(row)
        log(
            f"{row['chars']} chars: {total:.2f} s ({row['seconds_per_1000_chars']:.3f} s per 1,000 chars; NER "
            f"{ner_s:.2f} s, RE {re_s:.2f} s), {windows} windows, {row['entities']} entities, "
            f"{row['re_candidate_pairs']} pairs, {row['relations']} relations"
        )
    first, last = rows[0], rows[-1]
    metrics = {
        "seconds_per_1000_chars_shortest": first["seconds_per_1000_chars"],
        "seconds_per_1000_chars_longest": last["seconds_per_1000_chars"],
        "longest_note_chars": last["chars"],
        "longest_note_seconds": last["seconds"],
        "slope_ratio": round(last["seconds_per_1000_chars"] / first["seconds_per_1000_chars"], 3),
        "train_or_load_seconds": round(train_s, 1),
    }
    extra = {
        "benchmark": "pipeline pre-annotation of long notes (ADE-Corpus-V2 sentences joined), one note at a time",
        "encoder": encoder_name(enc),
        "threads": threads,
        "settings": {k: v for k, v in vars(args).items() if k != "out"},
        "re_max_char_distance": pipe.re.config.max_char_distance,
        "ner_context": pipe.ner.config.context,
        "re_context": pipe.re.config.context,
        "per_length": rows,
    }
    path = write_result("long_notes", metrics, extra=extra, out=Path(args.out) if args.out else None)
    log(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
