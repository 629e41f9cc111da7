"""What an item is and how it becomes documents: one table of formats.

A format is chosen by the item's bytes first (a PDF, a holdings table, whatever the file is
called), then by a file's suffix or a page's Content-Type. Each reader returns documents:
articles (SourceDocument) or a table release (TableDocument). Adding a format is one reader and
one row of FORMATS.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ingest.documents import (
    SourceDocument,
    canonical_url,
    decode_text,
    document_from_fields,
    parse_published,
    split_header,
)
from ingest.holdings_ingest import TableDocument, table_document
from ingest.origins import FeedEntry, Item, file_item
from ingest.pdf import is_pdf
from ingest.settings import IngestSettings
from retrieval.errors import InputError

Document = SourceDocument | TableDocument


# -- readers ------------------------------------------------------------------------------------


def _text(item: Item) -> str:
    """The item's text: in the charset its server declares, else UTF-8."""
    if "charset=" not in item.media_type:
        return decode_text(item.data, item.ref)
    charset = item.media_type.split("charset=")[-1].split(";")[0].strip() or "utf-8"
    try:
        return item.data.decode(charset)
    except (LookupError, UnicodeDecodeError):
        raise InputError(item.ref, f"is not valid {charset} text") from None


def _named_by_url(doc: SourceDocument) -> list[SourceDocument]:
    # A document stating its address is known by it: one id per page, however it came in.
    if doc.url:
        doc.doc_id = canonical_url(doc.url)
    return [doc]


def read_text(item: Item) -> list[SourceDocument]:
    """Text with a header block or front matter; a page's text has neither (its address is its field)."""
    if item.url:
        return [document_from_fields({"url": item.url}, _text(item), item.name, item.ref)]
    return _named_by_url(from_text_file(_text(item), item.name, item.ref))


def read_html(item: Item) -> list[SourceDocument]:
    return _named_by_url(from_html(_text(item), item.name, item.ref, url=item.url))


def read_json(item: Item) -> list[SourceDocument]:
    return from_json_records(_text(item), item.ref, item.name, jsonl=False)


def read_jsonl(item: Item) -> list[SourceDocument]:
    return from_json_records(_text(item), item.ref, item.name, jsonl=True)


def read_pdf(item: Item) -> list[SourceDocument]:
    from ingest.pdf import from_pdf

    doc = from_pdf(item.data, item.name, item.ref)
    doc.url = item.url
    return [doc]


def read_table(item: Item) -> list[TableDocument]:
    from ingest.tables import parse_table

    return [table_document(parse_table(item.data, item.ref, _layout(item.data)))]  # a TableError stores nothing


@lru_cache(maxsize=1)  # the Treasury and CSV rows ask of the same bytes in turn
def _layout(data: bytes) -> str | None:
    from ingest.tables import sniff

    return sniff(data)


def forget_sniffed() -> None:
    """Let go of the last item's bytes, which the sniffing cache holds (a file may be 20 MB)."""
    _layout.cache_clear()


def _is_treasury_table(data: bytes) -> bool:
    return _layout(data) not in (None, "csv")


def _is_csv_table(data: bytes) -> bool:
    return _layout(data) == "csv"


def _looks_like_markup(item: Item) -> bool:
    return _text(item).lstrip()[:1] == "<"


# -- the table ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Format:
    name: str
    read: Callable[[Item], Sequence[Document]]
    sniff: Callable[[bytes], bool] | None = None  # the bytes say it is one, whatever the name
    suffixes: tuple[str, ...] = ()  # a file's suffixes
    media_types: tuple[str, ...] = ()  # words of a page's Content-Type
    table: bool = False  # a holdings table: shared by every server, never a feed entry


# Sniffed first, in this order (a PDF is never a table); then by a file's suffix or a page's Content-Type.
PDF = Format("PDF", read_pdf, sniff=is_pdf, suffixes=(".pdf",), media_types=("application/pdf",))
TREASURY_TABLE = Format("Treasury table", read_table, sniff=_is_treasury_table, table=True)
CSV_TABLE = Format("CSV table", read_table, sniff=_is_csv_table, table=True)
HTML = Format("HTML", read_html, suffixes=(".html", ".htm"), media_types=("html",))
JSON = Format("JSON", read_json, suffixes=(".json",))
JSONL = Format("JSONL", read_jsonl, suffixes=(".jsonl",))
TEXT = Format("text", read_text, suffixes=(".txt", ".md", ".markdown"))
FORMATS = (PDF, TREASURY_TABLE, CSV_TABLE, HTML, JSON, JSONL, TEXT)
ARTICLE_FORMATS = tuple(fmt for fmt in FORMATS if not fmt.table)  # what a feed entry's page may be
ARTICLE_SUFFIXES = {suffix for fmt in FORMATS for suffix in fmt.suffixes}
# Tables are known by their content, in whatever file: a folder's files with these suffixes are
# read too, as tables if they are tables.
TABLE_SUFFIXES = {".txt", ".csv", ".html", ".htm", ".tsv"}
FOLDER_SUFFIXES = ARTICLE_SUFFIXES | TABLE_SUFFIXES


def format_of(item: Item, holdings: bool = False, formats: tuple[Format, ...] = FORMATS) -> Format:
    """The item's format: by its bytes, then by its suffix or Content-Type; `holdings` forces a table."""
    if holdings:
        return TREASURY_TABLE  # read_table reads every layout, and says why a file is none of them
    for fmt in formats:
        if fmt.sniff is not None and fmt.sniff(item.data):
            return fmt
    if item.url:  # a page: what its server says, else what it looks like
        for fmt in formats:
            if any(word in item.media_type for word in fmt.media_types):
                return fmt
        return HTML if _looks_like_markup(item) else TEXT
    for fmt in formats:
        if item.suffix in fmt.suffixes:
            return fmt
    raise InputError(
        item.ref,
        f"unsupported file type {item.suffix or '(none)'}; expected one of {', '.join(sorted(ARTICLE_SUFFIXES))}",
    )


def load_file(path: Path, rel: str, max_bytes: int) -> Sequence[Document]:
    """One file -> its documents (a JSON file may hold several), as the ingest reads it."""
    item = file_item(path, rel, IngestSettings(max_file_mb=max_bytes / 1e6))
    return format_of(item).read(item)


def read_entry(entry: FeedEntry, feed_title: str, feed_ref: str, page: Item | None) -> SourceDocument:
    """A feed entry: its page when it could be had and read as an article, else its summary; the
    entry's own title, link and date win."""
    doc = None
    if page is not None:
        try:
            found = format_of(page, formats=ARTICLE_FORMATS).read(page)[0]
        except InputError:
            found = None
        assert found is None or isinstance(found, SourceDocument)  # article formats read articles
        doc = found
    if doc is None:
        if not entry.summary:
            raise InputError(entry.link or feed_ref, "the feed entry has no page and no summary")
        doc = document_from_fields({}, entry.summary, "", entry.link or feed_ref)
    doc.doc_id = canonical_url(entry.link) if entry.link else f"{feed_ref}#{entry.entry_id}"
    doc.title = entry.title or doc.title
    doc.url = entry.link or doc.url
    doc.source = doc.source or feed_title
    if entry.published:
        doc.published_raw = entry.published
        doc.published = parse_published(entry.published) or doc.published
    return doc


# -- articles' own formats ----------------------------------------------------------------------


def from_text_file(text: str, doc_id: str, ref: str) -> SourceDocument:
    try:
        fields, body = split_header(text)
    except InputError as exc:
        raise InputError(ref, f"front matter {exc.reason}", line=exc.line) from None
    return document_from_fields(fields, body, doc_id, ref)


def from_html(html: str, doc_id: str, ref: str, url: str = "") -> SourceDocument:
    import trafilatura

    extracted = trafilatura.bare_extraction(
        html, url=url or None, with_metadata=True, include_comments=False, favor_precision=True
    )
    data = extracted.as_dict() if extracted is not None and hasattr(extracted, "as_dict") else (extracted or {})
    text = (data.get("text") or "").strip()
    if not text:
        raise InputError(ref, "no article text could be extracted from the page")
    fields = {
        "title": data.get("title") or "",
        "source": data.get("sitename") or data.get("hostname") or "",
        "url": url or data.get("url") or "",
        "published": data.get("date") or "",
    }
    if data.get("author"):
        fields["author"] = data["author"]
    return document_from_fields(fields, text, doc_id, ref)


def from_json_records(text: str, ref: str, rel: str, jsonl: bool) -> list[SourceDocument]:
    """JSON (an object or a list of objects) or JSONL records with `text` and the header fields."""
    records: list[tuple[int | None, object]] = []
    if jsonl:
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                records.append((n, json.loads(line)))
            except json.JSONDecodeError as exc:
                raise InputError(ref, f"is not valid JSON ({exc.msg})", line=n, column=exc.colno) from None
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(ref, f"is not valid JSON ({exc.msg})", line=exc.lineno, column=exc.colno) from None
        items = data if isinstance(data, list) else [data]
        records = [(None, item) for item in items]
    docs = []
    for index, (line_no, record) in enumerate(records):
        where = f"line {line_no}" if line_no else f"record {index + 1}"
        if not isinstance(record, dict):
            raise InputError(ref, f"{where}: a record must be a JSON object", line=None)
        if not isinstance(record.get("text"), str) or not record["text"].strip():
            raise InputError(ref, f'{where}: the record has no "text" field')
        fields = {
            str(k).lower(): str(v) for k, v in record.items() if v is not None and not isinstance(v, (dict, list))
        }
        if record.get("url"):
            doc_id = canonical_url(str(record["url"]))
        elif record.get("id"):
            doc_id = f"{rel}#{record['id']}"
        else:
            doc_id = f"{rel}#{index + 1}"
        docs.append(document_from_fields(fields, record["text"], doc_id, ref))
    if not docs:
        raise InputError(ref, "holds no records")
    return docs
