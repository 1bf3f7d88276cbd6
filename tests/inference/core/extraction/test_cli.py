"""`ade-review train -> predict -> evaluate` on a handful of files, tiny encoder, no database."""

from __future__ import annotations

import json

import pytest

from annotations.formats import registry
from annotations.formats.document import Document, Entity, Relation, Span
from inference.cli import main
from tests.factories import tiny_encoder


def make_doc(doc_id, text, ents, rels, label):
    out = []
    for n, (surface, typ) in enumerate(ents, start=1):
        i = text.index(surface)
        out.append(Entity(f"T{n}", typ, (Span(i, i + len(surface)),), surface))
    rs = tuple(Relation(f"R{k}", "Adverse-Effect", a, b) for k, (a, b) in enumerate(rels, 1))
    return Document(doc_id, text, tuple(out), rs, label=label)


DOCS = [
    make_doc(
        "a",
        "Aspirin-induced rash but ibuprofen was fine.",
        [("Aspirin", "Drug"), ("Aspirin-induced rash", "Adverse-Effect"), ("ibuprofen", "Drug")],
        [("T2", "T1")],
        "ade",
    ),
    make_doc(
        "b",
        "Patienten fick utslag efter penicillin.",
        [("penicillin", "Drug"), ("utslag", "Adverse-Effect")],
        [("T2", "T1")],
        "ade",
    ),
    make_doc("c", "The patient was discharged home in good health.", [], [], "no_ade"),
    make_doc(
        "d",
        "患者服用阿司匹林后出现皮疹。",
        [("阿司匹林", "Drug"), ("皮疹", "Adverse-Effect")],
        [("T2", "T1")],
        "ade",
    ),
]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    registry.write_corpus(DOCS, root / "train.jsonl", "jsonl")
    registry.write_corpus(DOCS, root / "brat", "brat")
    tiny_encoder(root / "tiny")
    return root


def test_train_predict_evaluate(workdir, capsys):
    model = workdir / "model"
    rc = main(
        [
            "train",
            "--data",
            str(workdir / "train.jsonl"),
            "--out",
            str(model),
            "--encoder",
            str(workdir / "tiny"),
            "--epochs",
            "30",
            "--note-epochs",
            "10",
            "--lr",
            "1e-3",
            "--head-lr",
            "1e-2",
            "--batch-size",
            "4",
            "--threads",
            "1",
        ]
    )
    assert rc == 0
    meta = json.loads((model / "pipeline.json").read_text())
    assert meta["components"] == {"ner": "ner", "re": "re", "note": "note"}
    ner_meta = json.loads((model / "ner" / "component.json").read_text())
    assert ner_meta["data_fingerprint"].startswith("sha256:") and ner_meta["seed"] == 0
    assert (
        ner_meta["labels"] == ["Adverse-Effect", "Drug"]
        and ner_meta["training"]["report"]["seconds_per_epoch"]
    )

    # predict: brat out, from the brat copy of the data
    rc = main(
        [
            "predict",
            "--model",
            str(model),
            "--data",
            str(workdir / "brat"),
            "--format",
            "brat",
            "--out",
            str(workdir / "pred_brat"),
        ]
    )
    assert rc == 0
    pred = {r.document.id: r.document for r in registry.read_corpus(workdir / "pred_brat", "brat")}
    assert {(e.start, e.end, e.type) for e in pred["a"].entities} == {
        (e.start, e.end, e.type) for e in DOCS[0].entities
    }
    assert len(pred["a"].relations) == 1 and not pred["c"].entities

    # predict: JSONL out keeps confidences and the note label
    rc = main(
        [
            "predict",
            "--model",
            str(model),
            "--data",
            str(workdir / "train.jsonl"),
            "--out",
            str(workdir / "pred.jsonl"),
        ]
    )
    assert rc == 0
    rows = [json.loads(line) for line in (workdir / "pred.jsonl").read_text().splitlines()]
    assert [r["label"] for r in rows] == ["ade", "ade", "no_ade", "ade"]
    assert all(e["confidence"] is not None for r in rows for e in r["entities"])

    capsys.readouterr()
    rc = main(
        [
            "evaluate",
            "--model",
            str(model),
            "--data",
            str(workdir / "train.jsonl"),
            "--report",
            str(workdir / "errors.json"),
            "--json",
            str(workdir / "scores.json"),
        ]
    )
    assert rc == 0
    out = capsys.readouterr().out
    assert "NER   strict" in out and "RE    relaxed" in out and "evidence-strict" in out
    scores = json.loads((workdir / "scores.json").read_text())
    assert scores["ner_strict_macro_f1"] == 1.0 and scores["re_strict_micro_f1"] == 1.0
    assert scores["note_label_f1"] == 1.0
    assert (
        "items" in json.loads((workdir / "errors.json").read_text())
        or (workdir / "errors.json").stat().st_size
    )


def test_unreadable_input_or_model_is_a_clean_error(workdir, tmp_path, capsys):
    rc = main(["evaluate", "--model", str(tmp_path), "--data", str(tmp_path / "missing.jsonl")])
    assert rc == 2
    assert "no such file" in capsys.readouterr().err
    rc = main(
        [
            "predict",
            "--model",
            str(tmp_path),
            "--data",
            str(workdir / "train.jsonl"),
            "--out",
            str(tmp_path / "x"),
        ]
    )
    assert rc == 2
    assert "not a model directory" in capsys.readouterr().err


def test_train_shows_progress_with_the_time_left_and_no_note_text(workdir, capsys):
    rc = main(["train", "--data", str(workdir / "brat"), "--out", str(workdir / "progress-model"), "--encoder",
               str(workdir / "tiny"), "--ner-epochs", "2", "--no-re", "--batch-size", "2", "--threads", "1"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    lines = [line for line in captured.err.splitlines() if "NER step" in line]
    # 4 single-sentence documents, batch 2, 2 epochs: 4 steps over all epochs, the first and the last shown
    assert "NER step 1/4 (all epochs)" in lines[0] and "? left" in lines[0]
    assert "NER step 4/4 (all epochs)" in lines[-1] and "0:00 left" in lines[-1] and "100%" in lines[-1]
    words = {w for d in DOCS for w in d.text.replace(".", " ").split() if len(w) > 3} | {"阿司匹林", "皮疹"}
    assert not any(w in captured.err for w in words)  # numbers only, never the notes' text
