"""brat standoff: parse and write `.ann` files against their `.txt`.

Rules (brat standoff as brat itself reads it):

- Offsets are Unicode code points of the strictly UTF-8-decoded `.txt`; no newline translation
  (`\\r` is a character) so CRLF text round-trips byte-identically.
- `.ann` lines may end in `\\r\\n` (the `\\r` is dropped) and carry trailing spaces / tabs, which are
  ignored except inside note and normalization text fields, which are kept verbatim.
- The text field of a T line is compared with the text its offsets cover by
  `text.text_field_matches`: line breaks may appear as spaces and trailing blanks are ignored.
  The parsed `Entity.text` is always the text taken from the `.txt` (fragments joined by one space),
  not the field, so a document read from a file with trailing blanks writes back canonical lines.
- `M` lines (the old attribute form) are read as `Attribute` and keep their `M` id.
- Equivalences have no id; `lines` keys them "*1", "*2", ... in file order.
- Lossy: `Entity.confidence` and `Relation.confidence` have no place in `.ann` and are not written.
"""

from __future__ import annotations

from .document import (
    AnnotatorNote,
    Attribute,
    Document,
    Entity,
    Equivalence,
    Event,
    FormatError,
    Normalization,
    ParseProblem,
    Relation,
    Span,
)
from .results import ReadResult
from .text import decode_utf8, field_form, span_text, text_field_matches

__all__ = ["parse_ann", "parse_brat", "read_brat_document", "write_ann", "write_txt"]


def _parse_role_arg(token: str) -> tuple[str, str] | None:
    role, sep, arg = token.partition(":")
    if not sep or not role or not arg:
        return None
    return role, arg


def parse_ann(
    ann: str, text: str, *, doc_id: str, source: str = ""
) -> tuple[Document, list[ParseProblem], dict[str, int]]:
    """Parse the `.ann` content `ann` for `text`.

    Returns the (best effort) Document, every problem found (syntax, duplicate ids, offsets, text
    mismatches, dangling references) and the id -> 1-based line map. Never raises for bad input.
    """
    from .validation import document_problems  # validation imports text helpers only; avoid a cycle

    problems: list[ParseProblem] = []
    lines: dict[str, int] = {}
    entities: list[Entity] = []
    relations: list[Relation] = []
    events: list[Event] = []
    attributes: list[Attribute] = []
    normalizations: list[Normalization] = []
    notes: list[AnnotatorNote] = []
    equivalences: list[Equivalence] = []
    n_equiv = 0

    def bad(number: int, message: str) -> None:
        problems.append(ParseProblem(source, number, message))

    if ann.startswith("\ufeff"):  # a byte-order mark from a Windows editor is not part of the first id
        ann = ann[1:]
    for number, raw in enumerate(ann.split("\n"), start=1):
        line = raw[:-1] if raw.endswith("\r") else raw
        if not line.strip():
            continue
        ann_id, sep, rest = line.partition("\t")
        if not sep:
            bad(number, f"malformed line (expected ID<TAB>...): {line[:60]!r}")
            continue
        ann_id = ann_id.strip()
        kind = ann_id[:1]
        if kind == "*":
            parts = rest.split()
            if len(parts) < 3:
                bad(number, "malformed equivalence (expected '*<TAB>Type ID ID ...')")
                continue
            n_equiv += 1
            lines[f"*{n_equiv}"] = number
            equivalences.append(Equivalence(type=parts[0], members=tuple(parts[1:])))
            continue
        if not ann_id or any(c.isspace() for c in ann_id) or len(ann_id) < 2:
            bad(number, f"malformed id {ann_id!r}")
            continue
        if kind not in "TREAMN#":
            bad(
                number,
                f"unknown annotation kind {kind!r} in id {ann_id!r} (expected T, R, E, A, M, N, # or *)",
            )
            continue
        if ann_id in lines:
            bad(number, f"duplicate id {ann_id} (first on line {lines[ann_id]})")
            continue

        if kind == "T":
            head, sep, field = rest.partition("\t")
            parts = head.split(None, 1)
            if len(parts) != 2 or not sep:
                bad(number, f"{ann_id}: malformed text-bound line (expected 'Type START END<TAB>text')")
                continue
            etype, offsets = parts
            spans: list[Span] = []
            ok = True
            for fragment in offsets.split(";"):
                nums = fragment.split()
                if len(nums) != 2 or not all(n.isdigit() for n in nums):
                    ok = False
                    break
                spans.append(Span(int(nums[0]), int(nums[1])))
            if not ok or not spans:
                bad(
                    number, f"{ann_id}: malformed offsets {offsets!r} (expected 'START END' or 'S1 E1;S2 E2')"
                )
                continue
            in_range = all(0 <= s.start < s.end <= len(text) for s in spans)
            actual = span_text(text, spans) if in_range else None
            # Keep the real text when the field agrees (see module docstring); otherwise keep the field
            # so that validation reports the mismatch.
            etext = actual if actual is not None and text_field_matches(field, actual) else field
            entities.append(Entity(id=ann_id, type=etype, spans=tuple(spans), text=etext))
        elif kind == "R":
            parts = rest.split()
            args = [_parse_role_arg(p) for p in parts[1:]]
            if len(parts) != 3 or any(a is None for a in args):
                bad(number, f"{ann_id}: malformed relation (expected 'Type Arg1:ID Arg2:ID')")
                continue
            (r1, a1), (r2, a2) = args  # type: ignore[misc]
            relations.append(Relation(id=ann_id, type=parts[0], arg1=a1, arg2=a2, arg1_role=r1, arg2_role=r2))
        elif kind == "E":
            parts = rest.split()
            trig = _parse_role_arg(parts[0]) if parts else None
            args = [_parse_role_arg(p) for p in parts[1:]]
            if trig is None or any(a is None for a in args):
                bad(number, f"{ann_id}: malformed event (expected 'Type:TRIGGER Role:ID ...')")
                continue
            events.append(Event(id=ann_id, type=trig[0], trigger=trig[1], args=tuple(args)))  # type: ignore[arg-type]
        elif kind in "AM":
            parts = rest.split()
            if len(parts) not in (2, 3):
                bad(number, f"{ann_id}: malformed attribute (expected 'Name ID [Value]')")
                continue
            value = parts[2] if len(parts) == 3 else None
            attributes.append(Attribute(id=ann_id, name=parts[0], target=parts[1], value=value))
        elif kind == "N":
            head, _, field = rest.partition("\t")
            parts = head.split()
            ref = parts[2].partition(":") if len(parts) == 3 else ("", "", "")
            if len(parts) != 3 or not ref[1] or not ref[0] or not ref[2]:
                bad(number, f"{ann_id}: malformed normalization (expected 'Reference ID DB:ID<TAB>text')")
                continue
            normalizations.append(
                Normalization(
                    id=ann_id, type=parts[0], target=parts[1], resource=ref[0], resource_id=ref[2], text=field
                )
            )
        else:  # "#"
            head, _, field = rest.partition("\t")
            parts = head.split()
            if len(parts) != 2:
                bad(number, f"{ann_id}: malformed note (expected 'AnnotatorNotes ID<TAB>text')")
                continue
            notes.append(AnnotatorNote(id=ann_id, type=parts[0], target=parts[1], text=field))
        lines[ann_id] = number

    doc = Document(
        id=doc_id,
        text=text,
        entities=tuple(entities),
        relations=tuple(relations),
        events=tuple(events),
        attributes=tuple(attributes),
        normalizations=tuple(normalizations),
        notes=tuple(notes),
        equivalences=tuple(equivalences),
    )
    problems.extend(document_problems(doc, None, source=source, lines=lines))
    problems.sort(key=lambda p: p.line)
    return doc, problems, lines


def parse_brat(text: str, ann: str, *, doc_id: str = "", source: str = "") -> Document:
    """Parse `.ann` content against its text; raises FormatError with every problem found."""
    doc, problems, _ = parse_ann(ann, text, doc_id=doc_id, source=source)
    if problems:
        raise FormatError(problems)
    return doc


def read_brat_document(
    txt: bytes | None, ann: bytes | None, *, doc_id: str, txt_name: str, ann_name: str
) -> ReadResult:
    """Read one brat document from raw bytes.

    `ann` None means an unannotated note (a `.txt` without `.ann`); `txt` None is a problem
    (an `.ann` without its `.txt`). Problems name `txt_name` / `ann_name`.
    """
    if txt is None:
        return ReadResult(ann_name, None, [ParseProblem(ann_name, 0, f"no matching text file {txt_name}")])
    text, problems = decode_utf8(txt, txt_name)
    ann_text = ""
    if ann is not None:
        decoded, ann_problems = decode_utf8(ann, ann_name)
        problems += ann_problems
        ann_text = decoded or ""
    if text is None or problems:
        return ReadResult(ann_name if ann is not None else txt_name, None, problems)
    doc, problems, lines = parse_ann(ann_text, text, doc_id=doc_id, source=ann_name)
    source = ann_name if ann is not None else txt_name
    return ReadResult(source, None if problems else doc, problems, lines)


def _spans(spans: tuple[Span, ...]) -> str:
    return ";".join(f"{s.start} {s.end}" for s in spans)


def write_ann(doc: Document) -> str:
    """The `.ann` content for `doc`: T, R, E, A/M, N, #, * lines, each group in document order."""
    out: list[str] = []
    for e in doc.entities:
        out.append(f"{e.id}\t{e.type} {_spans(e.spans)}\t{field_form(e.text)}")
    for r in doc.relations:
        out.append(f"{r.id}\t{r.type} {r.arg1_role}:{r.arg1} {r.arg2_role}:{r.arg2}")
    for ev in doc.events:
        out.append(f"{ev.id}\t{ev.type}:{ev.trigger}" + "".join(f" {role}:{arg}" for role, arg in ev.args))
    for a in doc.attributes:
        out.append(f"{a.id}\t{a.name} {a.target}" + (f" {a.value}" if a.value is not None else ""))
    for n in doc.normalizations:
        out.append(
            f"{n.id}\t{n.type} {n.target} {n.resource}:{n.resource_id}"
            + (f"\t{field_form(n.text)}" if n.text else "")
        )
    for note in doc.notes:
        out.append(f"{note.id}\t{note.type} {note.target}\t{field_form(note.text)}")
    for eq in doc.equivalences:
        out.append(f"*\t{eq.type} {' '.join(eq.members)}")
    return "".join(line + "\n" for line in out)


def write_txt(doc: Document) -> bytes:
    """The `.txt` bytes: the text unchanged, UTF-8 encoded."""
    return doc.text.encode("utf-8")
