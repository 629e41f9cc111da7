"""The digest as one Discord message: an embed within Discord's limits, plus a chart of the top holders."""

from __future__ import annotations

from bot.render import truncate
from retrieval.calendar import month_label, shift_month
from retrieval.digest import Digest
from retrieval.formatting import format_billions

DESCRIPTION_LIMIT = 4096
FIELD_LIMIT = 1024


def digest_embed(digest: Digest) -> dict:
    """A plain embed dict (discord.Embed.from_dict takes it); an empty day is one line."""
    if digest.empty:
        return {"description": f"Nothing new since {digest.since[:10]}.", "footer": {"text": "Holdings Desk digest"}}
    lines, n = [], 0
    for a in digest.articles:
        n += 1
        title = a.title.replace("[", "(").replace("]", ")")
        link = f"[{title}]({a.url})" if a.url.startswith(("http://", "https://")) else f"**{title}**"
        outlet = ", ".join(x for x in (a.source, a.published) if x)
        lines.append(f"**{n}.** {link}" + (f" — {outlet}" if outlet else "") + f"\n{a.summary}")
    if digest.more_articles:
        lines.append(f"…and {digest.more_articles} more: `/sources` lists them.")
    embed: dict = {
        "title": "Treasury holdings digest",
        "description": truncate(
            "\n\n".join(lines) or "No new articles since the last digest.", DESCRIPTION_LIMIT - 100
        ),
        "fields": [],
        "footer": {"text": "Holdings Desk digest · figures from Treasury's tables, summaries from each article"},
    }
    if digest.top:
        citation = digest.top[0].citation
        cite = f"[T] {citation.title}, released {citation.release}"
        top = "\n".join(f"{i}. {f.series} — ${format_billions(f.value)}bn" for i, f in enumerate(digest.top, 1))
        embed["fields"].append(
            {
                "name": f"Top holders, {month_label(digest.month)} [T]",
                "value": truncate(top, FIELD_LIMIT),
                "inline": True,
            }
        )
        if digest.movers:
            moves = "\n".join(f"{c.series} {c.absolute:+,.1f}bn" for c in digest.movers)
            embed["fields"].append(
                {
                    "name": f"Biggest moves vs {month_label(digest.movers[0].start.month)} [T]",
                    "value": truncate(moves, FIELD_LIMIT),
                    "inline": True,
                }
            )
        embed["fields"].append({"name": "Table source", "value": truncate(cite, FIELD_LIMIT), "inline": False})
    return embed


def top_holders_png(book, month: str, months: int = 12, top: int = 5) -> bytes:
    """Lines for the month's top holders over the year to it (matplotlib, no display)."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    start = shift_month(month, -(months - 1))
    figure = Figure(figsize=(7, 3.6), dpi=100)
    axes = figure.add_subplot()
    for holder in book.top(top, month):
        series = book.series(holder.series, start, month)
        axes.plot([f.month for f in series], [f.value for f in series], marker="o", markersize=3, label=holder.series)
    axes.set_title(f"Top foreign holders of Treasurys, {month_label(start)} to {month_label(month)}")
    axes.set_ylabel("billions of dollars")
    axes.tick_params(axis="x", labelrotation=45, labelsize=7)
    axes.legend(fontsize=7, loc="upper left", ncols=2)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
