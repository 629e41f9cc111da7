"""Answers for Discord: the text in embeds with numbered sources, the data month and the route;
and reading an answer back from its message (feedback after a restart)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from bot.render.limits import (
    COLOUR,
    DESCRIPTION_LIMIT,
    FIELD_VALUE_LIMIT,
    REFUSED_COLOUR,
    THREAD_NAME_LIMIT,
    TITLE_LIMIT,
    Rendered,
    finish,
    link,
    neutralise,
    pack_embeds,
    split_text,
    truncate,
)
from retrieval.calendar import month_label

MAX_SOURCES = 5
_ROUTE_NAMES = {
    "table": "holdings tables",
    "articles": "news articles",
    "mixed": "tables and articles",
    "none": "no source",
    "lookup": "exact lookup",
}


def source_line(citation) -> str:
    """[n] Title (linked when there is a URL) — outlet, date."""
    label = link(truncate(neutralise(citation.title) or citation.ref or "untitled", 120), citation.url or "")
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
        fields.append({"name": "Data month", "value": month_label(answer.data_month), "inline": True})
    if answer.citations:
        fields.append({"name": "Sources", "value": sources_value(answer.citations), "inline": False})
    if fields:
        last["fields"] = fields
    route = _ROUTE_NAMES.get(answer.route, answer.route)
    total_ms = (answer.timings_ms or {}).get("total")
    footer = f"Answered from {route}" + (f" · {total_ms:.0f} ms" if total_ms is not None else "")
    last["footer"] = {"text": footer}
    # A part plus fields can pass 6,000 only with a huge answer; the packer moves the rest on.
    return Rendered(messages=pack_embeds([finish(e) for e in embeds]))


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
