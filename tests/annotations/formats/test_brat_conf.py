"""annotation.conf / visual.conf parsing and writing."""

from __future__ import annotations

import pytest

from annotations.formats.brat_conf import (
    load_schema,
    parse_annotation_conf,
    parse_visual_conf,
    write_annotation_conf,
    write_visual_conf,
)
from annotations.formats.document import FormatError
from annotations.formats.schema import EventRole

from .conftest import FIXTURES

CONF = FIXTURES / "conf"


def load():
    return load_schema(
        (CONF / "annotation.conf").read_text("utf-8"), (CONF / "visual.conf").read_text("utf-8")
    )


def test_entity_hierarchy_and_non_annotatable_types():
    schema = load()
    types = {t.name: t for t in schema.entity_types}
    assert types["Drug"].parent == "Substance"
    assert types["Rare-disease"].parent == "Disease"
    assert types["Disease"].parent == "Disorder"
    assert types["Adverse-Effect"].parent == "Disorder"
    assert types["Substance"].annotatable is False
    assert types["Disorder"].annotatable is True


def test_relations_keep_overlap_lines_options_and_expand_macros():
    schema = load()
    rels = {r.name: r for r in schema.relation_types}
    assert rels["Adverse-Effect"].arg1_types == ("Drug",)
    assert rels["Equiv"].arg1_types == ("Drug", "Dose")
    assert rels["Equiv"].symmetric is True
    assert rels["<OVERLAP>"].options == ("<OVL-TYPE>:contain",)


def test_event_roles_carry_cardinality():
    schema = load()
    events = {e.name: e for e in schema.event_types}
    assert events["Administration"].roles == (
        EventRole("Drug", ("Drug",), ""),
        EventRole("Dose", ("Dose",), "?"),
        EventRole("Effect", ("Adverse-Effect",), "*"),
    )
    assert events["Treatment"].roles == (EventRole("Theme", ("<EVENT>", "Drug"), "+"),)


def test_attributes_binary_and_valued():
    schema = load()
    attrs = {a.name: a for a in schema.attribute_types}
    assert attrs["Negated"].values == ()
    assert attrs["Certainty"].targets == ("<ENTITY>", "<EVENT>")
    assert attrs["Certainty"].values == ("low", "medium", "high")


def test_visual_conf_labels_and_colours():
    schema = load()
    assert schema.visual["Adverse-Effect"].label == "Adverse effect"
    assert schema.visual["Drug"].colour == "#7fa2ff"
    assert schema.visual["SPAN_DEFAULT"].colour == "lightgreen"


def test_schema_round_trips_through_written_conf():
    schema = load()
    again = load_schema(write_annotation_conf(schema), write_visual_conf(schema))
    assert again == schema


def test_broken_conf_reports_every_problem_with_lines():
    _, problems = parse_annotation_conf((CONF / "broken.conf").read_text("utf-8"), "broken.conf")
    assert [str(p) for p in problems] == [
        "broken.conf:1: line outside a known section: 'Drug'",
        "broken.conf:5: Treats: a relation needs exactly two arguments",
        "broken.conf:6: Causes: malformed arguments (expected 'Role:Type|Type, ...')",
        "broken.conf:7: unknown section [colours]",
        "broken.conf:9: Neg: attribute needs 'Arg:Type'",
    ]
    assert all(p.file == "broken.conf" for p in problems)
    with pytest.raises(FormatError):
        load_schema((CONF / "broken.conf").read_text("utf-8"))


def test_visual_conf_malformed_label():
    _, problems = parse_visual_conf("[labels]\nDrug\n", "visual.conf")
    assert [str(p) for p in problems] == [
        "visual.conf:2: malformed label line (expected 'Type | Long | Short')"
    ]


def test_visual_conf_colours_must_be_hex_or_css_names_and_names_plain():
    """A colour is written into the editor's stylesheet: anything but #rgb, #rrggbb or a CSS colour name
    is a problem of its line, so the conf is refused whole (issue 13)."""
    visual, problems = parse_visual_conf((FIXTURES / "injection" / "visual.conf").read_text("utf-8"))
    assert [str(p) for p in problems] == [
        "visual.conf:6: Adverse-Effect: colour 'red}#note-text{color:red}' is not #rgb, #rrggbb or a CSS colour name",
        "visual.conf:7: Dose: colour 'url(/p/other/notes/5/)' is not #rgb, #rrggbb or a CSS colour name",
        "visual.conf:8: type name 'Adverse\"x' may hold only letters, digits and _ . : + / - "
        "(at most 100, starting with a letter, digit or _)",
    ]
    assert {name: style.colour for name, style in visual.items()} == {
        "Drug": "#7fa2ff", "Disease": "RebeccaPurple", "Route": "#abc"
    }
    # A label is free text (escaped wherever it is shown), not a name.
    assert visual["Drug"].label.startswith("Drug<b hx-post=")
    with pytest.raises(FormatError):
        load_schema("[entities]\nDrug\n", (FIXTURES / "injection" / "visual.conf").read_text("utf-8"))


def test_annotation_conf_type_names_must_be_plain():
    _, problems = parse_annotation_conf('[entities]\nDrug\nDrug"><i>\n[relations]\n<OVERLAP>\tArg1:<ENTITY>, Arg2:<ENTITY>\n')
    assert [str(p) for p in problems] == [
        "annotation.conf:3: type name 'Drug\"><i>' may hold only letters, digits and _ . : + / - "
        "(at most 100, starting with a letter, digit or _)"
    ]
