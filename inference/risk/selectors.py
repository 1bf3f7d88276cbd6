"""Reads for the risk pages; the caller has already checked the project role."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import F, QuerySet
from django.utils import timezone

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
class TimeTick:
    x: float
    label: str
    detail: str  # the full date and time (a tooltip)


@dataclass(frozen=True)
class RiskChart:
    width: int
    height: int
    points: list[ChartPoint]
    polyline: str
    threshold_y: float
    legend: list[tuple[str, str]]
    ticks: list[TimeTick] = field(default_factory=list)
    axis_label: str = ""


PHRASE_GAP = 8.0  # px between the points of phrases that share a time (one note's phrases)
PAD = 30  # the plot area's margin: axes at PAD, points within [PAD, width - PAD]
TICK_STEPS = [
    timedelta(minutes=m) for m in (15, 30)
] + [timedelta(hours=h) for h in (1, 2, 3, 6, 12)] + [timedelta(days=d) for d in (1, 2, 7, 14, 30, 91, 182, 365)]


def time_ticks(start: datetime, end: datetime, *, max_ticks: int = 7) -> list[datetime]:
    """Round instants from `start` to `end` (aware, local time) at the smallest step in TICK_STEPS that gives
    at most `max_ticks` of them; just [start] when start == end."""
    if end <= start:
        return [start]
    span = end - start
    step = next((s for s in TICK_STEPS if span / s <= max_ticks - 1), TICK_STEPS[-1])
    if step >= timedelta(days=1):
        first = start.replace(hour=0, minute=0, second=0, microsecond=0)
        days = (first - first.replace(year=2000, month=1, day=1)).days
        first -= timedelta(days=days % step.days)
    else:
        minutes = int(step.total_seconds() // 60)
        midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
        first = midnight + timedelta(minutes=((start - midnight) // timedelta(minutes=1)) // minutes * minutes)
    ticks, t = [], first
    while t <= end:
        if t >= start:
            ticks.append(t)
        t += step
    return ticks or [start]


def _tick_label(t: datetime, step_days: bool, previous: datetime | None) -> str:
    if step_days:
        return t.strftime("%d %b") if previous is not None and previous.year == t.year else t.strftime("%d %b %Y")
    if previous is not None and previous.date() == t.date():
        return t.strftime("%H:%M")
    return t.strftime("%d %b %H:%M")


def _time_layout(times: list[datetime], x0: float, x1: float) -> tuple[list[float], list[TimeTick]]:
    """x of each (sorted, local) time on a linear time axis from x0 to x1, and labelled ticks. Phrases of one
    note share its time: they are spread a little to the right of it, never past the next time's point."""
    start, end = times[0], times[-1]
    span = (end - start).total_seconds()
    groups: list[tuple[datetime, int]] = []
    for t in times:
        if groups and groups[-1][0] == t:
            groups[-1] = (t, groups[-1][1] + 1)
        else:
            groups.append((t, 1))
    # The last note's phrases spread right of its time: keep room for them inside the plot.
    tail = min(PHRASE_GAP * (groups[-1][1] - 1), (x1 - x0) * 0.25) if span > 0 else 0.0
    x_end = x1 - tail

    def x_of(t: datetime) -> float:
        return (x0 + x1) / 2 if span <= 0 else x0 + (x_end - x0) * (t - start).total_seconds() / span

    xs: list[float] = []
    for i, (t, n) in enumerate(groups):
        here = x_of(t)
        if span <= 0:
            step = min(PHRASE_GAP, (x1 - x0) / max(n, 1))
            here -= step * (n - 1) / 2
        else:
            room = (x_of(groups[i + 1][0]) - here) * 0.6 if i + 1 < len(groups) else tail
            step = min(PHRASE_GAP, room / (n - 1)) if n > 1 else 0.0
        xs.extend(here + step * k for k in range(n))
    ticks = []
    instants = time_ticks(start, end)
    by_day = len(instants) > 1 and instants[1] - instants[0] >= timedelta(days=1)
    previous = None
    for t in instants:
        ticks.append(TimeTick(x_of(t), _tick_label(t, by_day, previous), t.strftime("%Y-%m-%d %H:%M")))
        previous = t
    return xs, ticks


def patient_risk_chart(*, patient: Patient, model: RiskModel | None, width: int = 900, height: int = 260) -> RiskChart:
    """The patient's risk series laid out for an SVG chart: y by P(ADR); x by the phrases' times on a time axis
    with labelled ticks (by phrase order, without ticks, when a phrase has no time)."""
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
    x0, x1 = PAD + 10, width - PAD - 10
    ticks: list[TimeTick] = []
    times = [timezone.localtime(p.time) if p.time else None for p in rows]
    if rows and all(times) and times == sorted(times):
        xs, ticks = _time_layout(times, x0, x1)
        axis_label = f"Time of the note ({timezone.get_current_timezone_name()})"
    else:
        n = max(len(rows) - 1, 1)
        xs = [x0 + (x1 - x0) * i / n for i in range(len(rows))]
        axis_label = "Phrases in order (some have no time)"
    points = [
        ChartPoint(
            x=xs[i],
            y=PAD + (height - 2 * PAD) * (1 - p.risk),
            colour=STATE_COLOURS[p.state % len(STATE_COLOURS)],
            state=p.state,
            state_name=names[p.state] if p.state < len(names) else str(p.state),
            risk=p.risk,
            phrase=p.note.text[p.start : p.end],
            time=times[i],
            note_external_id=p.note.external_id,
            note_id=p.note_id,
        )
        for i, p in enumerate(rows)
    ]
    polyline = " ".join(f"{p.x:.1f},{p.y:.1f}" for p in points)
    return RiskChart(width, height, points, polyline, PAD + (height - 2 * PAD) * 0.5, legend, ticks, axis_label)
