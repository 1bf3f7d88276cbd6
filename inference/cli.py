"""`ade-review`: train, evaluate and run the NER -> RE -> note pipeline on files, without a database.

  ade-review train    --data DIR_OR_FILE --format brat|jsonl|ade-spert|ade --out MODEL_DIR
                      [--encoder DIR] [--epochs N] [--head linear|crf|hybrid] [--note-epochs N] ...
  ade-review evaluate --model MODEL_DIR --data DIR_OR_FILE [--format ...] [--report FILE] [--json FILE]
  ade-review predict  --model MODEL_DIR --data DIR_OR_FILE [--format ...] --out DIR_OR_JSONL
                      [--out-format brat|jsonl] [--quantize]
  ade-review adapt    --texts DIR_OR_FILE [--texts ...] | --project SLUG  --out ENCODER_DIR
                      [--encoder DIR] [--steps N] [--no-extend] [--min-word-count N] [--no-resume] ...

Formats: brat (a directory or .zip of .txt/.ann, annotation.conf used as the schema when present), jsonl
(one document per line), ade-spert (the SpERT JSON of ADE-Corpus-V2), ade (the ADE-Corpus-V2 folder).
`--format` is guessed from the path when left out. Exit status: 0 ok, 2 bad arguments or unreadable input.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

FORMATS = ("brat", "jsonl", "ade-spert", "ade")


class CliError(Exception):
    """A problem the user can fix (bad path, unreadable corpus); printed without a traceback."""


def guess_format(path: Path) -> str:
    if path.is_dir():
        if (path / "DRUG-AE.rel").exists():
            return "ade"
        if (path / "ade_full.json").exists():
            return "ade-spert"
        return "brat"
    name = path.name.lower()
    if name.endswith(".jsonl") or name.endswith(".ndjson"):
        return "jsonl"
    if name.endswith(".json"):
        return "ade-spert"
    if name.endswith(".zip"):
        return "brat"
    raise CliError(f"cannot guess the format of {path}; pass --format")


def read_documents(path: str, fmt: str | None, *, limit: int | None = None):
    """Documents and schema (or None) of a corpus; parse problems go to stderr, never silently dropped."""
    from annotations.formats.document import FormatError

    p = Path(path)
    if not p.exists():
        raise CliError(f"{p}: no such file or directory")
    fmt = fmt or guess_format(p)
    schema = None
    if fmt == "ade-spert":
        from inference.core.extraction.datasets import load_ade_spert

        docs = load_ade_spert(p / "ade_full.json" if p.is_dir() else p)
    else:
        from annotations.formats import registry

        docs, problems = [], 0
        try:
            for res in registry.read_corpus(p, fmt):
                for prob in res.problems:
                    print(f"warning: {prob}", file=sys.stderr)
                    problems += 1
                if res.document is not None:
                    docs.append(res.document)
            if fmt == "brat":
                schema = registry.find_schema(p)
        except FormatError as exc:
            raise CliError(str(exc)) from exc
        if problems:
            print(f"{problems} problem(s) while reading {p}; {len(docs)} documents read", file=sys.stderr)
    if limit:
        docs = docs[:limit]
    if not docs:
        raise CliError(f"{p}: no documents read as {fmt}")
    return docs, schema


def _train(args) -> int:
    from inference.core.extraction.pipeline_training import PipelineTrainConfig, train_pipeline

    docs, schema = read_documents(args.data, args.format, limit=args.max_docs)
    config = PipelineTrainConfig(
        encoder=args.encoder,
        head=args.head,
        epochs=args.epochs,
        ner_epochs=args.ner_epochs,
        re_epochs=args.re_epochs,
        note_epochs=args.note_epochs,
        min_steps=args.min_steps,
        batch_size=args.batch_size,
        lr=args.lr,
        head_lr=args.head_lr,
        max_length=args.max_length,
        max_char_distance=args.max_char_distance or None,
        context=args.context,
        threshold=args.threshold,
        ner_max_negatives=None if args.ner_max_negatives < 0 else args.ner_max_negatives,
        train_re=not args.no_re,
        seed=args.seed,
        threads=args.threads,
    )
    print(
        f"{len(docs)} documents, {sum(len(d.entities) for d in docs)} entities, "
        f"{sum(len(d.relations) for d in docs)} relations"
    )
    bar = _ProgressLine()
    steps = _TrainSteps(bar)

    def log(line: str) -> None:
        bar.done()
        print(line, flush=True)

    try:
        result = train_pipeline(
            docs,
            config,
            relation_types=list(schema.relation_types) if schema is not None and schema.relation_types else None,
            log=log,
            progress=steps,
        )
    except ValueError as exc:
        bar.done()
        raise CliError(str(exc)) from exc
    bar.done()
    print(f"encoder {result.encoder_name}; data {result.fingerprint[:19]}...; {result.seconds:.1f} s")
    out = result.save(args.out, trained_on=str(args.data), train_config=config.to_dict())
    print(f"saved {out}")
    return 0


def _predictions(args):
    from inference.core.extraction.pipeline import Pipeline

    docs, _ = read_documents(args.data, args.format, limit=args.max_docs)
    try:
        pipe = Pipeline.load(args.model, quantized=getattr(args, "quantize", False))
    except FileNotFoundError as exc:
        raise CliError(
            f"{args.model} is not a model directory written by `ade-review train` ({exc})"
        ) from exc
    t0 = time.perf_counter()
    preds = pipe.predict(docs, batch_size=args.batch_size)
    secs = time.perf_counter() - t0
    return pipe, docs, preds, secs


def _evaluate(args) -> int:
    from inference.core.extraction.error_report import error_report
    from inference.core.extraction.evaluation import ner_scores, note_scores, re_scores

    pipe, docs, preds, secs = _predictions(args)
    pred_docs = [p.document for p in preds]
    ner = ner_scores(docs, pred_docs, types=pipe.ner.labels)
    rows = [("NER", ner)]
    if pipe.re is not None:
        rows.append(("RE", re_scores(docs, pred_docs, types=[t.name for t in pipe.re.relation_types])))
    rel_type = pipe.config.ade_relation_types[0] if pipe.config.ade_relation_types else "Adverse-Effect"
    notes = note_scores(docs, pred_docs, relation_type=rel_type)
    print(f"{len(docs)} documents in {secs:.2f} s ({len(docs) / max(secs, 1e-9):.1f} docs/s)")
    print(f"{'task':<6}{'mode':<9}{'micro P':>9}{'micro R':>9}{'micro F1':>9}{'macro F1':>9}")
    for name, s in rows:
        for mode in ("strict", "relaxed"):
            print(
                f"{name:<6}{mode:<9}{s[f'{mode}_micro_p']:>9.4f}{s[f'{mode}_micro_r']:>9.4f}"
                f"{s[f'{mode}_micro_f1']:>9.4f}{s[f'{mode}_macro_f1']:>9.4f}"
            )
    print(f"note   label    P {notes['label_p']:.4f}  R {notes['label_r']:.4f}  F1 {notes['label_f1']:.4f}")
    for mode in ("strict", "relaxed"):
        print(f"note   evidence-{mode:<8}F1 {notes[f'evidence_{mode}_f1']:.4f}")
    report = error_report(docs, pred_docs)
    if args.report:
        path = Path(args.report)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".json":
            path.write_text(
                json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
            )
        else:
            path.write_text(report.to_text(), encoding="utf-8")
        print(f"error report: {path}")
    if args.json:
        flat = {f"ner_{k}": v for k, v in ner.items()}
        for name, s in rows[1:]:
            flat.update({f"{name.lower()}_{k}": v for k, v in s.items()})
        flat.update({f"note_{k}": v for k, v in notes.items()})
        Path(args.json).write_text(json.dumps(flat, indent=2) + "\n", encoding="utf-8")
    return 0


def _predict(args) -> int:
    from annotations.formats import registry

    _, docs, preds, secs = _predictions(args)
    out = Path(args.out)
    fmt = args.out_format or ("jsonl" if out.suffix in (".jsonl", ".ndjson") else "brat")
    if fmt == "jsonl":
        out.parent.mkdir(parents=True, exist_ok=True)
    n = registry.write_corpus([p.document for p in preds], out, fmt)
    flagged = sum(p.document.label == "ade" for p in preds)
    print(f"{n} documents written to {out} ({fmt}); {flagged} flagged ADE; {secs:.2f} s")
    return 0


def _adapt_texts(args) -> list[str]:
    """The unlabelled texts: folders or files (`--texts`), and/or a project's notes (`--project`, which needs
    the database: Django is set up only then)."""
    from inference.core.adaptation.adapt import read_texts

    texts: list[str] = []
    for path in args.texts or ():
        p = Path(path)
        try:
            if p.is_file() and p.suffix.lower() != ".txt":
                texts += [d.text for d in read_documents(path, None)[0]]
            else:
                texts += read_texts(p)
        except (OSError, ValueError) as exc:
            raise CliError(str(exc)) from exc
    if args.project:
        import os

        import django

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ade_review.settings.local")
        django.setup()
        from annotations.models import Project
        from inference.adaptation.selectors import adaptation_texts

        project = Project.objects.filter(slug=args.project).first()
        if project is None:
            raise CliError(f"no project {args.project!r}")
        texts += adaptation_texts(project=project)
        if args.encoder is None and project.encoder_path:
            from inference.artifacts import artifact_path

            # A published encoder (artifact:<sha256>) is read from this machine's model cache.
            args.encoder = str(artifact_path(project.encoder_path))
    if not texts:
        raise CliError("no text to adapt on (give --texts or --project)")
    return texts


def _adapt(args) -> int:
    from inference.core.adaptation.adapt import AdaptationConfig, AdaptationStopped, adapt_encoder
    from inference.core.adaptation.vocabulary import VocabularyConfig
    from inference.core.encoder import resolve_encoder

    if not (args.texts or args.project):
        raise CliError("give --texts DIR (or a file) and/or --project SLUG")
    texts = _adapt_texts(args)
    try:
        encoder = resolve_encoder(args.encoder)
    except (FileNotFoundError, ModuleNotFoundError) as exc:
        raise CliError(str(exc)) from exc
    config = AdaptationConfig(
        encoder=str(encoder), out=args.out, extend_vocabulary=not args.no_extend,
        vocabulary=VocabularyConfig(min_word_count=args.min_word_count, min_word_pieces=args.min_word_pieces,
                                    max_new_words=args.max_new_words),
        steps=args.steps, batch_size=args.batch_size, max_length=args.max_length, lr=args.lr,
        head_warmup_steps=args.head_warmup_steps, checkpoint_every=args.checkpoint_every,
        resume=not args.no_resume, seed=args.seed, device=args.device, threads=args.threads,
    )
    print(f"{len(texts)} texts; adapting {encoder} into {args.out}")
    bar = _ProgressLine()
    try:
        report = adapt_encoder(config, texts, progress=bar, log=bar.log)
    except AdaptationStopped as exc:
        bar.done()
        raise CliError(f"{exc}; run the same command again to resume") from exc
    except ValueError as exc:
        bar.done()
        raise CliError(str(exc)) from exc
    bar.done()
    m = report.metrics()
    print(f"vocabulary {report.vocabulary.get('vocab_size_before')} -> {report.vocabulary.get('vocab_size_after')}; "
          f"[UNK] characters {m['unk_rate_before']:.2%} -> {m['unk_rate_after']:.2%}; pieces per word "
          f"{m['pieces_per_word_before']:.2f} -> {m['pieces_per_word_after']:.2f}")
    if "perplexity_before" in m and "perplexity_after" in m:
        print(f"held-out MLM perplexity {m['perplexity_before']:.2f} -> {m['perplexity_after']:.2f} "
              f"({report.heldout_texts} texts)")
    print(f"{report.steps} steps, {m['tokens_per_second']:.0f} tokens/s on {report.device}; saved {report.out}")
    if args.json:
        Path(args.json).write_text(json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


class _ProgressLine:
    """Progress on one line with the time left (on a terminal; otherwise a line every ten seconds)."""

    def __init__(self):
        self.tty = sys.stderr.isatty()
        self.last = 0.0
        self.stage = ""
        self.open = False

    def __call__(self, p) -> None:
        now = time.monotonic()
        final = p.fraction >= 1.0 or (p.stage == "train" and p.step == p.steps)
        if p.stage == self.stage and not final and now - self.last < (0.5 if self.tty else 10.0):
            return
        self.last, self.stage = now, p.stage
        width = 30
        filled = int(width * p.fraction)
        line = f"[{'#' * filled}{'.' * (width - filled)}] {p.fraction:4.0%} {p.describe()}"
        if self.tty:
            print(f"\r{line:<110}", end="", file=sys.stderr, flush=True)
            self.open = True
        else:
            print(line, file=sys.stderr, flush=True)

    def log(self, message: str) -> None:
        self.done()
        print(message, file=sys.stderr, flush=True)

    def done(self) -> None:
        if self.open:
            print(file=sys.stderr)
            self.open = False


class _TrainStep:
    """One optimizer step of one component, as `_ProgressLine` shows it: numbers only (never note text)."""

    def __init__(self, component: str, step: int, steps: int, elapsed: float, left: float | None):
        self.stage, self.step, self.steps = component, step, steps
        self.fraction = step / steps if steps else 1.0
        self.elapsed, self.left = elapsed, left

    def describe(self) -> str:
        from inference.core.adaptation.adapt import format_duration

        return (f"{self.stage.upper()} step {self.step}/{self.steps} (all epochs), "
                f"{format_duration(self.elapsed)} elapsed, {format_duration(self.left)} left")


class _TrainSteps:
    """`train_pipeline`'s progress(component, done, total) as a progress line with the time left. Each
    component (NER, RE, note classifier) trains after the other and is timed from its own first step: the
    time left is the mean time of the steps since then times the steps still to go ("?" until one is timed)."""

    def __init__(self, bar: _ProgressLine):
        self.bar = bar
        self.component = ""
        self.t_first, self.first = 0.0, 0

    def __call__(self, component: str, done: int, total: int) -> None:
        now = time.monotonic()
        if component != self.component:
            self.component, self.t_first, self.first = component, now, done
        timed = done - self.first
        left = (now - self.t_first) / timed * (total - done) if timed > 0 else None
        self.bar(_TrainStep(component, done, total, now - self.t_first, left))


def build_parser() -> argparse.ArgumentParser:
    from inference.core.extraction.pipeline_training import DEFAULT_MAX_CHAR_DISTANCE

    ap = argparse.ArgumentParser(prog="ade-review", description="ADE Review models on files (no database).")
    sub = ap.add_subparsers(dest="command", required=True)

    def data_args(p):
        p.add_argument("--data", required=True, help="brat directory/.zip, .jsonl, SpERT .json or ADE folder")
        p.add_argument("--format", choices=FORMATS, default=None, help="input format (guessed when left out)")
        p.add_argument("--max-docs", type=int, default=None, help="read only the first N documents")
        p.add_argument("--batch-size", type=int, default=16)

    t = sub.add_parser("train", help="fine-tune NER, RE (and the note classifier) and save a model directory")
    data_args(t)
    t.add_argument("--out", required=True, help="model directory to write")
    t.add_argument(
        "--encoder", default=None, help="local Hugging Face encoder directory (default: MiniLM-L6)"
    )
    t.add_argument("--epochs", type=int, default=3)
    t.add_argument("--ner-epochs", type=int, default=None)
    t.add_argument("--re-epochs", type=int, default=None)
    t.add_argument("--note-epochs", type=int, default=0, help="train the direct note classifier (0: no)")
    t.add_argument("--min-steps", type=int, default=0,
                   help="per component, more epochs when the data give fewer optimizer steps than this")
    t.add_argument("--head", choices=["linear", "crf", "hybrid"], default="linear")
    t.add_argument("--ner-max-negatives", type=int, default=512, metavar="N",
                   help='span heads: at most N "none" spans of a window in each training step, drawn afresh '
                   "(default 512; -1: every candidate span, which over Chinese characters or long windows "
                   "teaches the head to predict nothing)")
    t.add_argument("--lr", type=float, default=1e-4)
    t.add_argument("--head-lr", type=float, default=1e-3)
    t.add_argument("--max-length", type=int, default=256)
    t.add_argument(
        "--context",
        choices=["auto", "window", "sentence"],
        default="auto",
        help="how NER and RE read a note: sliding windows, one sentence at a time, or auto (sentence when "
        "the training documents are single sentences)",
    )
    t.add_argument(
        "--max-char-distance",
        type=int,
        default=DEFAULT_MAX_CHAR_DISTANCE,
        help="RE candidate pairs at most this many characters apart (0: no limit)",
    )
    t.add_argument("--threshold", type=float, default=0.5, help="relation / note decision threshold")
    t.add_argument("--no-re", action="store_true")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--threads", type=int, default=None)
    t.set_defaults(func=_train)

    e = sub.add_parser("evaluate", help="strict and relaxed scores of a model on annotated documents")
    data_args(e)
    e.add_argument("--model", required=True)
    e.add_argument("--report", default=None, help="error report file (.json for JSON, else text)")
    e.add_argument("--json", default=None, help="write all scores as a flat JSON object")
    e.set_defaults(func=_evaluate)

    p = sub.add_parser("predict", help="pre-annotate documents and write them as brat or JSONL")
    data_args(p)
    p.add_argument("--model", required=True)
    p.add_argument("--out", required=True, help="output directory (brat) or .jsonl file")
    p.add_argument("--out-format", choices=["brat", "jsonl"], default=None)
    p.add_argument("--quantize", action="store_true", help="int8 dynamic quantization (CPU)")
    p.set_defaults(func=_predict)

    a = sub.add_parser("adapt", help="adapt an encoder to unlabelled text: vocabulary extension + continued MLM")
    a.add_argument("--texts", action="append", default=[],
                   help="a folder of .txt files, a .txt file or a corpus file (.jsonl, ...); repeatable")
    a.add_argument("--project", default=None, help="also the notes of this project (reads the database)")
    a.add_argument("--encoder", default=None, help="encoder to adapt (default: the project's, else MiniLM-L6)")
    a.add_argument("--out", required=True, help="directory of the adapted encoder (checkpoints inside while it runs)")
    a.add_argument("--steps", type=int, default=1000)
    a.add_argument("--batch-size", type=int, default=16)
    a.add_argument("--max-length", type=int, default=128)
    a.add_argument("--lr", type=float, default=5e-5)
    a.add_argument("--head-warmup-steps", type=int, default=50,
                   help="steps fitting a new MLM head alone before the 'before' perplexity (encoders without one)")
    a.add_argument("--no-extend", action="store_true", help="continue pre-training without extending the vocabulary")
    a.add_argument("--min-word-count", type=int, default=5, help="a word this frequent ...")
    a.add_argument("--min-word-pieces", type=int, default=2, help="... split into this many pieces gets a token")
    a.add_argument("--max-new-words", type=int, default=10_000)
    a.add_argument("--checkpoint-every", type=int, default=200)
    a.add_argument("--no-resume", action="store_true", help="start over even if --out holds checkpoints")
    a.add_argument("--device", default=None, help="cpu, cuda, cuda:1 (default: CUDA when available)")
    a.add_argument("--threads", type=int, default=None)
    a.add_argument("--seed", type=int, default=0)
    a.add_argument("--json", default=None, help="write the adaptation report as JSON")
    a.set_defaults(func=_adapt)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CliError as exc:
        print(f"ade-review: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
