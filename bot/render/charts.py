"""PNG line charts: one holdings series (/chart), the top holders over a year (the digest).
Matplotlib's object API with the Agg canvas, not pyplot: pyplot keeps global state and is not
safe from the worker threads the bot draws in."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from retrieval.calendar import month_label, shift_month

if TYPE_CHECKING:
    from matplotlib.figure import Figure as Canvas


def _canvas(width: float, height: float) -> Canvas:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Canvas) -> bytes:
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


def series_png(series: str, figures: list) -> bytes:
    months = [f.month for f in figures]
    values = [f.value for f in figures]
    fig = _canvas(8, 4)
    ax = fig.add_subplot()
    ax.plot(range(len(months)), values, marker="o" if len(months) <= 36 else None, color="#2E6DB4")
    step = max(1, len(months) // 12)
    ax.set_xticks(
        range(0, len(months), step), [months[i] for i in range(0, len(months), step)], rotation=45, ha="right"
    )
    ax.set_ylabel("billions of dollars")
    ax.set_title(f"{series}: holdings of U.S. Treasury securities")
    ax.grid(True, alpha=0.3)
    return _png(fig)


def top_holders_png(book, month: str, months: int = 12, top: int = 5) -> bytes:
    """Lines for the month's top holders over the year to it."""
    start = shift_month(month, -(months - 1))
    figure = _canvas(7, 3.6)
    axes = figure.add_subplot()
    for holder in book.top(top, month):
        series = book.series(holder.series, start, month)
        axes.plot([f.month for f in series], [f.value for f in series], marker="o", markersize=3, label=holder.series)
    axes.set_title(f"Top foreign holders of Treasurys, {month_label(start)} to {month_label(month)}")
    axes.set_ylabel("billions of dollars")
    axes.tick_params(axis="x", labelrotation=45, labelsize=7)
    axes.legend(fontsize=7, loc="upper left", ncols=2)
    return _png(figure)
