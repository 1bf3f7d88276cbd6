"""Encoder adaptation on the synthetic Chinese / Korean / Swedish corpus: vocabulary extension, then continued
masked-language-model pre-training, through the same `adapt_encoder` the CLI and the `adapt` job call.

Metrics (benchmarks/results/adapt_encoder.json):
- unk_rate_before / unk_rate_after: share of the training text's non-space characters the tokenizer reads
  as [UNK], with the encoder's own tokenizer and with the extended one (goal: 0 after); also per language
  and on the held-out texts (characters never seen in training can stay [UNK] there);
- pieces_per_word_before / _after: subword pieces per pre-tokenizer word (a Chinese character is a word);
- perplexity_before / _after (and mlm_loss_*): masked-LM perplexity on the held-out texts, same masks,
  both read with the extended tokenizer; "before" is the extended encoder with its MLM head fitted alone
  (the shipped MiniLM has none), so it measures the encoder, not a random head;
- fraction_of_ceiling: training tokens/s divided by a bare forward+backward of the same model on the
  same batches, in the same run (goal >= 0.7).

The corpus is synthetic (templates and small lexicons): its perplexities say that the loop learns, not how
well a hospital's notes will be modelled.

Usage:
  python benchmarks/adapt_encoder.py                               # shipped MiniLM-L6, 60 steps on CPU
  python benchmarks/adapt_encoder.py --steps 20 --docs 100 --out /tmp/adapt.json
  python benchmarks/adapt_encoder.py --encoder /tmp/tiny --steps 10
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._common import log, write_result  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--encoder", default=None, help="encoder directory (default: the shipped MiniLM-L6)")
    ap.add_argument("--docs", type=int, default=400, help="synthetic documents per language")
    ap.add_argument("--sentences", type=int, default=3, help="template sentences per document")
    ap.add_argument("--languages", default="zh,ko,sv")
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--head-warmup-steps", type=int, default=30)
    ap.add_argument("--ceiling-steps", type=int, default=12, help="batches timed for the bare forward+backward")
    ap.add_argument("--min-word-count", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--device", default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep", default=None, help="keep the adapted encoder in this directory")
    ap.add_argument("--out", default=None, help="result file (default: benchmarks/results/adapt_encoder.json)")
    return ap.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from transformers.utils import logging as hf_logging

    from inference.core.adaptation.adapt import AdaptationConfig, adapt_encoder
    from inference.core.adaptation.synthetic import synthetic_documents
    from inference.core.adaptation.vocabulary import VocabularyConfig, tokenizer_stats
    from inference.core.encoder import encoder_name, load_tokenizer, resolve_encoder

    hf_logging.disable_progress_bar()
    languages = [x for x in args.languages.split(",") if x]
    docs = {lang: synthetic_documents(lang, args.docs, seed=args.seed, sentences_per_document=args.sentences)
            for lang in languages}
    texts = [d.text for lang in languages for d in docs[lang]]
    encoder_dir = resolve_encoder(args.encoder)
    log(f"{len(texts)} synthetic documents ({', '.join(languages)}); encoder {encoder_name(encoder_dir)}")

    with tempfile.TemporaryDirectory(prefix="adapt-bench-") as tmp:
        out = Path(args.keep) if args.keep else Path(tmp) / "adapted"
        config = AdaptationConfig(
            encoder=str(encoder_dir), out=str(out), steps=args.steps, batch_size=args.batch_size,
            max_length=args.max_length, lr=args.lr, head_warmup_steps=args.head_warmup_steps,
            vocabulary=VocabularyConfig(min_word_count=args.min_word_count),
            checkpoint_every=max(1, args.steps // 2), measure_ceiling_steps=args.ceiling_steps,
            threads=args.threads, device=args.device, seed=args.seed, resume=False,
        )
        last = {"step": -1}

        def progress(p):
            if p.stage == "train" and (p.step == 1 or p.step % 10 == 0 or p.step == p.steps) and p.step != last["step"]:
                last["step"] = p.step
                log(p.describe())

        report = adapt_encoder(config, texts, progress=progress, log=log)
        old_tok = load_tokenizer(encoder_dir)
        new_tok = load_tokenizer(out, fresh=True)
        per_language = {}
        for lang in languages:
            lang_texts = [d.text for d in docs[lang]]
            before, after = tokenizer_stats(old_tok, lang_texts), tokenizer_stats(new_tok, lang_texts)
            per_language[lang] = {"before": before.to_dict(), "after": after.to_dict()}
    metrics = report.metrics()
    for lang, s in per_language.items():
        metrics[f"unk_rate_before_{lang}"] = s["before"]["unk_rate"]
        metrics[f"unk_rate_after_{lang}"] = s["after"]["unk_rate"]
        metrics[f"pieces_per_word_before_{lang}"] = s["before"]["pieces_per_word"]
        metrics[f"pieces_per_word_after_{lang}"] = s["after"]["pieces_per_word"]
    path = write_result(
        "adapt_encoder", metrics, out=Path(args.out) if args.out else None,
        extra={
            "benchmark": "encoder adaptation (vocabulary extension + continued MLM) on a synthetic zh/ko/sv corpus",
            "synthetic": True,
            "encoder": encoder_name(encoder_dir),
            "device": report.device,
            "threads": report.threads,
            "settings": vars(args),
            "vocabulary": report.vocabulary,
            "per_language": per_language,
            "losses": list(report.losses),
            "training_segments": report.training_segments,
            "heldout_texts": report.heldout_texts,
            "head": report.head,
        },
    )
    log(f"unk rate {metrics['unk_rate_before']:.3f} -> {metrics['unk_rate_after']:.3f}; pieces/word "
        f"{metrics['pieces_per_word_before']:.2f} -> {metrics['pieces_per_word_after']:.2f}; perplexity "
        f"{metrics.get('perplexity_before')} -> {metrics.get('perplexity_after')}; "
        f"{metrics['tokens_per_second']:.0f} tokens/s = {metrics.get('fraction_of_ceiling')} of the bare pass")
    log(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
