"""The line listing: one row per case, the columns a drug safety team reads a list of cases by (ICH E2C's line
listing, reduced to what a hospital case holds). Rows are plain strings; the writers (CSV, XLSX) make cells
safe for spreadsheets. Framework-free: the page, the downloads and the tests call it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from .report import CaseReport, DrugRole, Seriousness

COLUMNS = (
    "case", "state", "patient", "sex", "age", "suspect drugs", "concomitant drugs", "reactions", "MedDRA PT",
    "onset", "outcomes", "serious", "seriousness criteria", "causality", "reporter", "created", "updated",
    "source notes",
)
SERIOUSNESS_LABELS = {
    Seriousness.DEATH: "Results in death",
    Seriousness.LIFE_THREATENING: "Life-threatening",
    Seriousness.HOSPITALISATION: "Requires or prolongs hospitalisation",
    Seriousness.DISABILITY: "Persistent or significant disability or incapacity",
    Seriousness.CONGENITAL_ANOMALY: "Congenital anomaly or birth defect",
    Seriousness.OTHER_MEDICALLY_IMPORTANT: "Other medically important condition",
}


def _drug(d) -> str:
    parts = [d.name.text]
    if d.name.code:
        parts.append(f"[{d.name.system.upper() or 'code'} {d.name.code}]")
    if d.dose:
        parts.append(d.dose)
    if d.route:
        parts.append(d.route)
    return " ".join(parts)


def line_listing_row(report: CaseReport) -> list[str]:
    """One case as the row of COLUMNS."""
    names = {d.key: d.name.text for d in report.drugs}
    terms = {r.key: r.term.text for r in report.reactions}
    onsets = [r.onset for r in report.reactions if r.onset is not None]
    causality = []
    for c in report.causality:
        said = []
        if c.who_umc is not None:
            said.append(f"WHO-UMC {c.who_umc.value}")
        if c.naranjo_score is not None:
            said.append(f"Naranjo {c.naranjo_score} ({c.naranjo_category})")
        if said:
            causality.append(f"{names.get(c.drug_key, c.drug_key)} / {terms.get(c.reaction_key, c.reaction_key)}: "
                             f"{', '.join(said)}")
    return [
        report.case_id,
        report.state.value,
        report.patient_id,
        report.patient_sex,
        "" if report.patient_age_years is None else str(report.patient_age_years),
        "; ".join(_drug(d) for d in report.drugs if d.role != DrugRole.CONCOMITANT),
        "; ".join(_drug(d) for d in report.drugs if d.role == DrugRole.CONCOMITANT),
        "; ".join(r.term.text for r in report.reactions),
        "; ".join(f"{r.term.preferred_term} ({r.term.preferred_term_code})" if r.term.preferred_term_code
                  else "(not coded)" for r in report.reactions),
        min(onsets).isoformat() if onsets else "",
        "; ".join(r.outcome.value for r in report.reactions),
        "yes" if report.serious else "no",
        "; ".join(SERIOUSNESS_LABELS[s] for s in Seriousness if s in report.seriousness),
        "; ".join(causality),
        report.reporter,
        report.created_at.isoformat(timespec="seconds") if report.created_at else "",
        report.updated_at.isoformat(timespec="seconds") if report.updated_at else "",
        "; ".join(s.note_external_id for s in report.sources),
    ]


def line_listing_rows(reports: Iterable[CaseReport]) -> Iterator[list[str]]:
    """The header, then one row per case, in the order given."""
    yield list(COLUMNS)
    for report in reports:
        yield line_listing_row(report)
