"""Case reports built directly (no database) for the FHIR and E2B(R3) writer tests and the benchmark."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from pharmacovigilance.core.report import (
    ActionTaken,
    CaseDrug,
    CaseReaction,
    CaseReport,
    CausalityAssessment,
    ChallengeResult,
    Coded,
    DrugRole,
    Evidence,
    Outcome,
    Seriousness,
    SourceDocument,
    WhoUmcCategory,
)


def warfarin_bleed(case_id: str = "CASE-0001", **changes) -> CaseReport:
    """A serious (hospitalisation) case: warfarin suspected of a gastrointestinal bleed (WHO-UMC probable,
    Naranjo 6), with a concomitant drug, two reactions and two source notes."""
    report = CaseReport(
        case_id=case_id,
        patient_id="synthetic-patient-3",
        patient_sex="female",
        patient_age_years=71,
        patient_birth_date=date(1955, 2, 1),
        drugs=(
            CaseDrug("D1", Coded("warfarin", "B01AA03", "atc", version="2026"), DrugRole.SUSPECT, dose="5 mg", frequency="daily",
                     duration="for 12 days",
                     route="oral", start=date(2026, 2, 20), end=date(2026, 3, 4),
                     action_taken=ActionTaken.WITHDRAWN, dechallenge=ChallengeResult.POSITIVE,
                     evidence=(Evidence("demo-001", 70, 78, "warfarin"),)),
            CaseDrug("D2", Coded("metformin"), DrugRole.CONCOMITANT, dose="850 mg twice daily"),
        ),
        reactions=(
            CaseReaction("R1", Coded("gastrointestinal bleeding", "10017955", "meddra", "10017955",
                                     "Gastrointestinal haemorrhage", "27.0"),
                         onset=date(2026, 3, 4), outcome=Outcome.RECOVERED),
            CaseReaction("R2", Coded("anaemia", "10002034", "meddra", "10002034", "Anaemia", "27.0"),
                         onset=date(2026, 3, 5), outcome=Outcome.RECOVERING),
        ),
        causality=(
            CausalityAssessment("D1", "R1", WhoUmcCategory.PROBABLE, 6, "probable", "reviewer",
                                datetime(2026, 3, 6, 9, tzinfo=UTC)),
            CausalityAssessment("D1", "R2", WhoUmcCategory.POSSIBLE, None, "", "reviewer"),
        ),
        seriousness=frozenset({Seriousness.HOSPITALISATION}),
        narrative="A 71-year-old woman on warfarin 5 mg daily developed melaena on day 12; warfarin was stopped.",
        reporter="hospital pharmacovigilance",
        reporter_qualification="pharmacist",
        sender_organisation="Synthetic General Hospital",
        created_at=datetime(2026, 3, 5, 10, 0, tzinfo=UTC),
        updated_at=datetime(2026, 3, 6, 9, 30, tzinfo=UTC),
        sources=(SourceDocument("demo-001", datetime(2026, 3, 4, 8, 0, tzinfo=UTC), "discharge summary"),
                 SourceDocument("demo-009", datetime(2026, 3, 5, 8, 0, tzinfo=UTC), "progress note")),
    )
    return replace(report, **changes)
