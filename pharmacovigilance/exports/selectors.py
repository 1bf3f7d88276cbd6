"""The cases an export reads, as CaseReports, in id order and in batches (flat memory for any number of cases),
through the case record's own selectors (pharmacovigilance.selectors: `case_list_for_user` for the line listing's
filters and who may see cases, `case_reports` for the one mapping from rows to CaseReport)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from annotations.errors import ApplicationError
from annotations.models import Note, Project
from pharmacovigilance.core.report import CaseReport
from pharmacovigilance.models import Case
from pharmacovigilance.selectors import case_filters_clean, case_list_for_user, case_reports

BATCH = 200
FILTER_KEYS = ("drug", "reaction", "seriousness", "who_umc", "naranjo", "date_from", "date_to", "dates", "state")


def case_ids_for_export(*, project: Project, case_ids: list[int] | None, filters: Mapping[str, str] | None = None,
                        user=None) -> list[int]:
    """The ids of the project's cases to export, in id order: `case_ids` (None: all), narrowed by the line
    listing's `filters` (then only the cases `user` may see, as the listing shows them).

    Errors: ApplicationError `not_found` naming ids that are not cases of this project, `bad_filter`."""
    if filters:
        cases = case_list_for_user(user=user, project=project, filters=case_filters_clean(filters))
    else:
        cases = Case.objects.filter(project=project)
    if case_ids is not None:
        cases = cases.filter(pk__in=case_ids)
    found = list(cases.order_by("pk").values_list("pk", flat=True))
    if case_ids is not None and not filters and len(found) != len(set(case_ids)):
        missing = sorted(set(case_ids) - set(found))
        raise ApplicationError("not_found", f"No such case in this project: {', '.join(map(str, missing[:10]))}.",
                               status=404)
    return found


def case_reports_for_export(*, project: Project, case_ids: list[int]) -> Iterator[CaseReport]:
    """The CaseReport of each case in `case_ids` (ids of `project`'s cases), in that order, BATCH at a time (a case
    deleted since the export started is left out). Evidence quotes are not read: no export carries them."""
    for start in range(0, len(case_ids), BATCH):
        batch = Case.objects.filter(project=project, pk__in=case_ids[start : start + BATCH]).order_by("pk")
        yield from case_reports(batch, chunk_size=BATCH, with_evidence=False)


def case_note_texts(*, project: Project, report: CaseReport) -> Mapping[str, str]:
    """The text of the case's source notes (external id -> text), for an export that includes it."""
    ids = [s.note_external_id for s in report.sources]
    return dict(Note.objects.filter(project=project, external_id__in=ids).values_list("external_id", "text"))
