"""Versioned model directories for the NER, RE and note components (framework-free).

A component directory holds:
  component.json      format version, kind ("ner" | "re" | "note"), the component's config and label maps,
                      the encoder's name and config, the training config and report, seed, the sha256
                      fingerprint of the training data, metrics, creation time, library versions
  model.safetensors   all weights (encoder + head)
  tokenizer/          the tokenizer as trained (RE adds its entity markers to it)

Loading rebuilds the encoder from its saved config (the original encoder directory is not needed) and
is cached per process, keyed by the directory, the weights' modification time and the quantization flag.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import time
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from annotations.formats.document import Document
from inference.core.component import Component

FORMAT_VERSION = 1
META = "component.json"
WEIGHTS = "model.safetensors"
TOKENIZER = "tokenizer"


def data_fingerprint(docs: Iterable[Document]) -> str:
    """sha256 over the canonical content of the documents (id, text, entities, relations, label)."""
    h = hashlib.sha256()
    for d in sorted(docs, key=lambda d: d.id):
        rec = {
            "id": d.id,
            "text": d.text,
            "entities": sorted([e.id, e.type, [[s.start, s.end] for s in e.spans]] for e in d.entities),
            "relations": sorted([r.type, r.arg1, r.arg2] for r in d.relations),
            "label": d.label,
        }
        h.update(json.dumps(rec, ensure_ascii=False, sort_keys=True).encode("utf-8"))
        h.update(b"\n")
    return "sha256:" + h.hexdigest()


def _components() -> dict[str, type[Component]]:
    """The trainable components by kind (component.json's "kind" is the class's `name`)."""
    from inference.core.extraction.ner import NER
    from inference.core.extraction.note_classifier import NoteClassifier
    from inference.core.extraction.relations import RelationExtractor

    return {cls.name: cls for cls in (NER, RelationExtractor, NoteClassifier)}


def _kind(component) -> str:
    kind = getattr(type(component), "name", None)
    if _components().get(kind) is not type(component):
        raise TypeError(f"not a trainable component: {type(component).__name__}")
    return kind


def _versions() -> dict[str, str]:
    import tokenizers
    import torch
    import transformers

    return {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
    }


def save_component(
    component,
    out_dir: str | os.PathLike,
    *,
    encoder_name: str = "",
    train_config: dict | None = None,
    train_report: dict | None = None,
    seed: int | None = None,
    fingerprint: str | None = None,
    metrics: dict[str, float] | None = None,
    started_from: str | None = None,
) -> Path:
    """Write a component to `out_dir` (created); returns the directory. `started_from`: "base" (the
    encoder) or "current" (fine-tuned from an earlier model), for the record.

    Errors: TypeError for an unknown component, ValueError when it has no model (not initialised).
    """
    from safetensors.torch import save_model

    if component.module is None:
        raise ValueError("the component has no model: initialize or load it first")
    kind = _kind(component)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    module = component.module
    if getattr(module, "_quantized", False):
        raise ValueError("a quantized model cannot be saved; save the float model")
    save_model(module, str(out / WEIGHTS))
    component.tokenizer.save_pretrained(str(out / TOKENIZER))
    meta = {
        "format_version": FORMAT_VERSION,
        "kind": kind,
        **component.state(),
        "encoder": {"name": encoder_name, "config": module.encoder.config.to_dict()},
        "training": {"config": train_config or {}, "report": train_report or {}, "started_from": started_from},
        "seed": seed,
        "data_fingerprint": fingerprint,
        "metrics": metrics or {},
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "versions": _versions(),
    }
    (out / META).write_text(
        json.dumps(meta, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
    )
    return out


def read_meta(path: str | os.PathLike) -> dict[str, Any]:
    """component.json of a component directory. Errors: FileNotFoundError, ValueError (newer format)."""
    meta = json.loads((Path(path) / META).read_text(encoding="utf-8"))
    if int(meta.get("format_version", 0)) > FORMAT_VERSION:
        raise ValueError(
            f"{path}: model format {meta['format_version']} is newer than this code ({FORMAT_VERSION})"
        )
    return meta


def quantize(component):
    """int8 dynamic quantization of the Linear layers (CPU inference only); returns the component."""
    import torch
    from torch import nn

    with warnings.catch_warnings():  # torch.ao's eager quantization warns that it is deprecated
        warnings.simplefilter("ignore")
        q = torch.ao.quantization.quantize_dynamic(component.module, {nn.Linear}, dtype=torch.qint8)
    q._quantized = True
    component.module = q
    return component


@functools.lru_cache(maxsize=8)
def _load_cached(path: str, mtime: float, quantized: bool):
    from safetensors.torch import load_model
    from transformers import AutoTokenizer

    from inference.core.encoder import encoder_from_config

    meta = read_meta(path)
    tokenizer = AutoTokenizer.from_pretrained(str(Path(path) / TOKENIZER), local_files_only=True)
    encoder = encoder_from_config(meta["encoder"]["config"])
    component_class = _components().get(meta["kind"])
    if component_class is None:
        raise ValueError(f"{path}: unknown component kind {meta['kind']!r}")
    comp = component_class.from_state(meta, encoder, tokenizer)
    load_model(comp.module, str(Path(path) / WEIGHTS), strict=True)
    comp.module.eval()
    comp.meta = meta
    if quantized:
        quantize(comp)
    return comp


def load_component(path: str | os.PathLike, *, quantized: bool = False):
    """Load a component directory (cached per process; do not train the returned object in place).

    Errors: FileNotFoundError when the directory or its files are missing, ValueError for a newer format.
    """
    p = Path(path).resolve()
    weights = p / WEIGHTS
    if not weights.is_file():
        raise FileNotFoundError(f"{p}: no {WEIGHTS}")
    return _load_cached(str(p), weights.stat().st_mtime, quantized)


def clear_cache() -> None:
    _load_cached.cache_clear()
