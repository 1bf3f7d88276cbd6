"""canonical_form / canonical_diff: id-free comparison of annotation sets."""

from __future__ import annotations

from annotations.formats.brat import parse_brat
from annotations.formats.canonical import canonical_diff, canonical_form

TEXT = "Aspirin caused rash."
A = """T1\tDrug 0 7\tAspirin
T2\tAE 15 19\trash
T3\tCause 8 14\tcaused
E1\tCause:T3 Theme:T1 Theme2:T2
R1\tADE Arg1:T1 Arg2:T2
A1\tNegated E1
N1\tReference T2 MedDRA:1
#1\tAnnotatorNotes R1\tsure
*\tEquiv T1 T2
"""
# Same statements, other ids, other order, M attribute form, numbered roles swapped.
B = """T9\tAE 15 19\trash
T7\tCause 8 14\tcaused
T5\tDrug 0 7\tAspirin
E4\tCause:T7 Theme:T9 Theme2:T5
R8\tADE Arg1:T5 Arg2:T9
M3\tNegated E4
N2\tReference T9 MedDRA:1
#5\tAnnotatorNotes R8\tsure
*\tEquiv T9 T5
"""


def test_same_statements_with_different_ids_have_no_diff():
    a, b = parse_brat(TEXT, A), parse_brat(TEXT, B)
    assert canonical_form(a) == canonical_form(b)
    assert canonical_diff(a, b) == []


def test_a_changed_argument_is_reported():
    a = parse_brat(TEXT, A)
    b = parse_brat(TEXT, A.replace("R1\tADE Arg1:T1 Arg2:T2", "R1\tADE Arg1:T2 Arg2:T1"))
    diff = canonical_diff(a, b)
    assert len(diff) == 4  # the relation itself and the note on it, each side
    assert diff[0].startswith("only in first:")


def test_duplicates_count():
    a = parse_brat(TEXT, "T1\tDrug 0 7\tAspirin\n")
    b = parse_brat(TEXT, "T1\tDrug 0 7\tAspirin\nT2\tDrug 0 7\tAspirin\n")
    assert canonical_diff(a, b) == ["only in second: ('entity', 'Drug', ((0, 7),))"]


def test_text_difference_is_reported():
    a = parse_brat(TEXT, "")
    b = parse_brat(TEXT + " ", "")
    assert canonical_diff(a, b) == ["texts differ (lengths 20 and 21)"]
