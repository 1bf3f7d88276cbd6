"""Character spans <-> subword tokens, and sliding windows over long notes (framework-free).

Alignment follows transformers' `run_ner.py` (`tokenize_and_align_labels`): the fast tokenizer's offset
mapping ties every subword to its characters; labels live on the first subword of a *unit* and the
continuation and special tokens carry none. A unit is, by default, a pre-tokenizer word (whitespace and
punctuation split, every CJK character its own word), so Chinese entities can start at any character and
English ones at any word; in Chinese and Japanese every subword is a unit whatever the tokenizer's words
(a tokenizer that splits at spaces only would otherwise make one unit of a whole clause). `units="token"`
makes every subword that starts a new character its own unit (finer boundaries, e.g. Korean particles glued
to a noun, at the price of more candidate spans).

A character span maps exactly onto units when its start is a unit start and its end a unit end; otherwise
it is snapped outward to the smallest covering unit span (`align_span` says which happened).

Windows. A note longer than the encoder's maximum length is cut into windows of whole units of at most
`max_tokens` subwords, consecutive windows overlapping by about `stride` subwords. **Merging rule**: a
span is decided by its *owner* window only: among the windows that contain the whole span, the one where
the span is farthest from the nearest window edge (measured in units; ties go to the earlier window).
Every span that fits in some window therefore has exactly one prediction, taken where it has the most
context on both sides; no voting, no duplicates.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from inference.core.text import is_unspaced_script

OUTSIDE = "O"


@dataclass(frozen=True, slots=True)
class TokenizedText:
    """A text's subwords (no special tokens) and its units.

    `offsets[i]` are the character offsets of subword i; `units[u]` the character span of unit u and
    `unit_tokens[u]` its first and last subword index (inclusive).
    """

    text: str
    input_ids: tuple[int, ...]
    offsets: tuple[tuple[int, int], ...]
    units: tuple[tuple[int, int], ...]
    unit_tokens: tuple[tuple[int, int], ...]

    def __len__(self) -> int:
        return len(self.input_ids)


@dataclass(frozen=True, slots=True)
class Window:
    """Units [unit_start, unit_end) and their subwords [token_start, token_end) of a TokenizedText."""

    unit_start: int
    unit_end: int
    token_start: int
    token_end: int

    @property
    def n_units(self) -> int:
        return self.unit_end - self.unit_start

    @property
    def n_tokens(self) -> int:
        return self.token_end - self.token_start


def _backend(tokenizer):
    return getattr(tokenizer, "backend_tokenizer", None) or tokenizer._tokenizer


def tokenize_texts(tokenizer, texts: Sequence[str], units: str = "word") -> list[TokenizedText]:
    """Tokenize texts without special tokens and group their subwords into units.

    Args: a Hugging Face fast tokenizer, the texts, "word" or "token" units. Result: one TokenizedText per
    text. Subwords with empty offsets (nothing in the text) are dropped.
    """
    if units not in ("word", "token"):
        raise ValueError(f"units must be 'word' or 'token', not {units!r}")
    backend = _backend(tokenizer)
    # Some tokenizer.json files (the shipped MiniLM's among them) turn truncation at 128 subwords on in
    # the backend; left on, a long note would silently lose everything after its first window. The
    # windows are made from the whole text below. (Hugging Face calls set these again per call.)
    if backend.truncation is not None:
        backend.no_truncation()
    if backend.padding is not None:
        backend.no_padding()
    encodings = backend.encode_batch(list(texts), add_special_tokens=False)
    out = []
    for text, enc in zip(texts, encodings, strict=True):
        ids, offs, words = [], [], []
        for tid, (s, e), w in zip(enc.ids, enc.offsets, enc.word_ids, strict=True):
            if e <= s:
                continue
            ids.append(tid)
            offs.append((s, e))
            words.append(w)
        unit_spans: list[list[int]] = []
        unit_toks: list[list[int]] = []
        for i, (s, e) in enumerate(offs):
            if units == "word":
                # A tokenizer that splits words at spaces only (SentencePiece, byte BPE) reads a whole Chinese
                # clause as one word; Chinese entities begin and end at any character, so there every subword
                # is a unit of its own (BERT tokenizers split CJK characters themselves: no change for them).
                new = (
                    i == 0
                    or words[i] is None
                    or words[i] != words[i - 1]
                    or is_unspaced_script(text[s])
                    or is_unspaced_script(text[offs[i - 1][1] - 1])
                )
            else:
                new = i == 0 or s >= unit_spans[-1][1]
            if new:
                unit_spans.append([s, e])
                unit_toks.append([i, i])
            else:
                unit_spans[-1][1] = max(unit_spans[-1][1], e)
                unit_toks[-1][1] = i
        out.append(
            TokenizedText(
                text=text,
                input_ids=tuple(ids),
                offsets=tuple(offs),
                units=tuple((s, e) for s, e in unit_spans),
                unit_tokens=tuple((a, b) for a, b in unit_toks),
            )
        )
    return out


def tokenize_text(tokenizer, text: str, units: str = "word") -> TokenizedText:
    return tokenize_texts(tokenizer, [text], units)[0]


def align_span(tt: TokenizedText, start: int, end: int) -> tuple[int, int, bool] | None:
    """Units (first, last inclusive) covering characters [start, end), and whether the match is exact.

    Result: None when no unit overlaps the span (it covers only whitespace or dropped characters).
    """
    first = last = None
    for u, (s, e) in enumerate(tt.units):
        if e <= start:
            continue
        if s >= end:
            break
        if first is None:
            first = u
        last = u
    if first is None:
        return None
    exact = tt.units[first][0] == start and tt.units[last][1] == end
    return first, last, exact


def unit_span_to_chars(tt: TokenizedText, first: int, last: int) -> tuple[int, int]:
    """Character span [start, end) of units first..last (inclusive)."""
    return tt.units[first][0], tt.units[last][1]


def make_windows(
    tt: TokenizedText, max_tokens: int, stride: int = 0, *, first_unit: int = 0, end_unit: int | None = None
) -> list[Window]:
    """Cut a text (or its units first_unit..end_unit - 1) into windows of whole units with at most
    `max_tokens` subwords each.

    Consecutive windows overlap by at least `stride` subwords where the units allow it, so every span of
    at most `stride` subwords lies whole inside some window (stride < max_tokens). A
    single unit longer than `max_tokens` gets a window of its own, cut to its first `max_tokens` subwords.
    """
    if max_tokens < 1:
        raise ValueError("max_tokens must be positive")
    stride = max(0, min(stride, max_tokens - 1))
    n = len(tt.units) if end_unit is None else end_unit
    if n <= first_unit:
        return [Window(0, 0, 0, 0)] if not tt.units else []
    windows = []
    u = first_unit
    while True:
        t0 = tt.unit_tokens[u][0]
        end = u
        while end < n and tt.unit_tokens[end][1] + 1 - t0 <= max_tokens:
            end += 1
        if end == u:  # a unit longer than the window
            windows.append(Window(u, u + 1, t0, t0 + max_tokens))
            end = u + 1
        else:
            windows.append(Window(u, end, t0, tt.unit_tokens[end - 1][1] + 1))
        if end >= n:
            break
        # next start: the last unit beginning at least `stride` subwords before the window end, so that
        # consecutive windows share >= stride subwords and any span of <= stride subwords fits one window
        limit = tt.unit_tokens[end - 1][1] + 1 - stride
        nxt = u + 1
        for cand in range(end - 1, u, -1):
            if tt.unit_tokens[cand][0] <= limit:
                nxt = cand
                break
        u = nxt
    return windows


def sentence_windows(
    tt: TokenizedText, max_tokens: int, stride: int, sentences: Sequence[tuple[int, int]]
) -> list[Window]:
    """Windows that never cross a sentence boundary: each sentence's units on their own (a sentence over
    `max_tokens` subwords is cut by `make_windows`). `sentences` are character spans in order; a unit
    belongs to the sentence its first character falls in (or the last one that began before it).

    For a model that learnt from single sentences: it then reads every sentence of a long note as it
    read its training data, instead of in a window of many sentences it never saw.
    """
    if not tt.units:
        return [Window(0, 0, 0, 0)]
    starts = [a for a, _ in sentences]
    owner = [max(0, bisect.bisect_right(starts, u_start) - 1) for u_start, _ in tt.units]
    windows: list[Window] = []
    u = 0
    while u < len(owner):
        end = u + 1
        while end < len(owner) and owner[end] == owner[u]:
            end += 1
        windows += make_windows(tt, max_tokens, stride, first_unit=u, end_unit=end)
        u = end
    return windows


def span_owner(windows: Sequence[Window], first: int, last: int) -> int | None:
    """Index of the window that decides units first..last (see the merging rule), None if none holds it.

    `windows` are in text order (as make_windows and sentence_windows give them: starts and ends both
    ascending), so only the few windows that begin at or before `first` and still reach `last` are read:
    a long note has hundreds of windows and every candidate span asks.
    """
    best, best_margin = None, -1
    i = bisect.bisect_right(windows, first, key=lambda w: w.unit_start) - 1
    while i >= 0 and windows[i].unit_end > last:
        w = windows[i]
        margin = min(first - w.unit_start, w.unit_end - 1 - last)
        if margin >= best_margin:  # ties go to the earlier window, as in a forward scan
            best, best_margin = i, margin
        i -= 1
    return best


def enumerate_spans(n_units: int, max_width: int) -> list[tuple[int, int]]:
    """All (first, last) unit spans of at most `max_width` units, in order."""
    return [(i, j) for i in range(n_units) for j in range(i, min(n_units, i + max_width))]


def spans_to_bio(n_units: int, spans: Iterable[tuple[int, int, str]]) -> list[str]:
    """BIO tags for non-overlapping (first, last, type) unit spans; overlapping ones raise ValueError."""
    tags = [OUTSIDE] * n_units
    for first, last, typ in sorted(spans):
        if any(t != OUTSIDE for t in tags[first : last + 1]):
            raise ValueError(f"span {first}-{last} overlaps another; BIO cannot represent it")
        tags[first] = f"B-{typ}"
        for k in range(first + 1, last + 1):
            tags[k] = f"I-{typ}"
    return tags


def bio_to_spans(tags: Sequence[str]) -> list[tuple[int, int, str]]:
    """(first, last, type) spans of a BIO sequence; an I- without its B- starts a new span (conlleval)."""
    spans = []
    cur = None
    for i, tag in enumerate(list(tags) + [OUTSIDE]):
        if cur is not None and (tag == OUTSIDE or tag.startswith("B-") or tag[2:] != cur[2]):
            spans.append((cur[0], i - 1, cur[2]))
            cur = None
        if tag != OUTSIDE and cur is None:
            cur = (i, i, tag[2:])
    return spans


def drop_overlaps(spans: Iterable[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Keep a non-overlapping subset (longest first, then leftmost) for tagging heads."""
    kept: list[tuple[int, int, str]] = []
    for s in sorted(set(spans), key=lambda x: (-(x[1] - x[0]), x[0], x[2])):
        if all(s[1] < k[0] or k[1] < s[0] for k in kept):
            kept.append(s)
    return sorted(kept)
