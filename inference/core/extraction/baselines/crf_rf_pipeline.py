"""The CRF + Random Forest baseline as a saved model a project can run: NER by the CRF, RE by the forest
over the CRF's entities, a note's ADE probability = the strongest predicted ADE relation's probability.

It trains in seconds on a few dozen notes, so the demo (and a new project) can pre-annotate and flag
notes before the first transformer retrain; the retrain gate then replaces it (a baseline cannot be
scored by the transformer pipeline's evaluator, and the gate says so). Framework-free.

Saved as a directory: `baseline.json` (format, relation types, sha256 of the model file) and
`crf_rf.pkl` (the fitted CRF and forest). The file is a pickle: load only model directories this server
wrote (the model directory is the server's own, like every model version's weights); `load` refuses a
file whose hash differs from the manifest's.
"""

from __future__ import annotations

import hashlib
import json
import pickle
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from annotations.formats.document import Document
from inference.core.extraction.baselines.crf_ner import CrfNer, CrfNerConfig
from inference.core.extraction.baselines.rf_re import RandomForestRe, RandomForestReConfig

FORMAT = "crf_rf_baseline"
MANIFEST = "baseline.json"
MODEL_FILE = "crf_rf.pkl"


@dataclass(frozen=True)
class BaselinePrediction:
    document: Document  # the note with the predicted entities and relations (with confidences)
    ade_probability: float


class CrfRfPipeline:
    """`fit` on gold documents, `predict` documents, `save` / `load` a directory."""

    def __init__(self, ner: CrfNer, re: RandomForestRe, ade_relation_types: Sequence[str]):
        self.ner, self.re = ner, re
        self.ade_relation_types = tuple(ade_relation_types)

    @classmethod
    def fit(cls, documents: Sequence[Document], *, ade_relation_types: Sequence[str], seed: int = 0) -> CrfRfPipeline:
        """Train both models on `documents` (their gold entities and relations)."""
        ner = CrfNer(CrfNerConfig()).fit(documents)
        re = RandomForestRe(RandomForestReConfig(seed=seed)).fit(documents)
        return cls(ner, re, ade_relation_types)

    def predict(self, documents: Sequence[Document]) -> list[BaselinePrediction]:
        """Entities, relations and the note's ADE probability for each document (input annotations dropped)."""
        entities = self.ner.predict(documents)
        related = self.re.predict(entities)
        out = []
        for original, predicted in zip(documents, related, strict=True):
            ade = [r.confidence or 0.0 for r in predicted.relations if self._is_ade(r.type)]
            out.append(BaselinePrediction(replace(predicted, metadata=original.metadata, label=None),
                                          max(ade, default=0.0)))
        return out

    def _is_ade(self, relation_type: str) -> bool:
        return not self.ade_relation_types or relation_type in self.ade_relation_types

    def save(self, directory: str | Path) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        blob = pickle.dumps({"ner": self.ner, "re": self.re}, protocol=pickle.HIGHEST_PROTOCOL)
        (directory / MODEL_FILE).write_bytes(blob)
        manifest = {"format": FORMAT, "version": 1, "ade_relation_types": list(self.ade_relation_types),
                    "sha256": hashlib.sha256(blob).hexdigest()}
        (directory / MANIFEST).write_text(json.dumps(manifest, indent=2))
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> CrfRfPipeline:
        """Raises ValueError for a directory that is not a saved baseline or whose model file changed."""
        directory = Path(directory)
        try:
            manifest = json.loads((directory / MANIFEST).read_text())
            blob = (directory / MODEL_FILE).read_bytes()
        except (OSError, ValueError) as exc:
            raise ValueError(f"not a saved CRF + RF baseline: {type(exc).__name__}") from None
        if manifest.get("format") != FORMAT or hashlib.sha256(blob).hexdigest() != manifest.get("sha256"):
            raise ValueError("the baseline's model file does not match its manifest")
        parts = pickle.loads(blob)  # noqa: S301 - the server's own model file, hash-checked above
        return cls(parts["ner"], parts["re"], manifest.get("ade_relation_types", ()))


def is_baseline_dir(directory: str | Path) -> bool:
    return (Path(directory) / MANIFEST).is_file()
