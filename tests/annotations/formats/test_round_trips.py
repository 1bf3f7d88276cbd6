"""Every good fixture of every format survives parse -> write -> parse, through brat and through JSONL.

brat has no place for the note label, metadata or confidences, so those are compared only through JSONL.
"""

from __future__ import annotations

import dataclasses

import pytest

from annotations.formats.canonical import canonical_diff
from annotations.formats.registry import read_corpus, write_corpus

from .conftest import FIXTURES

SOURCES = [
    ("brat", FIXTURES / "brat" / "good"),
    ("ade", FIXTURES / "ade"),
    ("pubtator", FIXTURES / "pubtator"),
    ("jsonl", FIXTURES / "jsonl" / "good.jsonl"),
]


def good_documents(fmt, path):
    return [r.document for r in read_corpus(path, fmt) if r.document is not None]


@pytest.mark.parametrize("fmt,path", SOURCES, ids=[s[0] for s in SOURCES])
def test_fixture_round_trips_through_brat(tmp_path, fmt, path):
    docs = good_documents(fmt, path)
    assert docs
    write_corpus(docs, tmp_path / "out", "brat")
    again = {r.document.id: r for r in read_corpus(tmp_path / "out", "brat")}
    for doc in docs:
        result = again[doc.id]
        assert result.problems == []
        assert result.document.text == doc.text
        assert canonical_diff(dataclasses.replace(doc, label=None), result.document) == []


@pytest.mark.parametrize("fmt,path", SOURCES, ids=[s[0] for s in SOURCES])
def test_fixture_round_trips_through_jsonl_exactly(tmp_path, fmt, path):
    docs = good_documents(fmt, path)
    write_corpus(docs, tmp_path / "out.zip", "jsonl")
    assert [r.document for r in read_corpus(tmp_path / "out.zip", "jsonl")] == docs
