"""Relation extraction: an entity-pair classifier with typed entity markers (framework-free).

For each candidate pair the text is rewritten with typed markers around both arguments, e.g.
`[E1:Adverse-Effect] rash [/E1] after [E2:Drug] aspirin [/E2]`; the markers are added to the tokenizer
as special tokens (atomic, embeddings initialised from the mean of the vocabulary) and the pair is
classified from the concatenated states of the two opening markers (Baldini Soares et al. 2019,
"entity start"), softmax over "none" and the relation types. Nested arguments nest their markers.

Candidates: ordered pairs (arg1, arg2) whose types a schema RelationType allows ("<ANY>" allows all;
symmetric types are tried in both orders), within `max_char_distance` characters (gap between the two
entities) and `max_token_distance` units. A pair allowed for only some relation types has the others
masked out of its softmax. Every candidate gets a probability; those above `threshold` become relations.
"""

from __future__ import annotations

import bisect
import dataclasses
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from annotations.formats.document import Document, Entity, Relation
from annotations.formats.schema import RelationType
from inference.core.text import sentence_spans
from inference.core.training import pad

NONE = "none"
ANY = "<ANY>"
# More characters than a WordPiece subword of real text spans (words past 100 characters become one
# [UNK]): `encode_pair` tokenises this many characters per subword of max_length on each side of a pair.
CHARS_PER_SUBWORD = 12
_WHITESPACE = re.compile(r"\s")


@dataclass
class REConfig:
    max_length: int = 256  # subwords per pair input, special tokens included
    max_char_distance: int | None = None  # characters between the two arguments
    max_token_distance: int | None = None  # tokens (alignment units) between the two arguments
    typed_markers: bool = True
    threshold: float = 0.5
    dropout: float = 0.1
    # "window": the pair with up to max_length subwords of context around it; "sentence": pairs within
    # one sentence, read with that sentence alone (for models that learnt from single sentences, like
    # NERConfig.context).
    context: str = "window"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> REConfig:
        return cls(**{k: v for k, v in d.items() if k in {f.name for f in dataclasses.fields(cls)}})


@dataclass(frozen=True)
class Candidate:
    """An ordered entity pair and the relation types the schema allows for it."""

    arg1: Entity
    arg2: Entity
    allowed: tuple[str, ...]


def _allows(types: Sequence[str], t: str) -> bool:
    return ANY in types or t in types


def _gap(a: Entity, b: Entity) -> int:
    return max(0, max(a.start, b.start) - min(a.end, b.end))


def _token_gap(text: str, a: Entity, b: Entity) -> int:
    lo, hi = min(a.end, b.end), max(a.start, b.start)
    return len(text[lo:hi].split()) if hi > lo else 0


def candidate_pairs(
    entities: Iterable[Entity],
    relation_types: Sequence[RelationType],
    *,
    text: str = "",
    max_char_distance: int | None = None,
    max_token_distance: int | None = None,
) -> list[Candidate]:
    """Ordered entity pairs the schema allows, within the distance limits.

    Args: the document's entities, the schema's relation types, the text (for the token distance;
    whitespace-separated words counted between the two arguments), the limits (None = unlimited).
    Result: candidates in a deterministic order (by arg1 then arg2 position).
    """
    ents = sorted(entities, key=lambda e: (e.start, e.end, e.type, e.id))
    out = []
    for a in ents:
        for b in ents:
            if a is b or a.id == b.id:
                continue
            allowed = tuple(
                rt.name
                for rt in relation_types
                if (_allows(rt.arg1_types, a.type) and _allows(rt.arg2_types, b.type))
                or (rt.symmetric and _allows(rt.arg1_types, b.type) and _allows(rt.arg2_types, a.type))
            )
            if not allowed:
                continue
            if max_char_distance is not None and _gap(a, b) > max_char_distance:
                continue
            if max_token_distance is not None and _token_gap(text, a, b) > max_token_distance:
                continue
            out.append(Candidate(a, b, allowed))
    return out


def infer_relation_types(docs: Iterable[Document]) -> list[RelationType]:
    """Relation types with the argument types observed in annotated documents (no schema at hand)."""
    seen: dict[str, tuple[set[str], set[str]]] = {}
    for d in docs:
        by_id = {e.id: e for e in d.entities}
        for r in d.relations:
            if r.arg1 in by_id and r.arg2 in by_id:
                a1, a2 = seen.setdefault(r.type, (set(), set()))
                a1.add(by_id[r.arg1].type)
                a2.add(by_id[r.arg2].type)
    return [
        RelationType(name=n, arg1_types=tuple(sorted(a)), arg2_types=tuple(sorted(b)))
        for n, (a, b) in sorted(seen.items())
    ]


def marker_tokens(entity_types: Iterable[str], typed: bool = True) -> list[str]:
    toks = ["[E1]", "[/E1]", "[E2]", "[/E2]"]
    if typed:
        for t in sorted(set(entity_types)):
            toks += [f"[E1:{t}]", f"[E2:{t}]"]
    return toks


class REModule(nn.Module):
    def __init__(self, encoder: nn.Module, n_classes: int, dropout: float = 0.1):
        super().__init__()
        self.encoder = encoder
        H = encoder.config.hidden_size
        self.drop = nn.Dropout(dropout)
        self.classifier = nn.Sequential(
            nn.Linear(2 * H, H), nn.GELU(), nn.Dropout(dropout), nn.Linear(H, n_classes)
        )

    def forward(self, input_ids, attention_mask, e1_pos, e2_pos) -> torch.Tensor:
        h = self.encoder(input_ids=input_ids, attention_mask=attention_mask.long()).last_hidden_state
        b = torch.arange(h.size(0), device=h.device)
        return self.classifier(self.drop(torch.cat([h[b, e1_pos], h[b, e2_pos]], dim=1)))


class RelationExtractor:
    """Trainable entity-pair relation classifier (typed markers, schema-restricted candidates)."""

    name = "re"


    def state(self) -> dict[str, Any]:
        """What `from_state` needs besides the encoder and tokenizer (saved in component.json)."""
        return {
            "config": self.config.to_dict(),
            "labels": self.labels,
            "relation_types": [asdict(rt) for rt in self.relation_types],
            "entity_types": list(self.entity_types),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], encoder_module: nn.Module, tokenizer) -> RelationExtractor:
        fields = set(RelationType.__dataclass_fields__)
        rtypes = [
            RelationType(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in rt.items() if k in fields})
            for rt in state["relation_types"]
        ]
        return cls(REConfig.from_dict(state["config"])).build(encoder_module, tokenizer, rtypes, state["entity_types"])

    def __init__(self, config: REConfig | None = None):
        self.config = config or REConfig()
        self.relation_types: list[RelationType] = []
        self.entity_types: list[str] = []
        self.tokenizer = None
        self.module: REModule | None = None

    @property
    def labels(self) -> list[str]:
        return [NONE] + [rt.name for rt in self.relation_types]

    def initialize(
        self,
        docs: Sequence[Document] = (),
        *,
        encoder=None,
        relation_types: Sequence[RelationType] | None = None,
        entity_types: Sequence[str] | None = None,
    ) -> RelationExtractor:
        """Build on an encoder directory; relation types from the schema, else inferred from `docs`."""
        from inference.core.encoder import load_encoder_model, load_tokenizer, resolve_encoder

        path = resolve_encoder(encoder)
        self.relation_types = (
            list(relation_types) if relation_types is not None else infer_relation_types(docs)
        )
        if not self.relation_types:
            raise ValueError("RE needs at least one relation type (schema or annotated relations)")
        types = set(entity_types or ()) | {e.type for d in docs for e in d.entities}
        for rt in self.relation_types:
            types |= {t for t in (*rt.arg1_types, *rt.arg2_types) if t != ANY}
        self.entity_types = sorted(types)
        tokenizer = load_tokenizer(path, fresh=True)
        encoder_module = load_encoder_model(path)
        n_before = len(tokenizer)
        tokenizer.add_special_tokens(
            {"additional_special_tokens": marker_tokens(self.entity_types, self.config.typed_markers)}
        )
        encoder_module.resize_token_embeddings(len(tokenizer), mean_resizing=False)
        with torch.no_grad():  # new markers start at the mean embedding, not at random
            emb = encoder_module.get_input_embeddings().weight
            emb[n_before:] = emb[:n_before].mean(0, keepdim=True)
        self.tokenizer = tokenizer
        self.module = REModule(encoder_module, len(self.labels), self.config.dropout)
        self.module.eval()
        return self

    def build(self, encoder_module, tokenizer, relation_types, entity_types) -> RelationExtractor:
        self.relation_types = list(relation_types)
        self.entity_types = list(entity_types)
        self.tokenizer = tokenizer
        self.module = REModule(encoder_module, len(self.labels), self.config.dropout)
        self.module.eval()
        return self

    # -- features
    def candidates(
        self,
        doc: Document,
        entities: Sequence[Entity] | None = None,
        sentences: Sequence[tuple[int, int]] | None = None,
    ) -> list[Candidate]:
        """The pairs RE scores; `sentences` (context "sentence") are the note's sentence spans when the
        caller has them already."""
        cfg = self.config
        pairs = candidate_pairs(
            doc.entities if entities is None else entities,
            self.relation_types,
            text=doc.text,
            max_char_distance=cfg.max_char_distance,
            max_token_distance=cfg.max_token_distance,
        )
        if cfg.context == "sentence":
            # A model that learnt from single sentences never saw a pair across two.
            spans = sentence_spans(doc.text) if sentences is None else sentences

            def sentence_of(e: Entity) -> int:
                return bisect.bisect_right(spans, e.start, key=lambda sp: sp[0])

            pairs = [c for c in pairs if sentence_of(c.arg1) == sentence_of(c.arg2)]
        return pairs

    def _marker(self, role: str, ent: Entity) -> str:
        if self.config.typed_markers and ent.type in self.entity_types:
            return f"[{role}:{ent.type}]"
        return f"[{role}]"

    def encode_pair(
        self, text: str, cand: Candidate, sentences: Sequence[tuple[int, int]] | None = None
    ) -> dict:
        """Token ids of the marked text (cropped around the pair to max_length) and the marker positions.

        With `sentences` (character spans, in order; context "sentence") the text is first cut to the
        sentences that hold the pair.
        """
        a, b = cand.arg1, cand.arg2
        lo, hi = min(a.start, b.start), max(a.end, b.end)
        start, end = 0, len(text)
        if sentences:

            def holding(i: int) -> tuple[int, int]:
                return sentences[max(0, bisect.bisect_right(sentences, i, key=lambda sp: sp[0]) - 1)]

            start, end = min(lo, holding(lo)[0]), max(hi, holding(max(lo, hi - 1))[1])
        margin = CHARS_PER_SUBWORD * self.config.max_length
        if hi - lo + 2 * margin < end - start:
            # Only text near the pair can reach the subword window below, so tokenise just that: a long
            # note (or a long "sentence" without punctuation) otherwise costs a whole tokenisation per
            # candidate pair. The cut falls on whitespace, where the tokenizer splits anyway, so the ids
            # inside the window do not change. No whitespace within reach (CJK text, say): that side
            # stays whole, slower but the same.
            near_start, near_end = max(start, lo - margin), min(end, hi + margin)
            if near_start > start:
                ws = _WHITESPACE.search(text, near_start, lo)
                start = ws.start() if ws else start
            if near_end < end:
                tail = [m.start() for m in _WHITESPACE.finditer(text, hi, near_end)]
                end = tail[-1] if tail else end
        if (start, end) != (0, len(text)):
            return self._encode_marked(
                text[start:end], (a.start - start, a.end - start, a), (b.start - start, b.end - start, b)
            )
        return self._encode_marked(text, (a.start, a.end, a), (b.start, b.end, b))

    def _encode_marked(self, text: str, arg1: tuple, arg2: tuple) -> dict:
        """`encode_pair` on `text` with the arguments given as (start, end, entity)."""
        (a_start, a_end, a), (b_start, b_end, b) = arg1, arg2
        # insertions at character positions; at one position closing markers come first, then openings
        # of the longer entity before the shorter (so nested arguments nest their markers)
        ins = [
            (a_start, 1, -(a_end - a_start), self._marker("E1", a)),
            (a_end, 0, (a_end - a_start), "[/E1]"),
            (b_start, 1, -(b_end - b_start), self._marker("E2", b)),
            (b_end, 0, (b_end - b_start), "[/E2]"),
        ]
        ins.sort(key=lambda x: (x[0], x[1], x[2]))
        parts, pos = [], 0
        for p, _, _, m in ins:
            parts.append(text[pos:p])
            parts.append(f" {m} ")
            pos = p
        parts.append(text[pos:])
        ids = self.tokenizer("".join(parts), add_special_tokens=False, verbose=False)["input_ids"]
        tok = self.tokenizer
        e1_id = tok.convert_tokens_to_ids(self._marker("E1", a))
        e2_id = tok.convert_tokens_to_ids(self._marker("E2", b))
        p1, p2 = ids.index(e1_id), ids.index(e2_id)
        room = self.config.max_length - 2
        if len(ids) > room:
            lo, hi = min(p1, p2), max(p1, p2)
            start = max(0, min(lo - (room - (hi - lo + 1)) // 2, len(ids) - room))
            if hi - start >= room:  # the pair itself does not fit: keep both openings, cut the middle
                start = lo
                keep = ids[lo : lo + room // 2] + ids[hi - (room - room // 2) + 1 : hi + 1]
                ids = keep
                p1, p2 = (0, len(ids) - 1) if p1 < p2 else (len(ids) - 1, 0)
            else:
                ids = ids[start : start + room]
                p1, p2 = p1 - start, p2 - start
        ids = [tok.cls_token_id, *ids, tok.sep_token_id]
        return {"input_ids": ids, "e1": p1 + 1, "e2": p2 + 1, "length": len(ids)}

    def _mask(self, cand: Candidate) -> list[bool]:
        return [True] + [rt.name in cand.allowed for rt in self.relation_types]

    def featurize(self, docs: Sequence[Document], train: bool = True) -> list[dict]:
        examples = []
        for d, doc in enumerate(docs):
            gold = {}
            if train:
                for r in doc.relations:
                    gold[(r.arg1, r.arg2)] = r.type
            sentences = sentence_spans(doc.text) if self.config.context == "sentence" else None
            for c in self.candidates(doc, sentences=sentences):
                ex = self.encode_pair(doc.text, c, sentences)
                label = gold.get((c.arg1.id, c.arg2.id))
                if label is None:
                    sym = gold.get((c.arg2.id, c.arg1.id))
                    if sym is not None and any(rt.name == sym and rt.symmetric for rt in self.relation_types):
                        label = sym
                ex["label"] = self.labels.index(label) if label in self.labels else 0
                ex["mask"] = self._mask(c)
                ex["ref"] = (d, c)
                examples.append(ex)
        return examples

    def collate(self, examples: Sequence[dict]) -> dict:
        ids, mask = pad([ex["input_ids"] for ex in examples], self.tokenizer.pad_token_id or 0)
        return {
            "input_ids": ids,
            "attention_mask": mask,
            "e1": torch.tensor([ex["e1"] for ex in examples], dtype=torch.long),
            "e2": torch.tensor([ex["e2"] for ex in examples], dtype=torch.long),
            "labels": torch.tensor([ex.get("label", 0) for ex in examples], dtype=torch.long),
            "class_mask": torch.tensor([ex["mask"] for ex in examples], dtype=torch.bool),
        }

    def _logits(self, batch: dict) -> torch.Tensor:
        dev = next(self.module.parameters()).device
        b = {k: v.to(dev) for k, v in batch.items()}
        logits = self.module(b["input_ids"], b["attention_mask"], b["e1"], b["e2"])
        return logits.masked_fill(~b["class_mask"], -1e4)

    def loss(self, batch: dict) -> torch.Tensor:
        logits = self._logits(batch)
        return nn.functional.cross_entropy(logits, batch["labels"].to(logits.device))

    def update(self, docs: Sequence[Document], optimizer=None, lr: float = 1e-3) -> dict[str, float]:
        """One gradient step on the candidate pairs of `docs` (gold entities); returns {"re": loss}."""
        examples = self.featurize(docs, train=True)
        if not examples:
            return {self.name: 0.0}
        if optimizer is None:
            optimizer = torch.optim.Adam(self.module.parameters(), lr=lr)
        self.module.train()
        loss = self.loss(self.collate(examples))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        self.module.eval()
        return {self.name: float(loss.detach())}

    # -- inference
    def predict_pairs(
        self, docs: Sequence[Document], batch_size: int = 32
    ) -> list[list[tuple[Candidate, str, float]]]:
        """Per document: every candidate pair of its entities with its best relation type and probability."""
        from inference.core.training import length_batches

        examples = self.featurize(docs, train=False)
        out: list[list[tuple[Candidate, str, float]]] = [[] for _ in docs]
        m = self.module
        was = m.training
        m.eval()
        results: dict[int, tuple[str, float]] = {}
        with torch.inference_mode():
            for idx in length_batches([ex["length"] for ex in examples], batch_size):
                probs = torch.softmax(self._logits(self.collate([examples[i] for i in idx])).float(), dim=1)
                probs[:, 0] = -1.0  # the best *relation* type and its probability
                p, k = probs.max(dim=1)
                for i, pi, ki in zip(idx, p.tolist(), k.tolist(), strict=True):
                    results[i] = (self.labels[ki], pi)
        m.train(was)
        for i, ex in enumerate(examples):
            d, c = ex["ref"]
            typ, p = results[i]
            out[d].append((c, typ, p))
        return out

    def predict(
        self, docs: Sequence[Document], batch_size: int = 32, threshold: float | None = None
    ) -> list[Document]:
        """Documents (entities as given) with relations above the threshold, each with its probability."""
        thr = self.config.threshold if threshold is None else threshold
        out = []
        for doc, pairs in zip(docs, self.predict_pairs(docs, batch_size), strict=True):
            rels = []
            for c, typ, p in pairs:
                if p >= thr:
                    rels.append(
                        Relation(
                            id=f"R{len(rels) + 1}", type=typ, arg1=c.arg1.id, arg2=c.arg2.id, confidence=p
                        )
                    )
            out.append(dataclasses.replace(doc, relations=tuple(rels), events=()))
        return out

    def score(
        self, docs: Sequence[Document], predicted: Sequence[Document] | None = None
    ) -> dict[str, float]:
        """Flat RE metrics of `predicted` (relations predicted on the gold entities when None)."""
        from inference.core.extraction.evaluation import re_scores

        predicted = self.predict(docs) if predicted is None else predicted
        return {
            f"re_{k}": v
            for k, v in re_scores(list(docs), list(predicted)).items()
            if isinstance(v, int | float)
        }
