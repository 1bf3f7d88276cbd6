"""The real public corpora (../shared/data, or ADE_REVIEW_DATA): zero parse problems, published counts,
and parse -> write -> parse round trips. Skipped with a message when the folder is absent.

The full-corpus tests are the check of the whole of MACCROBAT and NCBI (200 + 793 files, a few
seconds); the same check runs as a script: `python -m annotations.formats.roundtrip PATH [FORMAT]`.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from annotations.formats.infer import schema_infer
from annotations.formats.registry import read_corpus
from annotations.formats.roundtrip import round_trip_corpus
from annotations.formats.validation import document_problems

from .conftest import need

pytestmark = pytest.mark.corpus


def roundtrip_corpus(path: Path, limit: int | None = None) -> Counter:
    """Read a brat corpus, assert zero problems and an exact round trip per document; returns counts."""
    report = round_trip_corpus(path, "brat", limit=limit)
    assert report.problems == []
    assert report.differences == {}
    return report.counts


def test_maccrobat_subset_round_trips(data):
    assert roundtrip_corpus(need(data / "maccrobat2020"), limit=10)["documents"] == 10


def test_ncbi_subset_round_trips(data):
    assert roundtrip_corpus(need(data / "ncbi_disease" / "train"), limit=10)["documents"] == 10


def test_all_of_maccrobat_parses_with_published_counts_and_round_trips(data):
    counts = roundtrip_corpus(need(data / "maccrobat2020"))
    assert counts["documents"] == 200
    assert (counts["T"], counts["E"], counts["R"], counts["A"], counts["#"], counts["*"]) == (
        25_189,
        14_368,
        16_307,
        1_416,
        335,
        2_023,
    )
    assert counts["discontinuous"] > 0


@pytest.mark.parametrize("split,mentions", [("train", 5_145), ("devel", 787), ("test", 960)])
def test_all_of_ncbi_parses_with_published_counts_and_round_trips(data, split, mentions):
    counts = roundtrip_corpus(need(data / "ncbi_disease" / split))
    assert counts["documents"] == {"train": 593, "devel": 100, "test": 100}[split]
    assert counts["T"] == mentions


def test_maccrobat_inferred_schema_accepts_every_document(data):
    docs = [r.document for r in read_corpus(need(data / "maccrobat2020"), "brat")]
    schema = schema_infer(docs)
    assert len({t.name for t in schema.entity_types} | {t.name for t in schema.event_types}) == 41
    assert {r.name for r in schema.relation_types} == {
        "MODIFY",
        "BEFORE",
        "SUB_PROCEDURE",
        "IDENTICAL",
        "AFTER",
        "CAUSE",
        "CO-OCCURRENCE",
    }
    assert {a.name for a in schema.attribute_types} == {"POLARITY", "TREND"}
    assert [p for d in docs for p in document_problems(d, schema)] == []


def test_ade_corpus_gives_the_published_relation_counts(data):
    counts: Counter = Counter()
    for result in read_corpus(need(data / "ade_corpus_v2"), "ade"):
        assert result.problems == [], [str(p) for p in result.problems]
        counts.update(r.type for r in result.document.relations)
        counts[f"label:{result.document.label}"] += 1
    assert counts["Adverse-Effect"] == 6_821
    assert counts["Dose"] == 279
    assert counts["label:ade"] == 4_272  # distinct (PMID, sentence) pairs in DRUG-AE.rel
    assert counts["label:no_ade"] == 16_695  # one per NEG line (7 lines repeat a sentence)


@pytest.mark.parametrize(
    "name,chemicals,diseases,cids",
    [
        ("CDR_TrainingSet", 5_203, 4_182, 1_038),
        ("CDR_DevelopmentSet", 5_347, 4_244, 1_012),
        ("CDR_TestSet", 5_385, 4_424, 1_066),
    ],
)
def test_bc5cdr_gives_the_published_counts(data, name, chemicals, diseases, cids):
    counts: Counter = Counter()
    for result in read_corpus(need(data / "bc5cdr" / f"{name}.PubTator.txt"), "pubtator"):
        assert result.problems == [], [str(p) for p in result.problems]
        counts.update(e.type for e in result.document.entities)
        counts["CID"] += len(result.document.relations)
        counts["documents"] += 1
    assert (counts["documents"], counts["Chemical"], counts["Disease"], counts["CID"]) == (
        500,
        chemicals,
        diseases,
        cids,
    )
