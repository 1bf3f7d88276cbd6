"""Why the model flagged a note, as offsets into its text (framework-free).

A note's ADE decision is explained by its strongest predicted ADE relation (drug and reaction spans) when
the model predicted one; else, for a note flagged by the note-level score alone, by the sentence with the
highest ADE score (the same model scoring each sentence on its own). Offsets only: the text stays in the
note, and a stored explanation never copies it.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Sequence

from annotations.formats.document import Document
from annotations.formats.evidence import Evidence
from inference.core.text import sentence_spans

#: Sentences scored per note at most (the longest notes keep their first ones); a guard on the model's work.
MAX_SENTENCES = 200


def relation_evidence(document: Document, *, types: Container[str] | None = None) -> Evidence | None:
    """The strongest relation of `document` (by confidence) whose type is in `types` (None: any type)
    between two entities, or None."""
    entities = {e.id: e for e in document.entities}
    best = None
    for relation in document.relations:
        if types is not None and relation.type not in types:
            continue
        a1, a2 = entities.get(relation.arg1), entities.get(relation.arg2)
        if a1 is None or a2 is None:
            continue
        confidence = relation.confidence if relation.confidence is not None else 0.0
        if best is None or confidence > best[0]:
            best = (confidence, relation, a1, a2)
    if best is None:
        return None
    confidence, relation, a1, a2 = best
    return Evidence(
        source="relation", start=min(a1.start, a2.start), end=max(a1.end, a2.end),
        score=relation.confidence, arg1=(a1.start, a1.end), arg2=(a2.start, a2.end),
    )


def sentence_evidence(
    texts: Sequence[str], score: Callable[[list[str]], Sequence[float]]
) -> list[Evidence | None]:
    """For each text, its sentence with the highest ADE score (the first on ties; None for a text without
    a sentence). `score` takes sentences and returns their ADE probabilities, in order: every text's
    sentences go to it in one call."""
    spans = [sentence_spans(text)[:MAX_SENTENCES] for text in texts]
    flat = [text[s:e] for text, cuts in zip(texts, spans, strict=True) for s, e in cuts]
    scores = list(score(flat)) if flat else []
    out: list[Evidence | None] = []
    at = 0
    for cuts in spans:
        mine = scores[at : at + len(cuts)]
        at += len(cuts)
        if not cuts:
            out.append(None)
            continue
        i = max(range(len(cuts)), key=lambda k: (mine[k], -k))
        out.append(Evidence(source="sentence", start=cuts[i][0], end=cuts[i][1], score=float(mine[i])))
    return out
