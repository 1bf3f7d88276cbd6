"""The CRF + Random Forest baseline of method 1, end to end, as one call for the benchmarks."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace

from annotations.formats.document import Document
from inference.core.extraction.baselines.crf_ner import CrfNer, CrfNerConfig
from inference.core.extraction.baselines.rf_re import RandomForestRe, RandomForestReConfig
from inference.core.extraction.evaluation import ner_scores, note_scores, re_scores

__all__ = ["crf_rf_baselines"]


def crf_rf_baselines(
    train_docs: Sequence[Document],
    test_docs: Sequence[Document],
    *,
    seed: int = 0,
    crf_config: CrfNerConfig | None = None,
    rf_config: RandomForestReConfig | None = None,
) -> dict[str, float]:
    """Train the CRF NER and the Random Forest RE on `train_docs`, score on `test_docs`.

    The RF is trained on gold entities and relations. End-to-end RE = RF over the CRF's entities;
    "..._gold_entities" = RF over the gold test entities (RE only). Entity / relation types are those of
    the gold test documents. Returns a flat dict: "crf_ner_{macro,micro}_f1_{strict,relaxed}",
    "crf_ner_{type}_f1_strict", "rf_re_f1_{strict,relaxed}" (micro over relation types, end to end),
    "rf_re_macro_f1_strict", "rf_re_f1_{strict,relaxed}_gold_entities", "rf_note_evidence_f1_{strict,
    relaxed}" (end to end), "crf_train_seconds", "rf_train_seconds", "predict_seconds", "seed",
    "n_train", "n_test".
    """
    rf_config = rf_config or RandomForestReConfig(seed=seed)
    if rf_config.seed != seed:
        rf_config = replace(rf_config, seed=seed)
    ent_types = sorted({e.type for d in test_docs for e in d.entities})
    rel_types = sorted({r.type for d in test_docs for r in d.relations})

    crf = CrfNer(crf_config).fit(train_docs)
    rf = RandomForestRe(rf_config).fit(train_docs)
    t0 = time.perf_counter()
    ner_pred = crf.predict(test_docs)
    e2e = rf.predict(ner_pred)
    gold_ent = rf.predict(test_docs)
    predict_seconds = time.perf_counter() - t0

    ner = ner_scores(test_docs, ner_pred, types=ent_types)
    re_e2e = re_scores(test_docs, e2e, types=rel_types)
    re_gold = re_scores(test_docs, gold_ent, types=rel_types)
    notes = note_scores(test_docs, [_unlabelled(d) for d in e2e])
    out: dict[str, float] = {
        "seed": seed,
        "n_train": len(train_docs),
        "n_test": len(test_docs),
        "crf_train_seconds": crf.train_seconds,
        "rf_train_seconds": rf.train_seconds,
        "predict_seconds": predict_seconds,
    }
    for mode in ("strict", "relaxed"):
        out[f"crf_ner_macro_f1_{mode}"] = ner[f"{mode}_macro_f1"]
        out[f"crf_ner_micro_f1_{mode}"] = ner[f"{mode}_micro_f1"]
        for t in ent_types:
            out[f"crf_ner_{t}_f1_{mode}"] = ner[f"{mode}_{t}_f1"]
        out[f"rf_re_f1_{mode}"] = re_e2e[f"{mode}_micro_f1"]
        out[f"rf_re_p_{mode}"] = re_e2e[f"{mode}_micro_p"]
        out[f"rf_re_r_{mode}"] = re_e2e[f"{mode}_micro_r"]
        out[f"rf_re_macro_f1_{mode}"] = re_e2e[f"{mode}_macro_f1"]
        out[f"rf_re_f1_{mode}_gold_entities"] = re_gold[f"{mode}_micro_f1"]
        out[f"rf_re_macro_f1_{mode}_gold_entities"] = re_gold[f"{mode}_macro_f1"]
        out[f"rf_note_evidence_f1_{mode}"] = notes[f"evidence_{mode}_f1"]
    out["rf_note_label_f1"] = notes["label_f1"]
    return out


def _unlabelled(doc: Document) -> Document:
    """A prediction's note label comes from its relations (the pipeline rule of method 1)."""
    return Document(id=doc.id, text=doc.text, entities=doc.entities, relations=doc.relations)
