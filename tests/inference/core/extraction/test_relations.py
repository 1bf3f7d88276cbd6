"""Typed-marker relation extraction: schema-restricted candidates, overfitting, save/reload, batching."""

from __future__ import annotations

import pytest

from annotations.formats.document import Document, Entity, Relation, Span
from annotations.formats.schema import RelationType
from inference.core.extraction.artifacts import clear_cache, load_component, save_component
from inference.core.extraction.relations import (
    REConfig,
    RelationExtractor,
    candidate_pairs,
    infer_relation_types,
)
from inference.core.training import TrainConfig, train_component
from tests.factories import tiny_encoder

ADE = RelationType("ADE", arg1_types=("Drug",), arg2_types=("AE",))


def ent(eid, typ, start, end, text=""):
    return Entity(eid, typ, (Span(start, end),), text)


def make_doc(doc_id, text, ents, rels):
    out = []
    for n, (surface, typ) in enumerate(ents, start=1):
        i = text.index(surface)
        out.append(Entity(f"T{n}", typ, (Span(i, i + len(surface)),), surface))
    return Document(
        doc_id, text, tuple(out), tuple(Relation(f"R{k}", "ADE", a, b) for k, (a, b) in enumerate(rels, 1))
    )


DOCS = [
    make_doc(
        "en",
        "Aspirin-induced rash, but ibuprofen was tolerated.",
        [("Aspirin", "Drug"), ("Aspirin-induced rash", "AE"), ("ibuprofen", "Drug")],
        [("T1", "T2")],
    ),
    make_doc(
        "sv",
        "Utslag efter penicillin; paracetamol gav inget.",
        [("Utslag", "AE"), ("penicillin", "Drug"), ("paracetamol", "Drug")],
        [("T2", "T1")],
    ),
    make_doc(
        "zh",
        "服用阿司匹林后出现皮疹，布洛芬无反应。",
        [("阿司匹林", "Drug"), ("皮疹", "AE"), ("布洛芬", "Drug")],
        [("T1", "T2")],
    ),
]


def test_candidates_follow_the_schema_argument_types():
    ents = [
        ent("T1", "Drug", 0, 5),
        ent("T2", "AE", 10, 15),
        ent("T3", "Dose", 20, 25),
        ent("T4", "AE", 30, 35),
    ]
    pairs = {(c.arg1.id, c.arg2.id) for c in candidate_pairs(ents, [ADE])}
    assert pairs == {("T1", "T2"), ("T1", "T4")}  # never AE->Drug, never Dose, never AE->AE
    dose = RelationType("Dose", arg1_types=("Drug",), arg2_types=("Dose",))
    cands = candidate_pairs(ents, [ADE, dose])
    assert {(c.arg1.id, c.arg2.id): c.allowed for c in cands} == {
        ("T1", "T2"): ("ADE",),
        ("T1", "T4"): ("ADE",),
        ("T1", "T3"): ("Dose",),
    }
    anything = RelationType("Any", arg1_types=("<ANY>",), arg2_types=("AE",))
    assert {(c.arg1.id, c.arg2.id) for c in candidate_pairs(ents, [anything])} == {
        ("T1", "T2"),
        ("T1", "T4"),
        ("T3", "T2"),
        ("T3", "T4"),
        ("T4", "T2"),
        ("T2", "T4"),
    }
    sym = RelationType("Sym", arg1_types=("Drug",), arg2_types=("AE",), symmetric=True)
    assert ("T2", "T1") in {(c.arg1.id, c.arg2.id) for c in candidate_pairs(ents, [sym])}


def test_candidates_respect_the_distance_limits():
    text = "drug a b c d e f g h effect"
    ents = [ent("T1", "Drug", 0, 4), ent("T2", "AE", 21, 27), ent("T3", "AE", 5, 6)]
    near = candidate_pairs(ents, [ADE], text=text, max_char_distance=5)
    assert {(c.arg1.id, c.arg2.id) for c in near} == {("T1", "T3")}
    tok = candidate_pairs(ents, [ADE], text=text, max_token_distance=3)
    assert {(c.arg1.id, c.arg2.id) for c in tok} == {("T1", "T3")}
    assert len(candidate_pairs(ents, [ADE], text=text)) == 2


def test_infer_relation_types_from_data():
    assert infer_relation_types(DOCS) == [RelationType("ADE", arg1_types=("Drug",), arg2_types=("AE",))]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    enc = tiny_encoder(tmp_path_factory.mktemp("tiny"))
    rex = RelationExtractor(REConfig(max_length=16)).initialize(DOCS, encoder=enc, relation_types=[ADE])
    report = train_component(
        rex, DOCS, TrainConfig(epochs=30, batch_size=6, lr=1e-3, head_lr=1e-2, threads=1)
    )
    return rex, report


def test_typed_markers_nest_and_point_at_the_arguments(trained):
    rex, _ = trained
    doc = DOCS[0]
    cand = rex.candidates(doc)[0]
    assert (cand.arg1.id, cand.arg2.id) == ("T1", "T2")
    ex = rex.encode_pair(doc.text, cand)
    toks = rex.tokenizer.convert_ids_to_tokens(ex["input_ids"])
    assert toks[ex["e1"]] == "[E1:Drug]" and toks[ex["e2"]] == "[E2:AE]"
    # the drug is nested inside the adverse effect: [E2:AE] [E1:Drug] aspirin [/E1] - induced rash [/E2]
    assert toks.index("[E2:AE]") < toks.index("[E1:Drug]") < toks.index("[/E1]") < toks.index("[/E2]")


def test_training_fits_the_toy_set_with_a_probability_per_pair(trained):
    rex, report = trained
    assert report.losses[-1] < report.losses[0] / 5
    pairs = rex.predict_pairs(DOCS)
    for doc, doc_pairs in zip(DOCS, pairs, strict=True):
        assert len(doc_pairs) == len(rex.candidates(doc)) == 2
        gold = {(r.arg1, r.arg2) for r in doc.relations}
        for cand, typ, p in doc_pairs:
            assert typ == "ADE" and 0.0 <= p <= 1.0
            assert (p >= 0.5) == ((cand.arg1.id, cand.arg2.id) in gold)
    pred = rex.predict(DOCS)
    assert [{(r.arg1, r.arg2) for r in d.relations} for d in pred] == [
        {(r.arg1, r.arg2) for r in d.relations} for d in DOCS
    ]
    assert all(r.confidence is not None for d in pred for r in d.relations)


def test_save_reload_and_batching_give_identical_probabilities(trained, tmp_path):
    rex, _ = trained
    save_component(rex, tmp_path / "re", encoder_name="tiny")
    clear_cache()
    again = load_component(tmp_path / "re")
    assert again.relation_types == rex.relation_types and again.labels == rex.labels
    a = [[p for _, _, p in d] for d in rex.predict_pairs(DOCS, batch_size=8)]
    b = [[p for _, _, p in d] for d in again.predict_pairs(DOCS, batch_size=1)]
    single = [[p for _, _, p in rex.predict_pairs([d], batch_size=1)[0]] for d in DOCS]
    for x, y, z in zip(a, b, single, strict=True):
        assert x == pytest.approx(y, abs=1e-5)
        assert x == pytest.approx(z, abs=1e-5)


def test_long_texts_are_cropped_around_the_pair(trained):
    rex, _ = trained
    filler = " ".join(["word"] * 60)
    text = f"{filler} aspirin gave a rash {filler}"
    i, j = text.index("aspirin"), text.index("rash")
    doc = Document("long", text, (ent("T1", "Drug", i, i + 7), ent("T2", "AE", j, j + 4)))
    ex = rex.encode_pair(text, rex.candidates(doc)[0])
    toks = rex.tokenizer.convert_ids_to_tokens(ex["input_ids"])
    assert len(toks) <= rex.config.max_length
    assert toks[ex["e1"]] == "[E1:Drug]" and toks[ex["e2"]] == "[E2:AE]"


def test_pairs_in_a_long_note_encode_as_if_the_whole_note_were_tokenised(trained):
    import random

    from inference.core.extraction.relations import CHARS_PER_SUBWORD

    rex, _ = trained
    rng = random.Random(3)
    words = ["aspirin", "rash", "the", "patient", "was", "given", "ibuprofen", "and", "developed", "nausea."]
    # Newlines and tabs too: the cut must fall on any whitespace, not only on spaces.
    text = "".join(rng.choice(words) + rng.choice([" ", " ", "\n", "\t"]) for _ in range(3000))
    margin = CHARS_PER_SUBWORD * rex.config.max_length
    assert len(text) > 10 * margin
    starts = [k for k in range(len(text)) if text.startswith("aspirin", k)]
    ends = [k for k in range(len(text)) if text.startswith("rash", k)]
    pairs = [(starts[0], ends[0]), (starts[len(starts) // 2], ends[len(ends) // 2]), (starts[-1], ends[-1])]
    pairs.append((starts[len(starts) // 2], ends[len(ends) // 2 + 3]))
    for i, j in pairs:
        a, b = ent("T1", "Drug", i, i + 7), ent("T2", "AE", j, j + 4)
        cand = rex.candidates(Document("long", text, (a, b)))[0]
        assert rex.encode_pair(text, cand) == rex._encode_marked(
            text, (a.start, a.end, a), (b.start, b.end, b)
        )


def test_sentence_context_encodes_a_pair_as_its_own_sentences_alone(trained):
    import dataclasses

    from inference.core.text import sentence_spans

    rex, _ = trained
    by_sentence = RelationExtractor(dataclasses.replace(rex.config, context="sentence"))
    by_sentence.build(rex.module.encoder, rex.tokenizer, rex.relation_types, rex.entity_types)
    first = "The patient was admitted on Monday."
    pair = "Aspirin-induced rash, but ibuprofen was tolerated."
    note = Document("note", f"{first} {pair} Discharged home.", ())
    offset = len(first) + 1
    shifted = tuple(
        Entity(e.id, e.type, (Span(e.start + offset, e.end + offset),), e.text) for e in DOCS[0].entities
    )
    cand = by_sentence.candidates(dataclasses.replace(note, entities=shifted))[0]
    alone = by_sentence.candidates(DOCS[0])[0]
    sentences = sentence_spans(note.text)
    assert len(sentences) == 3
    assert by_sentence.encode_pair(note.text, cand, sentences) == by_sentence.encode_pair(DOCS[0].text, alone)
    # Pairs across sentences are no candidates; featurize passes the sentences itself; the window context
    # keeps the neighbouring sentences.
    across = dataclasses.replace(
        note, entities=(shifted[0], ent("T9", "AE", note.text.index("Discharged"), len(note.text) - 1))
    )
    assert [(c.arg1.id, c.arg2.id) for c in by_sentence.candidates(across)] == []
    assert [(c.arg1.id, c.arg2.id) for c in rex.candidates(across)] == [("T1", "T9")]
    featurized = by_sentence.featurize([dataclasses.replace(note, entities=shifted)], train=False)
    assert featurized[0]["input_ids"] == by_sentence.encode_pair(DOCS[0].text, alone)["input_ids"]
    assert rex.encode_pair(note.text, cand)["input_ids"] != featurized[0]["input_ids"]


def test_a_long_unpunctuated_note_in_sentence_context_is_tokenised_near_the_pair_only(trained):
    import dataclasses
    import random

    from inference.core.text import sentence_spans

    rex, _ = trained
    by_sentence = RelationExtractor(dataclasses.replace(rex.config, context="sentence"))
    by_sentence.build(rex.module.encoder, rex.tokenizer, rex.relation_types, rex.entity_types)
    rng = random.Random(5)
    words = ["aspirin", "rash", "the", "patient", "was", "given", "ibuprofen", "and", "developed"]
    text = " ".join(rng.choice(words) for _ in range(4000))  # no full stop: one 'sentence'
    sentences = sentence_spans(text)
    assert len(sentences) == 1
    i = text.index("aspirin", len(text) // 2)
    j = text.index("rash", i)
    a, b = ent("T1", "Drug", i, i + 7), ent("T2", "AE", j, j + 4)
    cand = by_sentence.candidates(Document("long", text, (a, b)))[0]
    whole = by_sentence._encode_marked(text, (a.start, a.end, a), (b.start, b.end, b))
    assert by_sentence.encode_pair(text, cand, sentences) == whole
