"""Reads for the risk pages; the caller has already checked the project role."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import F, QuerySet

from annotations.models import Patient, Project
from inference.core.risk.phrase_labels import STATE_COLOURS
from inference.models.risk import RiskModel, RiskPoint


def patient_list_by_risk(*, project: Project) -> QuerySet[Patient]:
    """The project's patients, highest current risk first (unmonitored patients last)."""
    return (
        Patient.objects.filter(project=project)
        .select_related("risk")
        .order_by(F("risk__risk").desc(nulls_last=True), "external_id")
    )


@dataclass(frozen=True)
class ChartPoint:
    x: float
    y: float
    colour: str
    state: int
    state_name: str
    risk: float
    phrase: str
    time: object
    note_external_id: str
    note_id: int


@dataclass(frozen=True)
class RiskChart:
    width: int
    height: int
    points: list[ChartPoint]
    polyline: str
    threshold_y: float
    legend: list[tuple[str, str]]


def patient_risk_chart(*, patient: Patient, model: RiskModel | None, width: int = 900, height: int = 260) -> RiskChart:
    """The patient's risk series laid out for an SVG chart (x by phrase order, y by P(ADR))."""
    names = list(model.state_names) if model else []
    legend = [(STATE_COLOURS[i % len(STATE_COLOURS)], name) for i, name in enumerate(names)]
    if model is None:
        return RiskChart(width, height, [], "", height / 2, legend)
    rows = list(
        RiskPoint.objects.filter(patient=patient, risk_model=model)
        .select_related("note")
        .only("sequence", "state", "risk", "start", "end", "time", "note__text", "note__external_id")
        .order_by("sequence")
    )
    pad, n = 30, max(len(rows) - 1, 1)
    points = [
        ChartPoint(
            x=pad + (width - 2 * pad) * i / n,
            y=pad + (height - 2 * pad) * (1 - p.risk),
            colour=STATE_COLOURS[p.state % len(STATE_COLOURS)],
            state=p.state,
            state_name=names[p.state] if p.state < len(names) else str(p.state),
            risk=p.risk,
            phrase=p.note.text[p.start : p.end],
            time=p.time,
            note_external_id=p.note.external_id,
            note_id=p.note_id,
        )
        for i, p in enumerate(rows)
    ]
    polyline = " ".join(f"{p.x:.1f},{p.y:.1f}" for p in points)
    return RiskChart(width, height, points, polyline, pad + (height - 2 * pad) * 0.5, legend)
