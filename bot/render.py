"""Answers and lookups as Discord message payloads: plain dicts, no discord import, so the
limits can be unit-tested directly. The cogs turn them into discord.Embed with from_dict.

Discord refuses a whole message when one limit is exceeded, so every text that goes out
passes through here: long text is split at paragraph, then sentence, then word boundaries
and never inside a link; short fields are cut at a word with an ellipsis.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from retrieval.calendar import month_label, parse_month
from retrieval.formatting import ordinal

CONTENT_LIMIT = 2000
DESCRIPTION_LIMIT = 4096
TITLE_LIMIT = 256
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
FIELDS_PER_EMBED = 25
EMBEDS_PER_MESSAGE = 10
EMBED_TOTAL_LIMIT = 6000
THREAD_NAME_LIMIT = 100
MAX_SOURCES = 5

COLOUR = 0x2E6DB4
REFUSED_COLOUR = 0x8A8D91

# Markdown links, <autolinks> and bare URLs: a split may never fall inside one.
_LINK = re.compile(r"\[[^\]\n]*\]\([^)\s]*\)|<https?://[^>\s]+>|https?://\S+")
_MASS_MENTION = re.compile(r"@(everyone|here)")
_SENTENCE_END = re.compile(r"[.!?…][\"')\]]*\s+")
_ROUTE_NAMES = {
    "table": "holdings tables",
    "articles": "news articles",
    "mixed": "tables and articles",
    "none": "no source",
    "lookup": "exact lookup",
}


def neutralise(text: str) -> str:
    """Break @everyone/@here with a zero-width space. allowed_mentions already stops the ping;
    this keeps a copied answer from pinging elsewhere."""
    return _MASS_MENTION.sub("@\u200b\\1", text or "")


def _protected(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _LINK.finditer(text)]


def _inside(pos: int, spans: list[tuple[int, int]]) -> bool:
    return any(start < pos < end for start, end in spans)


def _cut_point(text: str, limit: int) -> int:
    """Where to end the first piece of `text` (len > limit): the best boundary at or before limit."""
    window = text[: limit + 1]
    spans = _protected(text)
    candidates: list[list[int]] = [
        [m.end() for m in re.finditer(r"\n\s*\n", window)],  # paragraph
        [m.end() for m in _SENTENCE_END.finditer(window)],  # sentence
        [m.end() for m in re.finditer(r"\n", window)],  # line
        [m.end() for m in re.finditer(r"\s+", window)],  # word
    ]
    # A boundary very early would leave a tiny piece; prefer a weaker boundary further on.
    floor = limit * 0.4
    fallback = 0
    for level in candidates:
        usable = [p for p in level if 0 < p and len(text[:p].rstrip()) <= limit and not _inside(p, spans)]
        if not usable:
            continue
        best = max(usable)
        if best >= floor:
            return best
        fallback = max(fallback, best)
    if fallback:
        return fallback
    # One unbroken word or link longer than the limit: only a hard cut is possible.
    return limit


def split_text(text: str, limit: int) -> list[str]:
    """Pieces of at most `limit` characters, split at paragraph > sentence > line > word."""
    if limit < 1:
        raise ValueError("limit must be positive")
    text = (text or "").strip()
    pieces: list[str] = []
    while len(text) > limit:
        cut = _cut_point(text, limit)
        piece = text[:cut].rstrip()
        if piece:
            pieces.append(piece)
        text = text[cut:].lstrip()
    if text:
        pieces.append(text)
    return pieces


def truncate(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a word (not inside a link) with an ellipsis."""
    text = (text or "").strip()
    if len(text) <= limit:
        return text
    if limit <= 1:
        return text[:limit]
    head = split_text(text, limit - 1)[0]
    if len(head) > limit - 1:
        head = head[: limit - 1]
    return head.rstrip(" ,;:") + "…"


def _escape_link_text(text: str) -> str:
    return text.replace("[", "(").replace("]", ")").replace("\n", " ")


def source_line(citation) -> str:
    """[n] Title (linked when there is a URL) — outlet, date."""
    title = _escape_link_text(truncate(neutralise(citation.title) or citation.ref or "untitled", 120))
    url = (citation.url or "").strip()
    label = f"[{title}]({url})" if url.startswith(("http://", "https://")) and len(url) <= 512 else f"**{title}**"
    extra = ", ".join(x for x in (neutralise(citation.source), citation.published) if x)
    return f"`[{citation.n}]` {label}" + (f" — {extra}" if extra else "")


def sources_value(citations, max_shown: int = MAX_SOURCES) -> str:
    """Numbered sources for one embed field: at most `max_shown`, the rest counted."""
    lines: list[str] = []
    used = 0
    shown = 0
    for citation in citations[:max_shown]:
        line = source_line(citation)
        # Leave room for the "…and N more" line a later source may need.
        if used + len(line) + 1 > FIELD_VALUE_LIMIT - 40:
            break
        lines.append(line)
        used += len(line) + 1
        shown += 1
    rest = len(citations) - shown
    if rest:
        lines.append(f"…and {rest} more source{'s' if rest > 1 else ''}")
    return "\n".join(lines)


def month_name(month: str) -> str:
    """ "2025-03" -> "March 2025"; anything else is shown as it came."""
    return month_label(month) if parse_month(month) else month


def embed_size(embed: dict) -> int:
    """Characters Discord counts toward the 6,000 across a message's embeds."""
    size = len(embed.get("title") or "") + len(embed.get("description") or "")
    size += len((embed.get("footer") or {}).get("text") or "") + len((embed.get("author") or {}).get("name") or "")
    for f in embed.get("fields") or []:
        size += len(f.get("name") or "") + len(f.get("value") or "")
    return size


def pack_embeds(embeds: list[dict]) -> list[list[dict]]:
    """Embeds grouped into messages: at most 10 per message and 6,000 characters across them."""
    messages: list[list[dict]] = []
    current: list[dict] = []
    total = 0
    for embed in embeds:
        size = embed_size(embed)
        if current and (len(current) == EMBEDS_PER_MESSAGE or total + size > EMBED_TOTAL_LIMIT):
            messages.append(current)
            current, total = [], 0
        current.append(embed)
        total += size
    if current:
        messages.append(current)
    return messages


@dataclass
class Rendered:
    """What to send: one or more messages, each a list of embed dicts (buttons go on the last)."""

    messages: list[list[dict]] = field(default_factory=list)
    content: str = ""  # plain text for the first message, if any


def render_answer(answer, question: str = "") -> Rendered:
    """An Answer as embeds: the text, numbered sources, the data month, a footer with the route."""
    colour = REFUSED_COLOUR if answer.refused else COLOUR
    # Keep the last description short enough that the sources and footer always fit beside it.
    parts = split_text(neutralise(answer.text) or "No answer.", DESCRIPTION_LIMIT - 96)
    embeds: list[dict] = [{"description": part, "color": colour} for part in parts]
    if question:
        embeds[0]["title"] = truncate(neutralise(question), TITLE_LIMIT)
    last = embeds[-1]
    fields = []
    if answer.data_month and answer.route in ("table", "mixed"):
        fields.append({"name": "Data month", "value": month_name(answer.data_month), "inline": True})
    if answer.citations:
        fields.append({"name": "Sources", "value": sources_value(answer.citations), "inline": False})
    if fields:
        last["fields"] = fields
    route = _ROUTE_NAMES.get(answer.route, answer.route)
    total_ms = (answer.timings_ms or {}).get("total")
    footer = f"Answered from {route}" + (f" · {total_ms:.0f} ms" if total_ms is not None else "")
    last["footer"] = {"text": truncate(footer, FOOTER_LIMIT)}
    # A part plus fields can pass 6,000 only with a huge answer; the packer moves the rest on.
    return Rendered(messages=pack_embeds(embeds))


def answer_record(answer, question: str) -> dict:
    """What a feedback vote keeps about the answer it judges."""
    return {
        "question": question,
        "answer": answer.text,
        "route": answer.route,
        "data_month": answer.data_month,
        "sources": [{"n": c.n, "title": c.title, "url": c.url or c.ref, "kind": c.kind} for c in answer.citations],
    }


def record_from_embeds(embeds: Sequence[Mapping[str, Any]]) -> dict:
    """Feedback after a restart: the question, answer and sources read back from the message."""
    if not embeds:
        return {"question": "", "answer": "", "sources": []}
    question = embeds[0].get("title") or ""
    answer = "\n\n".join(e.get("description") or "" for e in embeds).strip()
    sources: list[dict] = []
    for e in embeds:
        for f in e.get("fields") or []:
            if f.get("name") == "Sources":
                for line in (f.get("value") or "").splitlines():
                    m = re.match(r"`\[(\d+)\]` (?:\[(.*?)\]\((\S+?)\)|\*\*(.*?)\*\*)", line)
                    if m:
                        sources.append(
                            {"n": int(m.group(1)), "title": m.group(2) or m.group(4) or "", "url": m.group(3) or ""}
                        )
    return {"question": question, "answer": answer, "sources": sources}


def thread_name(question: str) -> str:
    name = re.sub(r"\s+", " ", neutralise(question)).strip() or "Question"
    return truncate(name, THREAD_NAME_LIMIT)


def strip_bot_mention(content: str, bot_id: int) -> str:
    return re.sub(rf"<@!?{bot_id}>", " ", content or "").strip()


# ---------------------------------------------------------------- lookups


def _money(value: float) -> str:
    return f"${value:,.1f} bn"


def _signed(value: float) -> str:
    return f"{'+' if value > 0 else '−' if value < 0 else '±'}{abs(value):,.1f}"


def _table_source(citation) -> str:
    return truncate(f"{neutralise(citation.title)} — released {citation.release}", FIELD_VALUE_LIMIT)


def _footer(text: str) -> dict:
    return {"text": truncate(text, FOOTER_LIMIT)}


def render_country(view) -> dict:
    """`/holdings`: value, rank, change from the month before, a small history (bot.holdings_cmd.CountryView)."""
    fig = view.figure
    lines = [f"**{_money(fig.value)}** at the end of {month_name(fig.month)}"]
    if view.rank:
        lines.append(f"Ranked {ordinal(view.rank[0])} of the {view.rank[1]} holders listed.")
    if fig.earlier:
        first = fig.earlier[0]
        lines.append(f"First published as {_money(first[0])}; revised since.")
    fields = []
    if view.change is not None:
        pct = view.change.percent
        pct_text = f" ({pct:+.1f}%)" if pct is not None else ""
        fields.append(
            {
                "name": f"Change from {month_name(view.previous)}",
                "value": f"{_signed(view.change.absolute)} bn{pct_text}",
                "inline": True,
            }
        )
    else:
        fields.append(
            {"name": f"Change from {month_name(view.previous)}", "value": "not in the tables", "inline": True}
        )
    if len(view.history) > 1:
        rows = "\n".join(f"{f.month}  {f.value:>9,.1f}" for f in view.history)
        fields.append(
            {"name": "Recent months ($ bn)", "value": truncate(f"```\n{rows}\n```", FIELD_VALUE_LIMIT), "inline": False}
        )
    fields.append({"name": "Source", "value": _table_source(fig.citation), "inline": False})
    return {
        "title": truncate(f"{fig.series} — holdings of U.S. Treasurys", TITLE_LIMIT),
        "description": "\n".join(lines),
        "color": COLOUR,
        "fields": fields,
        "footer": _footer(f"Exact lookup · data month {month_name(fig.month)}"),
    }


def render_top(view) -> dict:
    """`/top`: the largest holders in a month with their change from the month before."""
    rows = []
    for i, fig in enumerate(view.figures, 1):
        change = view.changes.get(fig.series)
        delta = f" ({_signed(change.absolute)})" if change is not None else ""
        rows.append(f"{i}. **{neutralise(fig.series)}** {_money(fig.value)}{delta}")
    description = "\n".join(rows)
    if view.total is not None:
        description += f"\n\nAll foreign holders: {_money(view.total.value)}"
    fields = [{"name": "Source", "value": _table_source(view.figures[0].citation), "inline": False}]
    return {
        "title": f"Largest foreign holders, {month_name(view.month)}",
        "description": truncate(description, DESCRIPTION_LIMIT),
        "color": COLOUR,
        "fields": fields,
        "footer": _footer(f"Exact lookup · {view.ranked} holders ranked · change from the month before in $ bn"),
    }


def render_compare(a, b) -> dict:
    """`/compare`: two CountryViews for the same month side by side."""
    fields = []
    for view in (a, b):
        lines = [_money(view.figure.value)]
        if view.rank:
            lines.append(f"ranked {ordinal(view.rank[0])} of {view.rank[1]}")
        if view.change is not None:
            lines.append(f"{_signed(view.change.absolute)} bn since {month_name(view.previous)}")
        fields.append(
            {
                "name": truncate(neutralise(view.figure.series), FIELD_NAME_LIMIT),
                "value": "\n".join(lines),
                "inline": True,
            }
        )
    gap = a.figure.value - b.figure.value
    leader, trailer = (a, b) if gap >= 0 else (b, a)
    description = (
        f"{neutralise(leader.figure.series)} holds {_money(abs(gap))} more than "
        f"{neutralise(trailer.figure.series)} at the end of {month_name(a.figure.month)}."
    )
    fields.append({"name": "Source", "value": _table_source(a.figure.citation), "inline": False})
    return {
        "title": truncate(f"{a.figure.series} vs {b.figure.series}", TITLE_LIMIT),
        "description": description,
        "color": COLOUR,
        "fields": fields,
        "footer": _footer(f"Exact lookup · data month {month_name(a.figure.month)}"),
    }


def render_sources(docs: list[dict], query: str = "", max_shown: int = 15) -> dict:
    """`/sources`: what is ingested, newest first."""
    lines = []
    for doc in docs[:max_shown]:
        title = _escape_link_text(truncate(neutralise(doc.get("title") or doc["id"]), 100))
        url = doc.get("url") or ""
        label = f"[{title}]({url})" if url.startswith(("http://", "https://")) else f"**{title}**"
        date = doc.get("published") or doc.get("published_raw") or ""
        meta = ", ".join(x for x in (neutralise(doc.get("source", "")), date, doc.get("kind", "")) if x)
        lines.append(f"{label} — {meta}\n`{truncate(doc['id'], 150)}`")
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
    return {
        "title": truncate(neutralise(title), TITLE_LIMIT),
        "description": text,
        "color": COLOUR,
        "footer": _footer(f"{len(docs)} document{'s' if len(docs) != 1 else ''}, newest first"),
    }
