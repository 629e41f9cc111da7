"""Documents as the pipeline chunks and stores them, and the fields every format fills in:
header blocks and front matter, dates, addresses, text."""

from __future__ import annotations

import hashlib
import json
import re
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import parse_qsl, urlencode, urlparse, urlunparse

from retrieval.calendar import month_number
from retrieval.errors import InputError

KNOWN_FIELDS = ("title", "source", "url", "published")
HEADER_LINE = re.compile(r"^([A-Za-z][A-Za-z0-9_ -]{0,40}):[ \t]*(.*)$")


@dataclass
class SourceDocument:
    doc_id: str
    text: str
    ref: str  # the file path or URL it was ingested from
    title: str = ""
    source: str = ""
    url: str = ""
    published: str = ""  # ISO, as precise as the input allows: YYYY-MM-DD, YYYY-MM or YYYY
    published_raw: str = ""  # kept as written ("2025-05-17 04:00 GMT+8", "not stated")
    kind: str = "article"
    extra: dict[str, str] = field(default_factory=dict)
    page_starts: list[int] = field(default_factory=list)  # a PDF's: where each page starts in `text`

    def page_at(self, offset: int) -> int | None:
        """The page (1-based) of the text at `offset`, from its first non-blank character on."""
        if not self.page_starts:
            return None
        while offset < len(self.text) and self.text[offset].isspace():
            offset += 1
        return bisect_right(self.page_starts, offset)

    @property
    def content_hash(self) -> str:
        payload = json.dumps(
            [self.text, self.title, self.source, self.url, self.published_raw, self.extra], sort_keys=True
        )
        return hashlib.sha256(payload.encode()).hexdigest()

    def metadata(self) -> dict:
        return {
            **{f"x_{k}": v for k, v in self.extra.items()},
            "title": self.title or self.doc_id,
            "source": self.source,
            "url": self.url,
            "published": self.published,
            "published_raw": self.published_raw,
            "published_day": day_number(self.published),
            "kind": self.kind,
            "ref": self.ref,
            "content_hash": self.content_hash,
        }


@dataclass
class Chunks:
    """A document's chunks: stored texts, their metadata, and what is embedded for each."""

    texts: list[str]
    metas: list[dict]
    embed: list[str]  # an article's chunk with its title in front; a table's compact form
    removed: list[str] = field(default_factory=list)  # an article's boilerplate lines


def day_number(published: str) -> int:
    """YYYYMMDD as an int for Chroma range filters; a month or year counts as its first day."""
    if not published:
        return 0
    parts = (published.split("-") + ["01", "01"])[:3]
    return int("".join(p.zfill(2) for p in parts))


def parse_published(raw: str) -> str:
    """Read a date as far as it goes: day, month or year precision; '' when there is none."""
    text = raw.strip()
    if not text:
        return ""
    year: int | None  # the word scan below may find neither
    month: int | None
    m = re.match(r"^(\d{4})-(\d{1,2})(?:-(\d{1,2}))?", text)
    if m:
        year, month, day = int(m[1]), int(m[2]), m[3]
        if 1 <= month <= 12:
            if day and _valid(year, month, int(day)):
                return f"{year:04d}-{month:02d}-{int(day):02d}"
            return f"{year:04d}-{month:02d}"
    m = re.match(r"^(\d{4})/(\d{1,2})/(\d{1,2})", text)
    if m and _valid(int(m[1]), int(m[2]), int(m[3])):
        return f"{int(m[1]):04d}-{int(m[2]):02d}-{int(m[3]):02d}"
    words = re.findall(r"[A-Za-z]+|\d+", text)
    # A word naming a month by its first three letters ("Sept", "March", "Mar.").
    month = next((n for w in words if w.isalpha() and (n := month_number(w[:3]))), None)
    year = next((int(w) for w in words if w.isdigit() and len(w) == 4 and 1900 <= int(w) <= 2100), None)
    day = next((int(w) for w in words if w.isdigit() and len(w) <= 2 and 1 <= int(w) <= 31), None)
    if year and month:
        if day and _valid(year, month, day):
            return f"{year:04d}-{month:02d}-{day:02d}"
        return f"{year:04d}-{month:02d}"
    if year and re.fullmatch(r"\d{4}", text):
        return str(year)
    # RFC 822 dates in feeds ("Fri, 02 May 2025 10:00:00 GMT") are handled by the word scan above.
    return ""


def _valid(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
        return True
    except ValueError:
        return False


def canonical_url(url: str) -> str:
    """One id per page: lower-case host, no fragment, no tracking parameters, no trailing slash."""
    parts = urlparse(url.strip(CONTROL_OR_SPACE))
    query = urlencode(
        [(k, v) for k, v in parse_qsl(parts.query) if not k.lower().startswith(("utm_", "fbclid", "gclid"))]
    )
    # Blanks and control characters at either end of the path go, as urlparse drops them at the
    # ends of a URL: "http://h/ ?" or "\x1b/" gave ids that canonicalised again to others ("http://h/",
    # "/"): one page, two ids (found by tests/reliability/test_fuzz.py).
    path = TRAILING_BLANKS_OR_SLASHES.sub("", parts.path.lstrip(CONTROL_OR_SPACE)) or "/"
    return urlunparse((parts.scheme.lower(), parts.netloc.lower(), path, "", query, ""))


CONTROL_OR_SPACE = "".join(map(chr, range(0x21)))
TRAILING_BLANKS_OR_SLASHES = re.compile(r"[\x00-\x20/]+$")


def decode_text(data: bytes, ref: str) -> str:
    if not data.strip():
        raise InputError(ref, "the file is empty")
    if b"\x00" in data[:8192]:
        raise InputError(ref, "looks like a binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(ref, f"is not UTF-8 text (byte 0x{data[exc.start]:02x})", line=line) from None


def split_header(text: str) -> tuple[dict[str, str], str]:
    """A header block (`key: value` lines then a blank line) or YAML front matter, and the body."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[0].strip() == "---":
        try:
            end = next(i for i in range(1, len(lines)) if lines[i].strip() in ("---", "..."))
        except StopIteration:
            return {}, "\n".join(lines)
        import yaml

        try:
            data = yaml.safe_load("\n".join(lines[1:end])) or {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            raise InputError(
                "front matter",
                f"is not valid YAML: {getattr(exc, 'problem', exc)}",
                line=(mark.line + 2) if mark else None,
            ) from None
        if not isinstance(data, dict):
            return {}, "\n".join(lines[end + 1 :])
        return {str(k).lower(): "" if v is None else str(v) for k, v in data.items()}, "\n".join(lines[end + 1 :])
    header: dict[str, str] = {}
    for i, line in enumerate(lines):
        if not line.strip():
            if header:
                return header, "\n".join(lines[i + 1 :])
            return {}, "\n".join(lines)
        m = HEADER_LINE.match(line)
        if not m or (i == 0 and m[1].lower() in ("http", "https")):
            return {}, "\n".join(lines)
        header[m[1].strip().lower().replace(" ", "_")] = m[2].strip()
    return {}, "\n".join(lines)  # nothing but header-looking lines: treat it all as text


def document_from_fields(fields: dict[str, str], text: str, doc_id: str, ref: str) -> SourceDocument:
    text = normalise_text(text)
    if not text:
        raise InputError(ref, "has no text")
    raw_published = fields.get("published") or fields.get("date") or ""
    url = fields.get("url", "")
    extra = {k: v for k, v in fields.items() if k not in KNOWN_FIELDS and k not in ("text", "date", "id") and v}
    return SourceDocument(
        doc_id=doc_id,
        text=text,
        ref=ref,
        title=fields.get("title", "").strip(),
        source=fields.get("source", "").strip(),
        url=url.strip(),
        published=parse_published(raw_published),
        published_raw=raw_published.strip(),
        extra=extra,
    )


def normalise_text(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()
