"""The synthetic multilingual corpus: entities are where they say, relations join them, the seed decides."""

from __future__ import annotations

import pytest

from inference.core.adaptation.synthetic import LANGUAGES, synthetic_corpus, synthetic_documents


@pytest.mark.parametrize("language", LANGUAGES)
def test_entities_cover_their_text_and_relations_join_effects_to_drugs(language):
    docs = synthetic_documents(language, 30, seed=3, sentences_per_document=2)
    assert len(docs) == 30
    for doc in docs:
        assert doc.metadata == {"language": language, "synthetic": True}
        by_id = {e.id: e for e in doc.entities}
        for e in doc.entities:
            (span,) = e.spans
            assert doc.text[span.start : span.end] == e.text and e.text.strip() == e.text
        for r in doc.relations:
            assert by_id[r.arg1].type == "Adverse-Effect" and by_id[r.arg2].type == "Drug"
    assert {e.type for d in docs for e in d.entities} == {"Drug", "Adverse-Effect", "Disease"}


def test_the_seed_decides_and_languages_differ():
    assert synthetic_corpus(5, seed=2) == synthetic_corpus(5, seed=2)
    assert synthetic_corpus(5, seed=2) != synthetic_corpus(5, seed=3)
    scripts = {d.metadata["language"]: d.text for d in synthetic_corpus(1)}
    assert any("\u4e00" <= c <= "\u9fff" for c in scripts["zh"])
    assert any("\uac00" <= c <= "\ud7a3" for c in scripts["ko"])
    with pytest.raises(ValueError):
        synthetic_documents("xx", 1)


def test_korean_particles_stay_outside_the_entity():
    docs = synthetic_documents("ko", 200, seed=0)
    glued = [e for d in docs for e in d.entities if d.text[e.spans[0].end : e.spans[0].end + 2] == "으로"]
    assert glued and all(e.type == "Disease" for e in glued)
