"""ADE-Corpus-V2, PubTator and JSONL readers on the small fixtures."""

from __future__ import annotations

import pytest

from annotations.formats.canonical import canonical_diff
from annotations.formats.registry import read_corpus

from .conftest import FIXTURES


def docs(results):
    return [r.document for r in results]


# ---------------------------------------------------------------------------------------------- ADE


def test_ade_one_document_per_sentence_with_labels():
    results = list(read_corpus(FIXTURES / "ade", "ade"))
    assert all(r.problems == [] for r in results)
    assert [(d.id, d.label) for d in docs(results)] == [
        ("111_1", "ade"),
        ("222_1", "ade"),
        ("555_1", "ade"),
        ("333_1", "no_ade"),
        ("333_2", "no_ade"),  # a repeated NEG line is a second occurrence, kept
        ("444_1", "no_ade"),
    ]


def test_ade_repeated_mention_is_located_by_the_sentence_anchor():
    doc = docs(read_corpus(FIXTURES / "ade", "ade"))[0]
    first, second = (i for i in range(len(doc.text)) if doc.text.startswith("aspirin", i))
    ents = {e.id: e for e in doc.entities}
    fever_rel, rash_rel = doc.relations
    assert ents[fever_rel.arg1].spans[0].start == first
    assert ents[rash_rel.arg1].spans[0].start == second
    assert ents[fever_rel.arg2].text == "fever"


def test_ade_sentence_where_every_mention_repeats_is_still_anchored():
    doc = docs(read_corpus(FIXTURES / "ade", "ade"))[2]
    ents = {e.id: e for e in doc.entities}
    (rel,) = doc.relations
    # rash at 31 (second) and aspirin at 9 (first): the only anchor (500) that places both.
    assert (ents[rel.arg1].spans[0].start, ents[rel.arg2].spans[0].start) == (9, 31)


def test_ade_relation_directions_and_shared_entities():
    doc = docs(read_corpus(FIXTURES / "ade", "ade"))[1]
    types = {e.id: e.type for e in doc.entities}
    assert [(r.type, types[r.arg1], types[r.arg2]) for r in doc.relations] == [
        ("Adverse-Effect", "Drug", "Adverse-Effect"),
        ("Dose", "Drug", "Dose"),
    ]
    assert len(doc.entities) == 3  # isoniazid is one entity used by both relations
    assert doc.metadata == {"pmid": "222"}


def test_ade_malformed_row_is_reported_and_the_rest_is_kept(tmp_path):
    (tmp_path / "DRUG-AE.rel").write_text(
        "1|Rash from aspirin.|rash|0|4|aspirin|10|17\nbroken|row\n", "utf-8"
    )
    results = list(read_corpus(tmp_path, "ade"))
    assert [str(p) for r in results for p in r.problems] == [
        "DRUG-AE.rel:2: expected 8 '|'-separated fields (PMID|sentence|mention|begin|end|drug|begin|end)"
    ]
    assert [d.id for d in docs(results) if d] == ["1_1"]


# ----------------------------------------------------------------------------------------- PubTator


def test_pubtator_text_is_title_space_abstract_and_offsets_match():
    results = list(read_corpus(FIXTURES / "pubtator", "pubtator"))
    doc = results[0].document
    assert doc.text.startswith("Naloxone reverses") and " Clonidine caused" in doc.text
    for e in doc.entities:
        assert doc.text[e.spans[0].start : e.spans[0].end] == e.text


def test_pubtator_normalizations_split_composites_and_skip_minus_one():
    doc = read_corpus(FIXTURES / "pubtator", "pubtator").__next__().document
    by_target = {}
    for n in doc.normalizations:
        by_target.setdefault(n.target, []).append((n.resource, n.resource_id, n.text))
    ocular = next(e for e in doc.entities if e.text.startswith("ocular"))
    assert by_target[ocular.id] == [
        ("MESH", "D014786", "Ocular toxicity"),
        ("MESH", "D006311", "auditory toxicity"),
    ]
    nalozone = next(e for e in doc.entities if e.text == "nalozone")
    assert nalozone.id not in by_target


def test_pubtator_cid_links_first_mention_of_each_id():
    doc = read_corpus(FIXTURES / "pubtator", "pubtator").__next__().document
    ents = {e.id: e for e in doc.entities}
    pairs = [(ents[r.arg1].text, ents[r.arg2].text) for r in doc.relations]
    # clonidine occurs in the title (49) and the abstract (Clonidine, 60): the first one is used.
    assert pairs == [("clonidine", "hypotension"), ("clonidine", "ocular and auditory toxicity")]
    assert doc.metadata["cid"] == [["D003000", "D007022"], ["D003000", "D006311"]]


def test_pubtator_broken_document_does_not_drop_the_others():
    results = list(read_corpus(FIXTURES / "pubtator", "pubtator"))
    assert [r.document.id if r.document else None for r in results] == ["100", "200", None]
    assert [str(p) for p in results[2].problems] == [
        "sample.PubTator.txt:22: T1: offset 99 is past the end of the text (length 22)",
        "sample.PubTator.txt:23: CID D9-D8: no mention of D9 in the document",
    ]


# -------------------------------------------------------------------------------------------- JSONL


def test_jsonl_is_lossless_against_brat():
    from_jsonl = docs(read_corpus(FIXTURES / "jsonl" / "good.jsonl", "jsonl"))
    from_brat = docs(read_corpus(FIXTURES / "brat" / "good", "brat"))
    assert [d.id for d in from_jsonl] == [d.id for d in from_brat]
    assert from_jsonl[0].label == "ade" and from_jsonl[0].entities[0].confidence == 0.75
    for a, b in zip(from_jsonl[1:], from_brat[1:], strict=True):
        assert a == b
    assert canonical_diff(from_jsonl[0], from_brat[0]) == ["only in first: ('label', 'ade')"]


def test_jsonl_errors_give_the_line_and_keep_going():
    results = list(read_corpus(FIXTURES / "jsonl" / "broken.jsonl", "jsonl"))
    assert [r.document.id if r.document else None for r in results] == [
        "unicode",
        None,
        None,
        None,
        None,
        "unicode",
    ]
    problems = [str(p) for r in results for p in r.problems]
    assert problems[0].startswith("broken.jsonl:2: invalid JSON:")
    assert problems[1:] == [
        "broken.jsonl:3: 'text' must be a string, got NoneType",
        "broken.jsonl:4: T1: offset 9 is past the end of the text (length 3)",
        "broken.jsonl:4: R1: Arg2 refers to T7, which does not exist",
        "broken.jsonl:5: each line must be a JSON object",
    ]


def test_unknown_format_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown input format 'xml'; known: ade, brat, fhir, jsonl, pubtator"):
        read_corpus(FIXTURES, "xml")


def test_ade_folder_without_drug_ae_rel_is_refused(tmp_path):
    from annotations.formats.document import FormatError

    with pytest.raises(FormatError, match="no DRUG-AE.rel found"):
        next(read_corpus(tmp_path, "ade"))


def test_a_jsonl_line_nested_too_deep_is_its_own_problem_and_the_other_lines_are_read(tmp_path):
    deep = '{"id": "deep", "text": "x", "metadata": {"a": ' + "[" * 5000 + "]" * 5000 + "}}"
    path = tmp_path / "n.jsonl"
    path.write_text('{"id": "a", "text": "one"}\n' + deep + '\n{"id": "b", "text": "two"}\n', encoding="utf-8")
    results = list(read_corpus(path, "jsonl"))
    assert [r.document.id for r in results if r.ok] == ["a", "b"]
    (bad,) = [r for r in results if not r.ok]
    assert [str(p) for p in bad.problems] == ["n.jsonl:2: the JSON is nested too deeply"]
