"""Split nursing notes into timestamped phrases, keeping character offsets (framework-free).

Nursing notes are terse: one observation per line or per clause, often lower-case, separated by line
breaks, semicolons or full stops ("08:30 pt c/o nausea; BP 100/60. iv fluids started."). A phrase is the
unit that the phrase-state classifier labels and TD(lambda) steps over (method 2 of the domain notes).

Rules (each switchable in :class:`PhraseConfig`):

- ``lines``: a line break ends a phrase;
- ``semicolons``: ``;`` ends a phrase;
- ``sentences``: ``.``, ``!`` or ``?`` (or a run of them) followed by whitespace ends a phrase, unless the
  word before the dot is a listed abbreviation ("Dr.", "p.o.", "b.i.d.") or a single letter; ``。``, ``！``
  and ``？`` always do. The next character may be lower-case (unlike prose splitters);
- leading bullets (``-``, ``*``, ``•``, ``>``, ``1.`` / ``1)``) and surrounding whitespace are trimmed;
- a leading clock time (``08:30``, ``[14:05]``, ``[1405]``, ``2130h``; a bare ``1000`` is a quantity, not a time) is kept in the phrase text but gives the
  phrase its own time: the note's date plus that clock time, rolled over to the next day when the clock
  goes backwards within the note (a night shift); phrases without one inherit the last clock time seen
  in the note, or the note's time;
- phrases shorter than ``min_chars`` non-space characters are dropped.

Every phrase satisfies ``note_text[phrase.start:phrase.end] == phrase.text``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

__all__ = [
    "NursingNote",
    "Phrase",
    "PhraseConfig",
    "DEFAULT_ABBREVIATIONS",
    "phrase_spans",
    "split_note",
    "split_notes",
]

DEFAULT_ABBREVIATIONS = frozenset(
    "dr mr mrs ms pt pts approx vs etc e.g i.e no. mg ml mcg kg hr hrs min sec p.o po i.v iv i.m im s.c sc "
    "b.i.d bid t.i.d tid q.i.d qid q.d qd p.r.n prn h.s hs a.c p.c stat temp resp cf ca".split()
)

_BULLET = re.compile(r"^(?:[-*•>·]+|\d{1,2}[.)])\s+")
_CLOCK = re.compile(
    r"^(?:\[(?P<h1>[01]?\d|2[0-3]):?(?P<m1>[0-5]\d)\]"
    r"|(?P<h2>[01]?\d|2[0-3]):(?P<m2>[0-5]\d)"
    r"|(?P<h3>[01]\d|2[0-3])(?P<m3>[0-5]\d)h(?:rs)?)(?=[\s:,-]|$)"
)


@dataclass(frozen=True, slots=True)
class PhraseConfig:
    """Phrase splitting rules; see the module docstring."""

    lines: bool = True
    semicolons: bool = True
    sentences: bool = True
    strip_bullets: bool = True
    clock_times: bool = True
    min_chars: int = 2
    abbreviations: frozenset[str] = field(default=DEFAULT_ABBREVIATIONS)


@dataclass(frozen=True, slots=True)
class NursingNote:
    """One note of a patient: an id, when it was written and its text."""

    id: str
    time: datetime | None
    text: str


@dataclass(frozen=True, slots=True)
class Phrase:
    """A phrase of a note: its text, 0-based end-exclusive offsets into the note, and its time."""

    text: str
    start: int
    end: int
    time: datetime | None = None
    note_id: str | None = None
    index: int = 0  # position of the phrase within its note


def _cut_points(text: str, config: PhraseConfig) -> list[int]:
    cuts: set[int] = set()
    if config.lines:
        cuts.update(m.end() for m in re.finditer(r"\r\n|\r|\n", text))
    if config.semicolons:
        cuts.update(m.end() for m in re.finditer(";", text))
    if config.sentences:
        for m in re.finditer(r"[.!?]+[\"')\]]*(?=\s)", text):
            if text[m.start()] == "." and m.end() - m.start() == 1:
                before = re.search(r"(\S+)$", text[: m.start()])
                word = before.group(1).lower().lstrip("([\"'") if before else ""
                if word in config.abbreviations or (len(word) == 1 and word.isalpha()):
                    continue
            cuts.add(m.end())
        cuts.update(m.end() for m in re.finditer(r"[。！？]+", text))
    return sorted(cuts)


def phrase_spans(text: str, config: PhraseConfig | None = None) -> list[tuple[int, int]]:
    """Character spans ``(start, end)`` of the phrases of ``text``, in order.

    Args:
        text: a note's text.
        config: splitting rules (default :class:`PhraseConfig`).

    Returns:
        Spans without surrounding whitespace, bullets or the separator itself (``;``); the sentence
        punctuation stays with its phrase.
    """
    config = config or PhraseConfig()
    spans: list[tuple[int, int]] = []
    prev = 0
    for cut in [*_cut_points(text, config), len(text)]:
        start, end = prev, cut
        prev = cut
        chunk = text[start:end]
        # trim whitespace and a trailing separator
        lead = len(chunk) - len(chunk.lstrip())
        start += lead
        chunk = text[start:end].rstrip()
        if config.semicolons:
            chunk = chunk.rstrip(";").rstrip()
        end = start + len(chunk)
        if config.strip_bullets:
            m = _BULLET.match(text[start:end])
            if m:
                start += m.end()
        if sum(not c.isspace() for c in text[start:end]) >= max(config.min_chars, 1):
            spans.append((start, end))
    return spans


def split_note(note: NursingNote | str, config: PhraseConfig | None = None) -> list[Phrase]:
    """Split one note into timestamped :class:`Phrase` objects.

    Args:
        note: a :class:`NursingNote` (or bare text: no time, no id).
        config: splitting rules.

    Returns:
        Phrases in text order; times follow the clock-time rule of the module docstring.
    """
    config = config or PhraseConfig()
    if isinstance(note, str):
        note = NursingNote(id="", time=None, text=note)
    current = note.time
    last_clock: datetime | None = None
    phrases = []
    for i, (start, end) in enumerate(phrase_spans(note.text, config)):
        text = note.text[start:end]
        if config.clock_times and note.time is not None:
            m = _CLOCK.match(text)
            if m:
                hour = next(int(m[g]) for g in ("h1", "h2", "h3") if m[g] is not None)
                minute = next(int(m[g]) for g in ("m1", "m2", "m3") if m[g] is not None)
                clock = note.time.replace(hour=hour, minute=minute, second=0, microsecond=0)
                while last_clock is not None and clock < last_clock:
                    clock += timedelta(days=1)
                last_clock = current = clock
        phrases.append(Phrase(text, start, end, current, note.id or None, i))
    return phrases


def split_notes(notes: Iterable[NursingNote], config: PhraseConfig | None = None) -> list[Phrase]:
    """All phrases of a patient's notes in time order (stable: ties keep note and text order).

    Phrases without a time sort after those with one, in input order.
    """
    phrases = [p for note in notes for p in split_note(note, config)]
    timed = sorted((p for p in phrases if p.time is not None), key=lambda p: p.time)
    return timed + [p for p in phrases if p.time is None]
