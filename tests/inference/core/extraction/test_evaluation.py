"""Hand-computed cases for the NER / RE / note scorers and the error report."""

from __future__ import annotations

import json

import pytest

from annotations.formats.document import Document, Entity, Event, Relation, Span
from inference.core.extraction.error_report import error_report
from inference.core.extraction.evaluation import ner_scores, note_scores, prf, re_scores

TEXT = "Aspirin caused severe gastric bleeding and rash."


def sp(text: str, phrase: str, n: int = 0) -> Span:
    start = -1
    for _ in range(n + 1):
        start = text.index(phrase, start + 1)
    return Span(start, start + len(phrase))


def ent(text: str, eid: str, etype: str, *phrases: str) -> Entity:
    spans = tuple(sp(text, p) for p in phrases)
    return Entity(eid, etype, spans, " ".join(phrases))


def rel(rid: str, a1: str, a2: str, rtype: str = "Adverse-Effect") -> Relation:
    return Relation(rid, rtype, a1, a2)


def doc(did: str, text: str, ents=(), rels=(), label=None) -> Document:
    return Document(id=did, text=text, entities=tuple(ents), relations=tuple(rels), label=label)


def approx(d: dict[str, float], **expected: float) -> None:
    for k, v in expected.items():
        assert d[k] == pytest.approx(v), k


GOLD1 = doc(
    "d1",
    TEXT,
    [
        ent(TEXT, "T1", "Drug", "Aspirin"),
        ent(TEXT, "T2", "Adverse-Effect", "severe gastric bleeding"),
        ent(TEXT, "T3", "Adverse-Effect", "rash"),
    ],
    [rel("R1", "T2", "T1")],
)
PRED1 = doc(
    "d1",
    TEXT,
    [
        ent(TEXT, "T1", "Drug", "Aspirin"),  # exact
        ent(TEXT, "T2", "Adverse-Effect", "gastric bleeding"),  # boundary: relaxed only
        ent(TEXT, "T3", "Drug", "rash"),  # type error: a Drug FP and an Adverse-Effect FN
    ],
    [rel("R1", "T2", "T1")],  # arguments only relaxed-matched
)


def test_prf_defines_zero_divisions_as_zero():
    assert prf(0, 0, 0) == (0.0, 0.0, 0.0)
    assert prf(0, 3, 0) == (0.0, 0.0, 0.0)
    assert prf(2, 0, 2) == (1.0, 0.5, pytest.approx(2 / 3))


def test_ner_strict_relaxed_micro_macro():
    s = ner_scores([GOLD1], [PRED1])
    # strict: Drug tp1 fp1 fn0; Adverse-Effect tp0 fp1 fn2
    approx(s, strict_Drug_tp=1, strict_Drug_fp=1, strict_Drug_fn=0)
    approx(s, **{"strict_Adverse-Effect_tp": 0, "strict_Adverse-Effect_fp": 1, "strict_Adverse-Effect_fn": 2})
    approx(s, strict_Drug_p=0.5, strict_Drug_r=1.0, strict_Drug_f1=2 / 3)
    approx(s, **{"strict_Adverse-Effect_p": 0, "strict_Adverse-Effect_r": 0, "strict_Adverse-Effect_f1": 0})
    approx(s, strict_micro_p=1 / 3, strict_micro_r=1 / 3, strict_micro_f1=1 / 3)
    approx(s, strict_macro_p=0.25, strict_macro_r=0.5, strict_macro_f1=1 / 3)
    # relaxed: Drug unchanged; Adverse-Effect tp1 fp0 fn1
    approx(s, **{"relaxed_Adverse-Effect_p": 1.0, "relaxed_Adverse-Effect_r": 0.5})
    approx(s, relaxed_micro_tp=2, relaxed_micro_fp=1, relaxed_micro_fn=1)
    approx(s, relaxed_micro_p=2 / 3, relaxed_micro_r=2 / 3, relaxed_micro_f1=2 / 3)
    approx(s, relaxed_macro_p=0.75, relaxed_macro_r=0.75, relaxed_macro_f1=2 / 3)


def test_ner_types_restricts_and_orders_macro():
    s = ner_scores([GOLD1], [PRED1], types=["Drug"])
    assert not any("Adverse-Effect" in k for k in s)
    approx(s, strict_macro_f1=2 / 3, strict_micro_f1=2 / 3)
    # a listed type absent everywhere scores 0 and pulls the macro down
    s = ner_scores([GOLD1], [PRED1], types=["Drug", "Dose"])
    approx(s, strict_Dose_f1=0.0, strict_macro_f1=1 / 3)


def test_relaxed_matching_is_one_to_one():
    text = "Severe nausea and vomiting after cisplatin."
    gold = doc("a", text, [ent(text, "T1", "AE", "nausea"), ent(text, "T2", "AE", "vomiting")])
    one_long = doc("a", text, [ent(text, "T1", "AE", "nausea and vomiting")])
    s = ner_scores([gold], [one_long])
    approx(
        s, relaxed_AE_tp=1, relaxed_AE_fp=0, relaxed_AE_fn=1, strict_AE_tp=0, strict_AE_fp=1, strict_AE_fn=2
    )
    two_short = doc("a", text, [ent(text, "T1", "AE", "Severe nausea"), ent(text, "T2", "AE", "nau")])
    s = ner_scores([doc("a", text, [ent(text, "T1", "AE", "nausea")])], [two_short])
    approx(s, relaxed_AE_tp=1, relaxed_AE_fp=1, relaxed_AE_fn=0)
    # the maximum matching is found even when the greedy first choice would block it
    g2 = doc("a", text, [ent(text, "T1", "AE", "Severe nausea"), ent(text, "T2", "AE", "vomiting")])
    p2 = doc("a", text, [ent(text, "T1", "AE", "nausea and vomiting"), ent(text, "T2", "AE", "Severe")])
    approx(ner_scores([g2], [p2]), relaxed_AE_tp=2, relaxed_AE_fp=0, relaxed_AE_fn=0)


def test_discontinuous_entities():
    text = "Pain in the left and right knee."
    gold = doc("a", text, [Entity("T1", "AE", (sp(text, "left"), sp(text, "knee")), "left knee")])
    same_frags_other_order = doc("a", text, [Entity("T9", "AE", (sp(text, "knee"), sp(text, "left")), "")])
    approx(ner_scores([gold], [same_frags_other_order]), strict_AE_tp=1, relaxed_AE_tp=1)
    one_fragment = doc("a", text, [Entity("T1", "AE", (sp(text, "knee"),), "knee")])
    approx(
        ner_scores([gold], [one_fragment]), strict_AE_tp=0, strict_AE_fp=1, strict_AE_fn=1, relaxed_AE_tp=1
    )
    # the covering extent "left and right knee" overlaps the fragments: relaxed yes, strict no
    covering = doc("a", text, [ent(text, "T1", "AE", "left and right knee")])
    approx(ner_scores([gold], [covering]), strict_AE_tp=0, relaxed_AE_tp=1)
    # "right" lies in the gap between the fragments: no overlap at all
    in_gap = doc("a", text, [ent(text, "T1", "AE", "right")])
    approx(ner_scores([gold], [in_gap]), relaxed_AE_tp=0, relaxed_AE_fp=1, relaxed_AE_fn=1)


def test_duplicates_count_as_multiset():
    text = "rash"
    gold = doc("a", text, [ent(text, "T1", "AE", "rash")])
    pred = doc("a", text, [ent(text, "T1", "AE", "rash"), ent(text, "T2", "AE", "rash")])
    approx(ner_scores([gold], [pred]), strict_AE_tp=1, strict_AE_fp=1, relaxed_AE_tp=1, relaxed_AE_fp=1)


def test_relation_with_only_relaxed_arguments():
    s = re_scores([GOLD1], [PRED1])
    approx(s, **{"strict_Adverse-Effect_tp": 0, "strict_Adverse-Effect_fp": 1, "strict_Adverse-Effect_fn": 1})
    approx(s, strict_micro_f1=0.0, strict_macro_f1=0.0)
    approx(
        s, **{"relaxed_Adverse-Effect_tp": 1, "relaxed_Adverse-Effect_fp": 0, "relaxed_Adverse-Effect_fn": 0}
    )
    approx(s, relaxed_micro_f1=1.0, relaxed_macro_f1=1.0)


def test_relation_direction_types_and_symmetry():
    gold = GOLD1
    exact = doc("d1", TEXT, GOLD1.entities, [rel("R1", "T2", "T1")])
    approx(re_scores([gold], [exact]), strict_micro_f1=1.0)
    reversed_ = doc("d1", TEXT, GOLD1.entities, [rel("R1", "T1", "T2")])
    approx(re_scores([gold], [reversed_]), strict_micro_tp=0, relaxed_micro_tp=0)
    approx(
        re_scores([gold], [reversed_], symmetric=["Adverse-Effect"]), strict_micro_tp=1, relaxed_micro_tp=1
    )
    # same spans, the drug argument typed as an Adverse-Effect
    wrong_arg_type = doc(
        "d1",
        TEXT,
        (GOLD1.entities[0].__class__("T1", "Adverse-Effect", GOLD1.entities[0].spans, "Aspirin"),)
        + GOLD1.entities[1:],
        [rel("R1", "T2", "T1")],
    )
    approx(re_scores([gold], [wrong_arg_type]), strict_micro_tp=0, relaxed_micro_tp=0)
    approx(re_scores([gold], [wrong_arg_type], with_entity_types=False), strict_micro_tp=1)
    other_rel_type = doc("d1", TEXT, GOLD1.entities, [rel("R1", "T2", "T1", "Dose")])
    s = re_scores([gold], [other_rel_type])
    approx(s, **{"strict_Adverse-Effect_fn": 1, "strict_Dose_fp": 1, "strict_macro_f1": 0.0})


def test_relation_argument_must_exist():
    bad = doc("d1", TEXT, GOLD1.entities, [rel("R1", "T2", "T99")])
    with pytest.raises(ValueError, match="T99"):
        re_scores([GOLD1], [bad])


def test_relation_argument_event_scored_by_trigger():
    text = "rash after penicillin"
    ents = [ent(text, "T1", "AE", "rash"), ent(text, "T2", "Drug", "penicillin")]
    gold = doc("a", text, ents, [rel("R1", "T1", "T2", "causes")])
    pred = Document(
        id="a", text=text, entities=tuple(ents), events=(Event("E1", "AE", "T1"),),
        relations=(rel("R1", "E1", "T2", "causes"),),
    )  # fmt: skip
    approx(re_scores([gold], [pred]), strict_micro_tp=1)


def test_empty_predictions_score_zero_without_errors():
    s = ner_scores([GOLD1], [])
    approx(s, strict_micro_p=0, strict_micro_r=0, strict_micro_f1=0, strict_macro_f1=0, strict_micro_fn=3)
    s = ner_scores([GOLD1], [Document(id="d1", text=TEXT)])
    approx(s, relaxed_macro_f1=0, relaxed_Drug_fn=1)
    s = re_scores([GOLD1], [Document(id="d1", text="")])
    approx(s, strict_micro_f1=0, strict_micro_fn=1)
    # a prediction without its text is read against the gold text
    textless = Document(id="d1", text="", entities=PRED1.entities, relations=PRED1.relations)
    assert ner_scores([GOLD1], [textless]) == ner_scores([GOLD1], [PRED1])
    assert error_report([GOLD1], [textless]) == error_report([GOLD1], [PRED1])
    # nothing anywhere: no types, every aggregate 0
    s = ner_scores([Document(id="x", text="no entities")], [])
    approx(s, strict_micro_f1=0, strict_macro_f1=0, relaxed_macro_p=0)
    n = note_scores([], [])
    approx(n, label_f1=0, label_accuracy=0, evidence_strict_f1=0, n_docs=0)


def test_document_matching_errors():
    with pytest.raises(ValueError, match="not in gold"):
        ner_scores([GOLD1], [Document(id="other", text=TEXT)])
    with pytest.raises(ValueError, match="differs"):
        ner_scores([GOLD1], [Document(id="d1", text=TEXT + " more")])
    with pytest.raises(ValueError, match="twice"):
        ner_scores([GOLD1, GOLD1], [])


def _note_case() -> tuple[list[Document], list[Document]]:
    t = "Warfarin gave bleeding; aspirin too."
    e_w, e_a = ent(t, "T1", "Drug", "Warfarin"), ent(t, "T2", "Drug", "aspirin")
    e_b = ent(t, "T3", "Adverse-Effect", "bleeding")
    e_b_short = Entity("T3", "Adverse-Effect", (Span(t.index("bleeding"), t.index("bleeding") + 5),), "bleed")
    gold_pos = [e_w, e_a, e_b]
    g_rel = [rel("R1", "T3", "T1")]  # bleeding <- Warfarin
    gold = [
        doc("A", t, gold_pos, g_rel, "ade"),
        doc("B", t, gold_pos, g_rel, "ade"),
        doc("C", t, [e_w], [], "no_ade"),
        doc("D", t, gold_pos, g_rel, "ade"),
        doc("E", t, [e_w], [], "no_ade"),
        doc("F", t, gold_pos, g_rel, "ade"),
    ]
    pred = [
        doc("A", t, gold_pos, [rel("R1", "T3", "T2")], "ade"),  # right label, wrong drug: evidence wrong
        doc("B", t, gold_pos, g_rel, "ade"),  # right label, right evidence
        doc("C", t, gold_pos, [rel("R1", "T3", "T1")], "ade"),  # false positive
        doc("D", t, gold_pos, [], "no_ade"),  # false negative
        doc("E", t, [], [], "no_ade"),  # true negative
        doc("F", t, [e_w, e_a, e_b_short], [rel("R1", "T3", "T1")], "ade"),  # evidence only relaxed
    ]
    return gold, pred


def test_note_scores_label_only_and_evidence_grounded():
    gold, pred = _note_case()
    s = note_scores(gold, pred)
    approx(s, n_docs=6, label_tp=3, label_fp=1, label_fn=1, label_tn=1)
    approx(s, label_p=0.75, label_r=0.75, label_f1=0.75, label_accuracy=4 / 6)
    approx(s, evidence_strict_tp=1, evidence_strict_fp=3, evidence_strict_fn=3)
    approx(s, evidence_strict_p=0.25, evidence_strict_r=0.25, evidence_strict_f1=0.25)
    approx(s, evidence_relaxed_tp=2, evidence_relaxed_fp=2, evidence_relaxed_fn=2, evidence_relaxed_f1=0.5)


def test_note_label_falls_back_to_relations():
    gold, pred = _note_case()
    unlabelled = [Document(id=d.id, text=d.text, entities=d.entities, relations=d.relations) for d in pred]
    s = note_scores(gold, unlabelled)
    # without labels, D (no relation) is negative and the others positive: same as labelled here
    approx(s, label_tp=3, label_fp=1, label_fn=1, label_tn=1)


def test_error_report_categories_and_serialisation():
    rep = error_report([GOLD1], [PRED1], context_chars=10)
    counts = rep.counts()
    assert counts["ner"]["Adverse-Effect"]["type"] == 1
    assert counts["ner"]["Adverse-Effect"]["boundary"] == 1
    assert sum(sum(c.values()) for c in counts["ner"].values()) == 2
    assert counts["re"]["Adverse-Effect"]["boundary"] == 1
    boundary = next(it for it in rep.items if it.task == "ner" and it.category == "boundary")
    assert (boundary.gold, boundary.pred, boundary.doc_id) == (
        "severe gastric bleeding",
        "gastric bleeding",
        "d1",
    )
    assert boundary.context == "in caused [[severe gastric bleeding]] and rash."
    type_err = next(it for it in rep.items if it.category == "type")
    assert (type_err.gold_type, type_err.pred_type, type_err.gold) == ("Adverse-Effect", "Drug", "rash")
    d = rep.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["errors"][0]["gold_spans"] and isinstance(d["errors"][0]["gold_spans"][0], list)
    txt = rep.to_text()
    assert "== NER errors: 2" in txt and "-- Adverse-Effect: boundary 1, type 1" in txt
    assert "[[severe gastric bleeding]]" in txt and "{{Aspirin}}" in txt


def test_error_report_fp_fn_and_direction():
    pred = doc(
        "d1",
        TEXT,
        [ent(TEXT, "T1", "Drug", "Aspirin"), ent(TEXT, "T2", "Adverse-Effect", "severe gastric bleeding"),
         ent(TEXT, "T5", "Drug", "caused")],
        [rel("R1", "T1", "T2")],
    )  # fmt: skip
    rep = error_report([GOLD1], [pred])
    cats = sorted((it.task, it.category, it.type) for it in rep.items)
    assert cats == [
        ("ner", "fn", "Adverse-Effect"),  # rash missed
        ("ner", "fp", "Drug"),  # "caused"
        ("re", "direction", "Adverse-Effect"),
    ]
    fn = next(it for it in rep.items if it.category == "fn")
    assert fn.gold == "rash" and fn.pred is None and "[[rash]]" in fn.context
    assert error_report([GOLD1], [GOLD1]).items == ()


def test_relaxed_matching_is_maximum_on_random_cases():
    import itertools
    import random

    from inference.core.extraction.evaluation import _max_match

    rng = random.Random(0)
    for _ in range(300):
        n_g, n_p = rng.randint(0, 5), rng.randint(0, 5)
        adj = {(i, j) for i in range(n_g) for j in range(n_p) if rng.random() < 0.4}
        pairs = _max_match(list(range(n_g)), list(range(n_p)), lambda g, p, adj=adj: float((g, p) in adj))
        assert all(pair in adj for pair in pairs)
        assert len({i for i, _ in pairs}) == len({j for _, j in pairs}) == len(pairs)
        best = 0
        if n_g <= n_p:
            for perm in itertools.permutations(range(n_p), n_g):
                best = max(best, sum((i, perm[i]) in adj for i in range(n_g)))
        else:
            for perm in itertools.permutations(range(n_g), n_p):
                best = max(best, sum((perm[j], j) in adj for j in range(n_p)))
        assert len(pairs) == best
