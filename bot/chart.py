"""A PNG line chart of one holdings series. Matplotlib's object API with the Agg canvas, not
pyplot: pyplot keeps global state and is not safe from the worker threads the bot draws in."""

from __future__ import annotations

import io


def series_png(series: str, figures: list) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    months = [f.month for f in figures]
    values = [f.value for f in figures]
    fig = Figure(figsize=(8, 4), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot(range(len(months)), values, marker="o" if len(months) <= 36 else None, color="#2E6DB4")
    step = max(1, len(months) // 12)
    ax.set_xticks(
        range(0, len(months), step), [months[i] for i in range(0, len(months), step)], rotation=45, ha="right"
    )
    ax.set_ylabel("billions of dollars")
    ax.set_title(f"{series}: holdings of U.S. Treasury securities")
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()
