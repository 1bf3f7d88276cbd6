"""schema_infer: a schema from the data, for corpora without annotation.conf."""

from __future__ import annotations

from annotations.formats.infer import schema_infer
from annotations.formats.registry import read_corpus
from annotations.formats.schema import EventRole
from annotations.formats.validation import document_problems

from .conftest import FIXTURES


def test_inferred_schema_describes_the_fixture_and_accepts_it():
    docs = [r.document for r in read_corpus(FIXTURES / "brat" / "good", "brat")]
    schema = schema_infer(iter(docs))
    assert {t.name for t in schema.entity_types} == {"Drug", "Dose", "Adverse-Effect", "Other", "Span"}
    events = {e.name: e for e in schema.event_types}
    assert events["Resolve"].roles == (
        EventRole("Cause", ("Stop",), ""),
        EventRole("Theme", ("Develop",), ""),
    )
    rels = {(r.name, r.arg1_types, r.arg2_types) for r in schema.relation_types}
    assert ("Adverse-Effect", ("Drug",), ("Adverse-Effect",)) in rels
    assert ("CAUSE", ("Stop",), ("Resolve",)) in rels
    attrs = {a.name: a for a in schema.attribute_types}
    assert attrs["Severity"].values == ("High",) and attrs["Negated"].values == ()
    assert attrs["Certain"].targets == ("Resolve",)
    for doc in docs:
        assert document_problems(doc, schema) == []


def test_cardinality_follows_the_counts_seen():
    from annotations.formats.brat import parse_brat

    text = "a b c"
    one = parse_brat(text, "T1\tEv 0 1\ta\nT2\tX 2 3\tb\nT3\tX 4 5\tc\nE1\tEv:T1 Theme:T2 Theme2:T3\n")
    two = parse_brat(text, "T1\tEv 0 1\ta\nE1\tEv:T1\n")
    (ev,) = schema_infer([one, two]).event_types
    assert ev.roles == (EventRole("Theme", ("X",), "*"),)
