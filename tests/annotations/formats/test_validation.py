"""document_problems: the rule check every writer calls."""

from __future__ import annotations

from annotations.formats.brat_conf import load_schema
from annotations.formats.document import Attribute, Document, Entity, Event, Relation, Span
from annotations.formats.validation import document_problems

from .conftest import FIXTURES

TEXT = "Aspirin 100 mg caused a rash; diabetes; morphine."


def ent(eid, etype, word, n=0):
    start = -1
    for _ in range(n + 1):
        start = TEXT.index(word, start + 1)
    return Entity(eid, etype, (Span(start, start + len(word)),), word)


ENTITIES = (
    ent("T1", "Drug", "Aspirin"),
    ent("T2", "Dose", "100 mg"),
    ent("T3", "Adverse-Effect", "rash"),
    ent("T4", "Rare-disease", "diabetes"),
    ent("T5", "Drug", "morphine"),
)


def schema():
    conf = FIXTURES / "conf"
    return load_schema((conf / "annotation.conf").read_text("utf-8"))


def problems(**parts):
    doc = Document(id="d", text=TEXT, entities=parts.pop("entities", ENTITIES), **parts)
    return [p.message for p in document_problems(doc, schema(), source="d.ann")]


def test_valid_document_has_no_problems():
    rels = (Relation("R1", "Adverse-Effect", "T1", "T3"), Relation("R2", "Adverse-Effect", "T1", "T4"))
    assert problems(relations=rels) == []


def test_relation_argument_type_message_is_actionable():
    assert problems(relations=(Relation("R1", "Adverse-Effect", "T3", "T3"),)) == [
        "R1: relation Adverse-Effect: Arg1 T3 is a Adverse-Effect, the schema allows Drug"
    ]


def test_hierarchy_allows_subtypes_of_allowed_types():
    # Rare-disease < Disease < Disorder, and the relation allows Disorder.
    assert problems(relations=(Relation("R1", "Adverse-Effect", "T5", "T4"),)) == []


def test_unknown_types_and_roles():
    out = problems(
        entities=(*ENTITIES, ent("T6", "Gene", "rash")),
        relations=(Relation("R1", "Treats", "T1", "T3"), Relation("R2", "Dose", "T1", "T2", "Head", "Tail")),
    )
    assert out == [
        "T6: entity type Gene is not in the schema",
        "R1: relation type Treats is not in the schema",
        "R2: relation Dose: roles are Head/Tail, the schema expects Arg1/Arg2",
    ]


def test_non_annotatable_type_is_refused():
    assert problems(entities=(ent("T1", "Substance", "Aspirin"),)) == [
        "T1: entity type Substance is a grouping type of the schema and cannot be annotated"
    ]


def test_event_roles_types_and_cardinality():
    trig = ent("T9", "Administration", "caused")
    events = (
        Event(
            "E1",
            "Administration",
            "T9",
            (("Drug", "T1"), ("Dose", "T2"), ("Effect", "T3"), ("Effect2", "T3")),
        ),
        Event("E2", "Administration", "T9", (("Dose", "T2"), ("Dose2", "T2"), ("Site", "T1"))),
        Event("E3", "Treatment", "T9", (("Theme", "T3"),)),
    )
    out = problems(entities=(*ENTITIES, trig), events=events)
    assert out == [
        "E2: event Administration has no role Site (allowed roles: Drug, Dose, Effect)",
        "E2: event Administration needs a Drug argument",
        "E2: event Administration allows one Dose argument, it has 2",
        "E3: event Treatment: trigger T9 is a Administration, expected a Treatment",
        "E3: event Treatment: Theme T3 is a Adverse-Effect, the schema allows <EVENT> or Drug",
    ]


def test_attribute_name_target_and_value():
    attrs = (
        Attribute("A1", "Negated", "T3"),
        Attribute("A2", "Negated", "T1"),
        Attribute("A3", "Negated", "T3", "yes"),
        Attribute("A4", "Certainty", "T1", "certain"),
        Attribute("A5", "Certainty", "T1"),
        Attribute("A6", "Mood", "T1", "x"),
        Attribute("A7", "Certainty", "T1", "high"),
    )
    assert problems(attributes=attrs) == [
        "A2: attribute Negated on T1, a Drug: the schema allows it on Adverse-Effect",
        "A3: attribute Negated is binary and takes no value (got 'yes')",
        "A4: attribute Certainty value 'certain' is not allowed, the schema allows low or medium or high",
        "A5: attribute Certainty needs a value: low or medium or high",
        "A6: attribute Mood is not in the schema",
    ]


def test_structure_is_checked_without_a_schema():
    doc = Document(
        id="d",
        text="abc",
        entities=(Entity("T1", "X", (Span(0, 9),), "abc"), Entity("T1", "X", (Span(2, 1),), "")),
        relations=(Relation("R1", "Y", "T1", "A9"),),
    )
    out = [str(p) for p in document_problems(doc, None, source="f.ann", lines={"T1": 3, "R1": 7})]
    assert out == [
        "f.ann:3: T1: duplicate id (2 annotations use it)",
        "f.ann:3: T1: offset 9 is past the end of the text (length 3)",
        "f.ann:3: T1: empty or reversed span 2-1 (start must be < end)",
        "f.ann:7: R1: Arg2 refers to A9, which does not exist",
    ]


def test_overlap_rules_are_ignored_in_validation():
    assert problems(relations=(Relation("R1", "<OVERLAP>", "T1", "T5"),)) == [
        "R1: relation type '<OVERLAP>' may hold only letters, digits and _ . : + / - "
        "(at most 100, starting with a letter, digit or _)",
        "R1: relation type <OVERLAP> is not in the schema",
    ]


def test_ids_and_names_must_be_writable_as_brat():
    doc = Document(
        id="d",
        text=TEXT,
        entities=(
            Entity("X1", "Drug", (Span(0, 7),), "Aspirin"),
            Entity("T2", "Adverse Effect", (Span(24, 28),), "rash"),
        ),
        relations=(Relation("R1", "ADE", "X1", "T2"),),
    )
    assert [str(p) for p in document_problems(doc, None, source="d")] == [
        "d: X1: entity id must be T followed by a number or name, without spaces",
        "d: T2: entity type 'Adverse Effect' may hold only letters, digits and _ . : + / - "
        "(at most 100, starting with a letter, digit or _)",
    ]


def test_symmetric_relation_may_be_stored_in_either_direction():
    from annotations.formats.schema import EntityType, RelationType, Schema

    types = tuple(EntityType(n) for n in ("Drug", "Dose", "Adverse-Effect", "Rare-disease"))
    doc = Document(id="d", text=TEXT, entities=ENTITIES, relations=(Relation("R1", "Pair", "T2", "T1"),))
    for symmetric, expected in (
        (True, []),
        (False, ["R1: relation Pair: Arg1 T2 is a Dose, the schema allows Drug"]),
    ):
        rel = RelationType("Pair", arg1_types=("Drug",), arg2_types=("Dose", "Drug"), symmetric=symmetric)
        schema = Schema(entity_types=types, relation_types=(rel,))
        assert [p.message for p in document_problems(doc, schema)] == expected
