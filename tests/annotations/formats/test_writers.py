"""Streaming writers: brat (dir / zip, with configs), JSONL, CoNLL."""

from __future__ import annotations

import zipfile

import pytest

from annotations.formats.canonical import canonical_diff
from annotations.formats.document import Document, Entity, Span
from annotations.formats.registry import find_schema, read_corpus, write_corpus
from annotations.formats.writers import conll_lines

from .conftest import FIXTURES

GOOD = FIXTURES / "brat" / "good"


def good_docs():
    return [r.document for r in read_corpus(GOOD, "brat")]


@pytest.mark.parametrize("target", ["out", "out.zip"])
def test_brat_corpus_round_trips_through_a_directory_or_zip_with_its_schema(tmp_path, target):
    schema = find_schema(GOOD)
    written = write_corpus((d for d in good_docs()), tmp_path / target, "brat", schema=schema)
    assert written == 4
    again = [r.document for r in read_corpus(tmp_path / target, "brat")]
    for a, b in zip(good_docs(), again, strict=True):
        assert a.id == b.id and a.text == b.text
        assert canonical_diff(a, b) == []
    assert find_schema(tmp_path / target) == schema


def test_brat_txt_is_written_byte_identically(tmp_path):
    write_corpus(good_docs(), tmp_path / "out", "brat")
    for name in ("crlf.txt", "unicode.txt", "basic.txt", "sub/unannotated.txt"):
        assert (tmp_path / "out" / name).read_bytes() == (GOOD / name).read_bytes()


def test_zip_output_writes_one_member_per_file(tmp_path):
    write_corpus(good_docs(), tmp_path / "out.zip", "brat")
    with zipfile.ZipFile(tmp_path / "out.zip") as zf:
        assert sorted(zf.namelist())[:2] == ["basic.ann", "basic.txt"]
        assert "sub/unannotated.ann" in zf.namelist()


@pytest.mark.parametrize("target", ["out", "out.zip"])
def test_document_ids_that_are_no_file_names_are_written_under_safe_distinct_names(tmp_path, target):
    ids = ["../evil", "/abs", "a:b", "c\\d", "nul\x00x", ".hidden", "x" * 400, "a_b", "ok/sub"]
    assert write_corpus([Document(id=i, text=f"t{n}") for n, i in enumerate(ids)], tmp_path / target, "brat") == 9
    names = (
        zipfile.ZipFile(tmp_path / target).namelist()
        if target.endswith(".zip")
        else [p.relative_to(tmp_path / target).as_posix() for p in (tmp_path / target).rglob("*") if p.is_file()]
    )
    assert len(names) == 18 and "a_b.txt" in names and "ok/sub.txt" in names
    for name in names:
        parts = name.split("/")
        assert not {":", "\\", "\x00"} & set(name) and ".." not in parts and not name.startswith("/")
        assert not any(p.startswith(".") for p in parts) and all(len(p.encode()) <= 120 for p in parts)
    assert [p for p in tmp_path.iterdir()] == [tmp_path / target]  # nothing written outside the target
    read_back = sorted(r.document.text for r in read_corpus(tmp_path / target, "brat"))
    assert read_back == sorted(f"t{n}" for n in range(9))


@pytest.mark.parametrize("target", ["out", "out.zip", "out.jsonl"])
def test_a_writer_that_fails_midway_leaves_no_partial_output(tmp_path, target):
    def documents():
        yield Document(id="one", text="first")
        raise RuntimeError("the database went away")

    fmt = "jsonl" if target.endswith(".jsonl") else "brat"
    with pytest.raises(RuntimeError):
        write_corpus(documents(), tmp_path / target, fmt)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("target", ["corpus.jsonl", "folder", "corpus.zip"])
def test_jsonl_round_trip_is_lossless(tmp_path, target):
    docs = [r.document for r in read_corpus(FIXTURES / "jsonl" / "good.jsonl", "jsonl")]
    assert write_corpus(iter(docs), tmp_path / target, "jsonl") == 4
    assert [r.document for r in read_corpus(tmp_path / target, "jsonl")] == docs


def test_jsonl_file_is_what_the_fixture_holds(tmp_path):
    docs = [r.document for r in read_corpus(FIXTURES / "jsonl" / "good.jsonl", "jsonl")]
    write_corpus(docs, tmp_path / "c.jsonl", "jsonl")
    assert (tmp_path / "c.jsonl").read_bytes() == (FIXTURES / "jsonl" / "good.jsonl").read_bytes()


def test_conll_bio_tags_discontinuous_first_fragment_and_longest_overlap():
    text = "Severe skin rash after aspirin.\nNo fever."
    doc = Document(
        id="d1",
        text=text,
        entities=(
            Entity("T1", "Adverse-Effect", (Span(0, 16),), "Severe skin rash"),
            Entity("T2", "Body", (Span(7, 11),), "skin"),  # inside T1: dropped
            Entity("T3", "Drug", (Span(23, 30),), "aspirin"),
            Entity("T4", "Adverse-Effect", (Span(35, 40), Span(0, 6)), "fever Severe"),  # first fragment only
        ),
    )
    assert list(conll_lines(doc)) == [
        "-DOCSTART- d1",
        "",
        "Severe\tB-Adverse-Effect",
        "skin\tI-Adverse-Effect",
        "rash\tI-Adverse-Effect",
        "after\tO",
        "aspirin\tB-Drug",
        ".\tO",
        "",
        "No\tO",
        "fever\tB-Adverse-Effect",
        ".\tO",
        "",
    ]


def test_conll_writer_streams_to_a_file(tmp_path):
    n = write_corpus((d for d in good_docs()), tmp_path / "x.conll", "conll")
    assert n == 4
    content = (tmp_path / "x.conll").read_text("utf-8")
    assert content.count("-DOCSTART-") == 4
    # Tokens are cut at entity edges, so unspaced Korean / Chinese entities keep exact boundaries.
    assert "두통\tB-Adverse-Effect\n이\tO\n" in content
    assert "阿司匹林\tB-Drug\n后出现\tO\n皮疹\tB-Adverse-Effect\n" in content


def test_unknown_output_format(tmp_path):
    with pytest.raises(ValueError, match="unknown output format 'pubtator'"):
        write_corpus([], tmp_path / "x", "pubtator")


def test_find_schema_is_none_without_annotation_conf():
    assert find_schema(FIXTURES / "brat" / "broken") is None
