"""The integrated NER -> RE -> note decision pipeline, plus the direct note classifier (framework-free).

`Pipeline.load(dir).predict(documents)` is what the batch jobs call; keep it stable. A note is flagged
"ade" when its most probable ADE relation (any candidate pair of predicted entities, schema-restricted)
reaches `threshold` (method 1: a note contains an ADE when the pipeline finds an ADE relation in it).
`decision` picks the source of `ade_probability`: "pipeline" (default), "direct" (the note classifier)
or "mean" of both. `uncertainty` = 1 - |2p - 1| (1 at p = 0.5, 0 at p in {0, 1}), for active learning.

Model directory layout (versioned):
  pipeline.json     {"format_version", "threshold", "decision", "ade_relation_types", "components", ...}
  ner/ re/ note/    component directories (artifacts.py); re/ and note/ are optional
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from annotations.formats.document import Document
from inference.core.calibration import temperature_apply

FORMAT_VERSION = 1
PIPELINE_META = "pipeline.json"
ADE, NO_ADE = "ade", "no_ade"


@dataclass(frozen=True)
class NotePrediction:
    """One note's prediction: the document with predicted entities and relations (each with its
    confidence) and its label set; the ADE probability and an uncertainty score in [0, 1]."""

    document: Document
    ade_probability: float
    uncertainty: float
    direct_probability: float | None = None
    relation_probability: float | None = None
    al_scores: dict[str, float] | None = None  # active_learning.note_scores, when asked for
    embedding: Any = None  # float32 numpy vector (mean encoder state), when asked for


@dataclass
class PipelineConfig:
    threshold: float = 0.5
    decision: str = "pipeline"  # "pipeline" | "direct" | "mean"
    ade_relation_types: tuple[str, ...] = ()  # empty: every relation type counts as an ADE relation
    # The note probability's temperature (inference.core.calibration), fitted on held-out gold; 1: as is.
    temperature: float = 1.0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["ade_relation_types"] = list(self.ade_relation_types)
        return d


def uncertainty(p: float) -> float:
    """1 - |2p - 1|: 1 for a coin flip, 0 for a certain answer."""
    return 1.0 - abs(2.0 * p - 1.0)


class Pipeline:
    """NER -> RE -> note decision, and the direct classifier when present."""

    def __init__(
        self, ner, re=None, note=None, config: PipelineConfig | None = None, meta: dict | None = None
    ):
        self.ner = ner
        self.re = re
        self.note = note
        self.config = config or PipelineConfig()
        self.meta = meta or {}
        if self.config.decision not in ("pipeline", "direct", "mean"):
            raise ValueError(f"decision must be pipeline, direct or mean, not {self.config.decision!r}")
        if self.config.decision != "pipeline" and note is None:
            raise ValueError(f"decision {self.config.decision!r} needs the note classifier")

    # -- persistence
    @classmethod
    def load(cls, path: str | os.PathLike, *, quantized: bool = False) -> Pipeline:
        """Load a pipeline directory (components are cached per process; `quantized`: int8 CPU).

        Errors: FileNotFoundError when pipeline.json or a component is missing; ValueError for a newer format.
        """
        from inference.core.extraction.artifacts import load_component

        root = Path(path)
        meta = json.loads((root / PIPELINE_META).read_text(encoding="utf-8"))
        if int(meta.get("format_version", 0)) > FORMAT_VERSION:
            raise ValueError(f"{root}: pipeline format {meta['format_version']} is newer than this code")
        comps = meta.get("components", {})
        loaded = {k: load_component(root / v, quantized=quantized) for k, v in comps.items()}
        cfg = PipelineConfig(
            threshold=float(meta.get("threshold", 0.5)),
            decision=meta.get("decision", "pipeline"),
            ade_relation_types=tuple(meta.get("ade_relation_types", ())),
            temperature=float(meta.get("temperature", 1.0)),
        )
        return cls(loaded["ner"], loaded.get("re"), loaded.get("note"), cfg, meta)

    def save(
        self, path: str | os.PathLike, *, component_meta: dict[str, dict] | None = None, **extra
    ) -> Path:
        """Write the pipeline directory; `component_meta[name]` are save_component keyword arguments."""
        from inference.core.extraction.artifacts import save_component

        root = Path(path)
        root.mkdir(parents=True, exist_ok=True)
        comps = {}
        for name, comp in (("ner", self.ner), ("re", self.re), ("note", self.note)):
            if comp is not None:
                save_component(comp, root / name, **(component_meta or {}).get(name, {}))
                comps[name] = name
        meta = {
            "format_version": FORMAT_VERSION,
            **self.config.to_dict(),
            "components": comps,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            **extra,
        }
        (root / PIPELINE_META).write_text(json.dumps(meta, indent=2, default=str) + "\n", encoding="utf-8")
        self.meta = meta
        return root

    # -- inference
    def _is_ade(self, rel_type: str) -> bool:
        return not self.config.ade_relation_types or rel_type in self.config.ade_relation_types

    def predict(
        self, documents: Sequence[Document], batch_size: int = 32, *, with_uncertainty: bool = False
    ) -> list[NotePrediction]:
        """Predict entities, relations and the note label of every document; no side effects.

        Result: one NotePrediction per document, in order; the document keeps its id, text and metadata.
        `with_uncertainty` adds every active-learning strategy's score (`al_scores`: the sequence
        strategies read the NER's span/token distributions, "ade" the note probability) and the
        note's embedding, from the same forward pass.
        """
        import torch

        from inference.core.extraction.active_learning import ItemScores, note_scores

        docs = list(documents)
        if not docs:
            return []
        extra = None
        with torch.inference_mode():
            if with_uncertainty:
                with_ents, extra = self.ner.predict_with_uncertainty(docs, batch_size=batch_size)
            else:
                with_ents = self.ner.predict(docs, batch_size=batch_size)
            if self.re is not None:
                pairs = self.re.predict_pairs(with_ents, batch_size=batch_size)
            else:
                pairs = [[] for _ in docs]
            direct = self.note.predict_proba(docs, batch_size=batch_size) if self.note is not None else None
        thr_re = self.re.config.threshold if self.re is not None else 1.0
        out = []
        for i, doc in enumerate(with_ents):
            rels = []
            p_rel = 0.0
            for cand, typ, p in pairs[i]:
                if self._is_ade(typ):
                    p_rel = max(p_rel, p)
                if p >= thr_re:
                    from annotations.formats.document import Relation

                    rels.append(
                        Relation(
                            id=f"R{len(rels) + 1}",
                            type=typ,
                            arg1=cand.arg1.id,
                            arg2=cand.arg2.id,
                            confidence=p,
                        )
                    )
            p_direct = None
            if direct is not None:
                p_direct = float(direct[i].get(self.note.config.positive_label, 0.0))
            if self.config.decision == "direct":
                p = p_direct
            elif self.config.decision == "mean":
                p = (p_rel + p_direct) / 2.0
            else:
                p = p_rel
            p = temperature_apply(p, self.config.temperature)
            label = ADE if p >= self.config.threshold else NO_ADE
            result = dataclasses.replace(
                doc,
                relations=tuple(rels),
                label=label,
                metadata={**docs[i].metadata, "ade_probability": p},
            )
            al_scores = embedding = None
            if extra is not None:
                item = ItemScores(
                    item_id=doc.id, token_probs=extra[i].probs, ade_probability=float(p), length=extra[i].n_units
                )
                al_scores, embedding = note_scores(item), extra[i].embedding
            out.append(
                NotePrediction(
                    document=result,
                    ade_probability=float(p),
                    uncertainty=uncertainty(float(p)),
                    direct_probability=p_direct,
                    relation_probability=p_rel,
                    al_scores=al_scores,
                    embedding=embedding,
                )
            )
        return out
