"""The note text as HTML: segments that swap independently, entities as nested spans.

A long note is cut into segments (at line breaks, about SEGMENT_SIZE code points each); an edit
re-renders only the segments its entity touches. Inside a segment the text is cut at every fragment
boundary into leaves (`<span class="p" data-s=OFFSET>`), each wrapped in one span per entity covering
it, outermost first, so overlapping and nested entities stack their underlines. Leaves hold text only and
nothing else is text inside the note element, so the browser can turn a selection into code-point
offsets from `data-s`. Built as strings: a Django template loop over thousands of leaves would be
the slowest part of the page. So every value from the data (ids, types, labels, attributes, text) is
escaped here by hand, and the readers refuse ids and names that are not plain (formats.names): a corpus
must never add an element or an attribute (an htmx `hx-post`) to the page (issue 13).
"""

from __future__ import annotations

import colorsys
import hashlib
import html
import re
from bisect import bisect_right
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from django.utils.html import escape

from annotations.formats.schema import css_colour

SEGMENT_SIZE = 1200
_PLAIN_ID = re.compile(r"[A-Za-z0-9_#*.-]*").fullmatch  # nothing to escape (the readers' id characters)
DEFAULT_COLOUR = "#d0d0d0"


@dataclass(frozen=True, slots=True)
class Mark:
    """One entity as the renderer needs it."""

    local_id: str
    type: str
    fragments: tuple[tuple[int, int], ...]
    prelabel: bool  # a model pre-label nobody decided yet
    origin: str
    confidence: float | None
    attributes: tuple[str, ...] = ()  # "Negation", "Certainty=possible", ...

    @property
    def start(self) -> int:
        return min(s for s, _ in self.fragments)

    @property
    def end(self) -> int:
        return max(e for _, e in self.fragments)


def marks_from_rows(rows: Iterable[tuple], attributes: dict[int, list[str]] | None = None) -> list[Mark]:
    """Marks for entity rows (pk, local_id, type, fragments, origin, decision, confidence); `attributes`
    maps entity pk to its attributes as text."""
    attributes = attributes or {}
    return [
        Mark(
            local_id=local_id,
            type=type_,
            fragments=tuple((s, e) for s, e in fragments),
            prelabel=origin == "model" and not decision,
            origin=origin,
            confidence=confidence,
            attributes=tuple(attributes.get(pk, ())),
        )
        for pk, local_id, type_, fragments, origin, decision, confidence in rows
    ]


def segment_bounds(text: str, size: int = SEGMENT_SIZE) -> list[tuple[int, int]]:
    """Cut the text into segments of about `size` code points, after a line break where there is one
    (else after a space, else anywhere); deterministic, so segment ids stay stable between requests."""
    bounds = []
    start, n = 0, len(text)
    while start < n:
        if n - start <= size:
            bounds.append((start, n))
            break
        cut = text.rfind("\n", start + size // 2, start + size)
        if cut < 0:
            cut = text.rfind(" ", start + size // 2, start + size)
        end = cut + 1 if cut >= 0 else start + size
        bounds.append((start, end))
        start = end
    return bounds or [(0, 0)]


def segments_touching(bounds: Sequence[tuple[int, int]], regions: Iterable[tuple[int, int]]) -> list[int]:
    """Indexes of the segments that intersect any region."""
    starts = [s for s, _ in bounds]
    hit = set()
    for s, e in regions:
        first = max(bisect_right(starts, s) - 1, 0)
        last = max(bisect_right(starts, max(e - 1, s)) - 1, 0)
        hit.update(range(first, last + 1))
    return sorted(hit)


def _palette() -> tuple[str, ...]:
    """48 well-separated light colours (dark text stays readable on each): 16 hues, each in three
    tones, ordered so that neighbouring slots differ in hue and tone."""
    out = []
    for tone, (lightness, saturation) in enumerate(((0.72, 0.80), (0.84, 0.70), (0.62, 0.55))):
        for step in range(16):
            hue = ((step * 7) % 16) / 16 + tone / 48  # 7 is coprime with 16: consecutive slots jump round the wheel
            r, g, b = colorsys.hls_to_rgb(hue % 1.0, lightness, saturation)
            out.append(f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}")
    return tuple(out)


PALETTE = _palette()


def _slot(type_name: str) -> int:
    """The palette slot a type prefers: a hash of its name, so the same type has the same colour in every
    project and whatever the schema's order."""
    return int.from_bytes(hashlib.sha1(type_name.encode("utf-8")).digest()[:4], "big") % len(PALETTE)  # noqa: S324


def type_colours(names: Iterable[str], given: dict[str, str] | None = None) -> dict[str, str]:
    """A colour for every type: the schema's (visual.conf, when it passes `css_colour`), else the type's
    palette slot (`_slot`); two types that hash to the same slot are told apart by giving the later one
    (by name) the next free slot, so every type of a schema with up to len(PALETTE) types gets its own
    colour and a type keeps its colour unless its slot was taken first."""
    given = given or {}
    out: dict[str, str] = {}
    used: set[str] = set()
    for name in dict.fromkeys(names):
        colour = css_colour(given.get(name))
        if colour:
            out[name] = colour
            used.add(colour.lower())
    for name in sorted(n for n in dict.fromkeys(names) if n not in out):
        slot = _slot(name)
        for probe in range(len(PALETTE)):
            candidate = PALETTE[(slot + probe) % len(PALETTE)]
            if candidate not in used:
                break
        else:  # more types than colours: share
            candidate = PALETTE[slot]
        out[name] = candidate
        used.add(candidate)
    return out


def fragments_overlap(a: Iterable[Sequence[int]], b: Iterable[Sequence[int]]) -> bool:
    """Whether two entities share any text: some fragment of one overlaps some fragment of the other (the gap
    of a discontinuous entity is not its text)."""
    b = list(b)
    return any(s1 < e2 and s2 < e1 for s1, e1 in a for s2, e2 in b)


def type_class(type_name: str, colours: dict[str, str]) -> str:
    """The CSS class carrying a type's colour (`c0`, `c1`, ... by position in `colours`; `cx` for unknown
    types). The colour itself comes from `type_colours`, not from the position."""
    for i, name in enumerate(colours):
        if name == type_name:
            return f"c{i}"
    return "cx"


def _css_string(value: str) -> str:
    """`value` as a quoted CSS string in which only ASCII letters, digits, - and _ stay as they are (the
    rest as hex escapes): a type name can end neither the string, the rule nor the <style> element."""
    return '"' + "".join(c if c.isascii() and (c.isalnum() or c in "-_") else f"\\{ord(c):x} " for c in value) + '"'


def colour_css(colours: dict[str, str]) -> str:
    """The rules behind `type_class` and the type swatches and buttons (`[data-t]`, `[data-type]`), for the
    page's one <style> element (allowed by its CSP nonce). Only a colour that passes `css_colour` (#rgb,
    #rrggbb, a CSS colour name) is written, else DEFAULT_COLOUR: visual.conf is checked on parse, and a
    schema stored before that check is caught here."""
    rules = []
    for i, (name, colour) in enumerate(colours.items()):
        quoted = _css_string(name)
        rules.append(
            f".c{i},.swatch[data-t={quoted}],.type-btn[data-type={quoted}]{{--c:{css_colour(colour) or DEFAULT_COLOUR}}}"
        )
    return "".join(rules) + f".cx{{--c:{DEFAULT_COLOUR}}}"


def _label(mark: Mark, labels: dict[str, str]) -> str:
    label = labels.get(mark.type, mark.type)
    if mark.origin == "model" and mark.confidence is not None:
        label += f" {mark.confidence:.2f}"
    for attribute in mark.attributes:
        label += f" · {attribute}"
    return label


def _escaped_id(mark: Mark) -> str:
    """The mark's id escaped for an attribute (readers refuse ids that need it; a stored one may not)."""
    local_id = mark.local_id
    return local_id if _PLAIN_ID(local_id) else html.escape(local_id, quote=True)


def segment_html(
    text: str,
    index: int,
    bounds: tuple[int, int],
    marks: Iterable[Mark],
    colours: dict[str, str],
    labels: dict[str, str],
    *,
    oob: bool = False,
    block: bool = False,
) -> str:
    """One segment as a span with its own id (`seg-N`), ready to be swapped alone.

    A `block` segment starts and ends at a line break, so it can be laid out as a block that the browser
    skips while it is off screen (CSS content-visibility); the others stay inline in the text flow."""
    seg_start, seg_end = bounds
    pieces: list[tuple[int, int, Mark]] = []
    cuts = {seg_start, seg_end}
    for mark in marks:
        for s, e in mark.fragments:
            s, e = max(s, seg_start), min(e, seg_end)
            if s < e:
                pieces.append((s, e, mark))
                cuts.add(s)
                cuts.add(e)
    points = sorted(cuts)
    # Outermost first: longer fragments wrap shorter ones.
    pieces.sort(key=lambda p: (-(p[1] - p[0]), p[0], p[2].local_id))
    out = [
        f'<span class="seg{" blk" if block else ""}" id="seg-{index}" data-s="{seg_start}" data-e="{seg_end}"'
        + (' hx-swap-oob="true"' if oob else "")
        + ">"
    ]
    starts_seen: set[tuple[str, int]] = set()
    for a, b in zip(points, points[1:], strict=False):
        covering = [p for p in pieces if p[0] <= a and p[1] >= b]
        opened = 0
        for j, (s, _e, mark) in enumerate(covering):
            classes = ["e"]
            depth = len(covering) - 1 - j  # how many entities nest inside this one here
            if depth:
                classes.append(f"d{min(depth, 4)}")
            if mark.prelabel:
                classes.append("pre")
            elif mark.origin == "model":
                classes.append("acc")
            if any(a.split("=")[0] == "Negation" for a in mark.attributes):
                classes.append("neg")
            if len(mark.fragments) > 1:  # a discontinuous entity: its fragments are outlined alike (CSS, editor.js)
                classes.append("frag")
            attrs = ""
            if s == a and (mark.local_id, s) not in starts_seen:
                starts_seen.add((mark.local_id, s))
                classes.append("b")
                attrs = f' data-l="{escape(_label(mark, labels))}"'
            classes.append(type_class(mark.type, colours))
            out.append(f'<span class="{" ".join(classes)}" data-id="{_escaped_id(mark)}"{attrs}>')
            opened += 1
        out.append(f'<span class="p" data-s="{a}">{escape(text[a:b])}</span>')
        out.append("</span>" * opened)
    out.append("</span>")
    return "".join(out)


def segment_is_block(text: str, bounds: Sequence[tuple[int, int]], index: int) -> bool:
    """Whether segment `index` begins at the start of a line and ends at the end of one."""
    start, end = bounds[index]
    begins = index == 0 or text[start - 1] == "\n"
    return begins and (end == len(text) or text[end - 1] == "\n")


def note_html(text: str, marks: Sequence[Mark], colours: dict[str, str], labels: dict[str, str]) -> str:
    """Every segment of the note (the first page load)."""
    bounds = segment_bounds(text)
    by_segment: list[list[Mark]] = [[] for _ in bounds]
    for mark in marks:
        for i in segments_touching(bounds, mark.fragments):
            by_segment[i].append(mark)
    return "".join(
        segment_html(text, i, b, by_segment[i], colours, labels, block=segment_is_block(text, bounds, i))
        for i, b in enumerate(bounds)
    )


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def relation_items_html(relations: Sequence[dict], labels: dict[str, str] | None = None) -> str:
    """The relation list's items (strings, not a template loop: a dense note has a thousand); `labels`
    maps types to their display names."""
    labels = labels or {}
    if not relations:
        return '<li class="muted">No relations yet: click an entity, then “Relation from here”.</li>'
    out = []
    for r in relations:
        confidence = f' <small>{r["confidence"]:.2f}</small>' if r["confidence"] is not None else ""
        out.append(
            f'<li class="rel{" pre" if r["pending"] else ""}" id="rel-{escape(r["local_id"])}" '
            f'data-id="{escape(r["local_id"])}" data-a1="{escape(r["a1"])}" data-a2="{escape(r["a2"])}">'
            f'<b>{escape(labels.get(r["type"], r["type"]))}</b> {escape(_short(r["a1_text"] or "", 30))} → '
            f'{escape(_short(r["a2_text"] or "", 30))}'
            f"{confidence}</li>"
        )
    return "".join(out)


def event_items_html(events: Sequence[dict], labels: dict[str, str]) -> str:
    """The event list's items: type, trigger text, then each role argument; `data-hl` lists the entities to
    highlight (the trigger, each argument, an argument event's trigger). Every value escaped."""
    if not events:
        return '<li class="muted">No events.</li>'
    out = []
    for ev in events:
        highlight = " ".join(escape(x) for x in [ev["trigger"], *(a["highlight"] for a in ev["args"])] if x)
        args = "".join(
            f' <span class="ev-role">{escape(a["role"])}</span> {escape(a["ref"] or "")} '
            f'“{escape(_short(a["text"], 24))}”'
            for a in ev["args"]
        )
        out.append(
            f'<li class="ev" id="ev-{escape(ev["local_id"])}" data-id="{escape(ev["local_id"])}" data-hl="{highlight}">'
            f'<span class="swatch" data-t="{escape(ev["type"])}"></span><b>{escape(labels.get(ev["type"], ev["type"]))}</b> '
            f'“{escape(_short(ev["trigger_text"] or "", 30))}”{args}</li>'
        )
    return "".join(out)


EVIDENCE_CHOICES = 100


def evidence_options_html(
    relations: Sequence[dict], selected_pk: int | None, types: Collection[str] | None = None
) -> str:
    """<option>s of the verdict's evidence menu: the chosen relation and the newest EVIDENCE_CHOICES ones
    (a dense note has a thousand); the newest is preselected when none is chosen. `types`: the relation
    types that can be evidence (editing.evidence_relation_types; None: any), so a Dose relation is never
    offered, let alone preselected, as the evidence of an ADE."""
    if types is not None:
        relations = [r for r in relations if r["type"] in types]
    out = []
    shown = [r for r in relations[:-EVIDENCE_CHOICES] if r["pk"] == selected_pk] + list(relations[-EVIDENCE_CHOICES:])
    last = len(shown) - 1
    for i, r in enumerate(shown):
        selected = r["pk"] == selected_pk or (selected_pk is None and i == last)
        out.append(
            f'<option value="{escape(r["local_id"])}"{" selected" if selected else ""}>{escape(r["local_id"])} '
            f'{escape(r["type"])}: {escape(_short(r["a1_text"], 16))} → {escape(_short(r["a2_text"], 16))}</option>'
        )
    return "".join(out)
