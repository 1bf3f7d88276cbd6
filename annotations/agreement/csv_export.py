"""An agreement report as CSV rows: one section per table, text cells `csv_safe` (type and user names are
whatever people typed)."""

from __future__ import annotations

from collections.abc import Iterable

from annotations.audit.csv_export import csv_safe
from annotations.formats.agreement import AgreementReport


def _num(value: float | None) -> str:
    # Numbers are written by us, never a formula: only text cells need csv_safe (which would quote "-0.2").
    return "" if value is None else f"{value:.6f}"


def agreement_csv_rows(report: AgreementReport) -> Iterable[list[str]]:
    """Rows of the sections "verdicts", "pairs", "entity types", "type confusion" and "over time" (by week and by
    month), each with a header."""
    yield ["section", "measure", "value", "notes", "raters"]
    n_raters = str(len(report.raters))
    yield ["verdicts", "krippendorff_alpha_nominal", _num(report.alpha), str(report.verdict_units), n_raters]
    yield ["verdicts", "fleiss_kappa", _num(report.fleiss_kappa), str(report.fleiss_notes), n_raters]
    yield ["verdicts", "mean_cohen_kappa", _num(report.mean_cohen_kappa), str(report.notes), n_raters]
    yield []
    yield ["section", "annotator_a", "annotator_b", "notes_in_common", "entity_f1_strict", "entity_f1_relaxed",
           "relation_f1_strict", "relation_f1_relaxed", "event_f1_strict", "event_f1_relaxed", "verdict_notes",
           "verdict_kappa", "boundary_disagreements", "type_disagreements"]
    for p in report.pairs:
        yield ["pairs", csv_safe(p.a), csv_safe(p.b), str(p.notes), _num(p.entity_f1_strict), _num(p.entity_f1_relaxed),
               _num(p.relation_f1_strict), _num(p.relation_f1_relaxed), _num(p.event_f1_strict),
               _num(p.event_f1_relaxed), str(p.verdict_notes), _num(p.verdict_kappa), str(p.boundary_disagreements),
               str(p.type_disagreements)]
    yield []
    yield ["section", "entity_type", "f1_strict", "f1_relaxed", "tp_strict", "fp_strict", "fn_strict", "tp_relaxed"]
    for t in report.entity_types:
        yield ["entity types", csv_safe(t.type), _num(t.f1_strict), _num(t.f1_relaxed), str(t.tp_strict),
               str(t.fp_strict), str(t.fn_strict), str(t.tp_relaxed)]
    yield []
    yield ["section", "type_of_first_annotator", "type_of_second_annotator", "entities"]
    for ta, tb, count in report.confusion:
        yield ["type confusion", csv_safe(ta), csv_safe(tb), str(count)]
    yield []
    # Dates are written by us (ISO, never a formula), as the numbers are.
    yield ["section", "granularity", "period_start", "pair_notes", "entity_f1_strict", "entity_f1_relaxed",
           "verdict_notes", "verdict_kappa"]
    for p in report.over_time:
        yield ["over time", p.granularity, p.start.isoformat(), str(p.pair_notes), _num(p.entity_f1_strict),
               _num(p.entity_f1_relaxed), str(p.verdict_notes), _num(p.verdict_kappa)]
