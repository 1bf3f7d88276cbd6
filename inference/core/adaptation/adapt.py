"""Adapt an encoder to a hospital's own notes: vocabulary extension, then continued masked-language-model
pre-training, in one call (framework-free). The CLI (`ade-review adapt`), the `adapt` job kind and
`benchmarks/adapt_encoder.py` all call `adapt_encoder`.

Flow:
1. the texts are split (seeded) into training texts and a held-out slice;
2. the tokenizer's vocabulary is extended for the training texts and the embedding matrix grown
   (vocabulary.py); the MLM head is loaded or made (mlm.py); a new head is first fitted alone for
   `head_warmup_steps` (encoder frozen), so that "before" measures the encoder, not a random head;
3. MLM loss and perplexity on the held-out slice, with the extended tokenizer and fixed masks ("before");
4. `steps` optimizer steps of whole-word-masked MLM on the training texts (AdamW, linear warmup and
   decay, gradient clipping; CUDA when there is one, else CPU), a checkpoint every `checkpoint_every`
   steps (encoder, head, optimizer, scheduler and RNG state), progress after every step;
5. the same held-out loss and perplexity ("after"), and the adapted encoder saved as a standard Hugging
   Face directory (config, weights, tokenizer files) that `AutoModel` / `AutoTokenizer` load offline,
   with `mlm_head.safetensors` (for a later round) and `adaptation.json` (the report, with the encoder it
   came from: the lineage).

Perplexities before and after are both read with the extended tokenizer: with the old one, most Chinese
characters are `[UNK]`, and predicting `[UNK]` for a masked `[UNK]` is easy, so its perplexity would
flatter the unadapted encoder.

Resume: checkpoints live in `<out>/checkpoints/`. A run whose `out` already holds checkpoints of the same
texts and settings (the fingerprint) continues after the newest one: same batches, same masks (drawn per
step from the seed), optimizer and scheduler where they were, dropout RNG restored. Step 0 is a
checkpoint too, so a worker killed during the first steps does not redo the extension.

Cancel: `should_cancel()` is read before every step; when it says so, `AdaptationStopped` is raised (the
checkpoints written so far stay, and a later run resumes from them). Whatever `progress` raises stops the
run the same way and propagates.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from inference.core.adaptation.vocabulary import TOKENIZER_FILES, VocabularyConfig, tokenizer_stats

__all__ = ["AdaptationConfig", "AdaptationProgress", "AdaptationReport", "AdaptationStopped", "CheckpointMismatch",
           "adapt_encoder", "REPORT_FILE", "read_adaptation", "read_texts"]

REPORT_FILE = "adaptation.json"
CHECKPOINTS = "checkpoints"


class AdaptationStopped(Exception):
    """Raised when `should_cancel` asks to stop; `step` is the last step done, `checkpoint` the newest kept."""

    def __init__(self, step: int, checkpoint: int | None):
        super().__init__(f"adaptation stopped after step {step} (last checkpoint: step {checkpoint})")
        self.step = step
        self.checkpoint = checkpoint


class CheckpointMismatch(ValueError):
    """`out` holds checkpoints of other texts or settings (resuming them would mix two runs)."""


@dataclass(frozen=True)
class AdaptationConfig:
    encoder: str  # the encoder directory to adapt
    out: str  # the directory to write (checkpoints inside it while it runs)
    extend_vocabulary: bool = True
    vocabulary: VocabularyConfig = field(default_factory=VocabularyConfig)
    steps: int = 1000
    batch_size: int = 16
    max_length: int = 128
    lr: float = 5e-5
    head_lr: float = 1e-4
    weight_decay: float = 0.01
    warmup: float = 0.06
    max_grad_norm: float = 1.0
    mlm_probability: float = 0.15
    head_warmup_steps: int = 50  # a new head (the encoder had none) is fitted alone first, for "before"
    head_warmup_lr: float = 1e-3
    heldout_fraction: float = 0.1
    heldout_max_texts: int = 500
    checkpoint_every: int = 200
    keep_checkpoints: int = 2
    keep_checkpoints_after: bool = False  # keep <out>/checkpoints once the adapted encoder is saved
    resume: bool = True
    measure_ceiling_steps: int = 0  # >0: time a bare forward+backward on this many training batches after training
    seed: int = 0
    device: str | None = None  # None: CUDA when available, else CPU
    threads: int | None = None

    # Settings that do not change the result: a run may resume with others.
    _RUN_CONTROL = ("out", "checkpoint_every", "keep_checkpoints", "keep_checkpoints_after", "resume", "device",
                    "threads", "measure_ceiling_steps")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AdaptationConfig:
        data = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        if isinstance(data.get("vocabulary"), dict):
            data["vocabulary"] = VocabularyConfig.from_dict(data["vocabulary"])
        return cls(**data)


@dataclass(frozen=True)
class AdaptationProgress:
    """What a progress callback receives: the stage ("vocabulary", "head", "evaluate", "train", "save"),
    the overall fraction done, and during training the step, throughput and time left."""

    stage: str
    fraction: float
    step: int = 0
    steps: int = 0
    loss: float | None = None
    tokens_per_second: float | None = None
    seconds_left: float | None = None

    def describe(self) -> str:
        if self.stage != "train":
            return f"{self.stage} ({self.fraction:.0%})"
        left = f", {format_duration(self.seconds_left)} left" if self.seconds_left is not None else ""
        speed = f", {self.tokens_per_second:,.0f} tokens/s" if self.tokens_per_second else ""
        loss = f", loss {self.loss:.3f}" if self.loss is not None else ""
        return f"step {self.step}/{self.steps}{loss}{speed}{left}"


def format_duration(seconds: float | None) -> str:
    """Seconds as m:ss (h:mm:ss from an hour), "?" for None: the time left of a progress line."""
    if seconds is None:
        return "?"
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else f"{seconds // 60}:{seconds % 60:02d}"


@dataclass(frozen=True)
class AdaptationReport:
    out: str
    base_encoder: str
    fingerprint: str
    texts: int
    heldout_texts: int
    training_segments: int
    vocabulary: dict[str, Any]
    tokenizer_before: dict[str, Any]  # training texts read by the old tokenizer
    tokenizer_after: dict[str, Any]  # ... and by the extended one
    heldout_tokenizer_before: dict[str, Any]
    heldout_tokenizer_after: dict[str, Any]
    head: str  # where the MLM head came from: "new", "checkpoint" (the encoder's own), "adapted"
    heldout_loss_before: float | None
    heldout_loss_after: float | None
    steps: int
    resumed_from_step: int | None
    losses: tuple[float, ...]  # mean training loss per logged interval
    train_tokens: int
    train_seconds: float
    tokens_per_second: float
    device: str
    threads: int
    seconds: float
    ceiling_tokens_per_second: float | None = None
    config: dict[str, Any] = field(default_factory=dict)
    created_at: str = ""

    @staticmethod
    def _ppl(loss: float | None) -> float | None:
        return None if loss is None or not math.isfinite(loss) else round(math.exp(min(loss, 50.0)), 4)

    @property
    def heldout_perplexity_before(self) -> float | None:
        return self._ppl(self.heldout_loss_before)

    @property
    def heldout_perplexity_after(self) -> float | None:
        return self._ppl(self.heldout_loss_after)

    @property
    def fraction_of_ceiling(self) -> float | None:
        if not self.ceiling_tokens_per_second:
            return None
        return self.tokens_per_second / self.ceiling_tokens_per_second

    def metrics(self) -> dict[str, float]:
        """The flat numbers a benchmark or a job outcome shows."""
        out = {
            "unk_rate_before": self.tokenizer_before["unk_rate"],
            "unk_rate_after": self.tokenizer_after["unk_rate"],
            "pieces_per_word_before": self.tokenizer_before["pieces_per_word"],
            "pieces_per_word_after": self.tokenizer_after["pieces_per_word"],
            "heldout_unk_rate_before": self.heldout_tokenizer_before["unk_rate"],
            "heldout_unk_rate_after": self.heldout_tokenizer_after["unk_rate"],
            "added_tokens": self.vocabulary.get("added", 0),
            "mlm_loss_before": self.heldout_loss_before,
            "mlm_loss_after": self.heldout_loss_after,
            "perplexity_before": self.heldout_perplexity_before,
            "perplexity_after": self.heldout_perplexity_after,
            "steps": self.steps,
            "tokens_per_second": round(self.tokens_per_second, 1),
            "seconds": self.seconds,
        }
        if self.ceiling_tokens_per_second:
            out["ceiling_tokens_per_second"] = round(self.ceiling_tokens_per_second, 1)
            out["fraction_of_ceiling"] = round(self.fraction_of_ceiling, 4)
        return {k: v for k, v in out.items() if v is not None}

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["losses"] = list(self.losses)
        data["metrics"] = self.metrics()
        return data


def read_adaptation(directory: str | os.PathLike) -> dict[str, Any] | None:
    """The adaptation.json of an adapted encoder directory (None: not an adapted encoder)."""
    try:
        return json.loads((Path(directory) / REPORT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def read_texts(path: str | os.PathLike) -> list[str]:
    """Unlabelled texts from a folder (every *.txt below it, one text a file, in path order; a brat folder's
    .ann files are skipped) or one .txt file. Errors: FileNotFoundError; ValueError for another kind of file."""
    p = Path(path).expanduser()
    if p.is_dir():
        files = sorted(f for f in p.rglob("*.txt") if f.is_file())
    elif p.is_file() and p.suffix.lower() == ".txt":
        files = [p]
    elif p.exists():
        raise ValueError(f"{p}: give a folder of .txt files or one .txt file")
    else:
        raise FileNotFoundError(f"{p}: no such file or directory")
    texts = [f.read_text(encoding="utf-8", errors="replace") for f in files]
    return [t for t in texts if t.strip()]


# ---------------------------------------------------------------------------------------------------------


def _fingerprint(config: AdaptationConfig, encoder_dir: Path, texts: Sequence[str]) -> str:
    h = hashlib.sha256()
    settings = {k: v for k, v in config.to_dict().items() if k not in AdaptationConfig._RUN_CONTROL}
    settings["encoder"] = str(encoder_dir)
    h.update(json.dumps(settings, sort_keys=True, default=str).encode())
    for text in texts:
        h.update(text.encode("utf-8", "surrogatepass"))
        h.update(b"\x1e")
    return "sha256:" + h.hexdigest()


def _split(texts: Sequence[str], config: AdaptationConfig) -> tuple[list[str], list[str]]:
    texts = [t for t in texts if t and not t.isspace()]
    if not texts:
        raise ValueError("no text to adapt the encoder on")
    order = list(range(len(texts)))
    random.Random(config.seed).shuffle(order)
    n_held = min(config.heldout_max_texts, int(round(len(texts) * config.heldout_fraction)))
    if config.heldout_fraction > 0 and len(texts) >= 2:
        n_held = max(1, n_held)
    n_held = min(n_held, len(texts) - 1)
    held = sorted(order[:n_held])
    train = sorted(order[n_held:])
    return [texts[i] for i in train], [texts[i] for i in held]


def _batch_indexes(n: int, batch_size: int, step: int, seed: int) -> list[int]:
    """The segments of training step `step` (0-based): seeded shuffles per pass over the data, so any step's
    batch is known without replaying the ones before it."""
    per_epoch = max(1, math.ceil(n / batch_size))
    epoch, k = divmod(step, per_epoch)
    order = list(range(n))
    random.Random(f"{seed}-epoch-{epoch}").shuffle(order)
    return order[k * batch_size : (k + 1) * batch_size]


def _checkpoints(root: Path) -> list[tuple[int, Path]]:
    found = []
    for p in root.glob("step-*"):
        if p.is_dir() and (p / "state.json").is_file() and p.name[5:].isdigit():
            found.append((int(p.name[5:]), p))
    return sorted(found)


def _rng_state() -> dict:
    import torch

    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    import torch

    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _save_checkpoint(root: Path, step: int, model, opt, sched, state: dict, keep: int) -> None:
    import torch

    from inference.core.adaptation.mlm import save_head

    final = root / f"step-{step:06d}"
    tmp = root / f".step-{step:06d}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    model.encoder.save_pretrained(tmp, safe_serialization=True)
    save_head(model.head, tmp)
    torch.save({"optimizer": opt.state_dict() if opt is not None else None,
                "scheduler": sched.state_dict() if sched is not None else None,
                "rng": _rng_state()}, tmp / "trainer.pt")
    (tmp / "state.json").write_text(json.dumps({**state, "step": step}, indent=1), encoding="utf-8")
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)  # a checkpoint is there whole or not at all
    for old_step, path in _checkpoints(root)[:-max(1, keep)]:
        if old_step != step:
            shutil.rmtree(path, ignore_errors=True)


def _read_tokenizer(directory: Path):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(directory), local_files_only=True, use_fast=True)
    if not tok.is_fast:
        raise ValueError(f"{directory}: a fast tokenizer (tokenizer.json) is needed")
    return tok


def _load_encoder(directory: Path):
    from transformers import AutoModel

    return AutoModel.from_pretrained(str(directory), local_files_only=True)


def adapt_encoder(
    config: AdaptationConfig,
    texts: Sequence[str],
    *,
    progress: Callable[[AdaptationProgress], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    log: Callable[[str], None] | None = None,
) -> AdaptationReport:
    """Extend the vocabulary of `config.encoder` for `texts` and continue its MLM pre-training on them.

    Args: the settings (encoder directory, output directory, steps, ...), the unlabelled texts (notes),
    a progress callback (AdaptationProgress), a cancel check read before every step, a log function.
    Result: AdaptationReport (also written to `<out>/adaptation.json`); the adapted encoder is in
    `config.out`. Errors: ValueError (no text, `out` is the encoder's own directory, checkpoints in `out`
    from other texts or settings, a tokenizer vocabulary extension cannot handle), AdaptationStopped.
    """
    import torch

    from inference.core.adaptation.mlm import (
        MaskedLM,
        load_head,
        make_segments,
        mask_batch,
        mlm_evaluate,
        step_generator,
        to_device,
    )
    from inference.core.adaptation.vocabulary import extend_encoder
    from inference.core.encoder import resolve_encoder
    from inference.core.training import TrainConfig, best_device, make_optimizer, set_threads

    t_start = time.perf_counter()
    say = log or (lambda _msg: None)
    tell = progress or (lambda _p: None)
    cancelled = should_cancel or (lambda: False)
    encoder_dir = resolve_encoder(config.encoder)
    out = Path(config.out).expanduser().resolve()
    if out == encoder_dir:
        raise ValueError("the output directory is the encoder's own directory; choose another --out")
    if config.steps < 0 or config.batch_size < 1:
        raise ValueError("steps must be >= 0 and batch_size >= 1")
    train_texts, held_texts = _split(texts, config)
    fingerprint = _fingerprint(config, encoder_dir, texts)
    root = out / CHECKPOINTS
    threads = set_threads(config.threads)
    device = torch.device(config.device) if config.device else best_device()

    found = _checkpoints(root) if root.is_dir() and config.resume else []
    if found:
        state = json.loads((found[-1][1] / "state.json").read_text(encoding="utf-8"))
        if state.get("fingerprint") != fingerprint:
            raise CheckpointMismatch(
                f"{out} holds checkpoints of other texts or settings; choose a new output directory "
                "or start over without resuming"
            )
    elif root.exists():
        shutil.rmtree(root)  # not resuming: a fresh start must not pick up a stale checkpoint later

    # Tokenizers are read from disk, not from encoder.py's per-process cache: a worker may see the same
    # directory rewritten by a later run.
    old_tokenizer = _read_tokenizer(encoder_dir)
    tok_dir = root / "tokenizer"
    resumed_from = None
    if found:
        step0, ck = found[-1]
        resumed_from = step0
        say(f"resuming from the checkpoint of step {step0}")
        tokenizer = _read_tokenizer(tok_dir)
        encoder = _load_encoder(ck)
        model = MaskedLM(encoder, load_head(encoder, ck)[0])
        head_source = state["head"]
        vocab_info = state["vocabulary"]
    else:
        step0, state = 0, {}
        tell(AdaptationProgress("vocabulary", 0.0))
        torch.manual_seed(config.seed)  # a new head's initial weights, then dropout: the seed decides
        encoder = _load_encoder(encoder_dir)
        head, head_source = load_head(encoder, encoder_dir)
        if config.extend_vocabulary:
            tokenizer, ext = extend_encoder(encoder, old_tokenizer, encoder_dir, train_texts, tok_dir, config.vocabulary)
            vocab_info = ext.to_dict()
            say(f"vocabulary: {ext.vocab_size_before} -> {ext.vocab_size_after} ({ext.characters} characters, "
                f"{ext.syllables} Hangul syllables, {ext.words} words)")
        else:
            tok_dir.mkdir(parents=True, exist_ok=True)
            for name in TOKENIZER_FILES:
                if (encoder_dir / name).is_file():
                    shutil.copyfile(encoder_dir / name, tok_dir / name)
            tokenizer = _read_tokenizer(tok_dir)
            vocab_info = {"added": 0, "vocab_size_before": len(tokenizer), "vocab_size_after": len(tokenizer)}
        head.grow(encoder.get_input_embeddings().weight.shape[0])
        model = MaskedLM(encoder, head)
    model.to(device)

    segments = make_segments(tokenizer, train_texts, config.max_length)
    held_segments = make_segments(tokenizer, held_texts, config.max_length) if held_texts else []
    if not segments:
        raise ValueError("the texts give no training sequence")
    vocab_rows = encoder.get_input_embeddings().weight.shape[0]
    mask_args = {"mask_id": tokenizer.mask_token_id, "vocab_size": vocab_rows, "pad_id": tokenizer.pad_token_id or 0,
                 "probability": config.mlm_probability}
    if mask_args["mask_id"] is None:
        raise ValueError("the tokenizer has no mask token; it cannot be trained as a masked language model")

    def batch_for(step: int, stream: int = 0) -> dict:
        idx = _batch_indexes(len(segments), config.batch_size, step, config.seed + stream)
        return mask_batch([segments[i] for i in idx], generator=step_generator(config.seed, step, stream), **mask_args)

    held_batches = [
        mask_batch(held_segments[i : i + config.batch_size], generator=step_generator(config.seed, i, 2), **mask_args)
        for i in range(0, len(held_segments), config.batch_size)
    ]

    if resumed_from is None:
        if head_source == "new" and config.head_warmup_steps > 0:
            # A random head would make "before" a measure of the head, not of the encoder: fit it alone.
            say(f"fitting the new MLM head alone for {config.head_warmup_steps} steps")
            for p in model.encoder.parameters():
                p.requires_grad_(False)
            opt_h = torch.optim.AdamW(model.head.parameters(), lr=config.head_warmup_lr)
            model.train()
            for k in range(config.head_warmup_steps):
                if cancelled():
                    raise AdaptationStopped(0, None)
                b = to_device(batch_for(k, stream=1), device)
                loss = model.loss(b["input_ids"], b["attention_mask"], b["labels"])
                opt_h.zero_grad(set_to_none=True)
                loss.backward()
                opt_h.step()
                tell(AdaptationProgress("head", 0.02 * (k + 1) / config.head_warmup_steps))
            for p in model.encoder.parameters():
                p.requires_grad_(True)
        tell(AdaptationProgress("evaluate", 0.03))
        loss_before = mlm_evaluate(model, held_batches, device)[0] if held_batches else None
        state = {
            "fingerprint": fingerprint,
            "head": head_source,
            "vocabulary": vocab_info,
            "heldout_loss_before": loss_before,
            "losses": [],
            "train_tokens": 0,
            "train_seconds": 0.0,
        }
        _save_checkpoint(root, 0, model, None, None, state, config.keep_checkpoints + 1)
        say(f"held-out MLM loss before: {loss_before}")

    model.train()
    train_cfg = TrainConfig(lr=config.lr, head_lr=config.head_lr, weight_decay=config.weight_decay,
                            warmup=config.warmup, max_grad_norm=config.max_grad_norm)
    opt, sched = make_optimizer(model, train_cfg, max(1, config.steps))
    if resumed_from:
        saved = torch.load(found[-1][1] / "trainer.pt", map_location="cpu", weights_only=True)
        opt.load_state_dict(saved["optimizer"])
        sched.load_state_dict(saved["scheduler"])
        _set_rng_state(saved["rng"])
    elif resumed_from == 0:
        saved = torch.load(found[-1][1] / "trainer.pt", map_location="cpu", weights_only=True)
        _set_rng_state(saved["rng"])

    losses: list[float] = list(state.get("losses", []))
    train_tokens = int(state.get("train_tokens", 0))
    train_seconds = float(state.get("train_seconds", 0.0))
    log_every = max(1, min(50, config.steps // 20 or 1))
    interval_loss, interval_n = 0.0, 0
    run_tokens, run_seconds = 0, 0.0
    last_checkpoint = found[-1][0] if found else 0
    step = step0
    while step < config.steps:
        if cancelled():
            raise AdaptationStopped(step, last_checkpoint)
        t0 = time.perf_counter()
        batch = batch_for(step)
        b = to_device(batch, device)
        loss = model.loss(b["input_ids"], b["attention_mask"], b["labels"])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if config.max_grad_norm:
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
        opt.step()
        sched.step()
        value = float(loss.detach())
        step += 1
        secs = time.perf_counter() - t0
        run_tokens += batch["tokens"]
        run_seconds += secs
        interval_loss += value
        interval_n += 1
        if interval_n == log_every or step == config.steps:
            losses.append(round(interval_loss / interval_n, 5))
            say(f"step {step}/{config.steps}: loss {interval_loss / interval_n:.4f}")
            interval_loss, interval_n = 0.0, 0
        speed = run_tokens / run_seconds if run_seconds else None
        left = (config.steps - step) * (run_seconds / max(1, step - step0))
        tell(AdaptationProgress("train", 0.03 + 0.93 * step / config.steps, step, config.steps, value, speed, left))
        if config.checkpoint_every and step % config.checkpoint_every == 0 and step < config.steps:
            _save_checkpoint(root, step, model, opt, sched, {
                **state, "losses": losses, "train_tokens": train_tokens + run_tokens,
                "train_seconds": train_seconds + run_seconds,
            }, config.keep_checkpoints)
            last_checkpoint = step
    train_tokens += run_tokens
    train_seconds += run_seconds

    tell(AdaptationProgress("evaluate", 0.97, step, config.steps))
    loss_after = mlm_evaluate(model, held_batches, device)[0] if held_batches else None
    ceiling = _ceiling(model, [batch_for(s) for s in range(min(config.measure_ceiling_steps, max(1, config.steps)))],
                       device) if config.measure_ceiling_steps else None

    tell(AdaptationProgress("save", 0.98, step, config.steps))
    report = AdaptationReport(
        out=str(out),
        base_encoder=str(encoder_dir),
        fingerprint=fingerprint,
        texts=len(train_texts) + len(held_texts),
        heldout_texts=len(held_texts),
        training_segments=len(segments),
        vocabulary=state["vocabulary"],
        tokenizer_before=tokenizer_stats(old_tokenizer, train_texts).to_dict(),
        tokenizer_after=tokenizer_stats(tokenizer, train_texts).to_dict(),
        heldout_tokenizer_before=tokenizer_stats(old_tokenizer, held_texts).to_dict(),
        heldout_tokenizer_after=tokenizer_stats(tokenizer, held_texts).to_dict(),
        head=state["head"],
        heldout_loss_before=_finite(state.get("heldout_loss_before")),
        heldout_loss_after=_finite(loss_after),
        steps=step,
        resumed_from_step=resumed_from,
        losses=tuple(losses),
        train_tokens=train_tokens,
        train_seconds=round(train_seconds, 3),
        tokens_per_second=run_tokens / run_seconds if run_seconds else 0.0,
        device=str(device),
        threads=threads,
        seconds=round(time.perf_counter() - t_start, 2),
        ceiling_tokens_per_second=ceiling,
        config=config.to_dict(),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    _save_final(out, root, model, report)
    if not config.keep_checkpoints_after:
        shutil.rmtree(root, ignore_errors=True)
    tell(AdaptationProgress("save", 1.0, step, config.steps))
    return report


def _finite(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), 5)


def _ceiling(model, batches: list[dict], device) -> float | None:
    """Tokens/s of a bare forward + backward of the same model on the same batches (no optimizer step,
    masks drawn beforehand): the most the training loop could reach on this machine."""
    import torch

    from inference.core.adaptation.mlm import to_device

    if not batches:
        return None
    model.train()
    tokens, seconds = 0, 0.0
    for i, batch in enumerate(batches):
        b = to_device(batch, device)
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        loss = model.loss(b["input_ids"], b["attention_mask"], b["labels"])
        loss.backward()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if i:  # the first pass warms caches up; the training loop's first step pays that too, once in many
            tokens += batch["tokens"]
            seconds += time.perf_counter() - t0
        model.zero_grad(set_to_none=True)
    if not seconds:
        return None
    return tokens / seconds


def _save_final(out: Path, root: Path, model, report: AdaptationReport) -> None:
    """The adapted encoder as a standard Hugging Face directory; config.json and adaptation.json go last, so
    a directory that has them is complete."""
    from inference.core.adaptation.mlm import save_head

    stage = root / ".final.tmp"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    model.encoder.save_pretrained(stage, safe_serialization=True)
    save_head(model.head, stage)
    for name in TOKENIZER_FILES:
        src = root / "tokenizer" / name
        if src.is_file():
            shutil.copyfile(src, stage / name)
    out.mkdir(parents=True, exist_ok=True)
    for stale in (out / "config.json", out / REPORT_FILE):
        stale.unlink(missing_ok=True)
    for path in sorted(stage.iterdir(), key=lambda p: p.name == "config.json"):
        os.replace(path, out / path.name)
    (out / REPORT_FILE).write_text(json.dumps(report.to_dict(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    shutil.rmtree(stage, ignore_errors=True)
