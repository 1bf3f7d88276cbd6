"""Train, evaluate and gate a whole NER -> RE -> note pipeline (framework-free).

The one training entry point that the CLI (`ade-review train`), the retrain job and the benchmarks
call: `train_pipeline(documents, config)` fits NER, then RE (when the data or the schema has relation
types), then the direct note classifier (when asked), each with `training.train_component`, either
from the base encoder or continuing from an existing pipeline (`start_from`: fine-tuning from the
current model, as the active-learning loop does). `evaluate_pipeline` gives the flat metrics a model
version keeps and the gate compares; `gate_decide` is the promotion rule.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from annotations.formats.document import Document
from annotations.formats.schema import ADE_RELATION_NAMES

# The metrics a project may gate on (keys of `evaluate_pipeline`'s result), with what people read.
GATE_METRICS = {
    "ner_macro_f1_strict": "NER strict macro F1",
    "re_f1_strict": "RE strict macro F1",
    "note_f1": "note ADE label F1",
    "note_evidence_f1": "note ADE F1 with evidence (strict)",
}
# RE considers entity pairs at most this many characters apart. Every gold relation of the public corpora
# is closer (MACCROBAT's farthest: 451), and without a limit a long note's pairs grow with the square of its
# entities (measured in benchmarks/long_notes.py).
DEFAULT_MAX_CHAR_DISTANCE = 1000


@dataclass
class PipelineTrainConfig:
    encoder: str | None = None  # local Hugging Face encoder directory; None: the shipped MiniLM-L6
    head: str = "linear"
    epochs: int = 3
    ner_epochs: int | None = None
    re_epochs: int | None = None
    note_epochs: int = 0  # 0: no direct note classifier (unless start_from has one, which is kept)
    min_steps: int = 0  # per component: more epochs when the data give fewer optimizer steps than this
    batch_size: int = 16
    lr: float = 1e-4
    head_lr: float = 1e-3
    max_length: int = 256
    max_char_distance: int | None = DEFAULT_MAX_CHAR_DISTANCE  # RE pairs this close at most; None: no limit
    # How NER and RE read a note: "window" | "sentence" (NERConfig.context, REConfig.context) | "auto":
    # "sentence" when the training notes are single sentences (a model that never saw a longer context
    # reads long notes badly), else "window"
    context: str = "auto"
    threshold: float = 0.5
    # Span heads: "none" spans of one window sampled into each training step (NERConfig.max_negative_spans);
    # None: every candidate span counts (which, over characters or long windows, teaches the head "none").
    ner_max_negatives: int | None = 512
    train_re: bool = True
    seed: int = 0
    threads: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PipelineTrainConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass
class PipelineTrainResult:
    """The trained pipeline and what to save with it."""

    pipeline: Any  # inference.core.extraction.pipeline.Pipeline
    component_meta: dict[str, dict] = field(default_factory=dict)
    encoder_name: str = ""
    fingerprint: str = ""
    n_documents: int = 0
    started_from: dict[str, str] = field(default_factory=dict)  # component -> "base" | "current"
    seconds: float = 0.0

    def save(self, path, **extra) -> Path:
        """Write the model directory (pipeline.json carries encoder, data fingerprint and `extra`)."""
        return self.pipeline.save(
            path,
            component_meta=self.component_meta,
            encoder=self.encoder_name,
            data_fingerprint=self.fingerprint,
            n_documents=self.n_documents,
            started_from=self.started_from,
            **extra,
        )


class TrainingStopped(Exception):
    """Raised by a progress callback to stop training (a cancelled job)."""


def _same_relation_types(a, b) -> bool:
    key = lambda rts: sorted((rt.name, tuple(rt.arg1_types), tuple(rt.arg2_types)) for rt in rts)  # noqa: E731
    return key(a) == key(b)


def train_pipeline(
    documents: Sequence[Document],
    config: PipelineTrainConfig | None = None,
    *,
    relation_types: Sequence | None = None,
    start_from=None,
    log: Callable[[str], None] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> PipelineTrainResult:
    """Fit the pipeline's components on annotated documents.

    Args: documents (entities, relations and the note label are the targets); config; relation_types:
    the schema's (None: inferred from the documents); start_from: a Pipeline to continue training
    (deep-copied, never changed; a component whose label set no longer matches the data starts from
    the base encoder instead, and the log says so); log: a line printer; progress(component,
    steps_done, steps_total), which may raise TrainingStopped.
    Result: PipelineTrainResult. Errors: ValueError when the documents hold no entity.
    """
    import time

    from inference.core.encoder import encoder_name, resolve_encoder
    from inference.core.extraction.artifacts import data_fingerprint
    from inference.core.extraction.ner import NER, NERConfig, context_for
    from inference.core.extraction.note_classifier import NoteClassifier, NoteConfig
    from inference.core.extraction.pipeline import Pipeline, PipelineConfig
    from inference.core.extraction.relations import REConfig, RelationExtractor, infer_relation_types
    from inference.core.training import TrainConfig, train_component

    config = config or PipelineTrainConfig()
    docs = list(documents)
    say = log or (lambda line: None)
    t0 = time.perf_counter()
    enc = resolve_encoder(config.encoder)
    enc_name = encoder_name(enc)
    fp = data_fingerprint(docs)
    previous = copy.deepcopy(start_from) if start_from is not None else None
    started: dict[str, str] = {}
    meta: dict[str, dict] = {}

    def tconf(epochs: int) -> TrainConfig:
        return TrainConfig(
            epochs=epochs,
            min_steps=config.min_steps,
            batch_size=config.batch_size,
            lr=config.lr,
            head_lr=config.head_lr,
            seed=config.seed,
            threads=config.threads,
        )

    def fit(name: str, component, epochs: int) -> None:
        cfg = tconf(epochs)
        step = (lambda done, total: progress(name, done, total)) if progress else None
        rep = train_component(component, docs, cfg, log=say, on_step=step)
        meta[name] = {
            "encoder_name": enc_name,
            "train_config": cfg.to_dict(),
            "train_report": rep.to_dict(),
            "seed": config.seed,
            "fingerprint": fp,
            "started_from": started[name],
        }

    context = context_for(docs) if config.context == "auto" else config.context
    labels = sorted({e.type for d in docs for e in d.entities})
    if not labels:
        raise ValueError("no entity in these documents: nothing to train the NER on")
    if previous is not None and set(labels) <= set(previous.ner.labels):
        ner, started["ner"] = previous.ner, "current"
    else:
        if previous is not None:
            say(f"NER starts from the base encoder: entity types changed ({previous.ner.labels} -> {labels})")
        ner = NER(NERConfig(head=config.head, max_length=config.max_length, context=context,
                            max_negative_spans=config.ner_max_negatives)).initialize(
            docs, encoder=enc
        )
        started["ner"] = "base"
        say(f"NER reads notes by {context} (context {config.context})")
        if not ner.config.tagging and (wide := ner.too_wide(docs)):
            say(f"NER: {wide} gold entities are longer than {ner.config.max_width} units (words; characters in "
                "Chinese): the span head cannot learn or predict them (the crf and hybrid heads can)")
    fit("ner", ner, config.ner_epochs or config.epochs)

    rex = None
    rtypes = list(relation_types) if relation_types else infer_relation_types(docs)
    if config.train_re and rtypes and any(d.relations for d in docs):
        previous_re = previous.re if previous is not None else None
        if (
            previous_re is not None
            and _same_relation_types(previous_re.relation_types, rtypes)
            and set(labels) <= set(previous_re.entity_types)
        ):
            rex, started["re"] = previous_re, "current"
        else:
            if previous_re is not None:
                say("RE starts from the base encoder: relation or entity types changed")
            rex = RelationExtractor(
                REConfig(
                    max_length=config.max_length,
                    threshold=config.threshold,
                    max_char_distance=config.max_char_distance,
                    context=context,
                )
            ).initialize(docs, encoder=enc, relation_types=rtypes)
            started["re"] = "base"
        fit("re", rex, config.re_epochs or config.epochs)

    note = None
    previous_note = previous.note if previous is not None else None
    if config.note_epochs or previous_note is not None:
        if previous_note is not None:
            note, started["note"] = previous_note, "current"
        else:
            note = NoteClassifier(NoteConfig(max_length=config.max_length)).initialize(docs, encoder=enc)
            started["note"] = "base"
        fit("note", note, config.note_epochs or config.epochs)

    ade_types = tuple(t.name for t in rex.relation_types if t.name in ADE_RELATION_NAMES) if rex else ()
    decision = previous.config.decision if previous is not None and note is not None else "pipeline"
    pipe = Pipeline(
        ner,
        rex,
        note,
        PipelineConfig(threshold=config.threshold, decision=decision, ade_relation_types=ade_types),
    )
    return PipelineTrainResult(
        pipeline=pipe,
        component_meta=meta,
        encoder_name=enc_name,
        fingerprint=fp,
        n_documents=len(docs),
        started_from=started,
        seconds=round(time.perf_counter() - t0, 2),
    )


def evaluate_pipeline(pipeline, documents: Sequence[Document], *, batch_size: int = 16) -> dict[str, float]:
    """Flat metrics of a pipeline on gold documents (fractions; 0.0 where there is nothing to score).

    Keys: every GATE_METRICS key, plus micro/relaxed variants and `documents`. Empty input gives
    {"documents": 0}.
    """
    from inference.core.extraction.evaluation import ner_scores, note_scores, re_scores

    docs = list(documents)
    if not docs:
        return {"documents": 0}
    pred = [p.document for p in pipeline.predict(docs, batch_size=batch_size)]
    ner = ner_scores(docs, pred, types=pipeline.ner.labels)
    out: dict[str, float] = {
        "documents": len(docs),
        "ner_macro_f1_strict": ner["strict_macro_f1"],
        "ner_micro_f1_strict": ner["strict_micro_f1"],
        "ner_macro_f1_relaxed": ner["relaxed_macro_f1"],
    }
    if pipeline.re is not None:
        re = re_scores(docs, pred, types=[t.name for t in pipeline.re.relation_types])
        out.update(
            re_f1_strict=re["strict_macro_f1"],
            re_micro_f1_strict=re["strict_micro_f1"],
            re_f1_relaxed=re["relaxed_macro_f1"],
        )
    else:
        out.update(re_f1_strict=0.0, re_micro_f1_strict=0.0, re_f1_relaxed=0.0)
    rel_type = (
        pipeline.config.ade_relation_types[0] if pipeline.config.ade_relation_types else "Adverse-Effect"
    )
    notes = note_scores(docs, pred, relation_type=rel_type)
    out.update(
        note_f1=notes["label_f1"],
        note_p=notes["label_p"],
        note_r=notes["label_r"],
        note_evidence_f1=notes["evidence_strict_f1"],
    )
    return {k: float(v) for k, v in out.items()}


def pipeline_calibrate(pipeline, documents: Sequence[Document], *, batch_size: int = 16) -> dict[str, float]:
    """Fit the note probability's temperature on gold `documents` (inference.core.calibration) and set it
    on `pipeline.config`; say how calibrated the note probabilities were before and after.

    Result (flat): `calibration_notes`, `temperature` (1.0 when the notes cannot say: too few or one class),
    `note_ece_raw` / `note_ece` (expected calibration error before / after), `note_brier_raw` / `note_brier`.
    """
    from inference.core.calibration import (
        brier_score,
        expected_calibration_error,
        temperature_apply,
        temperature_fit,
    )

    docs = list(documents)
    if not docs:
        return {"calibration_notes": 0}
    saved, pipeline.config.temperature = pipeline.config.temperature, 1.0
    try:
        probs = [p.ade_probability for p in pipeline.predict(docs, batch_size=batch_size)]
    finally:
        pipeline.config.temperature = saved
    labels = [d.label == "ade" for d in docs]
    fitted = temperature_fit(probs, labels)
    temperature = fitted if fitted is not None else 1.0
    pipeline.config.temperature = temperature
    tempered = [temperature_apply(p, temperature) for p in probs]
    return {
        "calibration_notes": float(len(docs)),
        "temperature": float(temperature),
        "note_ece_raw": expected_calibration_error(probs, labels),
        "note_ece": expected_calibration_error(tempered, labels),
        "note_brier_raw": brier_score(probs, labels),
        "note_brier": brier_score(tempered, labels),
    }


@dataclass(frozen=True)
class GateDecision:
    """Whether a candidate model replaces the incumbent, and why (in words a project admin reads)."""

    promote: bool
    metric: str
    candidate: float | None
    incumbent: float | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def gate_decide(
    metric: str,
    candidate: dict[str, float],
    incumbent: dict[str, float] | None,
    *,
    tolerance: float = 0.0,
    min_documents: int = 1,
) -> GateDecision:
    """The promotion rule: promote when the candidate is not worse than the incumbent on `metric`
    (candidate >= incumbent - tolerance), both scored on the same held-out documents.

    With no incumbent the candidate is promoted (there is nothing to be worse than). With fewer than
    `min_documents` held-out documents nothing can be compared, so a candidate is refused unless it is
    the first model. Errors: ValueError for a metric not in GATE_METRICS.
    """
    if metric not in GATE_METRICS:
        raise ValueError(f"unknown gate metric {metric!r}; expected one of {', '.join(GATE_METRICS)}")
    cand = candidate.get(metric)
    n = int(candidate.get("documents", 0))
    if incumbent is None:
        why = "first model of the project" + (
            "" if n >= min_documents else " (no held-out gold to score it on)"
        )
        return GateDecision(True, metric, cand, None, why)
    inc = incumbent.get(metric)
    if n < min_documents or cand is None or inc is None:
        return GateDecision(
            False, metric, cand, inc, f"only {n} held-out gold note(s): nothing to compare on"
        )
    if cand >= inc - tolerance:
        return GateDecision(True, metric, cand, inc, f"{GATE_METRICS[metric]} {cand:.4f} >= {inc:.4f}")
    return GateDecision(False, metric, cand, inc, f"{GATE_METRICS[metric]} {cand:.4f} < {inc:.4f}: worse")
