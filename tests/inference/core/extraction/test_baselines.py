"""The classic baselines learn a tiny synthetic task and beat a trivial score; the core imports no Django."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from annotations.formats.document import Document, Entity, Relation, Span
from inference.core.extraction.baselines import (
    CrfNer,
    CrfNerConfig,
    RandomForestRe,
    RandomForestReConfig,
    crf_rf_baselines,
    tfidf_baselines,
)
from inference.core.extraction.baselines.crf_ner import bio_tags, bio_to_spans
from inference.core.extraction.evaluation import ner_scores, re_scores
from inference.core.text import tokenize

ROOT = Path(__file__).resolve().parents[4]
DRUGS = ["aspirin", "warfarin", "cisplatin", "Lithium", "amiodarone", "Metformin", "ibuprofen", "heparin"]
EFFECTS = ["rash", "nausea", "severe bleeding", "renal failure", "hair loss", "lactic acidosis", "fever"]
FILLER = ["The patient", "A woman", "This man", "Our patient"]


def _make_doc(did: str, parts: list[tuple[str, str | None]], rels: list[tuple[int, int]]) -> Document:
    """parts: (text, entity type or None), joined by spaces; rels: (arg1 part index, arg2 part index)."""
    text, ents, ids = "", [], {}
    for i, (chunk, etype) in enumerate(parts):
        if text:
            text += " "
        if etype:
            ids[i] = f"T{len(ents) + 1}"
            ents.append(Entity(ids[i], etype, (Span(len(text), len(text) + len(chunk)),), chunk))
        text += chunk
    relations = tuple(
        Relation(f"R{n + 1}", "Adverse-Effect", ids[a], ids[b]) for n, (a, b) in enumerate(rels)
    )
    label = "ade" if relations else "no_ade"
    return Document(id=did, text=text, entities=tuple(ents), relations=relations, label=label)


def synthetic(n: int, seed: int) -> list[Document]:
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        d1, d2 = rng.sample(DRUGS, 2)
        ae = rng.choice(EFFECTS)
        who = rng.choice(FILLER)
        if i % 3 == 0:
            parts = [(d1, "Drug"), ("induced", None), (ae, "Adverse-Effect"), (".", None)]
            rels = [(2, 0)]
        elif i % 3 == 1:  # two drugs, only the first causes the effect
            parts = [(who, None), ("developed", None), (ae, "Adverse-Effect"), ("after", None), (d1, "Drug"),
                     ("and was also given", None), (d2, "Drug"), ("safely", None), (".", None)]  # fmt: skip
            rels = [(2, 4)]
        else:  # no adverse effect
            parts = [
                (who, None),
                ("was treated with", None),
                (d1, "Drug"),
                ("without problems", None),
                (".", None),
            ]
            rels = []
        docs.append(_make_doc(f"s{seed}-{i}", parts, rels))
    return docs


TRAIN = synthetic(90, seed=1)
TEST = synthetic(30, seed=2)


def _all_pairs(doc: Document) -> Document:
    ae = [e for e in doc.entities if e.type == "Adverse-Effect"]
    drugs = [e for e in doc.entities if e.type == "Drug"]
    rels = [
        Relation(f"R{i}", "Adverse-Effect", a.id, b.id)
        for i, (a, b) in enumerate((a, b) for a in ae for b in drugs)
    ]
    return Document(id=doc.id, text=doc.text, entities=doc.entities, relations=tuple(rels))


def test_bio_round_trip_and_overlaps():
    doc = TRAIN[1]
    tokens = tokenize(doc.text)
    tags = bio_tags(doc, tokens)
    spans = [(tokens[a].start, tokens[b - 1].end, t) for a, b, t in bio_to_spans(tags)]
    assert spans == sorted((e.start, e.end, e.type) for e in doc.entities)
    text = "severe renal failure"
    nested = Document(
        id="n", text=text,
        entities=(Entity("T1", "AE", (Span(7, 20),), "renal failure"), Entity("T2", "AE", (Span(0, 20),), text)),
    )  # fmt: skip
    assert bio_tags(nested, tokenize(text)) == ["B-AE", "I-AE", "I-AE"]  # the longest is kept
    assert bio_to_spans(["I-X", "I-X", "B-X", "O", "I-Y", "B-Y"]) == [
        (0, 2, "X"),
        (2, 3, "X"),
        (4, 5, "Y"),
        (5, 6, "Y"),
    ]


def test_crf_learns_the_synthetic_task():
    crf = CrfNer(CrfNerConfig(max_iterations=60)).fit(TRAIN)
    pred = crf.predict(TEST)
    assert [d.id for d in pred] == [d.id for d in TEST]
    for d in pred:
        assert not d.relations
        for e in d.entities:
            assert d.text[e.spans[0].start : e.spans[0].end] == e.text
            assert e.confidence is not None and 0.0 <= e.confidence <= 1.0
    s = ner_scores(TEST, pred)
    assert ner_scores(TEST, [])["strict_macro_f1"] == 0.0  # the trivial score
    assert s["strict_macro_f1"] > 0.9
    assert crf.describe()["train_seconds"] > 0
    # batched == single
    assert crf.predict(TEST[:1])[0].entities == pred[0].entities


def test_crf_predict_before_fit():
    with pytest.raises(RuntimeError):
        CrfNer().predict(TEST)


def test_random_forest_beats_all_pairs_on_gold_entities():
    rf = RandomForestRe(RandomForestReConfig(n_estimators=50, seed=0)).fit(TRAIN)
    assert rf.signatures == {("Adverse-Effect", "Drug")}
    pred = rf.predict(TEST)
    for d, g in zip(pred, TEST, strict=True):
        assert d.entities == g.entities
        assert all(0.5 <= r.confidence <= 1.0 for r in d.relations)
    trivial = re_scores(TEST, [_all_pairs(d) for d in TEST])["strict_micro_f1"]
    score = re_scores(TEST, pred)["strict_micro_f1"]
    assert trivial < 0.85
    assert score > 0.95 > trivial
    # same seed, same predictions
    again = RandomForestRe(RandomForestReConfig(n_estimators=50, seed=0)).fit(TRAIN).predict(TEST)
    assert again == pred


def test_random_forest_needs_relations():
    with pytest.raises(ValueError):
        RandomForestRe().fit([Document(id="x", text="nothing")])
    with pytest.raises(RuntimeError):
        RandomForestRe().predict(TEST)


def test_crf_rf_baselines_entry_point():
    res = crf_rf_baselines(TRAIN, TEST, seed=3, rf_config=RandomForestReConfig(n_estimators=30))
    for key in (
        "crf_ner_macro_f1_strict",
        "crf_ner_macro_f1_relaxed",
        "rf_re_f1_strict",
        "rf_re_f1_strict_gold_entities",
        "crf_train_seconds",
        "rf_train_seconds",
    ):
        assert key in res
    assert res["seed"] == 3 and res["n_test"] == len(TEST)
    assert res["crf_ner_macro_f1_strict"] > 0.9
    assert res["rf_re_f1_strict_gold_entities"] > 0.9
    assert 0.0 <= res["rf_re_f1_strict"] <= res["rf_re_f1_relaxed"] <= 1.0


def test_tfidf_baselines():
    train = [d.text for d in TRAIN]
    test = [d.text for d in TEST]
    res = tfidf_baselines(train, [d.label for d in TRAIN], test, [d.label for d in TEST], seed=0)
    majority = max(sum(d.label == "ade" for d in TEST), sum(d.label != "ade" for d in TEST)) / len(TEST)
    for name in ("logreg", "nb", "svm"):
        assert res[f"tfidf_{name}_f1"] > 0.9
        assert res[f"tfidf_{name}_accuracy"] > majority
        assert {f"tfidf_{name}_precision", f"tfidf_{name}_recall", f"tfidf_{name}_train_seconds"} <= set(res)
    ints = tfidf_baselines(
        train, [int(d.label == "ade") for d in TRAIN], test, [int(d.label == "ade") for d in TEST]
    )
    assert ints["tfidf_logreg_f1"] == res["tfidf_logreg_f1"]
    with pytest.raises(ValueError):
        tfidf_baselines(["a", "b"], ["x", "y"], ["a"], ["x"])


MODULES = [
    "inference.core.text",
    "inference.core.extraction.datasets",
    "inference.core.extraction.evaluation",
    "inference.core.extraction.baselines",
    "inference.core.extraction.baselines.crf_ner",
    "inference.core.extraction.baselines.rf_re",
    "inference.core.extraction.baselines.text_classifiers",
    "inference.core.extraction.baselines.crf_rf",
]


def test_core_modules_import_without_django():
    code = (
        "import importlib, sys\n"
        "sys.modules['django'] = None\n"
        f"for name in {MODULES!r}:\n"
        "    importlib.import_module(name)\n"
        "assert not any(m == 'django' or m.startswith('django.') for m in sys.modules if sys.modules[m])\n"
        "print('ok')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"
