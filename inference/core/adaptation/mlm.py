"""Masked language modelling on any Hugging Face encoder (framework-free): the head, the segments, whole-word
masking and the held-out loss.

Why not `AutoModelForMaskedLM` and transformers' collators:
- the shipped MiniLM (a sentence-transformers checkpoint) has no MLM head, and `BertForMaskedLM` drops
  the pooler the app's encoder directory carries; here the encoder stays the `AutoModel` the app loads
  (saved as it was, plus rows) and a small BERT-style head sits beside it (`mlm_head.safetensors`), its
  decoder tied to the encoder's input embeddings. A BERT checkpoint's own head (`cls.predictions.*`) is
  imported when the directory has one.
- the loss is computed at the masked positions only (the vocabulary projection of all positions is most
  of an MLM step's cost for a small encoder);
- masks are drawn per step from a generator seeded by (seed, step), so a run resumed from a checkpoint
  masks exactly what the uninterrupted run would have; transformers' collators draw from their own
  generator state.

Whole-word masking reads the fast tokenizer's word ids (the pre-tokenizer's words): every piece of a
chosen word is masked together; a CJK ideograph is a word of its own (BERT's basic tokenizer isolates
them), so Chinese is masked character by character, and a Korean eojeol as a whole. Of the chosen
positions 80 % become [MASK], 10 % a random token and 10 % stay (BERT's rule).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

__all__ = ["MLMHead", "MaskedLM", "Segment", "make_segments", "mask_batch", "mlm_evaluate", "load_head",
           "save_head", "HEAD_FILE"]

HEAD_FILE = "mlm_head.safetensors"
IGNORE = -100


class MLMHead(nn.Module):
    """BERT's prediction head: dense -> activation -> LayerNorm -> the (tied) input embeddings + bias."""

    def __init__(self, hidden_size: int, vocab_size: int, *, activation: str = "gelu", eps: float = 1e-12):
        super().__init__()
        from transformers.activations import ACT2FN

        self.dense = nn.Linear(hidden_size, hidden_size)
        self.act = ACT2FN[activation] if isinstance(activation, str) else activation
        self.norm = nn.LayerNorm(hidden_size, eps=eps)
        self.bias = nn.Parameter(torch.zeros(vocab_size))

    def forward(self, hidden, embeddings):
        return nn.functional.linear(self.norm(self.act(self.dense(hidden))), embeddings, self.bias)

    def grow(self, vocab_size: int) -> None:
        """More output rows (a grown vocabulary): new biases start at the mean of the old ones."""
        old = self.bias.data
        if vocab_size > old.shape[0]:
            extra = old.new_full((vocab_size - old.shape[0],), float(old.mean()) if old.numel() else 0.0)
            self.bias = nn.Parameter(torch.cat([old, extra]))


class MaskedLM(nn.Module):
    """An encoder and its MLM head; `loss` predicts the labelled (masked) positions only."""

    def __init__(self, encoder, head: MLMHead):
        super().__init__()
        self.encoder = encoder
        self.head = head

    def loss(self, input_ids, attention_mask, labels, *, reduction: str = "mean"):
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask)[0]
        chosen = labels != IGNORE
        logits = self.head(hidden[chosen], self.encoder.get_input_embeddings().weight)
        return nn.functional.cross_entropy(logits.float(), labels[chosen], reduction=reduction)


def _head_for(encoder) -> MLMHead:
    cfg = encoder.config
    return MLMHead(
        cfg.hidden_size,
        encoder.get_input_embeddings().weight.shape[0],
        activation=getattr(cfg, "hidden_act", "gelu"),
        eps=getattr(cfg, "layer_norm_eps", 1e-12),
    )


_BERT_HEAD = {
    "cls.predictions.transform.dense.weight": "dense.weight",
    "cls.predictions.transform.dense.bias": "dense.bias",
    "cls.predictions.transform.LayerNorm.weight": "norm.weight",
    "cls.predictions.transform.LayerNorm.bias": "norm.bias",
    "cls.predictions.bias": "bias",
}


def load_head(encoder, directory: str | Path) -> tuple[MLMHead, str]:
    """The MLM head for `encoder`: ours (`mlm_head.safetensors`, written by an earlier adaptation), a BERT
    checkpoint's own (`cls.predictions.*` in model.safetensors), else a new one.

    Result: (head, "adapted" | "checkpoint" | "new"). The head's output grows to the encoder's rows.
    """
    from safetensors import safe_open
    from safetensors.torch import load_file

    head = _head_for(encoder)
    directory = Path(directory)
    state, source = None, "new"
    if (directory / HEAD_FILE).is_file():
        state, source = load_file(str(directory / HEAD_FILE)), "adapted"
    elif (directory / "model.safetensors").is_file():
        with safe_open(str(directory / "model.safetensors"), "pt") as f:
            keys = set(f.keys())
            if all(k in keys for k in _BERT_HEAD):
                state, source = {ours: f.get_tensor(theirs) for theirs, ours in _BERT_HEAD.items()}, "checkpoint"
    if state is not None:
        head.bias = nn.Parameter(torch.zeros(state["bias"].shape[0]))
        head.load_state_dict(state, strict=True)
        head.grow(encoder.get_input_embeddings().weight.shape[0])
    return head, source


def save_head(head: MLMHead, directory: str | Path) -> None:
    from safetensors.torch import save_file

    save_file({k: v.detach().contiguous().cpu() for k, v in head.state_dict().items()}, str(Path(directory) / HEAD_FILE))


@dataclass(frozen=True, slots=True)
class Segment:
    """One training sequence: token ids with special tokens, and each token's word index (-1: special)."""

    ids: tuple[int, ...]
    words: tuple[int, ...]


def make_segments(tokenizer, texts: Sequence[str], max_length: int) -> list[Segment]:
    """Texts packed into sequences of at most `max_length` tokens, cut at word boundaries.

    Short notes are packed together (separated by the separator token) so that a batch is not mostly
    padding; a word longer than a sequence is cut. Word indexes restart at 0 in every segment.
    """
    from tokenizers import Tokenizer

    backend = getattr(tokenizer, "backend_tokenizer", None) or tokenizer._tokenizer
    backend = Tokenizer.from_str(backend.to_str())
    backend.no_truncation()
    backend.no_padding()
    cls_id = tokenizer.cls_token_id if tokenizer.cls_token_id is not None else tokenizer.bos_token_id
    sep_id = tokenizer.sep_token_id if tokenizer.sep_token_id is not None else tokenizer.eos_token_id
    specials = int(cls_id is not None) + int(sep_id is not None)
    budget = max_length - specials
    if budget < 2:
        raise ValueError("max_length leaves no room for text")
    segments: list[Segment] = []
    ids: list[int] = []
    words: list[int] = []

    def flush():
        if any(w >= 0 for w in words):
            body_ids, body_words = list(ids), list(words)
            while body_ids and body_words[-1] < 0:  # no trailing separator
                body_ids.pop()
                body_words.pop()
            head = [cls_id] if cls_id is not None else []
            tail = [sep_id] if sep_id is not None else []
            segments.append(Segment(
                tuple(head + body_ids + tail), tuple([-1] * len(head) + body_words + [-1] * len(tail))
            ))
        ids.clear()
        words.clear()

    for enc in backend.encode_batch(list(texts), add_special_tokens=False):
        groups: list[list[int]] = []
        last = None
        for tid, wid, (s, e) in zip(enc.ids, enc.word_ids, enc.offsets, strict=True):
            if e <= s:
                continue
            if wid is None or wid != last or not groups:
                groups.append([])
            groups[-1].append(tid)
            last = wid
        if not groups:
            continue
        if ids and sep_id is not None and len(ids) + 1 < budget:
            ids.append(sep_id)
            words.append(-1)
        n_word = max(words, default=-1) + 1
        for group in groups:
            group = group[:budget]
            if len(ids) + len(group) > budget:
                flush()
                n_word = 0
            ids.extend(group)
            words.extend([n_word] * len(group))
            n_word += 1
    flush()
    return segments


def mask_batch(segments: Sequence[Segment], *, mask_id: int, vocab_size: int, pad_id: int = 0,
               probability: float = 0.15, generator: torch.Generator | None = None) -> dict:
    """Pad a batch and mask whole words (at least one per sequence).

    Result: {"input_ids", "attention_mask", "labels" (-100 where not masked), "tokens" (real tokens)}.
    """
    n = len(segments)
    length = max(len(s.ids) for s in segments)
    ids = torch.full((n, length), pad_id, dtype=torch.long)
    words = torch.full((n, length), -1, dtype=torch.long)
    attention = torch.zeros((n, length), dtype=torch.long)
    for i, s in enumerate(segments):
        ids[i, : len(s.ids)] = torch.tensor(s.ids, dtype=torch.long)
        words[i, : len(s.words)] = torch.tensor(s.words, dtype=torch.long)
        attention[i, : len(s.ids)] = 1
    n_words = (words.max(dim=1).values + 1).clamp(min=0)
    width = max(1, int(n_words.max()))
    chosen_words = torch.rand((n, width), generator=generator) < probability
    chosen_words &= torch.arange(width)[None, :] < n_words[:, None]
    # A sequence where no word was drawn still gets one (a batch must have something to predict).
    forced = (torch.rand((n,), generator=generator) * n_words.clamp(min=1)).long()
    none = ~chosen_words.any(dim=1) & (n_words > 0)
    chosen_words[torch.arange(n)[none], forced[none]] = True
    chosen = torch.gather(chosen_words, 1, words.clamp(min=0)) & (words >= 0)
    labels = torch.where(chosen, ids, torch.full_like(ids, IGNORE))
    r = torch.rand((n, length), generator=generator)
    random_ids = torch.randint(vocab_size, (n, length), generator=generator)
    inputs = ids.clone()
    inputs[chosen & (r < 0.8)] = mask_id
    swap = chosen & (r >= 0.8) & (r < 0.9)
    inputs[swap] = random_ids[swap]
    return {"input_ids": inputs, "attention_mask": attention, "labels": labels, "tokens": int(attention.sum())}


def step_generator(seed: int, step: int, stream: int = 0) -> torch.Generator:
    """The masking generator of one step (stream 0: training, 1: head warm-up, 2: held-out)."""
    return torch.Generator().manual_seed((seed * 1_000_003 + step) * 7 + stream)


def to_device(batch: dict, device) -> dict:
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


@torch.no_grad()
def mlm_evaluate(model: MaskedLM, batches: Sequence[dict], device) -> tuple[float, int]:
    """Mean cross-entropy over the masked positions of `batches` (fixed masks), and how many there were."""
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    for batch in batches:
        b = to_device(batch, device)
        n = int((b["labels"] != IGNORE).sum())
        if n:
            total += float(model.loss(b["input_ids"], b["attention_mask"], b["labels"], reduction="sum"))
            count += n
    model.train(was_training)
    return (total / count if count else math.nan), count
