"""The one place that calls the model core: load a model version once per process, predict documents.

`predictor_get` returns a cached `Predictor` per (artifact directory, encoder, device, quantization), so a
worker process reads the weights once and every chunk task after the first reuses them. The device is
picked automatically (CUDA when available, for workers on the `gpu` queue); on CPU, `quantize="int8"`
applies torch dynamic quantization to the Linear layers.

When the artifact directory holds a model-core pipeline (`inference.core.extraction.pipeline.Pipeline`), that is
used; a CRF + Random Forest baseline directory likewise. Otherwise the directory (or its `encoder`) must be a
Hugging Face encoder with a trained note-level ADE head beside it (`ade_head.pt`: mean-pooled encoder states ->
a linear layer); a directory with neither is refused rather than scored by an untrained head.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from annotations.formats.document import Document
from inference.jobs.registry import NoteError

logger = logging.getLogger(__name__)


class MalformedNote(NoteError):
    """A note the model cannot take (empty text, ...); the message is safe to show (no note text)."""


@dataclass(frozen=True)
class NotePrediction:
    document: Document
    ade_probability: float
    uncertainty: float
    al_scores: dict | None = None  # every active-learning strategy's score (pipelines only)
    embedding: Any = None  # the note's mean encoder state (float32 vector), for diversity


def device_pick(device: str | None = None) -> str:
    """`device` when given, else "cuda" when a GPU is visible, else "cpu"."""
    if device:
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def document_check(document: Document) -> None:
    """Raise MalformedNote for a note no model should see."""
    if not document.text or not document.text.strip():
        raise MalformedNote("the note has no text")
    if "\x00" in document.text:
        raise MalformedNote("the note text contains NUL characters")


def _binary_entropy(p: float) -> float:
    p = min(max(p, 1e-7), 1 - 1e-7)
    return -(p * math.log2(p) + (1 - p) * math.log2(1 - p))


def _quantize_int8(module):
    import torch

    return torch.ao.quantization.quantize_dynamic(module, {torch.nn.Linear}, dtype=torch.qint8)


class EncoderScorer:
    """Note-level ADE probability from a local encoder and a linear head (no span predictions)."""

    def __init__(
        self,
        encoder_dir: Path,
        head_path: Path,
        *,
        device: str,
        quantize: str | None,
        max_length: int = 256,
    ):
        import torch

        from inference.core.encoder import load_encoder_model, load_tokenizer

        self.device = device
        self.max_length = max_length
        self.tokenizer = load_tokenizer(encoder_dir)
        self.encoder = load_encoder_model(encoder_dir).eval()
        hidden = self.encoder.config.hidden_size
        self.head = torch.nn.Linear(hidden, 1)
        if head_path is None or not head_path.is_file():
            # An untrained head would flag notes at random: refuse instead (the job says the model is unusable).
            raise FileNotFoundError(
                f"model directory {encoder_dir.name}: no pipeline.json, CRF + RF baseline or ade_head.pt beside "
                "the encoder; train a model (Models -> Retrain) or register a trained directory"
            )
        self.head.load_state_dict(torch.load(head_path, map_location="cpu", weights_only=True))
        if quantize == "int8":
            if device != "cpu":
                raise ValueError("int8 dynamic quantization is a CPU option")
            self.encoder = _quantize_int8(self.encoder)
            self.head = _quantize_int8(self.head)
        self.encoder.to(device)
        self.head.to(device)
        self.lock = threading.Lock()

    def predict(self, documents: Sequence[Document], *, batch_size: int = 16) -> list[NotePrediction]:
        import torch

        for doc in documents:
            document_check(doc)
        order = sorted(range(len(documents)), key=lambda i: len(documents[i].text))
        probabilities: dict[int, float] = {}
        embeddings: dict[int, Any] = {}
        with self.lock, torch.inference_mode():
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                enc = self.tokenizer(
                    [documents[i].text for i in idx],
                    truncation=True,
                    max_length=self.max_length,
                    padding=True,
                    return_tensors="pt",
                ).to(self.device)
                hidden = self.encoder(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"])[0]
                mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
                probs = torch.sigmoid(self.head(pooled)).squeeze(-1).float().cpu().tolist()
                probabilities.update(zip(idx, probs, strict=True))
                embeddings.update(zip(idx, pooled.float().cpu().numpy(), strict=True))
        out = []
        for i, doc in enumerate(documents):
            p = float(probabilities[i])
            label = "ade" if p >= 0.5 else "no_ade"
            predicted = Document(id=doc.id, text=doc.text, label=label, metadata={"ade_probability": p})
            out.append(
                NotePrediction(
                    document=predicted, ade_probability=p, uncertainty=_binary_entropy(p), embedding=embeddings[i]
                )
            )
        return out


class PipelinePredictor:
    """The model-core pipeline (inference.core.extraction.pipeline: NER -> RE -> note decision) behind the same interface."""

    def __init__(self, path: Path, *, device: str, quantize: str | None):
        from inference.core.extraction.pipeline import Pipeline

        if quantize == "int8" and device != "cpu":
            raise ValueError("int8 dynamic quantization is a CPU option")
        self.pipeline = Pipeline.load(path, quantized=quantize == "int8")
        if device != "cpu":
            for component in (self.pipeline.ner, self.pipeline.re, self.pipeline.note):
                if component is not None and hasattr(component, "module"):
                    component.module.to(device)
        self.lock = threading.Lock()

    def predict(self, documents: Sequence[Document], *, batch_size: int = 16) -> list[NotePrediction]:
        for doc in documents:
            document_check(doc)
        with self.lock:
            predictions = self.pipeline.predict(list(documents), batch_size=batch_size, with_uncertainty=True)
        return [
            NotePrediction(
                document=p.document,
                ade_probability=float(p.ade_probability),
                uncertainty=float(p.uncertainty),
                al_scores=p.al_scores,
                embedding=p.embedding,
            )
            for p in predictions
        ]


class BaselinePredictor:
    """The CRF + Random Forest baseline (inference.core.extraction.baselines.crf_rf_pipeline) behind the same interface:
    what the demo and a new project pre-annotate with before their first transformer retrain."""

    def __init__(self, path: Path):
        from inference.core.extraction.baselines.crf_rf_pipeline import CrfRfPipeline

        self.pipeline = CrfRfPipeline.load(path)
        self.lock = threading.Lock()

    def predict(self, documents: Sequence[Document], *, batch_size: int = 16) -> list[NotePrediction]:
        for doc in documents:
            document_check(doc)
        with self.lock:
            predictions = self.pipeline.predict(list(documents))
        return [
            NotePrediction(document=p.document, ade_probability=float(p.ade_probability),
                           uncertainty=_binary_entropy(float(p.ade_probability)))
            for p in predictions
        ]


def _is_pipeline_dir(path: Path) -> bool:
    if not (path / "pipeline.json").is_file():
        return False
    try:
        import inference.core.extraction.pipeline  # noqa: F401
    except ImportError:
        return False
    return True


@functools.lru_cache(maxsize=4)
def _predictor_cached(path: str, encoder: str, device: str, quantize: str | None):
    directory = Path(path)
    from inference.core.extraction.baselines.crf_rf_pipeline import is_baseline_dir

    if is_baseline_dir(directory):
        logger.info("loading CRF + RF baseline %s", directory.name)
        return BaselinePredictor(directory)
    if _is_pipeline_dir(directory):
        logger.info("loading pipeline %s on %s (quantize=%s)", directory.name, device, quantize)
        return PipelinePredictor(directory, device=device, quantize=quantize)
    from inference.core.encoder import resolve_encoder

    encoder_dir = directory if (directory / "config.json").is_file() else resolve_encoder(encoder or None)
    logger.info("loading encoder scorer %s on %s (quantize=%s)", encoder_dir.name, device, quantize)
    return EncoderScorer(encoder_dir, directory / "ade_head.pt", device=device, quantize=quantize)


def predictor_get(
    *, path: str | os.PathLike, encoder: str = "", device: str | None = None, quantize: str | None = None
):
    """The predictor of a model artifact directory, loaded once per process.

    Args: the artifact directory, its encoder (empty = the shipped MiniLM-L6), the device (None = auto)
    and `quantize` ("int8" or None). Result: an object with `predict(documents, batch_size=)` returning
    one NotePrediction per document, in order. Errors: MalformedNote for a note no model should see.
    """
    return _predictor_cached(str(Path(path).resolve()), encoder or "", device_pick(device), quantize or None)


def predictor_for_model_version(model_version, *, quantize: str | None = None, device: str | None = None):
    """`predictor_get` for a ModelVersion row: its files (and its encoder, when published) come from the store
    through this worker's cache, downloaded on the first use on this machine (inference.artifacts).

    Errors: inference.artifacts.ArtifactError when the version's files are not in the store or do not verify.
    """
    from inference.artifacts import artifact_local, is_reference
    from inference.core.extraction.baselines.crf_rf_pipeline import is_baseline_dir

    with artifact_local(model_version.path) as path:
        # A pipeline, a baseline or a directory that is itself an encoder carries its weights: the encoder it
        # was trained from is fetched only for a head that sits beside no encoder of its own.
        self_contained = (path / "pipeline.json").is_file() or (path / "config.json").is_file() or is_baseline_dir(path)
        if is_reference(model_version.encoder or "") and not self_contained:
            with artifact_local(model_version.encoder) as encoder:
                return predictor_get(path=path, encoder=str(encoder), device=device, quantize=quantize)
        return predictor_get(path=path, encoder=model_version.encoder, device=device, quantize=quantize)
