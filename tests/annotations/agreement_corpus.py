"""Three annotators' Documents of the same fixed notes, with every kind of disagreement: missed and extra
entities, shifted boundaries, other types, discontinuous fragments, relations, events, verdicts and missing
verdicts. Seeded, so every test (core and database) reads the same corpus."""

from __future__ import annotations

import random

from annotations.formats.document import Document, Entity, Event, Relation, Span

RATERS = ("ann1", "ann2", "ann3")
TYPES = ("Drug", "ADE", "Dose")
VERDICTS = ("ade", "no_ade", "uncertain")
WORD = "word "


def _text(i: int) -> str:
    return f"Note {i}: " + WORD * 40


def _truth(rng: random.Random, text: str) -> list[tuple[str, tuple[tuple[int, int], ...]]]:
    out = []
    for _ in range(rng.randint(2, 7)):
        start = rng.randrange(10, len(text) - 30)
        frags = ((start, start + rng.randint(3, 9)),)
        if rng.random() < 0.2:  # discontinuous
            s2 = frags[0][1] + rng.randint(2, 8)
            frags = frags + ((s2, s2 + rng.randint(2, 6)),)
        out.append((rng.choice(TYPES), frags))
    return out


def _rater_doc(rng: random.Random, note_id: str, text: str, truth, verdict: str | None) -> Document:
    ents = []
    for type_, frags in truth:
        r = rng.random()
        if r < 0.1:
            continue  # missed
        if r < 0.2:
            type_ = rng.choice(TYPES)  # maybe another type
        elif r < 0.3:
            (s, e), *rest = frags
            frags = ((s + rng.choice((-2, -1, 1, 2)), e), *rest)  # another boundary
        ents.append((type_, frags))
    if rng.random() < 0.3:  # an extra one
        start = rng.randrange(10, len(text) - 20)
        ents.append((rng.choice(TYPES), ((start, start + 4),)))
    entities = tuple(
        Entity(id=f"T{k + 1}", type=t, spans=tuple(Span(s, e) for s, e in frags),
               text=" ".join(text[s:e] for s, e in frags))
        for k, (t, frags) in enumerate(ents)
    )
    relations, events = [], []
    if len(entities) >= 2:
        for k in range(rng.randint(0, 2)):
            a, b = rng.sample(range(len(entities)), 2)
            relations.append(Relation(id=f"R{k + 1}", type=rng.choice(("ADE-of", "Dose-of")),
                                      arg1=entities[a].id, arg2=entities[b].id))
        a, b = rng.sample(range(len(entities)), 2)
        if rng.random() < 0.5:
            events.append(Event(id="E1", type="Reaction", trigger=entities[a].id, args=(("Theme", entities[b].id),)))
    return Document(id=note_id, text=text, entities=entities, relations=tuple(relations), events=tuple(events),
                    label=verdict)


def agreement_corpus(n_notes: int = 40, seed: int = 17, missing: bool = True) -> list[dict[str, Document]]:
    """Per note, each rater's Document; with `missing`, some verdicts are left out (None)."""
    rng = random.Random(seed)
    notes = []
    for i in range(n_notes):
        text = _text(i)
        truth = _truth(rng, text)
        consensus = rng.choice(VERDICTS)
        docs = {}
        for rater in RATERS:
            verdict = consensus if rng.random() < 0.7 else rng.choice(VERDICTS)
            if missing and rng.random() < 0.1:
                verdict = None
            docs[rater] = _rater_doc(rng, f"n{i:03d}", text, truth, verdict)
        notes.append(docs)
    return notes
