"""The English pretraining pool of benchmarks/adapt_ade_corpus.py: text of the evaluated test folds never goes in.

A tiny made-up corpus in the layout of ../shared/data (SpERT folds, DRUG-AE.rel, ADE-NEG.txt, PubTator,
NCBI and MACCROBAT .txt files) stands in for the real one.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

TEST_SENTENCE = "Severe hepatotoxicity developed after six weeks of isoniazid therapy ."
TRAIN_SENTENCE = "Rash appeared two days after starting amoxicillin ."


@pytest.fixture
def bench():
    import benchmarks.adapt_ade_corpus as bench

    return bench


def _spert(tokens: str, orig_id: int) -> dict:
    return {"tokens": tokens.split(), "entities": [], "relations": [], "orig_id": orig_id}


@pytest.fixture
def data(tmp_path) -> Path:
    folds = tmp_path / "ade_spert_folds"
    folds.mkdir()
    full = [_spert(TEST_SENTENCE, 1), _spert(TRAIN_SENTENCE, 2)]
    (folds / "ade_full.json").write_text(json.dumps(full))
    for k in range(10):
        (folds / f"ade_split_{k}_test.json").write_text(json.dumps([full[0]] if k == 0 else [full[1]]))
    ade = tmp_path / "ade_corpus_v2"
    ade.mkdir()
    (ade / "DRUG-AE.rel").write_text(
        "111|Severe hepatotoxicity developed after six weeks of isoniazid therapy.|hepatotoxicity|0|1|isoniazid|2|3\n"
        "222|Rash appeared two days after starting amoxicillin.|Rash|0|1|amoxicillin|2|3\n"
    )
    (ade / "ADE-NEG.txt").write_text(
        "111 NEG Liver enzymes were monitored weekly.\n"  # same abstract as the test sentence
        "333 NEG The patient recovered without sequelae.\n"
    )
    cdr = tmp_path / "bc5cdr"
    cdr.mkdir()
    (cdr / "CDR_TrainingSet.PubTator.txt").write_text(
        "444|t|Isoniazid and the liver.\n"
        # quotes the test sentence inside another abstract: left out although its id differs
        "444|a|We saw that severe hepatotoxicity developed after six weeks of isoniazid therapy in one case.\n"
        "444\t0\t9\tIsoniazid\tChemical\tD007538\n\n"
        "555|t|Amoxicillin rash.\n555|a|A common reaction.\n"
    )
    (cdr / "CDR_DevelopmentSet.PubTator.txt").write_text("")
    (cdr / "CDR_TestSet.PubTator.txt").write_text("")
    for part in ("train", "devel", "test"):
        (tmp_path / "ncbi_disease" / part).mkdir(parents=True)
    (tmp_path / "ncbi_disease" / "train" / "111.txt").write_text("An abstract with the test sentence's id.")
    (tmp_path / "ncbi_disease" / "train" / "666.txt").write_text("Familial disease report.")
    (tmp_path / "maccrobat2020").mkdir()
    (tmp_path / "maccrobat2020" / "777.txt").write_text("A 60-year-old man presented with fever.")
    return tmp_path


def test_pool_leaves_out_every_text_of_the_test_folds_abstracts(bench, data):
    texts, info = bench.english_pool(data, [0])
    joined = "\n".join(texts)
    assert "hepatotoxicity developed" not in joined  # the test sentence, alone or quoted elsewhere
    assert "Liver enzymes" not in joined  # another sentence of the test sentence's abstract
    assert "test sentence's id" not in joined  # a document with the test sentence's PubMed id
    assert TRAIN_SENTENCE in texts
    assert "The patient recovered without sequelae." in texts
    assert any("Amoxicillin rash." in t for t in texts)
    assert "Familial disease report." in texts and "A 60-year-old man presented with fever." in texts
    assert info["test_pmids"] == 1 and info["test_sentences"] == 1
    assert info["sources"]["bc5cdr"] == {"kept": 1, "left_out_as_test_text": 1}


def test_pool_of_every_fold_holds_no_positive_sentence(bench, data):
    texts, _ = bench.english_pool(data, list(range(10)))
    assert TEST_SENTENCE not in texts and TRAIN_SENTENCE not in texts
    assert "The patient recovered without sequelae." in texts
