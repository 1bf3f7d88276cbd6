"""Curation's merge (annotations.formats.curation), without a database: what two or three annotators agree
on, the disagreements as units with what each annotator has, and what each decision adds."""

from __future__ import annotations

import pytest

from annotations.formats.curation import (
    ALL,
    NONE,
    CurationConflict,
    curation_merge,
    curation_resolve,
    survival,
)
from annotations.formats.document import Attribute, Document, Entity, Event, Normalization, Relation, Span
from annotations.formats.validation import document_problems

TEXT = "Pt started warfarin 5 mg daily; developed gastric bleeding and a rash; heparin held."


def ent(local_id: str, type_: str, *words: str) -> Entity:
    spans = []
    for word in words:
        start = TEXT.index(word)
        spans.append(Span(start, start + len(word)))
    return Entity(local_id, type_, tuple(spans), " ".join(words))


def doc(*entities, relations=(), events=(), attributes=(), normalizations=(), label=None) -> Document:
    return Document("n1", TEXT, entities=tuple(entities), relations=tuple(relations), events=tuple(events),
                    attributes=tuple(attributes), normalizations=tuple(normalizations), label=label)


def kinds(merge) -> list[str]:
    return [u.kind for u in merge.disagreements]


def test_what_every_annotator_has_is_agreed_and_nothing_else():
    a = doc(ent("T1", "Drug", "warfarin"), ent("T2", "Dose", "5 mg"), ent("T3", "Adverse-Effect", "rash"),
            relations=[Relation("R1", "Adverse-Effect", "T1", "T3")],
            attributes=[Attribute("A1", "Certainty", "T3", "probable")], label="ade")
    # b lists the same things in another order and under other ids
    b = doc(ent("T7", "Adverse-Effect", "rash"), ent("T8", "Drug", "warfarin"), ent("T9", "Dose", "5 mg"),
            relations=[Relation("R4", "Adverse-Effect", "T8", "T7")],
            attributes=[Attribute("A2", "Certainty", "T7", "probable")], label="ade")
    merge = curation_merge([("ann1", a), ("ann2", b)])
    assert merge.disagreements == ()
    agreed = merge.agreed
    assert [(e.id, e.type, e.text) for e in agreed.entities] == [
        ("T1", "Drug", "warfarin"), ("T2", "Dose", "5 mg"), ("T3", "Adverse-Effect", "rash")]
    assert [(r.type, r.arg1, r.arg2) for r in agreed.relations] == [("Adverse-Effect", "T1", "T3")]
    assert [(x.name, x.target, x.value) for x in agreed.attributes] == [("Certainty", "T3", "probable")]
    assert agreed.label == "ade"
    assert document_problems(agreed, None) == []


def test_each_kind_of_disagreement_is_one_unit_with_what_each_annotator_has():
    a = doc(ent("T1", "Drug", "warfarin"), ent("T2", "Dose", "5 mg"), ent("T3", "Adverse-Effect", "gastric bleeding"),
            ent("T4", "Adverse-Effect", "rash"),
            relations=[Relation("R1", "Adverse-Effect", "T1", "T3")],
            attributes=[Attribute("A1", "Negation", "T4")], label="ade")
    b = doc(ent("T1", "Drug", "warfarin"), ent("T2", "Drug", "5 mg"), ent("T3", "Adverse-Effect", "bleeding"),
            ent("T4", "Adverse-Effect", "rash"), ent("T5", "Drug", "heparin"),
            relations=[Relation("R1", "Adverse-Effect", "T1", "T3")], label="no_ade")
    merge = curation_merge([("ann1", a), ("ann2", b)])
    assert [e.text for e in merge.agreed.entities] == ["warfarin", "rash"]
    assert merge.agreed.label is None
    by_kind = {u.kind: u for u in merge.disagreements}
    assert sorted(by_kind) == ["attribute", "relation", "span", "type", "verdict"] and len(kinds(merge)) == 6
    assert kinds(merge)[0] == "verdict"  # then in text order
    assert [s.label for s in by_kind["verdict"].sides] == ["ade", "no_ade"]
    assert [[e.type for e in s.entities] for s in by_kind["type"].sides] == [["Dose"], ["Drug"]]
    spans = [u for u in merge.disagreements if u.kind == "span"]
    assert [[e.text for e in s.entities] for s in spans[0].sides] == [["gastric bleeding"], ["bleeding"]]
    assert [[e.text for e in s.entities] for s in spans[1].sides] == [[], ["heparin"]]  # only ann2 has it
    assert [[x.name for x in s.attributes] for s in by_kind["attribute"].sides] == [["Negation"], []]
    assert by_kind["attribute"].target == "T2"  # rash, in the agreed document
    assert [len(s.relations) for s in by_kind["relation"].sides] == [1, 1]
    # keys: stable, URL-safe, without the note's text
    again = curation_merge([("ann1", a), ("ann2", b)])
    assert [u.key for u in again.disagreements] == [u.key for u in merge.disagreements]
    for u in merge.disagreements:
        assert u.key.replace("-", "").isalnum() and "rash" not in u.key


def test_discontinuous_entities_agree_only_when_every_fragment_does():
    a = doc(ent("T1", "Adverse-Effect", "gastric", "bleeding"))
    b = doc(ent("T1", "Adverse-Effect", "gastric", "bleeding"))
    c = doc(ent("T1", "Adverse-Effect", "gastric bleeding"))
    assert curation_merge([("a", a), ("b", b)]).disagreements == ()
    merge = curation_merge([("a", a), ("b", b), ("c", c)])
    [unit] = merge.disagreements
    assert unit.kind == "span"
    assert [len(s.entities[0].spans) for s in unit.sides] == [2, 2, 1]


def test_three_annotators_agree_only_on_what_all_three_have():
    a = doc(ent("T1", "Drug", "warfarin"), ent("T2", "Drug", "heparin"))
    b = doc(ent("T1", "Drug", "warfarin"), ent("T2", "Drug", "heparin"))
    c = doc(ent("T1", "Drug", "warfarin"))
    merge = curation_merge([("a", a), ("b", b), ("c", c)])
    assert [e.text for e in merge.agreed.entities] == ["warfarin"]
    [unit] = merge.disagreements
    assert [len(s.entities) for s in unit.sides] == [1, 1, 0]


def test_taking_a_side_both_or_neither():
    a = doc(ent("T1", "Adverse-Effect", "gastric bleeding"))
    b = doc(ent("T1", "Adverse-Effect", "bleeding"))
    merge = curation_merge([("a", a), ("b", b)])
    [unit] = merge.disagreements
    assert [e.text for e in curation_resolve(merge, unit, 0).add.entities] == ["gastric bleeding"]
    assert [e.text for e in curation_resolve(merge, unit, 1).add.entities] == ["bleeding"]
    assert [e.text for e in curation_resolve(merge, unit, ALL).add.entities] == ["gastric bleeding", "bleeding"]
    assert curation_resolve(merge, unit, NONE).add.entities == ()
    with pytest.raises(ValueError):
        curation_resolve(merge, unit, 2)


def test_taking_a_relation_brings_its_arguments():
    a = doc(ent("T1", "Drug", "warfarin"), ent("T2", "Adverse-Effect", "rash"),
            relations=[Relation("R1", "Adverse-Effect", "T1", "T2")])
    b = doc(ent("T1", "Drug", "warfarin"), ent("T2", "Adverse-Effect", "rash"))
    merge = curation_merge([("a", a), ("b", b)])
    [unit] = merge.disagreements
    assert unit.kind == "relation"
    add = curation_resolve(merge, unit, 0).add
    texts = {e.id: e.text for e in add.entities}
    assert [(r.type, texts[r.arg1], texts[r.arg2]) for r in add.relations] == [("Adverse-Effect", "warfarin", "rash")]
    assert document_problems(add, None) == []


def test_verdicts_and_attribute_values_cannot_all_be_taken_when_they_differ():
    a = doc(ent("T1", "Adverse-Effect", "rash"), attributes=[Attribute("A1", "Certainty", "T1", "possible")],
            label="ade")
    b = doc(ent("T1", "Adverse-Effect", "rash"), attributes=[Attribute("A1", "Certainty", "T1", "certain")],
            label="uncertain")
    merge = curation_merge([("a", a), ("b", b)])
    verdict, attribute = merge.disagreements
    with pytest.raises(CurationConflict):
        curation_resolve(merge, verdict, ALL)
    with pytest.raises(CurationConflict):
        curation_resolve(merge, attribute, ALL)
    taken = curation_resolve(merge, verdict, 1)
    assert taken.sets_label and taken.label == "uncertain"
    cleared = curation_resolve(merge, verdict, NONE)
    assert cleared.sets_label and cleared.label is None
    second = curation_resolve(merge, attribute, 1)
    [target] = second.add.entities
    assert target.text == "rash"
    assert [(x.name, x.value, x.target) for x in second.add.attributes] == [("Certainty", "certain", target.id)]
    assert second.replace_attributes_of == (target.id,)
    assert curation_resolve(merge, attribute, NONE).add.attributes == ()


def test_normalizations_are_compared_with_attributes():
    norm = Normalization("N1", "T1", "MedDRA", "10037087", "Rash")
    a = doc(ent("T1", "Adverse-Effect", "rash"), normalizations=[norm])
    b = doc(ent("T1", "Adverse-Effect", "rash"))
    merge = curation_merge([("a", a), ("b", b)])
    [unit] = merge.disagreements
    assert unit.kind == "attribute"
    add = curation_resolve(merge, unit, 0).add
    assert [(x.resource, x.resource_id, x.target) for x in add.normalizations] == [
        ("MedDRA", "10037087", add.entities[0].id)]
    same = curation_merge([("a", a), ("b", a)])
    assert same.disagreements == () and len(same.agreed.normalizations) == 1


def test_events_agree_by_type_trigger_and_arguments():
    def with_event(theme: str) -> Document:
        return doc(ent("T1", "Reaction", "rash"), ent("T2", "Drug", theme),
                   events=[Event("E1", "Reaction", "T1", (("Theme", "T2"),))])

    merge = curation_merge([("a", with_event("warfarin")), ("b", with_event("warfarin"))])
    assert merge.disagreements == ()
    texts = {e.id: e.text for e in merge.agreed.entities}
    assert [(e.type, texts[e.trigger], texts[e.args[0][1]]) for e in merge.agreed.events] == [
        ("Reaction", "rash", "warfarin")]
    merge = curation_merge([("a", with_event("warfarin")), ("b", with_event("heparin"))])
    assert sorted(kinds(merge)) == ["event", "span", "span"]
    event_unit = next(u for u in merge.disagreements if u.kind == "event")
    add = curation_resolve(merge, event_unit, 1).add
    [event] = add.events
    assert {e.id: e.text for e in add.entities}[event.args[0][1]] == "heparin"
    assert document_problems(add, None) == []


def test_a_unit_groups_overlapping_annotations_of_different_annotators():
    a = doc(ent("T1", "Adverse-Effect", "gastric bleeding"))
    b = doc(ent("T1", "Adverse-Effect", "gastric"), ent("T2", "Adverse-Effect", "bleeding"))
    [unit] = curation_merge([("a", a), ("b", b)]).disagreements
    assert [len(s.entities) for s in unit.sides] == [1, 2]
    # two separate entities of one annotator, nobody else near them: two decisions
    c = doc(ent("T1", "Drug", "warfarin"), ent("T2", "Drug", "heparin"))
    assert len(curation_merge([("c", c), ("d", doc())]).disagreements) == 2


def test_texts_must_be_the_same_note():
    with pytest.raises(ValueError):
        curation_merge([("a", doc()), ("b", Document("n1", "other text"))])


def test_survival_counts_what_of_an_annotators_work_is_in_the_gold():
    a = doc(ent("T1", "Drug", "warfarin"), ent("T2", "Adverse-Effect", "rash"),
            relations=[Relation("R1", "Adverse-Effect", "T1", "T2")], label="ade")
    gold = doc(ent("T5", "Drug", "warfarin"), ent("T6", "Adverse-Effect", "gastric bleeding"), label="ade")
    kept = survival(a, gold)
    assert kept == {"entity": (1, 2), "relation": (0, 1), "event": (0, 0), "verdict": (1, 1)}


def test_a_dense_note_merges_quickly():
    import time

    words = [f"w{i:05d}" for i in range(8000)]
    text = " ".join(words)
    starts = []
    pos = 0
    for w in words:
        starts.append(pos)
        pos += len(w) + 1

    def dense(shift: int) -> Document:
        ents = []
        for k in range(2000):
            s = starts[k * 4]
            e = s + 6 - (shift if k % 10 == 0 else 0)
            ents.append(Entity(f"T{k + 1}", "Drug" if k % 7 or not shift else "Dose", (Span(s, e),), text[s:e]))
        return Document("big", text, entities=tuple(ents))

    t0 = time.perf_counter()
    merge = curation_merge([("a", dense(0)), ("b", dense(1))])
    assert time.perf_counter() - t0 < 5
    assert len(merge.agreed.entities) + len(merge.disagreements) >= 2000
