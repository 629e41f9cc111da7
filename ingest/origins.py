"""Where inputs come from: files, folders, URLs, feeds and Discord attachments.

Each input becomes Items: its bytes, the name its document takes, and what the origin says it
is (a file's suffix, a server's Content-Type). What the bytes are is decided in readers.py.
Sizes and times are limited here, before anything is read: a file over DESK_MAX_FILE_MB or a
slow, endless server is an error naming the input, not a hang.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from ingest.documents import canonical_url
from ingest.settings import IngestSettings
from retrieval.errors import InputError

MAX_REDIRECTS = 5
# httpx's timeout bounds each read, not the whole body: a server dripping a byte a second
# never trips it. The whole transfer gets this many times the timeout.
TRANSFER_TIMEOUTS = 4
USER_AGENT = "holdings-desk/0.1 (+ingest)"


@dataclass
class Item:
    """One input's bytes and what its origin knows of them."""

    ref: str  # the path or URL, as messages name it
    name: str  # its document's id: the path inside its folder, or the page's address
    data: bytes
    suffix: str = ""  # a file's suffix, lower case
    media_type: str = ""  # a page's Content-Type
    url: str = ""  # a page's address after redirects; empty for a file


@dataclass
class Source:
    """An input before it is read: the name progress and errors give it, and how to read it."""

    ref: str
    read: Callable[[], Item]


def is_url(text: str) -> bool:
    return text.lower().startswith(("http://", "https://"))


def sources(target: str, settings: IngestSettings, suffixes: set[str]) -> Iterator[Source]:
    """A URL, a file, or a folder's files with these suffixes (recursively, hidden files skipped)."""
    if is_url(target):
        yield Source(target, partial(page, target, settings))
        return
    path = Path(target)
    if not path.is_dir():
        yield Source(str(path), partial(file_item, path, path.name, settings))
        return
    for file in folder_files(path, suffixes):
        yield Source(str(file), partial(file_item, file, file.relative_to(path).as_posix(), settings))


def folder_files(folder: Path, suffixes: set[str]) -> list[Path]:
    # A folder may hold other things: they are skipped quietly.
    return sorted(
        p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in suffixes
    )


def check_size(ref: str, size: int, settings: IngestSettings) -> None:
    """The one size limit of every input; the bot asks it before downloading an attachment."""
    if size > settings.max_bytes:
        raise InputError(ref, f"is {size / 1e6:.1f} MB, over the {settings.max_file_mb:g} MB limit (DESK_MAX_FILE_MB)")


def file_item(path: Path, name: str, settings: IngestSettings) -> Item:
    if not path.exists():
        raise InputError(str(path), "no such file or folder")
    check_size(str(path), path.stat().st_size, settings)
    return Item(str(path), name, path.read_bytes(), suffix=path.suffix.lower())


def attachment(data: bytes, filename: str, settings: IngestSettings) -> Source:
    """A file sent to the bot: named by its file name alone, never a path of the sender's choosing."""
    name = Path(filename).name or "attachment"

    def read() -> Item:
        check_size(name, len(data), settings)
        return Item(name, name, data, suffix=Path(name).suffix.lower())

    return Source(name, read)


def page(url: str, settings: IngestSettings) -> Item:
    """A page, named by its canonical address after redirects."""
    import httpx

    if not is_url(url):
        raise InputError(url, "only http(s) addresses can be fetched")
    timeout, max_bytes = settings.fetch_timeout, settings.max_bytes
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
                final = str(response.url)
                return Item(
                    url,
                    canonical_url(final),
                    bytes(body),
                    media_type=response.headers.get("content-type", ""),
                    url=final,
                )
    except httpx.TooManyRedirects:
        raise InputError(url, f"redirected more than {MAX_REDIRECTS} times") from None
    except httpx.TimeoutException:
        raise InputError(url, f"no answer within {timeout:g} s") from None
    except httpx.HTTPError as exc:
        raise InputError(url, f"could not be fetched ({type(exc).__name__})") from None


# -- feeds: a feed's entries are inputs of their own (each entry's page) ------------------------


def looks_like_feed(item: Item) -> bool:
    """A page its server calls, or that reads as, RSS/Atom. A file is a feed only when asked (--feed)."""
    head = item.data[:2000].lstrip().lower()
    return bool(item.url) and (
        "rss" in item.media_type
        or "atom" in item.media_type
        or head.startswith(b"<?xml")
        and (b"<rss" in head or b"<feed" in head or b"<rdf" in head)
    )


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
