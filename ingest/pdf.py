"""PDF reports -> SourceDocument: text page by page (pypdf), title and date from the metadata,
and where each page starts in the text so chunks can say which page they come from.

pypdf was chosen by measuring it against pdfplumber on PDFs the project makes (docs/BENCHMARKS.md):
it keeps a two-column page in reading order and is ~40x faster; the one thing it lost, a table
row on one line, comes back by joining text drawn on the same baseline (`_page_text`).

A file that cannot give text (a scan with no text layer, an encrypted file, a damaged or cut-off
one) raises one InputError naming the file and the reason, before anything is written.
"""

from __future__ import annotations

import io
import logging
import re
from typing import Any

from ingest.documents import SourceDocument, normalise_text, parse_published
from retrieval.errors import InputError

# pypdf logs a warning for every oddity it works around; the user gets one line per file from us.
logging.getLogger("pypdf").setLevel(logging.ERROR)

MIN_LETTERS = 20  # fewer letters than a sentence in the whole file: a scan, or a form with no text
SAME_LINE_PT = 1.0  # text drawn within a point of the same baseline is one line (a table row)
LIGATURES = str.maketrans(
    {
        "\ufb00": "ff",
        "\ufb01": "fi",
        "\ufb02": "fl",
        "\ufb03": "ffi",
        "\ufb04": "ffl",
        "\ufb05": "st",
        "\ufb06": "st",
        "\u00ad": "",
    }
)
TITLE_JUNK = re.compile(r"^(untitled|microsoft (word|powerpoint) - .*|.*\.(docx?|pdf|pptx?|indd|tex))$", re.I)
PDF_DATE = re.compile(r"^(?:D:)?(\d{4})(\d{2})?(\d{2})?")


def is_pdf(data: bytes) -> bool:
    """A PDF's header, which may follow a little junk (readers accept it within 1 KiB)."""
    return b"%PDF-" in data[:1024]


def from_pdf(data: bytes, doc_id: str, ref: str) -> SourceDocument:
    """One PDF file's bytes -> one document whose `page_starts` map text offsets to pages."""
    if not is_pdf(data):
        raise InputError(ref, "is not a PDF (no %PDF header)")
    # A download cut short loses the end-of-file marker; pypdf would rebuild what it can and
    # hand back some of the pages, which would be cited as if they were the whole report.
    if b"%%EOF" not in data[-4096:]:
        raise InputError(ref, "is cut short or damaged (no end-of-file marker); download it again")
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        encrypted = reader.is_encrypted
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError) as exc:
        raise InputError(ref, f"is damaged and cannot be read ({_why(exc)})") from None
    if encrypted:
        _decrypt(reader, ref)
    try:
        pages = [_page_text(page, n, ref) for n, page in enumerate(reader.pages, start=1)]
        info: dict[str, Any] = reader.metadata or {}
    except (
        PyPdfError,
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        IndexError,
        OSError,
        RecursionError,
        ZeroDivisionError,
    ) as exc:  # pypdf raises these on broken objects and streams
        raise InputError(ref, f"is damaged and cannot be read ({_why(exc)})") from None
    if not pages:
        raise InputError(ref, "has no pages")
    text, starts = _join(pages)
    if sum(ch.isalpha() for ch in text) < MIN_LETTERS:
        raise InputError(
            ref,
            f"has no text layer ({len(pages)} page{'s' * (len(pages) != 1)} of images, "
            "a scan?); run it through OCR first",
        )
    raw_date = _meta(info, "/CreationDate") or _meta(info, "/ModDate")
    return SourceDocument(
        doc_id=doc_id,
        text=text,
        ref=ref,
        title=_title(_meta(info, "/Title")),
        source=_meta(info, "/Author"),
        published=_pdf_date(raw_date),
        published_raw=raw_date,
        extra={"pages": str(len(pages))},
        page_starts=starts,
    )


def _decrypt(reader, ref: str) -> None:
    """Files locked only against editing open with the empty password, as in any viewer."""
    from pypdf import PasswordType

    try:
        opened = reader.decrypt("") != PasswordType.NOT_DECRYPTED
    except Exception as exc:  # an unsupported cipher (pypdf's DependencyError, NotImplementedError)
        raise InputError(ref, f"is encrypted and cannot be opened here ({_why(exc)})") from None
    if not opened:
        raise InputError(ref, "is encrypted (password-protected); save an unprotected copy and ingest that")


def _page_text(page, number: int, ref: str) -> str:
    """pypdf's text in drawing order, with pieces drawn on one baseline joined into one line.

    Drawing order keeps columns apart (left column, then right); joining by baseline puts a table
    row's cells, which are drawn one by one, back on one line."""
    if page.get("/Contents") is not None and page.get_contents() is None:
        # pypdf reads a page whose content stream is broken as a blank page: the report would
        # be stored without it, and nobody would know.
        raise InputError(ref, f"is damaged and cannot be read (page {number}'s content is broken)")
    pieces: list[tuple[float, str]] = []

    def visit(text, cm, tm, _font, _size):
        if text:
            pieces.append((tm[4] * cm[1] + tm[5] * cm[3] + cm[5], text))

    page.extract_text(visitor_text=visit)
    out: list[str] = []
    last_y = None
    for y, text in pieces:
        if out and out[-1].endswith("\n") and last_y is not None and abs(y - last_y) < SAME_LINE_PT:
            out[-1] = out[-1][:-1] + ("" if out[-1][:-1].endswith(" ") or text.startswith(" ") else " ")
        out.append(text)
        last_y = y
    return normalise_text("".join(out).translate(LIGATURES).replace("\x00", ""))


def _join(pages: list[str]) -> tuple[str, list[int]]:
    """Pages joined by a blank line, and the offset each page starts at (an empty page starts
    where the next one does, so an offset maps to the page its text is on)."""
    parts: list[str] = []
    starts: list[int] = []
    length = 0
    for page in pages:
        if page and length:
            parts.append("\n\n")
            length += 2
        starts.append(length)
        parts.append(page)
        length += len(page)
    return "".join(parts), starts


def _meta(info, key: str) -> str:
    try:
        value = info.get(key)
    except Exception:  # a broken indirect reference in the info dictionary: no metadata then
        return ""
    return str(value).strip().replace("\x00", "") if value is not None else ""


def _title(meta_title: str) -> str:
    """The metadata title, unless it is a word processor's leftover ("Microsoft Word - draft.docx").

    Without one the file name stands in: a first line guessed from the page is as often the
    start of a wrapped sentence as a heading."""
    return "" if TITLE_JUNK.match(meta_title) else meta_title


def _pdf_date(raw: str) -> str:
    match = PDF_DATE.match(raw.strip())
    if not match:
        return ""
    return parse_published("-".join(part for part in match.groups() if part))


def _why(exc: Exception) -> str:
    detail = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
