"""Schema changes as pure functions (no database): display names and colours, rename and merge with every
reference, adding types, and what a change breaks."""

from __future__ import annotations

import pytest

from annotations.formats.brat_conf import load_schema, write_annotation_conf, write_visual_conf
from annotations.formats.document import Attribute, Document, Entity, Relation, Span
from annotations.formats.schema import EntityType, RelationType
from annotations.formats.schema_changes import (
    SchemaChangeError,
    breaking_annotations,
    document_type_rename,
    type_rename,
    type_style_set,
    types_add,
)

CONF = """[entities]
Drug
Medication
Adverse-Effect
Disease
!Finding
\tSymptom
\t\tPain

[relations]
Adverse-Effect Arg1:Drug|Medication, Arg2:Adverse-Effect
Treats Arg1:Drug, Arg2:Disease
Cites Source:Drug, Target:Disease

[events]
Administration Agent:Drug, Effect?:Adverse-Effect|Symptom

[attributes]
Negation Arg:Adverse-Effect|Symptom
Certainty Arg:Adverse-Effect, Value:certain|possible
"""
VISUAL = """[labels]
Drug | Drug name
Adverse-Effect | Adverse effect

[drawing]
Drug bgColor:#8fb8ff
Medication bgColor:teal
"""


@pytest.fixture
def schema():
    return load_schema(CONF, VISUAL)


def _error(call) -> str:
    with pytest.raises(SchemaChangeError) as info:
        call()
    return info.value.code


def test_a_rename_rewrites_every_reference_to_the_type(schema):
    renamed = type_rename(schema, "entity", "Drug", "Medicine")
    assert [t.name for t in renamed.entity_types][:2] == ["Medicine", "Medication"]
    ae = next(r for r in renamed.relation_types if r.name == "Adverse-Effect")
    assert ae.arg1_types == ("Medicine", "Medication")
    assert next(r for r in renamed.relation_types if r.name == "Treats").arg1_types == ("Medicine",)
    assert renamed.event_types[0].roles[0].types == ("Medicine",)
    assert renamed.visual["Medicine"].label == "Drug name" and "Drug" not in renamed.visual
    # What is written back parses to the same schema.
    assert load_schema(write_annotation_conf(renamed), write_visual_conf(renamed)) == renamed


def test_renaming_a_parent_moves_its_children_and_keeps_it_a_grouping_type(schema):
    renamed = type_rename(schema, "entity", "Finding", "Observation")
    by_name = {t.name: t for t in renamed.entity_types}
    assert not by_name["Observation"].annotatable
    assert by_name["Symptom"].parent == "Observation"
    assert by_name["Pain"].parent == "Symptom"


def test_a_merge_keeps_the_targets_definition_and_style_and_drops_duplicates(schema):
    merged = type_rename(schema, "entity", "Drug", "Medication")
    assert "Drug" not in [t.name for t in merged.entity_types]
    ae = next(r for r in merged.relation_types if r.name == "Adverse-Effect")
    assert ae.arg1_types == ("Medication",)  # Drug|Medication became one
    assert merged.visual["Medication"].colour == "teal" and "Drug" not in merged.visual


def test_merging_a_type_into_its_own_descendant_makes_no_cycle(schema):
    merged = type_rename(schema, "entity", "Symptom", "Pain")
    by_name = {t.name: t for t in merged.entity_types}
    assert by_name["Pain"].parent == "Finding"


def test_a_name_shared_with_another_kind_keeps_naming_that_one(schema):
    """brat schemas call an entity and a relation "Adverse-Effect": renaming the entity leaves the relation,
    its display name and the attribute targets that may mean it."""
    renamed = type_rename(schema, "entity", "Adverse-Effect", "Reaction")
    assert any(r.name == "Adverse-Effect" for r in renamed.relation_types)
    assert renamed.visual["Adverse-Effect"].label == renamed.visual["Reaction"].label == "Adverse effect"
    negation = next(a for a in renamed.attribute_types if a.name == "Negation")
    assert negation.targets == ("Reaction", "Adverse-Effect", "Symptom")


@pytest.mark.parametrize(
    "kind,old,new,code",
    [
        ("entity", "Drug", "Bad name", "bad_name"),
        ("entity", "Drug", "x<y", "bad_name"),
        ("entity", "Drug", "Treats", "cross_kind"),
        ("entity", "Nope", "Other", "unknown_type"),
        ("entity", "Drug", "Drug", "same_name"),
        ("entity", "Disease", "Finding", "grouping_target"),
        ("colour", "Drug", "X", "bad_kind"),
    ],
)
def test_invalid_renames_are_refused(schema, kind, old, new, code):
    assert _error(lambda: type_rename(schema, kind, old, new)) == code


def test_style_set_validates_label_and_colour(schema):
    styled = type_style_set(schema, "Disease", label="<b>Disease</b>", colour="#AbC")
    assert styled.visual["Disease"].label == "<b>Disease</b>"  # markup is text: every page escapes it
    assert type_style_set(styled, "Disease", label="", colour="").visual.get("Disease") is None
    assert _error(lambda: type_style_set(schema, "Drug", label=None, colour="red}#note-text{color:red")) == "bad_colour"
    assert _error(lambda: type_style_set(schema, "Drug", label=None, colour="url(x)")) == "bad_colour"
    assert _error(lambda: type_style_set(schema, "Drug", label="a\nb", colour=None)) == "bad_label"
    assert _error(lambda: type_style_set(schema, "Drug", label="a\u202eb", colour=None)) == "bad_label"
    assert _error(lambda: type_style_set(schema, "Drug", label="a | b", colour=None)) == "bad_label"
    assert _error(lambda: type_style_set(schema, "Drug", label="x" * 61, colour=None)) == "bad_label"
    assert _error(lambda: type_style_set(schema, "Nope", label="x", colour=None)) == "unknown_type"


def test_types_add_adds_only_what_is_missing(schema):
    changed, added = types_add(
        schema, entity_types=["Drug", "Route", EntityType("Headache", parent="Symptom")], relation_types=["Has-Route"],
    )
    assert added == [("entity", "Route"), ("entity", "Headache"), ("relation", "Has-Route")]
    assert next(r for r in changed.relation_types if r.name == "Has-Route") == RelationType("Has-Route")
    assert _error(lambda: types_add(schema, entity_types=["Treats"])) == "cross_kind"
    assert _error(lambda: types_add(schema, entity_types=[EntityType("X", parent="Nope")])) == "unknown_parent"


def test_breaking_annotations_names_what_a_merge_breaks_and_not_what_was_broken(schema):
    text = "aspirin for flu; ibuprofen"
    doc = Document(
        id="d1", text=text,
        entities=(
            Entity("T1", "Drug", (Span(0, 7),), "aspirin"), Entity("T2", "Disease", (Span(12, 15),), "flu"),
            Entity("T3", "Drug", (Span(17, 26),), "ibuprofen"),
        ),
        relations=(Relation("R1", "Treats", "T1", "T2"), Relation("R2", "Cites", "T3", "T2", "Source", "Target")),
        attributes=(Attribute("A1", "Negation", "T3"),),  # already broken: Negation is not allowed on a Drug
    )
    merged = type_rename(schema, "relation", "Treats", "Adverse-Effect")
    after = document_type_rename(doc, "relation", "Treats", "Adverse-Effect")
    breaks = breaking_annotations(doc, schema, after, merged)
    assert [(b.id, b.kind, b.type) for b in breaks] == [("R1", "relation", "Treats")]
    assert "T2 is a Disease" in breaks[0].message and "flu" not in breaks[0].message
