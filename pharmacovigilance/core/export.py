"""Writing many case reports to one file: FHIR (a .zip holding one R4 Bundle per case) or ICH E2B(R3) (one batch
XML). Reports are taken from an iterator and written one at a time, so memory stays flat whatever the number of
cases. One case that cannot be written is reported (`ExportResult.failed`) and left out whole; the others are
written. The export job, the benchmark and the tests call these. Framework-free.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from .e2b import case_report_e2b_problems, case_reports_write_e2b
from .fhir import FhirError, case_report_fhir_json
from .report import CaseReport

__all__ = ["ExportResult", "case_reports_write_fhir_zip", "case_reports_write_e2b_file", "FORMATS"]

FORMATS = {"fhir": ".zip", "e2b": ".xml"}  # export format -> the file it makes
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class ExportResult:
    written: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (case id, reason): left out
    warnings: list[str] = field(default_factory=list)  # written, but a receiver would refuse (E2B business rules)


def _member_name(case_id: str, used: set[str]) -> str:
    """A zip member name for a case: its id's safe characters, plus a hash when the id needed changing or
    collides (ids are the hospital's: anything may be in them)."""
    stem = _SAFE.sub("_", case_id).strip("._")[:80] or "case"
    if stem != case_id or stem in used:
        stem = f"{stem}-{hashlib.sha256(case_id.encode('utf-8', 'replace')).hexdigest()[:10]}"
    used.add(stem)
    return f"{stem}.json"


def case_reports_write_fhir_zip(
    reports: Iterable[CaseReport], out: Path, *, include_note_text: bool = False,
    note_texts: Callable[[CaseReport], Mapping[str, str]] | None = None,
    progress: Callable[[int], None] | None = None,
) -> ExportResult:
    """Write one validated FHIR R4 Bundle per case into the .zip `out` (`<case id>.json`).

    Args: `include_note_text` with `note_texts(report)` (note external id -> text) puts the source notes' text in
    their DocumentReferences (see pharmacovigilance.core.fhir); `progress(n)` after each case.
    Result: what was written and which cases failed (a Bundle that does not validate) with why.
    """
    result = ExportResult()
    used: set[str] = set()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for report in reports:
            try:
                texts = note_texts(report) if include_note_text and note_texts is not None else None
                data = case_report_fhir_json(report, include_note_text=include_note_text, note_texts=texts)
            except FhirError as exc:
                result.failed.append((report.case_id, str(exc)[:400]))
                continue
            archive.writestr(_member_name(report.case_id, used), data.encode("utf-8"))
            result.written += 1
            if progress is not None:
                progress(result.written)
    return result


def case_reports_write_e2b_file(
    reports: Iterable[CaseReport], out: Path, *, batch_id: str, sender_id: str, receiver_id: str,
    created: datetime | None = None, sender_organisation: str = "", progress: Callable[[int], None] | None = None,
) -> ExportResult:
    """Write the cases as one ICH E2B(R3) batch file `out`; each case's E2B problems become warnings.

    Result: what was written, the cases that could not be (with the kind of error), and the warnings.
    """
    result = ExportResult()

    def checked(items: Iterable[CaseReport]):
        for report in items:
            result.warnings += case_report_e2b_problems(report)
            yield report

    def failed(report: CaseReport, exc: Exception) -> None:
        result.failed.append((report.case_id, f"could not be written ({type(exc).__name__})"))

    with open(out, "wb") as stream:
        result.written = case_reports_write_e2b(
            checked(reports), stream, batch_id=batch_id, sender_id=sender_id, receiver_id=receiver_id,
            created=created, sender_organisation=sender_organisation, on_error=failed, progress=progress)
    return result
