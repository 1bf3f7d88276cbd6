"""One row of the Chinese NER diagnosis (docs/chinese_ner.md): the NER alone trained on synthetic records through
`train_pipeline` (what `ade-review train` calls) with one setting changed, scored on records of another seed.

Prints one JSON line: steps, the loss of each epoch, entities predicted, strict micro F1. With --out, also
writes it as a result file (date, machine, command, metrics).

Usage (the rows of the table; 1.5-12 min each on one thread):
  python benchmarks/chinese_ner_diagnosis.py --epochs 2 --max-negative-spans none      # A: the issue's failure
  python benchmarks/chinese_ner_diagnosis.py --language sv --epochs 2 --max-negative-spans none   # B
  python benchmarks/chinese_ner_diagnosis.py --head crf --epochs 2                      # C
  python benchmarks/chinese_ner_diagnosis.py --context sentence --max-negative-spans none         # D
  python benchmarks/chinese_ner_diagnosis.py --epochs 8 --max-negative-spans none      # H
  python benchmarks/chinese_ner_diagnosis.py --epochs 8 --max-negative-spans 512       # E (the default)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._common import write_result  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--encoder", default=None, help="encoder directory (default: the shipped MiniLM-L6)")
    ap.add_argument("--language", choices=["zh", "ko", "sv"], default="zh")
    ap.add_argument("--train-docs", type=int, default=150)
    ap.add_argument("--test-docs", type=int, default=50)
    ap.add_argument("--sentences", type=int, default=8, help="template sentences per record")
    ap.add_argument("--head", choices=["linear", "crf", "hybrid"], default="linear")
    ap.add_argument("--context", choices=["auto", "window", "sentence"], default="window")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--max-negative-spans", default="512", help="an integer, or none: every span in the loss")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None, help="also write the row as a result file")
    return ap.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from transformers.utils import logging as hf_logging

    from inference.core.adaptation.synthetic import synthetic_documents
    from inference.core.extraction import ner as ner_module
    from inference.core.extraction.evaluation import ner_scores
    from inference.core.extraction.pipeline_training import PipelineTrainConfig, train_pipeline

    hf_logging.disable_progress_bar()
    cap = None if args.max_negative_spans.lower() == "none" else int(args.max_negative_spans)
    train = synthetic_documents(args.language, args.train_docs, seed=0, sentences_per_document=args.sentences)
    test = synthetic_documents(args.language, args.test_docs, seed=1, sentences_per_document=args.sentences)
    config = PipelineTrainConfig(encoder=args.encoder, head=args.head, ner_epochs=args.epochs, train_re=False,
                                 batch_size=args.batch_size, context=args.context, threads=args.threads)
    # train_pipeline builds NERConfig itself; the setting under study goes in through its default.
    default = ner_module.NERConfig
    ner_module.NERConfig = lambda **kw: default(**{"max_negative_spans": cap, **kw})
    t0 = time.perf_counter()
    try:
        result = train_pipeline(train, config)
    finally:
        ner_module.NERConfig = default
    report = result.component_meta["ner"]["train_report"]
    predicted = result.pipeline.ner.predict(test)
    scores = ner_scores(test, predicted)
    row = {
        "steps": report["steps"], "examples": report["examples"], "final_loss": report["losses"][-1],
        "predicted_entities": sum(len(d.entities) for d in predicted),
        "gold_entities": sum(len(d.entities) for d in test),
        "ner_micro_f1_strict": scores["strict_micro_f1"], "seconds": round(time.perf_counter() - t0, 1),
    }
    print(json.dumps({**row, "losses": report["losses"], "settings": {**vars(args), "max_negative_spans": cap}}))
    if args.out:
        write_result("chinese_ner_diagnosis", row, out=Path(args.out),
                     extra={"synthetic": True, "settings": vars(args), "losses": report["losses"],
                            "ner_config": dataclasses.asdict(result.pipeline.ner.config)})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
