"""Ids and names from a corpus: one pattern (annotations.formats.names) that every reader and the API
apply, so a document whose ids or names carry markup is refused whole with file:line (issue 13)."""

from __future__ import annotations

from annotations.formats.brat import read_brat_document
from annotations.formats.names import LOCAL_ID_PATTERN, NAME_PATTERN, is_local_id, is_name
from annotations.formats.registry import read_corpus

from .conftest import FIXTURES

INJECTION = FIXTURES / "injection"


def test_usual_brat_ids_and_names_are_accepted():
    assert all(is_local_id(x) for x in ("T1", "R12", "E3", "A1", "M2", "N1", "#1", "T1.2", "T_a-b"))
    assert all(is_name(x) for x in ("Drug", "Adverse-Effect", "Positive_regulation", "Theme2", "Fármaco", "MeSH:D1"))


def test_ids_and_names_with_markup_quotes_or_css_are_refused():
    for value in ('T"><i/hx-trigger="load"/x=', "T1'", "T1<", "T 1", "T1\n", "", "T" * 33, "T1{}"):
        assert not is_local_id(value), value
    for value in ('Drug"', "Drug<b>", "a=b", "red}#x{", "url(x)", "Drug x", "", "-Drug", "x" * 101, "a;b"):
        assert not is_name(value), value


def test_brat_document_with_injected_ids_and_names_is_refused_with_file_and_line():
    result = read_brat_document(
        (INJECTION / "injected_ids.txt").read_bytes(),
        (INJECTION / "injected_ids.ann").read_bytes(),
        doc_id="injected_ids",
        txt_name="injected_ids.txt",
        ann_name="injected_ids.ann",
    )
    assert result.document is None  # skipped whole: no part of it is imported
    problems = [str(p) for p in result.problems]
    assert (
        "injected_ids.ann:2: entity id 'T\"><i/hx-trigger=\"load\"/x=' may hold only letters, digits and "
        "_ # * . - (at most 32)" in problems
    )
    assert any(p.startswith("injected_ids.ann:3: T3: entity type 'Adverse-Effect\"hx-post=") for p in problems)
    assert any(p.startswith("injected_ids.ann:5: A1: attribute name 'Neg<b>ated'") for p in problems)


def test_jsonl_document_with_an_injected_id_is_refused_and_the_others_kept():
    results = list(read_corpus(INJECTION / "injected.jsonl", "jsonl"))
    assert [r.document.id if r.document else None for r in results] == ["fine", None]
    assert [str(p) for p in results[1].problems] == [
        "injected.jsonl:2: entity id \"T2'onmouseover='x\" may hold only letters, digits and _ # * . - (at most 32)"
    ]


def test_pubtator_document_with_an_injected_type_is_refused_and_the_others_kept():
    results = list(read_corpus(INJECTION / "injected.PubTator.txt", "pubtator"))
    assert [r.document.id if r.document else None for r in results] == [None, "8"]
    assert any("entity type 'Chemical}x{'" in str(p) and ":3:" in str(p) for p in results[0].problems)


def test_the_api_uses_the_same_patterns():
    from annotations.api import serializers

    def patterns(field):
        return [v.regex.pattern for v in field.validators if hasattr(v, "regex")]

    assert patterns(serializers.local_id_field()) == [LOCAL_ID_PATTERN]
    assert patterns(serializers.type_field()) == [NAME_PATTERN]
