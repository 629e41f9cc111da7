"""The digest as one Discord message: an embed within Discord's limits, plus a chart of the top holders.

Items are labelled [1], [2]… (the summary's markers point at them) and cite each outlet with a
link; the table fields are [T]. The description takes the stories that fit once the table
fields are counted, so the message never passes 4,096 / 1,024 / 6,000 characters.
"""

from __future__ import annotations

from bot.render.limits import (
    DESCRIPTION_LIMIT,
    EMBED_TOTAL_LIMIT,
    FIELD_VALUE_LIMIT,
    embed_size,
    finish,
    neutralise,
    truncate,
)
from retrieval.calendar import month_label
from retrieval.digest_types import Digest, Report
from retrieval.formatting import money, signed
from retrieval.formatting import truncate as shorten  # prose, cut at a word; `truncate` keeps links whole

TITLE = "Treasury holdings digest"
FOOTER = "Holdings Desk digest · figures from Treasury's tables, each item in its outlets' own words"
MAX_LINK_URL = 300  # a longer address is named, not linked


def _plain(text: str) -> str:
    """Text that cannot open a link or a format, or ping anybody, by accident."""
    return neutralise(text.replace("[", "(").replace("]", ")").replace("*", "").replace("`", "'"))


def cite(report: Report) -> str:
    """An outlet as a link to its page, or by name (and id) when it has no web address."""
    name = _plain(report.outlet)
    url = report.url
    if url.startswith(("http://", "https://")) and len(url) <= MAX_LINK_URL:
        return f"[{name}]({url.replace(' ', '%20').replace(')', '%29')})"
    return f"{name} (`{report.doc_id[:80]}`)"


def _story_block(n: int, story) -> str:
    date = story.published or "undated"
    links = " · ".join(cite(r) for r in story.reports)
    return f"**[{n}] {_plain(story.title)}**\n{_plain(story.lead)}\n{links} · {date}"


def _table_fields(digest: Digest) -> list[dict]:
    fields: list[dict] = []
    if not digest.top:
        return fields
    citation = digest.top[0].citation
    top = "\n".join(f"{i}. {f.series} — {money(f.value, 'bn')}" for i, f in enumerate(digest.top, 1))
    fields.append(
        {
            "name": f"Top holders, {month_label(digest.month)} [T]",
            "value": truncate(top, FIELD_VALUE_LIMIT),
            "inline": True,
        }
    )
    if digest.movers:
        moves = "\n".join(f"{c.series} {signed(c.absolute)}bn" for c in digest.movers)
        fields.append(
            {
                "name": f"Biggest moves vs {month_label(digest.movers[0].start.month)} [T]",
                "value": truncate(moves, FIELD_VALUE_LIMIT),
                "inline": True,
            }
        )
        explained = [c for c in digest.movers if c.series in digest.explanations]
        if explained:
            budget = FIELD_VALUE_LIMIT // len(explained) - 1
            lines = []
            for c in explained:
                why = digest.explanations[c.series]
                head, link = f"**{c.series} {signed(c.absolute)}bn**: ", f" — {cite(why.report)}"
                room = max(60, budget - len(head) - len(link))
                lines.append(truncate(f"{head}{shorten(_plain(why.sentence), room)}{link}", budget))
            fields.append({"name": "Why they moved", "value": "\n".join(lines), "inline": False})
    source = f"[T] {citation.title}, released {citation.release}"
    fields.append({"name": "Table source", "value": truncate(source, FIELD_VALUE_LIMIT), "inline": False})
    return fields


def digest_embed(digest: Digest) -> dict:
    """A plain embed dict (discord.Embed.from_dict takes it); an empty day is one line."""
    if digest.empty:
        return finish(
            {"description": f"Nothing new since {digest.since[:10]}.", "footer": {"text": "Holdings Desk digest"}}
        )
    fields = _table_fields(digest)
    embed: dict = {"title": TITLE, "description": "", "fields": fields, "footer": {"text": FOOTER}}
    room = min(DESCRIPTION_LIMIT, EMBED_TOTAL_LIMIT - embed_size(embed)) - 80  # 80: the "…and N more" line
    parts: list[str] = []
    if digest.summary:
        parts.append(shorten(f"**In short:** {_plain_summary(digest.summary)}", room // 3))
    shown = 0
    for n, story in enumerate(digest.stories, 1):
        block = _story_block(n, story)
        if len("\n\n".join([*parts, block])) > room:
            break
        parts.append(block)
        shown += 1
    if not digest.stories:
        parts.append("No new articles since the last digest.")
    more = digest.more_stories + len(digest.stories) - shown
    if more:
        parts.append(f"…and {more} more: `/sources` lists them.")
    embed["description"] = "\n\n".join(parts)
    return finish(embed)


def _plain_summary(text: str) -> str:
    # The summary's [n] and [T] stay: they are the items' and the table's labels.
    return neutralise(text.replace("*", "").replace("`", "'"))
