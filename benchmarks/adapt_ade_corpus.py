"""Does adapting MiniLM to biomedical English help on ADE-Corpus-V2? Shipped vs adapted encoder, same run, same folds.

1. The unlabelled English pool: the text (never the labels) of ADE-Corpus-V2 (the sentences of its SpERT
   folds and of ADE-NEG.txt), BC5CDR (titles and abstracts), NCBI-disease and MACCROBAT (the .txt files).
   Stricter than "never the test folds' labels": no text of the evaluated test folds goes in either. A test
   sentence's PubMed id is found through DRUG-AE.rel, and every text of that abstract (ADE-NEG sentences,
   BC5CDR / NCBI / MACCROBAT documents with that id) is left out, as is any text that contains a test
   sentence (compared lowercased, letters and digits only). With all ten folds that removes every
   ADE-Corpus-V2 positive sentence from the pool.
2. `adapt_encoder` (the core `ade-review adapt` and the `adapt` job call): vocabulary extension and
   continued masked-language-model training; MLM perplexity on a held-out slice of the pool before/after.
3. Per fold, `benchmarks/ade_corpus.py` twice, as subprocesses with identical settings: the shipped
   encoder and the adapted one. The shipped runs start while the adaptation trains (`--jobs` slots).

Usage:
  python benchmarks/adapt_ade_corpus.py --folds 0 --steps 300           # CPU: one fold, saying so
  python benchmarks/adapt_ade_corpus.py --steps 4000 --mlm-batch-size 64 --jobs 11   # GPU: all ten folds
  python benchmarks/adapt_ade_corpus.py --folds 0 --adapted /tmp/enc     # reuse an adapted encoder

Writes benchmarks/results/adapt_ade_corpus.json (or --out): metrics.shipped_* and metrics.adapted_*
(ner_macro_f1_strict, re_f1_strict, ...; means over the folds run), their differences, and the
adaptation's figures (unk rate, pieces per word, perplexity before/after, tokens/s).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._common import log, write_result  # noqa: E402

FOLD_KEYS = ("ner_macro_f1_strict", "re_f1_strict", "ner_micro_f1_strict", "ner_macro_f1_relaxed",
             "re_f1_relaxed", "re_f1_strict_gold_entities", "ner_drug_f1_strict", "ner_adverse_effect_f1_strict")
_PREFIX = 30  # normalised characters of a test sentence looked for inside pool texts


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--folds", default="0,1,2,3,4,5,6,7,8,9")
    ap.add_argument("--data", default=None, help="the public corpora folder (default: $ADE_REVIEW_DATA or ../shared/data)")
    ap.add_argument("--encoder", default=None, help="the encoder to adapt and to compare against (default: shipped MiniLM-L6)")
    ap.add_argument("--adapted", default=None, help="use this adapted encoder instead of adapting here")
    ap.add_argument("--keep", default=None, help="directory to keep the adapted encoder in (default: a temporary one)")
    ap.add_argument("--steps", type=int, default=300, help="MLM steps")
    ap.add_argument("--mlm-batch-size", type=int, default=16)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--mlm-lr", type=float, default=5e-5)
    ap.add_argument("--no-extend", action="store_true", help="continued pre-training only, no vocabulary extension")
    ap.add_argument("--min-word-count", type=int, default=5)
    ap.add_argument("--ner-epochs", type=int, default=8)
    ap.add_argument("--re-epochs", type=int, default=4)
    ap.add_argument("--head", default="hybrid", choices=["linear", "crf", "hybrid"])
    ap.add_argument("--batch-size", type=int, default=16, help="NER / RE fine-tuning batch")
    ap.add_argument("--max-train", type=int, default=None, help="fine-tune on the first N sentences (smoke runs)")
    ap.add_argument("--max-test", type=int, default=None)
    ap.add_argument("--threads", type=int, default=1, help="threads of each process")
    ap.add_argument("--jobs", type=int, default=2, help="processes at once (the adaptation takes one slot)")
    ap.add_argument("--device", default=None, help="adaptation device (default: CUDA when available)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None)
    return ap.parse_args(argv)


def _norm(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.lower())


def _pubtator(path: Path) -> dict[str, str]:
    docs: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^(\d+)\|[ta]\|(.*)$", line)
        if m:
            docs.setdefault(m.group(1), []).append(m.group(2))
    return {pmid: "\n".join(parts) for pmid, parts in docs.items()}


def english_pool(data: Path, folds: list[int]) -> tuple[list[str], dict]:
    """The unlabelled texts, with no text of the given ADE-Corpus-V2 test folds (see the module doc)."""
    from inference.core.extraction.datasets import ade_fold, load_ade_spert

    full = load_ade_spert(data / "ade_spert_folds" / "ade_full.json")
    test_texts = set()
    for k in folds:
        test_texts |= {d.text for d in ade_fold(data / "ade_spert_folds", k)[1]}
    test_norm = {_norm(t) for t in test_texts}
    prefixes = {n[:_PREFIX] for n in test_norm if len(n) >= _PREFIX}
    sentence_pmid: dict[str, str] = {}
    for line in (data / "ade_corpus_v2" / "DRUG-AE.rel").read_text(encoding="utf-8").splitlines():
        parts = line.split("|")
        if len(parts) >= 2:
            sentence_pmid[_norm(parts[1])] = parts[0]
    test_pmids = {sentence_pmid[n] for n in test_norm if n in sentence_pmid}

    sources: dict[str, list[tuple[str | None, str]]] = {
        "ade_corpus_v2_positive": [(None, d.text) for d in full if d.text not in test_texts],
        "ade_corpus_v2_negative": [],
        "bc5cdr": [],
        "ncbi_disease": [],
        "maccrobat": [],
    }
    for line in (data / "ade_corpus_v2" / "ADE-NEG.txt").read_text(encoding="utf-8").splitlines():
        m = re.match(r"^(\d+)\s+NEG\s+(.*)$", line)
        if m:
            sources["ade_corpus_v2_negative"].append((m.group(1), m.group(2)))
    for name in ("CDR_TrainingSet", "CDR_DevelopmentSet", "CDR_TestSet"):
        sources["bc5cdr"] += list(_pubtator(data / "bc5cdr" / f"{name}.PubTator.txt").items())
    for part in ("train", "devel", "test"):
        for p in sorted((data / "ncbi_disease" / part).glob("*.txt")):
            sources["ncbi_disease"].append((p.stem, p.read_text(encoding="utf-8")))
    for p in sorted((data / "maccrobat2020").glob("*.txt")):
        sources["maccrobat"].append((p.stem, p.read_text(encoding="utf-8")))

    def holds_test_text(text: str) -> bool:
        n = _norm(text)
        if n in test_norm:
            return True
        return any(n[i:i + _PREFIX] in prefixes for i in range(max(0, len(n) - _PREFIX + 1)))

    texts, counts, seen = [], {}, set()
    for source, items in sources.items():
        kept = dropped = 0
        for pmid, text in items:
            if not text.strip() or text in seen:
                continue
            if (pmid is not None and pmid in test_pmids) or holds_test_text(text):
                dropped += 1
                continue
            seen.add(text)
            texts.append(text)
            kept += 1
        counts[source] = {"kept": kept, "left_out_as_test_text": dropped}
    info = {"sources": counts, "texts": len(texts), "characters": sum(map(len, texts)),
            "test_sentences": len(test_texts), "test_pmids": len(test_pmids)}
    return texts, info


def _fold_command(args, k: int, encoder: str, out: Path) -> list[str]:
    cmd = [sys.executable, str(ROOT / "benchmarks" / "ade_corpus.py"), "--folds", str(k), "--head", args.head,
           "--ner-epochs", str(args.ner_epochs), "--re-epochs", str(args.re_epochs), "--batch-size",
           str(args.batch_size), "--threads", str(args.threads), "--seed", str(args.seed), "--no-baselines",
           "--encoder", encoder, "--data", str(Path(args.data) / "ade_spert_folds"), "--out", str(out)]
    if args.max_train:
        cmd += ["--max-train", str(args.max_train)]
    if args.max_test:
        cmd += ["--max-test", str(args.max_test)]
    return cmd


class _Slots:
    """At most `n` fold processes at once; each one's output goes to its own log file."""

    def __init__(self, n: int, work: Path):
        self.n, self.work, self.running, self.queue = max(1, n), work, [], []

    def add(self, name: str, cmd: list[str]) -> None:
        self.queue.append((name, cmd))

    def pump(self, reserved: int = 0) -> None:
        self.running = [(name, p) for name, p in self.running if self._alive(name, p)]
        while self.queue and len(self.running) < self.n - reserved:
            name, cmd = self.queue.pop(0)
            fh = (self.work / f"{name}.log").open("w")
            log(f"start {name}")
            self.running.append((name, subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, cwd=ROOT)))

    def _alive(self, name, p) -> bool:
        if p.poll() is None:
            return True
        if p.returncode != 0:
            tail = (self.work / f"{name}.log").read_text()[-2000:]
            raise SystemExit(f"{name} failed (exit {p.returncode}):\n{tail}")
        log(f"done {name}")
        return False

    def stop(self) -> None:
        for _name, p in self.running:
            p.terminate()

    def wait(self) -> None:
        while self.queue or self.running:
            self.pump()
            time.sleep(5)


def main(argv=None) -> int:
    args = parse_args(argv)
    from inference.core.encoder import resolve_encoder
    from inference.core.extraction.datasets import data_dir

    args.data = str(Path(args.data).expanduser().resolve() if args.data else data_dir())
    folds = [int(x) for x in args.folds.split(",") if x.strip()]
    shipped = str(resolve_encoder(args.encoder))
    work = Path(tempfile.mkdtemp(prefix="adapt_ade_"))
    slots = _Slots(args.jobs, work)
    for k in folds:
        slots.add(f"shipped_fold_{k}", _fold_command(args, k, shipped, work / f"shipped_{k}.json"))

    try:
        return _run(args, folds, shipped, work, slots)
    finally:
        slots.stop()  # a failure here must not leave fold processes training on


def _run(args, folds, shipped, work, slots) -> int:
    from inference.core.encoder import encoder_name

    t0 = time.perf_counter()
    texts, pool = english_pool(Path(args.data), folds)
    log(f"pool: {pool['texts']} texts, {pool['characters']:,} characters; {json.dumps(pool['sources'])}")
    adaptation = None
    if args.adapted:
        from inference.core.adaptation.adapt import read_adaptation

        adapted = str(Path(args.adapted).resolve())
        done = read_adaptation(adapted) or {}  # the figures of the run that adapted it, when it was adapt_encoder
        if done.get("metrics"):
            adaptation = {"metrics": done["metrics"], "vocabulary": done.get("vocabulary"), "device": done.get("device"),
                          "heldout_texts": done.get("heldout_texts"), "reused_from": adapted}
    else:
        from inference.core.adaptation.adapt import AdaptationConfig, adapt_encoder
        from inference.core.adaptation.vocabulary import VocabularyConfig

        slots.pump(reserved=1)  # the shipped folds train while the encoder adapts
        adapted = str(Path(args.keep).resolve() if args.keep else work / "adapted")
        config = AdaptationConfig(
            encoder=shipped, out=adapted, extend_vocabulary=not args.no_extend,
            vocabulary=VocabularyConfig(min_word_count=args.min_word_count), steps=args.steps,
            batch_size=args.mlm_batch_size, max_length=args.max_length, lr=args.mlm_lr, seed=args.seed,
            device=args.device, threads=args.threads,
        )
        last = [0.0]

        def progress(p):
            slots.pump(reserved=1)
            if time.perf_counter() - last[0] > 60:
                last[0] = time.perf_counter()
                log(f"adapt: {p.describe()}")

        report = adapt_encoder(config, texts, progress=progress, log=log)
        adaptation = {"metrics": report.metrics(), "vocabulary": report.vocabulary, "device": report.device,
                      "heldout_texts": report.heldout_texts, "training_segments": report.training_segments,
                      "settings": {k: v for k, v in config.to_dict().items() if k not in ("encoder", "out")}}
        log(f"adapted: {json.dumps(adaptation['metrics'])}")
    for k in folds:
        slots.add(f"adapted_fold_{k}", _fold_command(args, k, adapted, work / f"adapted_{k}.json"))
    slots.wait()

    rows = {name: [json.loads((work / f"{name}_{k}.json").read_text())["per_fold"][0] for k in folds]
            for name in ("shipped", "adapted")}
    metrics: dict[str, float] = {}
    for key in FOLD_KEYS:
        for name in ("shipped", "adapted"):
            metrics[f"{name}_{key}"] = statistics.fmean(r[key] for r in rows[name])
        metrics[f"delta_{key}"] = metrics[f"adapted_{key}"] - metrics[f"shipped_{key}"]
    for name in ("shipped", "adapted"):
        metrics[f"{name}_train_seconds"] = sum(r["train_seconds"] for r in rows[name])
        metrics[f"{name}_ner_seconds_per_epoch"] = statistics.fmean(s for r in rows[name] for s in r["ner_seconds_per_epoch"])
        metrics[f"{name}_inference_sentences_per_s"] = statistics.fmean(r["inference_sentences_per_s"] for r in rows[name])
    if adaptation:
        metrics.update({f"adapt_{k}": v for k, v in adaptation["metrics"].items()})
    metrics["folds_run"] = len(folds)
    metrics["wall_seconds"] = round(time.perf_counter() - t0, 1)
    import torch

    on_gpu = torch.cuda.is_available()
    extra = {
        "benchmark": "ADE-Corpus-V2 (SpERT/PFN folds): shipped MiniLM-L6 vs MiniLM-L6 adapted on the English text "
                     "of ../shared/data (vocabulary extension + continued MLM), same folds, same fine-tuning",
        "folds": folds,
        "scope": ("all ten folds" if len(folds) == 10 else f"folds {folds} only")
                 + (" on a GPU" if on_gpu else " on CPU (no GPU on this machine)"),
        "encoder": encoder_name(Path(shipped)),
        "adapted_encoder": args.adapted or "adapted in this run",
        "pool": pool,
        "adaptation": adaptation,
        "settings": {k: v for k, v in vars(args).items() if k != "out"},
        "per_fold": rows,
        "published": {"PFN BERT-base": [0.896, 0.800], "SpERT BERT-base": [0.893, 0.788]},
        "goal": {"ner_macro_f1_strict": 0.896, "re_f1_strict": 0.800},
    }
    path = write_result("adapt_ade_corpus", metrics, extra=extra, out=Path(args.out) if args.out else None)
    log(f"wrote {path}: shipped NER {metrics['shipped_ner_macro_f1_strict']:.4f} RE {metrics['shipped_re_f1_strict']:.4f}; "
        f"adapted NER {metrics['adapted_ner_macro_f1_strict']:.4f} RE {metrics['adapted_re_f1_strict']:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
