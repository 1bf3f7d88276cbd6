"""Offset-keeping tokenisation and sentence splitting for any script.

Framework-free. Every token and sentence carries 0-based, end-exclusive character offsets into the
original text (Unicode code points), so `text[t.start:t.end] == t.text` always holds.

Rules (deliberately simple and predictable):
- a run of letters (with combining marks) is a word, a run of digits (with inner "." or "," between
  digits, e.g. "2.5", "10,000") is a number, every other non-space character is its own token;
- each CJK ideograph, kana and Hangul syllable block is its own token, so character-based scripts
  (Chinese, Japanese) and Korean work without a word segmenter;
- sentences end after ".", "!", "?" (or a run of them, with closing quotes/brackets) followed by
  whitespace and a character that is not a lower-case letter, unless the word before the dot is a
  known abbreviation or a single letter; after "。", "！", "？", "；" always; at a blank line; and at a line
  break when the next line does not start with a lower-case letter (wrapped text continues).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Token", "tokenize", "sentence_spans", "is_unspaced_script"]

# CJK unified ideographs (+ extension A, compatibility, extensions B..), kana, Hangul syllables / jamo.
_CJK = (
    "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\u1100-\u11ff\u3130-\u318f"
    "\U00020000-\U0002ffff"
)
_TOKEN_RE = re.compile(
    rf"(?P<cjk>[{_CJK}])"
    r"|(?P<num>\d+(?:[.,]\d+)*)"
    rf"|(?P<word>(?:(?![{_CJK}])[^\W\d_])(?:(?![{_CJK}])[^\W\d_]|[\u0300-\u036f])*)"
    r"|(?P<other>\S)"
)


# Scripts written without spaces between words: CJK ideographs (with extensions) and kana. Hangul is
# written with spaces and is not among them.
_UNSPACED = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")


def is_unspaced_script(ch: str) -> bool:
    """Whether the character `ch` belongs to a script written without spaces (Chinese, Japanese), where
    any character may begin or end a word."""
    return bool(_UNSPACED.fullmatch(ch))


@dataclass(frozen=True, slots=True)
class Token:
    start: int
    end: int
    text: str


def tokenize(text: str) -> list[Token]:
    """Split `text` into word, number, punctuation and single CJK/Hangul character tokens.

    Args: text: any string. Returns: tokens in order, with character offsets; whitespace is never
    part of a token.
    """
    return [Token(m.start(), m.end(), m.group()) for m in _TOKEN_RE.finditer(text)]


# Words whose trailing dot rarely ends a sentence. Units (mg, ml) are deliberately absent: "2.5 mg." at
# the end of a sentence is common in notes.
_ABBREVIATIONS = frozenset(
    "dr mr mrs ms prof vs etc eg ie e.g i.e al fig figs nr approx ca cf resp inc ltd jr sr pt pts "
    "dept univ jan feb mar apr jun jul aug sep sept oct nov dec bl bl.a ev pga t.ex dvs osv ffa "
    "enl ang kl".split()
)
_LATIN_END = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s)")
# "；" too: Chinese records chain their findings with it ("查体：...；血常规：...；"), clauses as long as a
# sentence, and a window or a sentence-by-sentence reading should be able to cut there.
_CJK_END = re.compile(r"[。！？；]+[”’」』）)]*")
_BLANK_LINE = re.compile(r"\n[ \t\r\f\v]*\n\s*")


_NEXT_VISIBLE = re.compile(r"\s*(\S)")
_NEXT_ON_LINE = re.compile(r"[ \t]*(.)", re.DOTALL)


def _word_before(text: str, i: int) -> str:
    j = i
    while j > 0 and not text[j - 1].isspace():
        j -= 1
    return text[j:i]


def _boundaries(text: str) -> set[int]:
    # Every look-around reads only the characters next to the match: slicing the rest of the text per
    # match made a long note's split quadratic (0.5 s for 32,000 characters).
    cuts: set[int] = set()
    for m in _LATIN_END.finditer(text):
        end = m.end()
        nxt = _NEXT_VISIBLE.match(text, end)
        if nxt and nxt.group(1).islower():
            continue
        if text[m.start()] == ".":
            word = _word_before(text, m.start()).lower().lstrip("([\"'")
            if word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()):
                continue
        cuts.add(end)
    for m in _CJK_END.finditer(text):
        cuts.add(m.end())
    for m in _BLANK_LINE.finditer(text):
        cuts.add(m.start())
    for m in re.finditer(r"\n", text):
        nxt = _NEXT_ON_LINE.match(text, m.end())
        if nxt and not nxt.group(1).islower():
            cuts.add(m.start())
    return cuts


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Split `text` into sentences by simple rules (see module docstring).

    Args: text: any string. Returns: (start, end) character offsets of each sentence, in order,
    without surrounding whitespace; a text of only whitespace gives [].
    """
    spans: list[tuple[int, int]] = []
    prev = 0
    for cut in sorted(_boundaries(text)) + [len(text)]:
        chunk = text[prev:cut]
        stripped = chunk.strip()
        if stripped:
            start = prev + (len(chunk) - len(chunk.lstrip()))
            spans.append((start, start + len(stripped)))
        prev = cut
    return spans
