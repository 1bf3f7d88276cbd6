"""Loaders for the public benchmark corpora, as plain `Document` records (framework-free).

The corpora live outside the repository (see ../shared/data/README.md); `data_dir()` finds them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from annotations.formats.document import Document, Entity, Relation, Span

__all__ = [
    "ADE_DRUG",
    "ADE_EFFECT",
    "ADE_RELATION",
    "ADE_FOLDS",
    "data_dir",
    "ade_folds_dir",
    "load_ade_spert",
    "ade_fold",
]

ADE_DRUG = "Drug"
ADE_EFFECT = "Adverse-Effect"
ADE_RELATION = "Adverse-Effect"
ADE_FOLDS = 10
_PROJECT_ROOT = Path(__file__).resolve().parents[3]  # inference/core/extraction/datasets.py


def data_dir() -> Path:
    """The shared corpora folder: $ADE_REVIEW_DATA, else `<project root>/../shared/data`.

    The folder may not exist; callers (tests, benchmarks) skip with a clear message when it does not.
    """
    env = os.environ.get("ADE_REVIEW_DATA")
    return Path(env).expanduser() if env else (_PROJECT_ROOT.parent / "shared" / "data")


def ade_folds_dir() -> Path:
    """`data_dir() / "ade_spert_folds"`: ade_full.json and ade_split_K_test.json (K = 0..9)."""
    return data_dir() / "ade_spert_folds"


def _documents_from_spert(records: Iterable[dict[str, Any]], source: str) -> list[Document]:
    docs: list[Document] = []
    seen: dict[str, int] = {}
    for n, rec in enumerate(records):
        tokens: list[str] = rec["tokens"]
        offsets: list[tuple[int, int]] = []
        pos = 0
        for tok in tokens:
            offsets.append((pos, pos + len(tok)))
            pos += len(tok) + 1
        text = " ".join(tokens)

        entities: list[Entity] = []
        entity_tokens: dict[str, tuple[int, int]] = {}
        for i, ent in enumerate(rec.get("entities", [])):
            ts, te = int(ent["start"]), int(ent["end"])
            if not 0 <= ts < te <= len(tokens):
                raise ValueError(f"{source}: record {n}: entity {i} has bad token span {ts}:{te}")
            start, end = offsets[ts][0], offsets[te - 1][1]
            eid = f"T{i + 1}"
            entities.append(Entity(id=eid, type=ent["type"], spans=(Span(start, end),), text=text[start:end]))
            entity_tokens[eid] = (ts, te)

        relations: list[Relation] = []
        for j, rel in enumerate(rec.get("relations", [])):
            head, tail = int(rel["head"]), int(rel["tail"])
            if not (0 <= head < len(entities) and 0 <= tail < len(entities)):
                raise ValueError(f"{source}: record {n}: relation {j} points outside the entities")
            # The data's direction is kept: arg1 = head (the Adverse-Effect), arg2 = tail (the Drug).
            relations.append(
                Relation(id=f"R{j + 1}", type=rel["type"], arg1=entities[head].id, arg2=entities[tail].id)
            )

        orig = rec.get("orig_id", n)
        base = str(orig)
        seen[base] = seen.get(base, 0) + 1
        doc_id = base if seen[base] == 1 else f"{base}-{seen[base]}"
        label = "ade" if any(r.type == ADE_RELATION for r in relations) else "no_ade"
        docs.append(
            Document(
                id=doc_id,
                text=text,
                entities=tuple(entities),
                relations=tuple(relations),
                label=label,
                metadata={
                    "source": source,
                    "orig_id": orig,
                    "tokens": offsets,
                    "entity_tokens": entity_tokens,
                },
            )
        )
    return docs


def load_ade_spert(path: str | os.PathLike[str]) -> list[Document]:
    """Read an ADE-Corpus-V2 file in the SpERT JSON format (ade_full.json or ade_split_K_test.json).

    Text = the tokens joined by single spaces; entity offsets are exact character offsets into it
    (`doc.text[s.start:s.end]` is the tokens of the entity joined by spaces). Entity types are kept
    ("Drug", "Adverse-Effect"); relations keep the data's direction: arg1 = head = the Adverse-Effect
    entity, arg2 = tail = the Drug entity, type "Adverse-Effect". Document id = str(orig_id), with
    "-2", "-3", ... appended to repeats. label = "ade" when the sentence has an Adverse-Effect relation,
    else "no_ade". metadata: "tokens" = [(start, end)] character offsets of each token, "entity_tokens"
    = {entity id: (token start, token end exclusive)}, "orig_id", "source" (the file name).

    Errors: OSError when unreadable, ValueError on malformed spans.
    """
    path = Path(path)
    with path.open(encoding="utf-8") as fh:
        records = json.load(fh)
    return _documents_from_spert(records, path.name)


def ade_fold(path: str | os.PathLike[str], k: int) -> tuple[list[Document], list[Document]]:
    """The standard SpERT/PFN 10-fold split of ADE-Corpus-V2: (train, test) documents of fold `k`.

    Args: path: the ade_spert_folds folder, or any file inside it (e.g. ade_full.json); k: 0..9.
    Test = ade_split_{k}_test.json; train = every sentence of ade_full.json whose orig_id is not in
    that test file. Errors: ValueError for a bad k, OSError when files are missing.
    """
    if not 0 <= k < ADE_FOLDS:
        raise ValueError(f"fold must be 0..{ADE_FOLDS - 1}, got {k}")
    folder = Path(path)
    if folder.is_file():
        folder = folder.parent
    full = load_ade_spert(folder / "ade_full.json")
    test = load_ade_spert(folder / f"ade_split_{k}_test.json")
    test_ids = {d.metadata["orig_id"] for d in test}
    train = [d for d in full if d.metadata["orig_id"] not in test_ids]
    return train, test
