"""Pages and feeds over HTTP, with time and size limits: a slow or endless server is an error, not a hang."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import httpx

from ingest.documents import (
    SourceDocument,
    canonical_url,
    decode_text,
    document_from_fields,
    from_html,
    parse_published,
)
from retrieval.errors import InputError

MAX_REDIRECTS = 5
# httpx's timeout bounds each read, not the whole body: a server dripping a byte a second
# never trips it. The whole transfer gets this many times the timeout.
TRANSFER_TIMEOUTS = 4
USER_AGENT = "holdings-desk/0.1 (+ingest)"


@dataclass
class Fetched:
    url: str  # after redirects
    content_type: str
    body: bytes


def fetch(url: str, timeout: float, max_bytes: int) -> Fetched:
    if not re.match(r"^https?://", url, re.I):
        raise InputError(url, "only http(s) addresses can be fetched")
    try:
        with httpx.Client(
            timeout=timeout, follow_redirects=True, max_redirects=MAX_REDIRECTS, headers={"User-Agent": USER_AGENT}
        ) as client:
            with client.stream("GET", url) as response:
                if response.status_code >= 400:
                    raise InputError(url, f"the server answered HTTP {response.status_code}")
                body = bytearray()
                deadline = time.monotonic() + timeout * TRANSFER_TIMEOUTS
                for part in response.iter_bytes():
                    body += part
                    if len(body) > max_bytes:
                        raise InputError(url, f"the response is over the {max_bytes / 1e6:.0f} MB limit")
                    if time.monotonic() > deadline:
                        raise InputError(url, f"the response did not finish within {timeout * TRANSFER_TIMEOUTS:g} s")
                return Fetched(str(response.url), response.headers.get("content-type", ""), bytes(body))
    except httpx.TooManyRedirects:
        raise InputError(url, f"redirected more than {MAX_REDIRECTS} times") from None
    except httpx.TimeoutException:
        raise InputError(url, f"no answer within {timeout:g} s") from None
    except httpx.HTTPError as exc:
        raise InputError(url, f"could not be fetched ({type(exc).__name__})") from None


def looks_like_feed(fetched: Fetched) -> bool:
    head = fetched.body[:2000].lstrip().lower()
    return (
        "rss" in fetched.content_type
        or "atom" in fetched.content_type
        or head.startswith(b"<?xml")
        and (b"<rss" in head or b"<feed" in head or b"<rdf" in head)
    )


def document_from_page(fetched: Fetched, ref: str) -> SourceDocument:
    if fetched.body[:5] == b"%PDF-" or "application/pdf" in fetched.content_type:
        from ingest.pdf import from_pdf

        doc = from_pdf(fetched.body, canonical_url(fetched.url), ref)
        doc.url = fetched.url
        return doc
    text = decode_text(fetched.body, ref) if "charset" not in fetched.content_type else _decode_declared(fetched, ref)
    doc_id = canonical_url(fetched.url)
    if "html" in fetched.content_type or text.lstrip()[:1] == "<":
        return from_html(text, doc_id, ref, url=fetched.url)
    return document_from_fields({"url": fetched.url}, text, doc_id, ref)


def _decode_declared(fetched: Fetched, ref: str) -> str:
    charset = fetched.content_type.split("charset=")[-1].split(";")[0].strip() or "utf-8"
    try:
        return fetched.body.decode(charset)
    except (LookupError, UnicodeDecodeError):
        raise InputError(ref, f"is not valid {charset} text") from None


@dataclass
class FeedEntry:
    title: str
    link: str
    published: str
    summary: str
    entry_id: str


def parse_feed(body: bytes, ref: str) -> tuple[str, list[FeedEntry]]:
    import feedparser

    parsed = feedparser.parse(body)
    if not parsed.entries and (parsed.bozo or not parsed.feed):
        reason = getattr(parsed, "bozo_exception", None)
        raise InputError(ref, f"is not an RSS or Atom feed{f' ({reason})' if reason else ''}")
    feed_title = parsed.feed.get("title", "")
    entries, seen = [], set()
    for entry in parsed.entries:
        link = entry.get("link", "")
        entry_id = entry.get("id") or link or entry.get("title", "")
        if not entry_id or entry_id in seen:
            continue  # feeds repeat ids; one document per entry
        seen.add(entry_id)
        summary = re.sub(r"<[^>]+>", " ", entry.get("summary", "") or "")
        entries.append(
            FeedEntry(
                title=entry.get("title", ""),
                link=link,
                published=entry.get("published", "") or entry.get("updated", ""),
                summary=re.sub(r"\s+", " ", summary).strip(),
                entry_id=entry_id,
            )
        )
    return feed_title, entries


def document_from_entry(entry: FeedEntry, feed_title: str, ref: str, page: Fetched | None) -> SourceDocument:
    """The entry's page when it could be had, else its summary; the entry's own title, link and date win."""
    doc = None
    if page is not None:
        try:
            doc = document_from_page(page, entry.link)
        except InputError:
            doc = None
    if doc is None:
        if not entry.summary:
            raise InputError(entry.link or ref, "the feed entry has no page and no summary")
        doc = document_from_fields({}, entry.summary, "", entry.link or ref)
    doc.doc_id = canonical_url(entry.link) if entry.link else f"{ref}#{entry.entry_id}"
    doc.title = entry.title or doc.title
    doc.url = entry.link or doc.url
    doc.source = doc.source or feed_title
    if entry.published:
        doc.published_raw = entry.published
        doc.published = parse_published(entry.published) or doc.published
    return doc
