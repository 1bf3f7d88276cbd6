"""ADE-Corpus-V2 (SpERT folds) loading: exact offsets, direction, fold sizes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inference.core.extraction.datasets import ade_fold, ade_folds_dir, data_dir, load_ade_spert

RECORDS = [
    {
        "tokens": ["Intravenous", "azithromycin", "-", "induced", "ototoxicity", "."],
        "entities": [
            {"type": "Adverse-Effect", "start": 4, "end": 5},
            {"type": "Drug", "start": 1, "end": 2},
        ],
        "relations": [{"type": "Adverse-Effect", "head": 0, "tail": 1}],
        "orig_id": 7,
    },
    {
        "tokens": ["Köld", "efter", "2,5", "mg", "Waran", "och", "blödning", "i", "ögat"],
        "entities": [
            {"type": "Drug", "start": 4, "end": 5},
            {"type": "Adverse-Effect", "start": 6, "end": 9},
        ],
        "relations": [],
        "orig_id": 7,
    },
]


def test_load_small_file(tmp_path: Path):
    path = tmp_path / "mini.json"
    path.write_text(json.dumps(RECORDS, ensure_ascii=False), encoding="utf-8")
    a, b = load_ade_spert(path)
    assert a.text == "Intravenous azithromycin - induced ototoxicity ."
    assert [(e.id, e.type, e.text) for e in a.entities] == [
        ("T1", "Adverse-Effect", "ototoxicity"),
        ("T2", "Drug", "azithromycin"),
    ]
    assert a.relations[0].arg1 == "T1" and a.relations[0].arg2 == "T2"  # head -> tail kept
    assert a.relations[0].type == "Adverse-Effect"
    assert (a.id, b.id) == ("7", "7-2")  # repeated orig_id made unique
    assert (a.label, b.label) == ("ade", "no_ade")
    assert b.entities[1].text == "blödning i ögat"
    for d, rec in ((a, RECORDS[0]), (b, RECORDS[1])):
        toks = d.metadata["tokens"]
        assert [d.text[s:e] for s, e in toks] == rec["tokens"]
        for ent in d.entities:
            ts, te = d.metadata["entity_tokens"][ent.id]
            assert d.text[ent.spans[0].start : ent.spans[0].end] == " ".join(rec["tokens"][ts:te]) == ent.text


def test_bad_span_raises(tmp_path: Path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([{"tokens": ["a"], "entities": [{"type": "Drug", "start": 0, "end": 2}]}]))
    with pytest.raises(ValueError, match="bad token span"):
        load_ade_spert(path)


def test_data_dir_env(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("ADE_REVIEW_DATA", str(tmp_path))
    assert data_dir() == tmp_path
    assert ade_folds_dir() == tmp_path / "ade_spert_folds"
    monkeypatch.delenv("ADE_REVIEW_DATA")
    # the project root, found from this test file, not from the module under test
    assert data_dir() == Path(__file__).resolve().parents[4].parent / "shared" / "data"


def test_bad_fold_number():
    with pytest.raises(ValueError):
        ade_fold("anywhere", 10)


@pytest.fixture(scope="module")
def folds_dir() -> Path:
    folder = ade_folds_dir()
    if not (folder / "ade_full.json").exists():
        pytest.skip(f"ADE SpERT folds not found in {folder} (set ADE_REVIEW_DATA)")
    return folder


@pytest.mark.corpus
def test_full_corpus_counts_and_offsets(folds_dir: Path):
    docs = load_ade_spert(folds_dir / "ade_full.json")
    assert len(docs) == 4272
    assert sum(len(d.entities) for d in docs) == 10839
    assert sum(len(d.relations) for d in docs) == 6821
    assert len({d.id for d in docs}) == 4272
    types = {e.id: e.type for d in docs for e in d.entities}
    assert {e.type for d in docs for e in d.entities} == {"Drug", "Adverse-Effect"}
    for d in docs:
        types = {e.id: e.type for e in d.entities}
        for r in d.relations:
            assert (types[r.arg1], types[r.arg2]) == ("Adverse-Effect", "Drug")
        for e in d.entities:
            assert d.text[e.spans[0].start : e.spans[0].end] == e.text and e.text.strip() == e.text


@pytest.mark.corpus
@pytest.mark.parametrize("k", [0, 9])
def test_fold_split(folds_dir: Path, k: int):
    train, test = ade_fold(folds_dir, k)
    assert len(test) == (429 if k == 9 else 427)
    assert len(train) + len(test) == 4272
    assert not {d.id for d in train} & {d.id for d in test}
    train2, test2 = ade_fold(folds_dir / "ade_full.json", k)  # a file inside the folder works too
    assert [d.id for d in test2] == [d.id for d in test]
