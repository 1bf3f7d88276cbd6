"""Curation (adjudication), framework-free: merge two or more annotators' Documents of one note into what
they all agree on and the disagreements a curator decides, and turn a decision into the annotations it
adds to the curated set.

What counts as the same annotation is the strict rule of the project's scorer and of agreement
(`annotations.formats.matching`): entities of the same type with identical fragments (every fragment of a
discontinuous one); relations of the same type whose arguments are the same entities (direction kept);
events of the same type with the same trigger and the same (role, argument) multiset (repeated roles,
"Theme2", compared by their base role); attributes and normalizations of an agreed entity or relation
compared as sets. Identical items count as multisets: two identical entities in every source agree twice.

`curation_merge` returns:
- `agreed`: a Document of everything every source has (ids T1.., R1.., E1.., A1.., N1.. in text order),
  with the note verdict when every source gave the same one;
- `disagreements`, each a unit the curator decides at once, with what each source has (a `Side`, possibly
  empty), in text order after the verdict:
  - "span": entities the sources do not all have, grouped where they share characters across sources (a
    boundary disagreement, an entity only some sources have, or several overlapping ones);
  - "type": every source has one entity with the same fragments, of different types;
  - "attribute": an agreed entity or relation whose attributes or normalizations differ;
  - "relation": relations the sources do not all have, grouped where their arguments overlap;
  - "event": events the sources do not all have, grouped where their triggers overlap;
  - "verdict": the note verdicts differ (None: a source gave none).
  Keys are stable while the sources stay as they are (a hash of the unit's content and source order), made
  of letters, digits and "-": safe in a URL, and holding no text of the note.

`curation_resolve(merge, unit, choice)` turns a decision (a source's index, ALL or NONE) into a
`Resolution`: the annotations to add to the curated set (each taken relation or event brings the entities
it points at; an entity already in the set with the same type and fragments is the same entity), the
targets whose attributes it replaces, and the verdict it sets. Annotator notes and equivalences are not
merged.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field

from .document import Attribute, Document, Entity, Event, Normalization, Relation
from .matching import Frags, fragments, overlap, strict_matching

__all__ = [
    "ALL",
    "KINDS",
    "NONE",
    "CurationConflict",
    "Disagreement",
    "Merge",
    "Resolution",
    "Side",
    "curation_merge",
    "curation_resolve",
]

ALL = "all"
NONE = "none"
KINDS = ("verdict", "span", "type", "attribute", "relation", "event")
_KIND_ORDER = {k: i for i, k in enumerate(KINDS)}
_ROLE_NUMBER = re.compile(r"\d+$")

EKey = tuple[str, Frags]  # an entity: (type, fragments)


class CurationConflict(ValueError):
    """A decision that cannot be applied as asked (taking every source's verdict when they differ, or two
    values of one attribute); the message says what to do instead."""


@dataclass(frozen=True)
class Side:
    """What one source has in a disagreement (empty: nothing there). Ids are the source document's."""

    source: int  # index into Merge.sources
    entities: tuple[Entity, ...] = ()
    relations: tuple[Relation, ...] = ()
    events: tuple[Event, ...] = ()
    attributes: tuple[Attribute, ...] = ()
    normalizations: tuple[Normalization, ...] = ()
    label: str | None = None

    @property
    def empty(self) -> bool:
        return not (self.entities or self.relations or self.events or self.attributes or self.normalizations
                    or self.label)


@dataclass(frozen=True)
class Disagreement:
    """One unit to decide: `sides` has one Side per source, in source order. `start`/`end`: the text it
    covers (0, 0 for the verdict). `target`: for "attribute", the agreed entity or relation (an id of
    `Merge.agreed`)."""

    key: str
    kind: str
    start: int
    end: int
    sides: tuple[Side, ...]
    target: str | None = None


@dataclass(frozen=True)
class Merge:
    sources: tuple[str, ...]  # the sources' names (usernames), in the order given
    documents: tuple[Document, ...]
    agreed: Document
    disagreements: tuple[Disagreement, ...]
    _by_key: dict[str, Disagreement] = field(default_factory=dict, repr=False, compare=False)
    _keys: tuple = field(default=(), repr=False, compare=False)  # per source: its _Keys

    def unit(self, key: str) -> Disagreement | None:
        return self._by_key.get(key)


@dataclass(frozen=True)
class Resolution:
    """What a decision does to the curated set.

    `add`: annotations to add (ids are this Document's own; an entity equal in type and fragments to one
    already in the set is that one). `replace_attributes_of`: ids in `add` of entities or relations whose
    attributes and normalizations become exactly those of `add`. `label`: the verdict to set when
    `sets_label` (None: no verdict)."""

    add: Document
    replace_attributes_of: tuple[str, ...] = ()
    sets_label: bool = False
    label: str | None = None


# --------------------------------------------------------------------------- keys


def _base_role(role: str) -> str:
    return _ROLE_NUMBER.sub("", role) or role


class _Keys:
    """The strict identity of every entity, event and relation of one document (events and relations that
    point at events, recursively; a circle of events falls back to the trigger)."""

    def __init__(self, doc: Document):
        self.doc = doc
        self.entities = {e.id: e for e in doc.entities}
        self.events = {ev.id: ev for ev in doc.events}
        self.entity: dict[str, EKey] = {e.id: (e.type, fragments(e.spans)) for e in doc.entities}
        self._event: dict[str, Hashable] = {}

    def arg(self, ref: str, seen: frozenset[str] = frozenset()) -> Hashable | None:
        if ref in self.entity:
            return ("T", self.entity[ref])
        if ref in self.events:
            return ("E", self.event(ref, seen))
        return None

    def event(self, event_id: str, seen: frozenset[str] = frozenset()) -> Hashable:
        if event_id in self._event:
            return self._event[event_id]
        ev = self.events[event_id]
        trigger = self.entity.get(ev.trigger)
        if event_id in seen:
            return ("circle", ev.type, trigger)
        args = tuple(sorted(((_base_role(role), self.arg(a, seen | {event_id})) for role, a in ev.args), key=repr))
        key = (ev.type, trigger, args)
        self._event[event_id] = key
        return key

    def relation(self, r: Relation) -> Hashable:
        return (r.type, self.arg(r.arg1), self.arg(r.arg2))

    def frags_of(self, ref: str) -> Frags:
        """The fragments an argument covers (an event: its trigger's)."""
        if ref in self.entity:
            return self.entity[ref][1]
        ev = self.events.get(ref)
        return self.entity.get(ev.trigger, ("", ()))[1] if ev else ()


def _hash(kind: str, content: Hashable) -> str:
    digest = hashlib.blake2b(repr(content).encode("utf-8"), digest_size=8).hexdigest()
    return f"{kind[0]}-{digest}"


def _span_of(frag_sets: Iterable[Frags]) -> tuple[int, int]:
    flat = [f for frags in frag_sets for f in frags]
    return (min(s for s, _ in flat), max(e for _, e in flat)) if flat else (0, 0)


# --------------------------------------------------------------------------- agreement by multiset


def _agreed_instances(keys_per_doc: Sequence[Sequence[Hashable]]) -> tuple[Counter, list[list[bool]]]:
    """The multiset every document has, and per document which of its items are part of it (the first
    ones of each key, in document order)."""
    counts = [Counter(keys) for keys in keys_per_doc]
    common = counts[0].copy()
    for c in counts[1:]:
        common &= c
    flags = []
    for keys in keys_per_doc:
        left = common.copy()
        row = []
        for k in keys:
            take = left[k] > 0
            if take:
                left[k] -= 1
            row.append(take)
        flags.append(row)
    return common, flags


class _Components:
    """Union-find over (document index, item index) nodes."""

    def __init__(self) -> None:
        self.parent: dict[tuple[int, int], tuple[int, int]] = {}

    def add(self, node: tuple[int, int]) -> None:
        self.parent.setdefault(node, node)

    def find(self, node: tuple[int, int]) -> tuple[int, int]:
        root = node
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[node] != root:
            self.parent[node], node = root, self.parent[node]
        return root

    def union(self, a: tuple[int, int], b: tuple[int, int]) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def groups(self) -> list[list[tuple[int, int]]]:
        out: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
        for node in self.parent:
            out[self.find(node)].append(node)
        return [sorted(g) for g in out.values()]


def _group_by_overlap(items: Sequence[tuple[int, int, Sequence[Frags]]]) -> _Components:
    """Connect items (document index, item index, its parts' fragments) of different documents whose parts
    overlap (`_parts_overlap`): one unit holds what the sources have at one place of the text. Items of one
    document are not connected directly, so two separate entities of one source stay two decisions."""
    comps = _Components()
    boxes = []
    for doc_i, item_i, parts in items:
        comps.add((doc_i, item_i))
        boxes.append((_span_of(parts), doc_i, item_i, parts))
    boxes.sort(key=lambda b: b[0])
    active: list[tuple[tuple[int, int], int, int, Sequence[Frags]]] = []
    for box, doc_i, item_i, parts in boxes:
        active = [a for a in active if a[0][1] > box[0]]
        for _, other_doc, other_item, other_parts in active:
            if other_doc != doc_i and _parts_overlap(parts, other_parts):
                comps.union((doc_i, item_i), (other_doc, other_item))
        active.append((box, doc_i, item_i, parts))
    return comps


def _parts_overlap(a: Sequence[Frags], b: Sequence[Frags]) -> bool:
    """Entities (and events, by their triggers): shared characters. Relations: each argument overlaps its
    counterpart, either way round."""
    if len(a) == 2 and len(b) == 2:
        return bool((overlap(a[0], b[0]) and overlap(a[1], b[1])) or (overlap(a[0], b[1]) and overlap(a[1], b[0])))
    return any(overlap(x, y) for x in a for y in b)


# --------------------------------------------------------------------------- the merge


def curation_merge(sources: Sequence[tuple[str, Document]]) -> Merge:
    """Merge sources (name, Document) of one note: the agreed annotations and the disagreements (see the
    module docstring).

    Errors: ValueError when there is no source or the documents' texts differ."""
    if not sources:
        raise ValueError("nothing to merge")
    names = tuple(name for name, _ in sources)
    docs = tuple(doc for _, doc in sources)
    text = docs[0].text
    if any(d.text != text for d in docs):
        raise ValueError("the documents of one note must share its text")
    keys = [_Keys(d) for d in docs]
    n = len(docs)
    extras = [(_by_target(d.attributes), _by_target(d.normalizations)) for d in docs]
    units: list[Disagreement] = []
    agreed_entities: list[Entity] = []
    agreed_relations: list[Relation] = []
    agreed_events: list[Event] = []
    agreed_attributes: list[Attribute] = []
    agreed_norms: list[Normalization] = []

    # ---- entities
    ent_keys = [[k.entity[e.id] for e in d.entities] for k, d in zip(keys, docs, strict=True)]
    _, ent_flags = _agreed_instances(ent_keys)
    # The agreed entities, as the first source has them, in text order; each source's agreed ids map to them.
    first = [e for e, flag in zip(docs[0].entities, ent_flags[0], strict=True) if flag]
    first.sort(key=lambda e: (e.start, fragments(e.spans), e.type))
    agreed_id: dict[EKey, list[str]] = defaultdict(list)
    for i, e in enumerate(first, 1):
        new_id = f"T{i}"
        agreed_entities.append(Entity(id=new_id, type=e.type, spans=e.spans, text=e.text))
        agreed_id[(e.type, fragments(e.spans))].append(new_id)
    to_agreed: list[dict[str, str]] = []  # per source: its entity id -> the agreed id
    for k, d, flags in zip(keys, docs, ent_flags, strict=True):
        taken: dict[EKey, int] = Counter()
        mapping = {}
        for e, flag in zip(d.entities, flags, strict=True):
            if flag:
                ek = k.entity[e.id]
                mapping[e.id] = agreed_id[ek][taken[ek]]
                taken[ek] += 1
        to_agreed.append(mapping)

    loose = [
        (di, ei, (k.entity[e.id][1],))
        for di, (k, d, flags) in enumerate(zip(keys, docs, ent_flags, strict=True))
        for ei, (e, flag) in enumerate(zip(d.entities, flags, strict=True)) if not flag
    ]
    for group in _group_by_overlap(loose).groups():
        per_doc: dict[int, list[Entity]] = defaultdict(list)
        for di, ei in group:
            per_doc[di].append(docs[di].entities[ei])
        frag_sets = {fragments(e.spans) for es in per_doc.values() for e in es}
        kind = "type" if len(per_doc) == n and all(len(es) == 1 for es in per_doc.values()) and len(frag_sets) == 1 \
            else "span"
        sides = tuple(
            Side(source=di, entities=tuple(per_doc.get(di, ())),
                 **_extras_of(extras[di], {e.id for e in per_doc.get(di, ())}))
            for di in range(n)
        )
        content = tuple((di, tuple(sorted((e.type, fragments(e.spans)) for e in per_doc.get(di, ())))) for di in range(n))
        start, end = _span_of(frag_sets)
        units.append(Disagreement(_hash(kind, (kind, content)), kind, start, end, sides))

    # ---- events (before relations: a relation may point at one)
    ev_keys = [[k.event(ev.id) for ev in d.events] for k, d in zip(keys, docs, strict=True)]
    _, ev_flags = _agreed_instances(ev_keys)
    agreed_event_id: dict[Hashable, list[str]] = defaultdict(list)
    event_to_agreed: list[dict[str, str]] = [{} for _ in docs]
    # Events whose arguments are other events need those first: passes until nothing more resolves; what is
    # left (an argument or trigger that is not agreed) is a disagreement after all, in every source.
    pending = [(ev, k0) for ev, k0, flag in zip(docs[0].events, ev_keys[0], ev_flags[0], strict=True) if flag]
    progress = True
    while pending and progress:
        progress, left = False, []
        for ev, ekey in pending:
            trigger = to_agreed[0].get(ev.trigger)
            args = [(role, _agreed_ref(a, 0, to_agreed, event_to_agreed)) for role, a in ev.args]
            if trigger is None or any(ref is None for _, ref in args):
                left.append((ev, ekey))
                continue
            new_id = f"E{len(agreed_events) + 1}"
            agreed_events.append(Event(id=new_id, type=ev.type, trigger=trigger, args=tuple(args)))
            agreed_event_id[ekey].append(new_id)
            event_to_agreed[0][ev.id] = new_id
            progress = True
        pending = left
    for di in range(1, n):
        taken = Counter()
        for ev, ekey, flag in zip(docs[di].events, ev_keys[di], ev_flags[di], strict=True):
            if flag and taken[ekey] < len(agreed_event_id[ekey]):
                event_to_agreed[di][ev.id] = agreed_event_id[ekey][taken[ekey]]
                taken[ekey] += 1
    loose_events = [
        (di, xi, (keys[di].frags_of(ev.trigger),))
        for di, d in enumerate(docs) for xi, ev in enumerate(d.events) if ev.id not in event_to_agreed[di]
    ]
    for group in _group_by_overlap(loose_events).groups():
        per_doc = defaultdict(list)
        for di, xi in group:
            per_doc[di].append(docs[di].events[xi])
        sides = tuple(
            Side(source=di, events=tuple(per_doc.get(di, ())),
                 **_extras_of(extras[di], {ev.id for ev in per_doc.get(di, ())}))
            for di in range(n)
        )
        content = tuple((di, tuple(sorted(repr(keys[di].event(ev.id)) for ev in per_doc.get(di, ())))) for di in range(n))
        start, end = _span_of(keys[di].frags_of(ev.trigger) for di, evs in per_doc.items() for ev in evs)
        units.append(Disagreement(_hash("event", ("event", content)), "event", start, end, sides))

    # ---- relations
    rel_keys = [[k.relation(r) for r in d.relations] for k, d in zip(keys, docs, strict=True)]
    _, rel_flags = _agreed_instances(rel_keys)
    relation_to_agreed: list[dict[str, str]] = [{} for _ in docs]
    agreed_relation_id: dict[Hashable, list[str]] = defaultdict(list)
    for r, rkey, flag in zip(docs[0].relations, rel_keys[0], rel_flags[0], strict=True):
        a1 = _agreed_ref(r.arg1, 0, to_agreed, event_to_agreed)
        a2 = _agreed_ref(r.arg2, 0, to_agreed, event_to_agreed)
        if flag and a1 and a2:
            new_id = f"R{len(agreed_relations) + 1}"
            agreed_relations.append(Relation(id=new_id, type=r.type, arg1=a1, arg2=a2, arg1_role=r.arg1_role,
                                             arg2_role=r.arg2_role))
            agreed_relation_id[rkey].append(new_id)
            relation_to_agreed[0][r.id] = new_id
    for di in range(1, n):
        taken = Counter()
        for r, rkey, flag in zip(docs[di].relations, rel_keys[di], rel_flags[di], strict=True):
            if flag and taken[rkey] < len(agreed_relation_id[rkey]):
                relation_to_agreed[di][r.id] = agreed_relation_id[rkey][taken[rkey]]
                taken[rkey] += 1
    loose_relations = [
        (di, ri, (keys[di].frags_of(r.arg1), keys[di].frags_of(r.arg2)))
        for di, d in enumerate(docs) for ri, r in enumerate(d.relations) if r.id not in relation_to_agreed[di]
    ]
    for group in _group_by_overlap(loose_relations).groups():
        per_doc = defaultdict(list)
        for di, ri in group:
            per_doc[di].append(docs[di].relations[ri])
        sides = tuple(
            Side(source=di, relations=tuple(per_doc.get(di, ())),
                 **_extras_of(extras[di], {r.id for r in per_doc.get(di, ())}))
            for di in range(n)
        )
        content = tuple((di, tuple(sorted(repr(keys[di].relation(r)) for r in per_doc.get(di, ())))) for di in range(n))
        start, end = _span_of(
            f for di, rs in per_doc.items() for r in rs for f in (keys[di].frags_of(r.arg1), keys[di].frags_of(r.arg2))
        )
        units.append(Disagreement(_hash("relation", ("relation", content)), "relation", start, end, sides))

    # ---- attributes and normalizations of agreed entities and relations
    targets: dict[str, list[dict[str, str]]] = {}  # agreed id -> per source: its own id of that target
    for di in range(n):
        for own, new in [*to_agreed[di].items(), *relation_to_agreed[di].items(), *event_to_agreed[di].items()]:
            targets.setdefault(new, [{} for _ in range(n)])[di] = {"id": own}
    agreed_boxes = {e.id: fragments(e.spans) for e in agreed_entities}
    for ev in agreed_events:
        agreed_boxes[ev.id] = agreed_boxes.get(ev.trigger, ())
    for r in agreed_relations:
        agreed_boxes[r.id] = agreed_boxes.get(r.arg1, ()) + agreed_boxes.get(r.arg2, ())
    attrs_by_target = [a for a, _ in extras]
    norms_by_target = [x for _, x in extras]
    for new in sorted(targets, key=lambda t: (_span_of([agreed_boxes.get(t, ())]), t)):
        own_ids = [targets[new][di].get("id") for di in range(n)]
        attrs = [attrs_by_target[di].get(own_ids[di], []) if own_ids[di] else [] for di in range(n)]
        norms = [norms_by_target[di].get(own_ids[di], []) if own_ids[di] else [] for di in range(n)]
        attr_sets = [frozenset((a.name, a.value) for a in a_list) for a_list in attrs]
        norm_sets = [frozenset((x.type, x.resource, x.resource_id) for x in n_list) for n_list in norms]
        if len(set(attr_sets)) == 1 and len(set(norm_sets)) == 1:
            for a in sorted(attrs[0], key=lambda a: (a.name, a.value or "")):
                agreed_attributes.append(Attribute(id=f"A{len(agreed_attributes) + 1}", name=a.name, target=new,
                                                   value=a.value))
            for x in norms[0]:
                agreed_norms.append(Normalization(id=f"N{len(agreed_norms) + 1}", target=new, resource=x.resource,
                                                  resource_id=x.resource_id, text=x.text, type=x.type))
            continue
        sides = tuple(Side(source=di, attributes=tuple(attrs[di]), normalizations=tuple(norms[di])) for di in range(n))
        content = (new, agreed_boxes.get(new), tuple((di, tuple(sorted(attr_sets[di], key=repr)),
                                                      tuple(sorted(norm_sets[di], key=repr))) for di in range(n)))
        start, end = _span_of([agreed_boxes.get(new, ())])
        units.append(Disagreement(_hash("attribute", ("attribute", content)), "attribute", start, end, sides,
                                  target=new))

    # ---- the verdict
    labels = [d.label for d in docs]
    label = labels[0] if len(set(labels)) == 1 else None
    if len(set(labels)) > 1:
        units.append(Disagreement(_hash("verdict", ("verdict", tuple(labels))), "verdict", 0, 0,
                                  tuple(Side(source=di, label=labels[di]) for di in range(n))))

    units.sort(key=lambda u: (u.kind != "verdict", u.start, u.end, _KIND_ORDER[u.kind], u.key))
    agreed = Document(
        id=docs[0].id, text=text, entities=tuple(agreed_entities), relations=tuple(agreed_relations),
        events=tuple(agreed_events), attributes=tuple(agreed_attributes), normalizations=tuple(agreed_norms),
        label=label,
    )
    return Merge(sources=names, documents=docs, agreed=agreed, disagreements=tuple(units),
                 _by_key={u.key: u for u in units}, _keys=tuple(keys))


def _agreed_ref(ref: str, di: int, to_agreed: list[dict[str, str]], event_to_agreed: list[dict[str, str]]) -> str | None:
    return to_agreed[di].get(ref) or event_to_agreed[di].get(ref)


def _by_target(items) -> dict[str, list]:
    out: dict[str, list] = defaultdict(list)
    for x in items:
        out[x.target].append(x)
    return out


def _extras_of(by_target: tuple[dict[str, list], dict[str, list]], ids: set[str]) -> dict:
    """The attributes and normalizations of these entities, relations or events (`by_target`: a document's
    attributes and normalizations by target, `_by_target`)."""
    attributes, normalizations = by_target
    return {
        "attributes": tuple(a for i in sorted(ids) for a in attributes.get(i, ())),
        "normalizations": tuple(x for i in sorted(ids) for x in normalizations.get(i, ())),
    }


# --------------------------------------------------------------------------- decisions


class _Builder:
    """Collects a Resolution's Document: items of several sources (or of the agreed document), each once,
    with the entities and events they point at, under ids of its own (T1, E1, R1, ...: a valid Document)."""

    def __init__(self, merge: Merge):
        self.merge = merge
        self.ids: dict[tuple[int | None, str], str] = {}
        self.counts: Counter = Counter()
        self.entities: dict[str, Entity] = {}
        self.events: dict[str, Event] = {}
        self.relations: dict[str, Relation] = {}
        self.attributes: list[Attribute] = []
        self.normalizations: list[Normalization] = []

    def _doc(self, source: int | None) -> _Keys:
        return self.merge._keys[source] if source is not None else _Keys(self.merge.agreed)

    def _id(self, source: int | None, own: str, prefix: str = "") -> str:
        """This document's id for item `own` of `source` (made on first use; `prefix` then names its kind)."""
        key = (source, own)
        if key not in self.ids:
            prefix = prefix or own[:1]
            self.counts[prefix] += 1
            self.ids[key] = f"{prefix}{self.counts[prefix]}"
        return self.ids[key]

    def ref(self, source: int | None, ref: str, index: _Keys, seen: frozenset[str] = frozenset()) -> str:
        if ref in index.entities:
            return self.entity(source, index.entities[ref])
        if ref in index.events:
            return self.event(source, index.events[ref], index, seen)
        raise ValueError(f"{ref} is neither an entity nor an event of source {source}")

    def entity(self, source: int | None, e: Entity) -> str:
        new = self._id(source, e.id, "T")
        self.entities.setdefault(new, Entity(id=new, type=e.type, spans=e.spans, text=e.text))
        return new

    def event(self, source: int | None, ev: Event, index: _Keys, seen: frozenset[str] = frozenset()) -> str:
        new = self._id(source, ev.id, "E")
        if new in self.events or ev.id in seen:  # made already, or a circle of events
            return new
        trigger = self.ref(source, ev.trigger, index)
        args = tuple((role, self.ref(source, a, index, seen | {ev.id})) for role, a in ev.args)
        self.events[new] = Event(id=new, type=ev.type, trigger=trigger, args=args)
        return new

    def relation(self, source: int | None, r: Relation, index: _Keys) -> str:
        new = self._id(source, r.id, "R")
        if new not in self.relations:
            self.relations[new] = Relation(id=new, type=r.type, arg1=self.ref(source, r.arg1, index),
                                           arg2=self.ref(source, r.arg2, index), arg1_role=r.arg1_role,
                                           arg2_role=r.arg2_role)
        return new

    def item(self, source: int | None, own: str) -> str:
        """An entity, event or relation of a source (None: the agreed document) with what it points at."""
        index = self._doc(source)
        relation = next((r for r in index.doc.relations if r.id == own), None)
        if relation is not None:
            return self.relation(source, relation, index)
        return self.ref(source, own, index)

    def extras(self, side: Side, target: str | None = None) -> None:
        """The side's attributes and normalizations, on `target` (an id of this document) or on their own
        targets (taken already)."""
        for a in side.attributes:
            on = target or self.ids.get((side.source, a.target), "")
            self.attributes.append(Attribute(id=f"A{len(self.attributes) + 1}", name=a.name, target=on, value=a.value))
        for x in side.normalizations:
            on = target or self.ids.get((side.source, x.target), "")
            self.normalizations.append(Normalization(id=f"N{len(self.normalizations) + 1}", target=on,
                                                     resource=x.resource, resource_id=x.resource_id, text=x.text,
                                                     type=x.type))

    def document(self) -> Document:
        ids = {*self.entities, *self.relations, *self.events}
        return Document(
            id=self.merge.agreed.id, text=self.merge.agreed.text, entities=tuple(self.entities.values()),
            relations=tuple(self.relations.values()), events=tuple(self.events.values()),
            attributes=tuple(a for a in self.attributes if a.target in ids),
            normalizations=tuple(x for x in self.normalizations if x.target in ids),
        )


def curation_resolve(merge: Merge, unit: Disagreement, choice: int | str) -> Resolution:
    """What deciding `unit` with `choice` (a source index, ALL or NONE) adds to the curated set.

    Errors: ValueError for a choice that names no source; CurationConflict when ALL cannot hold every
    source's version at once (different verdicts; two values of one attribute)."""
    if choice not in (ALL, NONE) and not (isinstance(choice, int) and 0 <= choice < len(unit.sides)):
        raise ValueError(f"no such choice {choice!r}")
    chosen = [] if choice == NONE else list(unit.sides) if choice == ALL else [unit.sides[choice]]
    builder = _Builder(merge)
    if unit.kind == "verdict":
        labels = {s.label for s in chosen}
        if len(labels) > 1:
            raise CurationConflict("The verdicts differ and a note has one verdict: take one source's, or edit it.")
        return Resolution(add=builder.document(), sets_label=True, label=labels.pop() if labels else None)
    if unit.kind == "attribute":
        target = builder.item(None, unit.target)
        values: dict[str, set] = defaultdict(set)
        for side in chosen:
            for a in side.attributes:
                values[a.name].add(a.value)
        clashing = sorted(name for name, vals in values.items() if len(vals) > 1)
        if clashing:
            raise CurationConflict(f"The sources give {', '.join(clashing)} different values: take one source's, "
                                   "or edit it.")
        seen: set[tuple] = set()
        for side in chosen:
            attributes = []
            for a in side.attributes:
                if ("a", a.name, a.value) not in seen:
                    seen.add(("a", a.name, a.value))
                    attributes.append(a)
            normalizations = []
            for x in side.normalizations:
                if ("n", x.resource, x.resource_id) not in seen:
                    seen.add(("n", x.resource, x.resource_id))
                    normalizations.append(x)
            builder.extras(Side(source=side.source, attributes=tuple(attributes),
                                normalizations=tuple(normalizations)), target=target)
        return Resolution(add=builder.document(), replace_attributes_of=(target,))
    for side in chosen:
        index = merge._keys[side.source]
        for e in side.entities:
            builder.entity(side.source, e)
        for ev in side.events:
            builder.event(side.source, ev, index)
        for r in side.relations:
            builder.relation(side.source, r, index)
        builder.extras(side)
    return Resolution(add=builder.document())


def survival(source: Document, gold: Document) -> dict[str, tuple[int, int]]:
    """How much of one annotator's Document survived into the adjudicated gold: (kept, total) for
    "entity", "relation", "event" (strict identity, as multisets) and "verdict" (1 when it is gold's)."""
    sk, gk = _Keys(source), _Keys(gold)
    out = {}
    for kind, s_items, g_items in (
        ("entity", [sk.entity[e.id] for e in source.entities], [gk.entity[e.id] for e in gold.entities]),
        ("relation", [sk.relation(r) for r in source.relations], [gk.relation(r) for r in gold.relations]),
        ("event", [sk.event(ev.id) for ev in source.events], [gk.event(ev.id) for ev in gold.events]),
    ):
        out[kind] = (len(strict_matching(g_items, s_items, lambda x: x)), len(s_items))
    out["verdict"] = (int(source.label is not None and source.label == gold.label), int(source.label is not None))
    return out
