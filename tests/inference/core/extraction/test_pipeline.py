"""NER -> RE -> note decision pipeline: threshold rule, uncertainty, save/load, batching, quantization."""

from __future__ import annotations

import dataclasses

import pytest

from annotations.formats.document import Document, Entity, Relation, Span
from inference.core.extraction.ner import NER, NERConfig
from inference.core.extraction.note_classifier import NoteClassifier
from inference.core.extraction.pipeline import NotePrediction, Pipeline, PipelineConfig, uncertainty
from inference.core.extraction.relations import Candidate, RelationExtractor
from inference.core.training import TrainConfig, train_component
from tests.factories import tiny_encoder


def make_doc(doc_id, text, ents, rels, label):
    out = []
    for n, (surface, typ) in enumerate(ents, start=1):
        i = text.index(surface)
        out.append(Entity(f"T{n}", typ, (Span(i, i + len(surface)),), surface))
    rs = tuple(Relation(f"R{k}", "Adverse-Effect", a, b) for k, (a, b) in enumerate(rels, 1))
    return Document(doc_id, text, tuple(out), rs, label=label)


DOCS = [
    make_doc(
        "1",
        "Aspirin-induced rash was seen.",
        [("Aspirin", "Drug"), ("Aspirin-induced rash", "AE")],
        [("T2", "T1")],
        "ade",
    ),
    make_doc(
        "2", "Utslag efter penicillin.", [("Utslag", "AE"), ("penicillin", "Drug")], [("T1", "T2")], "ade"
    ),
    make_doc(
        "3",
        "Ibuprofen was given for pain and rash resolved.",
        [("Ibuprofen", "Drug"), ("rash", "AE")],
        [],
        "no_ade",
    ),
    make_doc("4", "Discharged home in good health.", [], [], "no_ade"),
]


class StubNER:
    """Returns the gold entities with confidence 0.9."""

    def predict(self, docs, batch_size=32):
        return [
            dataclasses.replace(
                d, entities=tuple(dataclasses.replace(e, confidence=0.9) for e in d.entities), relations=()
            )
            for d in docs
        ]


class StubRE:
    """Gives every candidate the probability stored for its document."""

    def __init__(self, probs):
        self.probs = probs
        self.config = type("C", (), {"threshold": 0.5})()

    def predict_pairs(self, docs, batch_size=32):
        out = []
        for d in docs:
            drugs = [e for e in d.entities if e.type == "Drug"]
            aes = [e for e in d.entities if e.type == "AE"]
            out.append(
                [
                    (Candidate(a, b, ("Adverse-Effect",)), "Adverse-Effect", self.probs[d.id])
                    for a in aes
                    for b in drugs
                ]
            )
        return out


def test_note_decision_follows_the_relation_threshold():
    probs = {"1": 0.93, "2": 0.55, "3": 0.2, "4": 0.0}
    for thr, expected in (
        (0.5, ["ade", "ade", "no_ade", "no_ade"]),
        (0.6, ["ade", "no_ade", "no_ade", "no_ade"]),
        (0.1, ["ade", "ade", "ade", "no_ade"]),
    ):
        pipe = Pipeline(StubNER(), StubRE(probs), config=PipelineConfig(threshold=thr))
        preds = pipe.predict(DOCS)
        assert [p.document.label for p in preds] == expected
        assert [p.ade_probability for p in preds] == [0.93, 0.55, 0.2, 0.0]
        for p in preds:
            assert isinstance(p, NotePrediction)
            assert p.uncertainty == pytest.approx(1 - abs(2 * p.ade_probability - 1))
            assert all(e.confidence is not None for e in p.document.entities)
            assert all(r.confidence is not None and r.confidence >= 0.5 for r in p.document.relations)
    # relations below the RE threshold are not reported, but still count towards the note probability
    assert [len(p.document.relations) for p in preds] == [1, 1, 0, 0]
    assert [p.document.id for p in preds] == ["1", "2", "3", "4"]
    assert [p.document.text for p in preds] == [d.text for d in DOCS]


def test_a_fitted_temperature_softens_saturated_note_probabilities_and_is_saved():
    from inference.core.extraction.pipeline_training import pipeline_calibrate

    # An overconfident pipeline: 0.999 on every note, yet half of them are no ADE.
    docs = [dataclasses.replace(DOCS[i % len(DOCS)], id=str(i)) for i in range(12)]
    docs = [dataclasses.replace(d, label="ade" if i % 2 else "no_ade") for i, d in enumerate(docs)]
    pipe = Pipeline(StubNER(), StubRE({d.id: 0.999 for d in docs}))
    before = [p.document.label for p in pipe.predict(docs)]
    report = pipeline_calibrate(pipe, docs)
    assert report["temperature"] > 1 and report["note_ece"] < report["note_ece_raw"]
    after = pipe.predict(docs)
    assert max(p.ade_probability for p in after) < 0.9
    # decisions at the threshold 0.5 do not change, and the temperature travels with the saved pipeline
    assert [p.document.label for p in after] == before
    assert pipe.config.to_dict()["temperature"] == report["temperature"]  # what save() writes to pipeline.json


def test_only_ade_relation_types_flag_a_note():
    pipe = Pipeline(
        StubNER(),
        StubRE({"1": 0.9, "2": 0.9, "3": 0.9, "4": 0.9}),
        config=PipelineConfig(ade_relation_types=("Other",)),
    )
    assert all(p.document.label == "no_ade" for p in pipe.predict(DOCS))


def test_uncertainty():
    assert uncertainty(0.5) == 1.0 and uncertainty(0.0) == 0.0 and uncertainty(1.0) == 0.0
    assert uncertainty(0.75) == pytest.approx(0.5)


def test_direct_decision_needs_the_note_classifier():
    with pytest.raises(ValueError):
        Pipeline(StubNER(), None, None, PipelineConfig(decision="direct"))


@pytest.fixture(scope="module")
def trained_dir(tmp_path_factory):
    enc = tiny_encoder(tmp_path_factory.mktemp("tiny"))
    cfg = TrainConfig(epochs=30, batch_size=4, lr=1e-3, head_lr=1e-2, threads=1)
    ner = NER(NERConfig(max_length=32)).initialize(DOCS, encoder=enc)
    train_component(ner, DOCS, cfg)
    rex = RelationExtractor().initialize(DOCS, encoder=enc)
    train_component(rex, DOCS, cfg)
    note = NoteClassifier().initialize(DOCS, encoder=enc)
    train_component(note, DOCS, cfg)
    pipe = Pipeline(ner, rex, note, PipelineConfig(ade_relation_types=("Adverse-Effect",)))
    out = tmp_path_factory.mktemp("model") / "pipe"
    pipe.save(out, component_meta={"ner": {"seed": 0, "fingerprint": "sha256:toy"}})
    return pipe, out


def test_trained_pipeline_flags_the_ade_notes(trained_dir):
    pipe, _ = trained_dir
    preds = pipe.predict(DOCS)
    assert [p.document.label for p in preds] == [d.label for d in DOCS]
    assert all(p.direct_probability is not None for p in preds)
    note_labels = [max(p, key=p.get) for p in pipe.note.predict_proba(DOCS)]
    assert note_labels == [d.label for d in DOCS]


def test_load_gives_identical_and_batch_independent_predictions(trained_dir):
    pipe, path = trained_dir
    loaded = Pipeline.load(path)
    assert loaded.config.temperature == pipe.config.temperature == 1.0
    assert Pipeline.load(path).ner is loaded.ner  # components are cached per process
    assert loaded.ner.meta["seed"] == 0 and loaded.ner.meta["data_fingerprint"] == "sha256:toy"
    a = pipe.predict(DOCS, batch_size=4)
    b = loaded.predict(DOCS, batch_size=1)
    c = [loaded.predict([d])[0] for d in DOCS]
    for x, y, z in zip(a, b, c, strict=True):
        assert x.document.label == y.document.label == z.document.label
        assert x.ade_probability == pytest.approx(y.ade_probability, abs=1e-5)
        assert x.ade_probability == pytest.approx(z.ade_probability, abs=1e-5)
        assert [(e.start, e.end, e.type) for e in x.document.entities] == [
            (e.start, e.end, e.type) for e in z.document.entities
        ]


def test_quantized_pipeline_runs(trained_dir):
    _, path = trained_dir
    q = Pipeline.load(path, quantized=True)
    preds = q.predict(DOCS)
    assert len(preds) == len(DOCS) and all(0.0 <= p.ade_probability <= 1.0 for p in preds)
