"""Why a note was flagged, as offsets: the strongest typed relation, else the highest-scoring sentence."""

from __future__ import annotations

from annotations.formats.document import Document, Entity, Relation, Span
from annotations.formats.evidence import Evidence
from inference.core.extraction.evidence import relation_evidence, sentence_evidence

TEXT = "Started warfarin on admission. Developed bleeding on day 3. Dose 5 mg daily."


def _entity(local_id: str, type_: str, word: str) -> Entity:
    s = TEXT.index(word)
    return Entity(local_id, type_, (Span(s, s + len(word)),), word)


def test_the_strongest_relation_of_an_evidence_type_explains_the_note():
    doc = Document("n", TEXT, (_entity("T1", "Drug", "warfarin"), _entity("T2", "Adverse-Effect", "bleeding"),
                               _entity("T3", "Dose", "5 mg")),
                   (Relation("R1", "Adverse-Effect", "T1", "T2", confidence=0.7),
                    Relation("R2", "Dose", "T3", "T1", confidence=0.99)))
    found = relation_evidence(doc, types={"Adverse-Effect"})
    assert found.source == "relation" and found.score == 0.7
    assert TEXT[slice(*found.arg1)] == "warfarin" and TEXT[slice(*found.arg2)] == "bleeding"
    assert relation_evidence(doc, types={"ADE"}) is None
    assert Evidence.from_dict(found.to_dict()) == found


def test_without_a_relation_the_sentence_with_the_highest_ade_score_explains_the_note():
    def score(sentences):
        return [0.9 if "bleeding" in s else 0.1 for s in sentences]

    found, nothing = sentence_evidence([TEXT, "   "], score)
    assert found.source == "sentence" and found.score == 0.9
    assert TEXT[found.start : found.end] == "Developed bleeding on day 3."
    assert nothing is None
    assert Evidence.from_dict({"source": "sentence"}) is None
