"""Small text helpers shared by the format modules: strict UTF-8 decoding and span text comparison."""

from __future__ import annotations

from collections.abc import Iterable

from .document import ParseProblem, Span


def decode_utf8(data: bytes, file: str) -> tuple[str | None, list[ParseProblem]]:
    """Decode `data` as strict UTF-8 without newline translation.

    Returns (text, []) or (None, problems) with one problem per offending line, each naming the
    1-based line, the byte offset and the decoder's reason.
    """
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError:
        pass
    problems: list[ParseProblem] = []
    offset = 0
    for number, raw in enumerate(data.split(b"\n"), start=1):
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            bad = raw[exc.start : exc.start + 1].hex()
            problems.append(
                ParseProblem(
                    file,
                    number,
                    f"not valid UTF-8: byte 0x{bad} at byte offset {offset + exc.start} ({exc.reason})",
                )
            )
        offset += len(raw) + 1
    if not problems:  # a sequence cut by the split cannot happen for UTF-8, but stay safe
        problems.append(ParseProblem(file, 0, "not valid UTF-8"))
    return None, problems


def span_text(text: str, spans: Iterable[Span]) -> str:
    """The text an entity covers: its fragments joined by one space (brat's rule)."""
    return " ".join(text[s.start : s.end] for s in spans)


def field_form(value: str) -> str:
    """How a span text is written in the one-line text field of a `.ann` line.

    A line break inside a span cannot be written on one line, so `\\r` and `\\n` become spaces (brat's
    own convention).
    """
    return value.replace("\r", " ").replace("\n", " ")


def text_field_matches(field: str, actual: str) -> bool:
    """Whether the text field of a T line agrees with the text its offsets cover.

    Rule (chosen for real files): line breaks in the covered text may appear as spaces in the field
    (see `field_form`), and trailing whitespace (any Unicode whitespace: spaces, tabs, U+2005, ...) is
    ignored on both sides, because real `.ann` files carry trailing blanks: MACCROBAT 25661749.ann
    line 318 has the field '8\u2005mg\t\u2005' for the text '8\u2005mg'. Anything else must be
    identical.
    """
    if field == actual:
        return True
    expected = field_form(actual)
    return field == expected or field.rstrip() == expected.rstrip()
