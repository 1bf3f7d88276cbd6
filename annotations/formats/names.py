"""What an annotation id and a type name may look like: the one definition every door uses.

Readers (through `validation.document_problems`), the REST API's serializers and the editor all take
ids and names from here. Both patterns leave out every character that means something in HTML, CSS,
JavaScript or a CSS selector (quotes, `<>`, `=`, `{}`, `()`, `;`, `\\`, `&`, whitespace): ids and
names are written into attributes and selectors, and a corpus is data from outside (issue 13).
"""

from __future__ import annotations

import re

__all__ = ["LOCAL_ID_PATTERN", "NAME_PATTERN", "is_local_id", "is_name"]

# A set-local brat id: T1, R12, E3, A1, M1, N1, #1 (a letter or # and a number or name).
LOCAL_ID_PATTERN = r"^[A-Za-z0-9_#*.-]{1,32}$"
# A type, role or attribute name: word characters (any script), then also . : + / -
# ("Adverse-Effect", "Positive_regulation", "Theme2", "Certainty").
NAME_PATTERN = r"^\w[\w.:+/-]{0,99}$"

_LOCAL_ID = re.compile(LOCAL_ID_PATTERN)
_NAME = re.compile(NAME_PATTERN)


def is_local_id(value: str) -> bool:
    """Whether `value` is an acceptable annotation id."""
    return bool(_LOCAL_ID.fullmatch(value))


def is_name(value: str) -> bool:
    """Whether `value` is an acceptable type, role or attribute name."""
    return bool(_NAME.fullmatch(value))
