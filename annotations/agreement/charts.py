"""The agreement page's plot of agreement over time, drawn as the safety overview draws its plots
(pharmacovigilance.safety.charts: matplotlib's object API, no pyplot, so safe in threads), embedded in the page
as a PNG data URI so that a stored report (a job's) needs no second request and no recomputation. Only dates
and numbers are drawn: nothing from the data can reach the page's markup."""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from annotations.formats.agreement import AgreementReport, PeriodReport

WIDTH, HEIGHT, DPI = 8.0, 3.0, 100
WEEKS_SHOWN_UP_TO = 26  # more weeks than about half a year: the page plots months instead


def over_time_granularity(report: AgreementReport) -> str:
    """The granularity the page plots: weeks while they fit, else months."""
    return "week" if len(report.periods("week")) <= WEEKS_SHOWN_UP_TO else "month"


def _label(period: PeriodReport) -> str:
    return period.start.strftime("%Y-%m-%d" if period.granularity == "week" else "%Y-%m")


def over_time_png(periods: Sequence[PeriodReport]) -> bytes:
    """Entity F1 (strict, relaxed) and the verdict kappa per period as lines, pair-notes as faint bars."""
    figure = Figure(figsize=(WIDTH, HEIGHT), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    if not periods:
        axes.text(0.5, 0.5, "No pair of sets submitted in the same period yet", ha="center", va="center")
        axes.set_axis_off()
    else:
        x = list(range(len(periods)))
        counts = axes.twinx()
        counts.bar(x, [p.pair_notes for p in periods], color="#d9d9d9", zorder=0)
        counts.set_ylabel("pair-notes", color="#777777")
        axes.set_zorder(counts.get_zorder() + 1)
        axes.patch.set_visible(False)
        axes.plot(x, [p.entity_f1_strict for p in periods], color="#2166ac", marker="o", label="entity F1 strict")
        axes.plot(x, [p.entity_f1_relaxed for p in periods], color="#4393c3", marker="s", linestyle="--",
                  label="entity F1 relaxed")
        kappa = [p.verdict_kappa if p.verdict_kappa is not None else math.nan for p in periods]
        axes.plot(x, kappa, color="#b2182b", marker="^", label="verdict kappa (mean of pairs)")
        axes.set_ylim(min(-0.05, min((k for k in kappa if not math.isnan(k)), default=0) - 0.05), 1.05)
        step = max(1, math.ceil(len(periods) / 12))
        axes.set_xticks(x[::step], [_label(p) for p in periods][::step], fontsize=8)
        axes.set_ylabel("agreement")
        axes.grid(axis="y", alpha=0.3)
        axes.legend(loc="lower left", fontsize=8)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def over_time_chart(report: AgreementReport) -> dict:
    """What the page's over-time section shows: the granularity, its periods and their plot as a data URI (None
    without periods: the table says so, and no plot is drawn)."""
    granularity = over_time_granularity(report)
    periods = report.periods(granularity)
    uri = None
    if periods:
        uri = "data:image/png;base64," + base64.b64encode(over_time_png(periods)).decode("ascii")
    return {"granularity": granularity, "periods": periods, "png_uri": uri}
