"""One training loop for the NER, RE and note models (framework-free).

A trainable component exposes `module` (a torch Module with an `encoder` attribute), `featurize(docs,
train=True) -> list[dict]` (every example has a "length" in subwords), `collate(examples) -> dict` and
`loss(batch) -> Tensor`. The loop pads dynamically (collate pads to the longest example of a batch),
batches examples of similar length together (length buckets, shuffled), sets torch's threads to the
cores, uses AdamW with a linear warmup and decay (a larger learning rate for the freshly initialised
head), clips gradients, seeds everything, and reports seconds per epoch.
"""

from __future__ import annotations

import dataclasses
import math
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

# Below this many optimizer steps a span classifier is still learning that most candidate spans are "none":
# measured on synthetic Chinese records (docs/chinese_ner.md), 20 steps gave no entity at all.
FEW_STEPS = 100


@dataclass
class TrainConfig:
    epochs: int = 3
    min_steps: int = 0  # raise the epochs until at least this many optimizer steps (small data sets)
    batch_size: int = 16
    lr: float = 5e-5
    head_lr: float = 1e-3
    weight_decay: float = 0.01
    warmup: float = 0.1
    max_grad_norm: float = 1.0
    seed: int = 0
    threads: int | None = None
    bucket_batches: int = 50
    log_every: int = 0
    device: str | None = None  # None: CUDA when available, else CPU

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TrainReport:
    epochs: int = 0
    steps: int = 0
    examples: int = 0
    losses: list[float] = field(default_factory=list)
    seconds_per_epoch: list[float] = field(default_factory=list)
    seconds: float = 0.0
    threads: int = 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def cpu_cores() -> int:
    """Cores this process may use (affinity-aware)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def set_threads(threads: int | None = None) -> int:
    import torch

    n = threads or cpu_cores()
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


def set_seed(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def length_batches(
    lengths: Sequence[int], batch_size: int, rng: random.Random | None = None, bucket_batches: int = 50
) -> list[list[int]]:
    """Batches of example indexes with similar lengths.

    Without rng: sorted by length (inference; deterministic). With rng: shuffle, cut into buckets of
    `bucket_batches` batches, sort each bucket by length, batch it, then shuffle the batches.
    """
    idx = list(range(len(lengths)))
    if rng is None:
        idx.sort(key=lambda i: lengths[i])
        return [idx[i : i + batch_size] for i in range(0, len(idx), batch_size)]
    rng.shuffle(idx)
    size = batch_size * max(1, bucket_batches)
    batches = []
    for b in range(0, len(idx), size):
        bucket = sorted(idx[b : b + size], key=lambda i: lengths[i])
        batches.extend(bucket[i : i + batch_size] for i in range(0, len(bucket), batch_size))
    rng.shuffle(batches)
    return batches


def make_optimizer(module, config: TrainConfig, total_steps: int):
    """AdamW (encoder at `lr`, the rest at `head_lr`; no decay on biases and norms) + linear warmup."""
    import torch

    enc_ids = {id(p) for p in module.encoder.parameters()} if hasattr(module, "encoder") else set()
    groups: dict[tuple[bool, bool], list] = {}
    for name, p in module.named_parameters():
        if not p.requires_grad:
            continue
        no_decay = p.ndim < 2 or "norm" in name.lower() or name.endswith(".bias")
        groups.setdefault((id(p) in enc_ids, no_decay), []).append(p)
    param_groups = [
        {
            "params": ps,
            "lr": config.lr if is_enc else config.head_lr,
            "weight_decay": 0.0 if no_decay else config.weight_decay,
        }
        for (is_enc, no_decay), ps in groups.items()
    ]
    opt = torch.optim.AdamW(param_groups)
    warm = max(1, int(total_steps * config.warmup))

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        return max(0.0, (total_steps - step) / max(1, total_steps - warm))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
    return opt, sched


def train_component(
    component,
    docs: Sequence,
    config: TrainConfig | None = None,
    *,
    log: Callable[[str], None] | None = None,
    examples: list[dict] | None = None,
    on_step: Callable[[int, int], None] | None = None,
) -> TrainReport:
    """Fit a component on documents; returns losses and seconds per epoch.

    Args: the component (already initialised), training documents, the loop settings, a log function,
    and `on_step(steps_done, steps_total)`, called after every optimizer step (for progress; whatever
    it raises stops training and propagates, which is how a cancelled job stops).
    Errors: ValueError when the documents give no training example.
    """
    import torch

    config = config or TrainConfig()
    threads = set_threads(config.threads)
    set_seed(config.seed)
    rng = random.Random(config.seed)
    if examples is None:
        examples = component.featurize(docs, train=True)
    if not examples:
        raise ValueError("no training examples in these documents")
    lengths = [ex["length"] for ex in examples]
    steps_per_epoch = math.ceil(len(examples) / config.batch_size)
    if config.min_steps and steps_per_epoch * config.epochs < config.min_steps:
        # Twenty gold notes at batch 16 make two steps an epoch: a few epochs would leave the model where
        # it started. Below min_steps, train more epochs (the schedule stretches with them).
        config = dataclasses.replace(config, epochs=math.ceil(config.min_steps / steps_per_epoch))
    if log and steps_per_epoch * config.epochs < FEW_STEPS:
        log(
            f"{type(component).__name__}: only {steps_per_epoch * config.epochs} optimizer steps ({len(examples)} "
            f"examples, batch {config.batch_size}, {config.epochs} epochs); so brief a training can leave a model "
            "that predicts nothing: give more epochs or min_steps (`ade-review train --min-steps`)"
        )
    module = component.module
    module.to(config.device or best_device())
    opt, sched = make_optimizer(module, config, steps_per_epoch * config.epochs)
    report = TrainReport(examples=len(examples), threads=threads)
    t_start = time.perf_counter()
    for epoch in range(config.epochs):
        module.train()
        t0 = time.perf_counter()
        total, n = 0.0, 0
        for b, batch_idx in enumerate(length_batches(lengths, config.batch_size, rng, config.bucket_batches)):
            batch = component.collate([examples[i] for i in batch_idx])
            loss = component.loss(batch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if config.max_grad_norm:
                torch.nn.utils.clip_grad_norm_(module.parameters(), config.max_grad_norm)
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(batch_idx)
            n += len(batch_idx)
            report.steps += 1
            if on_step is not None:
                on_step(report.steps, steps_per_epoch * config.epochs)
            if log and config.log_every and (b + 1) % config.log_every == 0:
                log(f"  epoch {epoch + 1} step {b + 1}/{steps_per_epoch} loss {total / n:.4f}")
        module.eval()
        secs = time.perf_counter() - t0
        report.losses.append(total / max(1, n))
        report.seconds_per_epoch.append(round(secs, 2))
        report.epochs = epoch + 1
        if log:
            log(
                f"{type(component).__name__} epoch {epoch + 1}/{config.epochs}: loss {total / max(1, n):.4f}, {secs:.1f} s"
            )
    report.seconds = round(time.perf_counter() - t_start, 2)
    return report


def pad(seqs: Sequence[Sequence[int]], value: int = 0):
    """A LongTensor [len(seqs), longest] padded with `value`, and its boolean mask."""
    import torch

    longest = max((len(s) for s in seqs), default=0)
    out = torch.full((len(seqs), longest), value, dtype=torch.long)
    mask = torch.zeros((len(seqs), longest), dtype=torch.bool)
    for i, s in enumerate(seqs):
        if len(s):
            out[i, : len(s)] = torch.as_tensor(list(s), dtype=torch.long)
            mask[i, : len(s)] = True
    return out, mask


def best_device():
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
