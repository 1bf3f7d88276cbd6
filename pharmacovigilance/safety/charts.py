"""The safety overview's plots as PNG bytes (matplotlib's object API, no pyplot: safe in threads; text is drawn
as pixels, so names from the data cannot inject anything into the page)."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .selectors import MonthCount, PairRow

WIDTH, DPI = 8.0, 100


def _png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def _short(text: str, limit: int = 38) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def disproportionality_png(rows: Sequence[PairRow], *, limit: int = 20) -> bytes:
    """A forest plot: each pair's ROR and PRR with their 95 % intervals on a log axis, the line at 1."""
    rows = [r for r in rows if r.stats is not None][:limit]
    figure = Figure(figsize=(WIDTH, 1.2 + 0.38 * max(len(rows), 1)), layout="constrained")
    axes = figure.add_subplot()
    if not rows:
        axes.text(0.5, 0.5, "No drug-reaction pair to compare yet", ha="center", va="center")
        axes.set_axis_off()
        return _png(figure)
    labels = [f"{_short(r.drug_label, 24)} → {_short(r.reaction_label, 28)}" for r in rows]
    for i, row in enumerate(rows):
        s = row.stats
        y = len(rows) - 1 - i
        colour = "#b2182b" if s.signal else "#2166ac"
        axes.plot([s.ror_low, s.ror_high], [y + 0.12, y + 0.12], color=colour, linewidth=2)
        axes.plot([s.ror], [y + 0.12], marker="s", color=colour)
        axes.plot([s.prr_low, s.prr_high], [y - 0.12, y - 0.12], color="#777777", linewidth=1.5)
        axes.plot([s.prr], [y - 0.12], marker="o", color="#777777")
    axes.axvline(1.0, color="black", linewidth=0.8)
    axes.set_xscale("log")
    axes.set_yticks(range(len(rows)), labels[::-1], fontsize=8)
    lows = [min(r.stats.ror_low, r.stats.prr_low) for r in rows]
    highs = [max(r.stats.ror_high, r.stats.prr_high) for r in rows]
    axes.set_xlim(max(min(lows) / 1.5, 1e-3), min(max(highs) * 1.5, 1e4))
    axes.set_xlabel("ROR (squares, coloured; red: a signal) and PRR (circles, grey) with 95 % intervals")
    axes.grid(axis="x", which="both", alpha=0.3)
    return _png(figure)


def over_time_png(months: Sequence[MonthCount], *, unit: str = "notes") -> bytes:
    """Reports (`unit`: notes or cases) with a confirmed ADE per month (bars) and confirmed ADEs (line)."""
    dated = [m for m in months if m.month is not None]
    figure = Figure(figsize=(WIDTH, 3.0), layout="constrained")
    axes = figure.add_subplot()
    if not dated:
        axes.text(0.5, 0.5, "No dated confirmed ADE yet", ha="center", va="center")
        axes.set_axis_off()
        return _png(figure)
    x = range(len(dated))
    axes.bar(x, [m.reports for m in dated], color="#4393c3", label=f"{unit} with a confirmed ADE")
    axes.plot(x, [m.ades for m in dated], color="#b2182b", marker="o", label="confirmed ADEs")
    step = max(1, math.ceil(len(dated) / 12))
    axes.set_xticks(list(x)[::step], [m.month.strftime("%Y-%m") for m in dated][::step], fontsize=8)
    axes.set_ylabel("count")
    axes.legend(loc="upper left", fontsize=8)
    return _png(figure)
