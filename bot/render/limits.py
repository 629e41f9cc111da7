"""Discord's limits and the two things every outgoing text gets: mentions broken, lengths kept.

Every embed a renderer builds passes through `finish`, and every plain message through
`plain_message`, so what leaves for Discord is neutralised and within its limits by construction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

CONTENT_LIMIT = 2000
DESCRIPTION_LIMIT = 4096
TITLE_LIMIT = 256
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
EMBEDS_PER_MESSAGE = 10
EMBED_TOTAL_LIMIT = 6000
THREAD_NAME_LIMIT = 100

COLOUR = 0x2E6DB4
REFUSED_COLOUR = 0x8A8D91

# Markdown links, <autolinks> and bare URLs: a split may never fall inside one.
_LINK = re.compile(r"\[[^\]\n]*\]\([^)\s]*\)|<https?://[^>\s]+>|https?://\S+")
# @everyone, @here, and the <@id>, <@!id>, <@&id> forms of user and role mentions.
_MENTION = re.compile(r"@(everyone|here)|<(@[!&]?\d+>)")
_SENTENCE_END = re.compile(r"[.!?…][\"')\]]*\s+")


def neutralise(text: str) -> str:
    """Break mentions with a zero-width space. allowed_mentions already stops the ping; this
    keeps quoted text, or a copied answer, from pinging anybody elsewhere."""
    return _MENTION.sub(lambda m: f"@\u200b{m[1]}" if m[1] else f"<\u200b{m[2]}", text or "")


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
    """At most `limit` characters, cut at the best boundary (never inside a link) with an ellipsis.

    Discord's own rule: retrieval.formatting.truncate shortens prose at a word, for any front end."""
    text = (text or "").strip()
    if len(text) <= limit:
        return text
    if limit <= 1:
        return text[:limit]
    head = split_text(text, limit - 1)[0]
    if len(head) > limit - 1:
        head = head[: limit - 1]
    return head.rstrip(" ,;:") + "…"


def link(text: str, url: str) -> str:
    """A Markdown link to a web address, or the text in bold when there is none to link."""
    text = text.replace("[", "(").replace("]", ")").replace("\n", " ")
    url = (url or "").strip()
    return f"[{text}]({url})" if url.startswith(("http://", "https://")) and len(url) <= 512 else f"**{text}**"


def plain_message(text: str) -> str:
    """A message's text content: neutralised and within the 2,000 characters."""
    return truncate(neutralise(text), CONTENT_LIMIT)


def finish(embed: dict) -> dict:
    """The embed with every text neutralised and each part within its own limit (the parts a
    renderer sized itself are already within them; this is the guarantee, not the layout)."""
    for key, limit in (("title", TITLE_LIMIT), ("description", DESCRIPTION_LIMIT)):
        if embed.get(key):
            embed[key] = truncate(neutralise(embed[key]), limit)
    if embed.get("footer", {}).get("text"):
        embed["footer"]["text"] = truncate(neutralise(embed["footer"]["text"]), FOOTER_LIMIT)
    for f in embed.get("fields") or []:
        f["name"] = truncate(neutralise(f["name"]), FIELD_NAME_LIMIT)
        f["value"] = truncate(neutralise(f["value"]), FIELD_VALUE_LIMIT)
    return embed


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
