"""The agreement CSV: every section with its header; text cells that a spreadsheet would run are quoted,
numbers (negative kappas included) are not."""

from __future__ import annotations

from annotations.agreement.csv_export import agreement_csv_rows
from annotations.formats.agreement import AgreementCounter
from annotations.formats.document import Document, Entity, Span


def _doc(type_: str, label: str) -> Document:
    return Document(id="n", text="x" * 20, label=label,
                    entities=(Entity(id="T1", type=type_, spans=(Span(0, 4),), text="xxxx"),))


def test_formula_leading_names_are_quoted_and_numbers_are_not():
    counter = AgreementCounter()
    counter.add_note({"=cmd": _doc("=HYPERLINK(1)", "ade"), "bob": _doc("Drug", "no_ade")})
    counter.add_note({"=cmd": _doc("Drug", "no_ade"), "bob": _doc("Drug", "ade")})
    rows = list(agreement_csv_rows(counter.report()))
    pair = next(r for r in rows if r[:1] == ["pairs"])
    assert pair[1] == "'=cmd" and pair[2] == "bob"
    assert pair[11] == "-1.000000"  # a negative kappa stays a number
    confusion = [r for r in rows if r[:1] == ["type confusion"]]
    assert ["type confusion", "'=HYPERLINK(1)", "Drug", "1"] in confusion
    assert {r[0] for r in rows if r} == {"section", "verdicts", "pairs", "entity types", "type confusion"}
