"""Exact lookups for Discord: /holdings, /top, /compare, /chart (views from retrieval.lookup), /sources."""

from __future__ import annotations

from bot.render.limits import COLOUR, DESCRIPTION_LIMIT, finish, link, neutralise, truncate
from retrieval.calendar import month_label
from retrieval.formatting import format_billions, money, ordinal, percent, signed
from retrieval.lookup import CountryView, SeriesView, TopView


def _money(value: float) -> str:
    return money(value, " bn")


def _table_source(citation) -> str:
    return f"{citation.title} — released {citation.release}"


def render_country(view: CountryView) -> dict:
    """`/holdings`: value, rank, change from the month before, a small history."""
    fig = view.figure
    lines = [f"**{_money(fig.value)}** at the end of {month_label(fig.month)}"]
    if view.rank:
        lines.append(f"Ranked {ordinal(view.rank[0])} of the {view.rank[1]} holders listed.")
    if fig.earlier:
        first = fig.earlier[0]
        lines.append(f"First published as {_money(first[0])}; revised since.")
    change = "not in the tables"
    if view.change is not None:
        share = view.change.percent
        change = f"{signed(view.change.absolute, typeset=True)} bn" + (
            f" ({percent(share)})" if share is not None else ""
        )
    fields = [{"name": f"Change from {month_label(view.previous)}", "value": change, "inline": True}]
    if len(view.history) > 1:
        rows = "\n".join(f"{f.month}  {format_billions(f.value):>9}" for f in view.history)
        fields.append({"name": "Recent months ($ bn)", "value": f"```\n{rows}\n```", "inline": False})
    fields.append({"name": "Source", "value": _table_source(fig.citation), "inline": False})
    return finish(
        {
            "title": f"{fig.series} — holdings of U.S. Treasurys",
            "description": "\n".join(lines),
            "color": COLOUR,
            "fields": fields,
            "footer": {"text": f"Exact lookup · data month {month_label(fig.month)}"},
        }
    )


def render_top(view: TopView) -> dict:
    """`/top`: the largest holders in a month with their change from the month before."""
    rows = []
    for i, fig in enumerate(view.figures, 1):
        change = view.changes.get(fig.series)
        delta = f" ({signed(change.absolute, typeset=True)})" if change is not None else ""
        rows.append(f"{i}. **{fig.series}** {_money(fig.value)}{delta}")
    description = "\n".join(rows)
    if view.total is not None:
        description += f"\n\nAll foreign holders: {_money(view.total.value)}"
    return finish(
        {
            "title": f"Largest foreign holders, {month_label(view.month)}",
            "description": description,
            "color": COLOUR,
            "fields": [{"name": "Source", "value": _table_source(view.figures[0].citation), "inline": False}],
            "footer": {"text": f"Exact lookup · {view.ranked} holders ranked · change from the month before in $ bn"},
        }
    )


def render_compare(a: CountryView, b: CountryView) -> dict:
    """`/compare`: two CountryViews for the same month side by side."""
    fields = []
    for view in (a, b):
        lines = [_money(view.figure.value)]
        if view.rank:
            lines.append(f"ranked {ordinal(view.rank[0])} of {view.rank[1]}")
        if view.change is not None:
            lines.append(f"{signed(view.change.absolute, typeset=True)} bn since {month_label(view.previous)}")
        fields.append({"name": view.figure.series, "value": "\n".join(lines), "inline": True})
    gap = a.figure.value - b.figure.value
    leader, trailer = (a, b) if gap >= 0 else (b, a)
    description = (
        f"{leader.figure.series} holds {_money(abs(gap))} more than "
        f"{trailer.figure.series} at the end of {month_label(a.figure.month)}."
    )
    fields.append({"name": "Source", "value": _table_source(a.figure.citation), "inline": False})
    return finish(
        {
            "title": f"{a.figure.series} vs {b.figure.series}",
            "description": description,
            "color": COLOUR,
            "fields": fields,
            "footer": {"text": f"Exact lookup · data month {month_label(a.figure.month)}"},
        }
    )


def render_chart(view: SeriesView, image: str) -> dict:
    """`/chart`: the series' span, its highest and lowest, and the attached PNG named `image`."""
    first, last = view.figures[0], view.figures[-1]
    return finish(
        {
            "title": f"{view.series}: {month_label(first.month)} to {month_label(last.month)}",
            "description": (
                f"Highest {_money(view.highest.value)} ({month_label(view.highest.month)}), "
                f"lowest {_money(view.lowest.value)} ({month_label(view.lowest.month)})."
            ),
            "color": COLOUR,
            "image": {"url": f"attachment://{image}"},
            "footer": {"text": f"Source: {last.citation.title}"},
        }
    )


def render_sources(docs: list[dict], query: str = "", max_shown: int = 15) -> dict:
    """`/sources`: what is ingested, newest first."""
    lines = []
    for doc in docs[:max_shown]:
        date = doc.get("published") or doc.get("published_raw") or ""
        meta = ", ".join(x for x in (neutralise(doc.get("source", "")), date, doc.get("kind", "")) if x)
        title = link(truncate(neutralise(doc.get("title") or doc["id"]), 100), doc.get("url") or "")
        lines.append(f"{title} — {meta}\n`{truncate(doc['id'], 150)}`")
    rest = len(docs) - len(lines)
    text = "\n".join(lines)
    while len(text) > DESCRIPTION_LIMIT - 40 and lines:
        lines.pop()
        rest += 1
        text = "\n".join(lines)
    if rest:
        text += f"\n…and {rest} more"
    if not docs:
        text = f"Nothing stored matches {neutralise(query)!r}." if query else "The knowledge base is empty."
    title = f"Sources matching {query!r}" if query else "Sources in the knowledge base"
    return finish(
        {
            "title": title,
            "description": text,
            "color": COLOUR,
            "footer": {"text": f"{len(docs)} document{'s' if len(docs) != 1 else ''}, newest first"},
        }
    )
