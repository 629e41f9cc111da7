"""PDFs made on the spot with reportlab, for the PDF ingest tests and benchmarks/bench_pdf.py.

Shapes a finance team's PDFs take: a plain report with metadata, a two-column research note, a
page with a table, a scan (an image of text, no text layer), an encrypted file, a cut-off one.
The texts are written here; the figures in them are invented unless a test says otherwise.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from reportlab.lib import colors
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import inch
from reportlab.platypus import (BaseDocTemplate, Frame, PageBreak, PageTemplate, Paragraph, SimpleDocTemplate,
                                Spacer, Table, TableStyle)

STYLES = getSampleStyleSheet()


@dataclass
class Meta:
    title: str | None = None
    author: str | None = None
    subject: str | None = None
    created: str | None = None  # a PDF date string, "D:20250314093000-04'00'"


def _apply(meta: Meta | None):
    """A page callback that writes the metadata reportlab would otherwise fill with defaults."""

    def on_page(canvas, _doc):
        if meta is None:  # no title, author or date at all
            canvas.setTitle("")
            canvas.setAuthor("")
            canvas.setDateFormatter(lambda *_parts: "")
            return
        canvas.setTitle(meta.title or "")
        canvas.setAuthor(meta.author or "")
        canvas.setSubject(meta.subject or "")
        if meta.created:
            canvas.setDateFormatter(lambda *_parts: meta.created)

    return on_page


def text_pdf(pages: list[list[str]], meta: Meta | None = None, encrypt=None) -> bytes:
    """One page per list of paragraphs, in order."""
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=LETTER, encrypt=encrypt)
    story: list = []
    for n, paragraphs in enumerate(pages):
        if n:
            story.append(PageBreak())
        for text in paragraphs:
            story += [Paragraph(text, STYLES["BodyText"]), Spacer(1, 6)]
    doc.build(story, onFirstPage=_apply(meta), onLaterPages=_apply(meta))
    return out.getvalue()


def two_column_pdf(paragraphs: list[str], meta: Meta | None = None, heading: str = "") -> bytes:
    """A research note set in two columns: the text fills the left column, then the right one."""
    out = io.BytesIO()
    doc = BaseDocTemplate(out, pagesize=LETTER)
    gap = 0.3 * inch
    width = (doc.width - gap) / 2
    frames = [Frame(doc.leftMargin, doc.bottomMargin, width, doc.height, id="left"),
              Frame(doc.leftMargin + width + gap, doc.bottomMargin, width, doc.height, id="right")]
    doc.addPageTemplates([PageTemplate(id="two", frames=frames, onPage=_apply(meta))])
    story: list = [Paragraph(heading, STYLES["Heading2"])] if heading else []
    for text in paragraphs:
        story += [Paragraph(text, STYLES["BodyText"]), Spacer(1, 4)]
    doc.build(story)
    return out.getvalue()


def table_pdf(before: str, rows: list[list[str]], after: str, meta: Meta | None = None) -> bytes:
    """A paragraph, a ruled table (first row the header), a paragraph."""
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=LETTER)
    table = Table(rows, hAlign="LEFT")
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                               ("ALIGN", (1, 0), (-1, -1), "RIGHT")]))
    story = [Paragraph(before, STYLES["BodyText"]), Spacer(1, 8), table, Spacer(1, 8),
             Paragraph(after, STYLES["BodyText"])]
    doc.build(story, onFirstPage=_apply(meta), onLaterPages=_apply(meta))
    return out.getvalue()


def scanned_pdf(lines: list[str], pages: int = 1) -> bytes:
    """Pages that are pictures of text, as a scanner makes them: no text layer at all."""
    from PIL import Image, ImageDraw
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen.canvas import Canvas

    out = io.BytesIO()
    canvas = Canvas(out, pagesize=LETTER)
    for _ in range(pages):
        image = Image.new("L", (850, 1100), 255)
        draw = ImageDraw.Draw(image)
        for n, line in enumerate(lines):
            draw.text((60, 60 + 24 * n), line, fill=0)
        canvas.drawImage(ImageReader(image), 0, 0, width=LETTER[0], height=LETTER[1])
        canvas.showPage()
    canvas.save()
    return out.getvalue()


def encrypted_pdf(paragraphs: list[str], user_password: str = "secret", owner_password: str = "owner",
                  strength: int = 128) -> bytes:
    from reportlab.lib.pdfencrypt import StandardEncryption

    encrypt = StandardEncryption(user_password, owner_password, strength=strength)
    return text_pdf([paragraphs], encrypt=encrypt)


def truncated(data: bytes, keep: float = 0.6) -> bytes:
    """The first part of a file, as an interrupted download leaves it."""
    return data[: int(len(data) * keep)]


def combine(*pdfs: bytes) -> bytes:
    """The pages of several PDFs in one file (a scanned cover, then typed pages, say)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for data in pdfs:
        for page in PdfReader(io.BytesIO(data)).pages:
            writer.add_page(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def broken_page_stream(data: bytes) -> bytes:
    """The first page's content stream keyword mangled, as a bad disk or a bad edit leaves it."""
    return data.replace(b"stream", b"strxam", 1)


def garbage_after_header(data: bytes) -> bytes:
    """The header and end marker intact, everything between them noise."""
    return data[:9] + bytes(range(256)) * 16 + b"\n%%EOF\n"


# ---------------------------------------------------------------- the twenty of the tests

def section(n: int, paragraphs: int = 4) -> list[str]:
    """A page of a report whose every sentence says which section (= page) it is on."""
    return [f"Section {n}, paragraph {p}: foreign official accounts kept most of their Treasury notes in custody "
            f"at the Federal Reserve Bank of New York, and section {n} tracks how the bills among them matured "
            f"through the quarter before they were rolled into new issues." for p in range(1, paragraphs + 1)]


REPORT_META = Meta(title="Foreign Holdings of Treasury Securities: A Desk Primer", author="Desk Research Unit",
                   subject="a report written for the Holdings Desk tests", created="D:20250314093000-04'00'")
HOLDINGS_ROWS = [["Country", "Apr 2026", "Mar 2026", "Apr 2025"],
                 ["Japan", "1,201.5", "1,195.0", "1,130.0"],
                 ["United Kingdom", "912.4", "905.8", "801.7"],
                 ["China, Mainland", "690.3", "701.1", "757.2"]]  # invented figures


def corpus() -> dict[str, tuple[bytes, str | None]]:
    """Twenty PDFs of the shapes a team shares, each with None (ingests) or the reason it must give."""
    report = text_pdf([section(n) for n in range(1, 4)], REPORT_META)
    note = two_column_pdf([f"Column text {n}: reserve managers in the note's sample spread new purchases across "
                           f"bills and notes, and paragraph {n} follows one of them." for n in range(1, 25)],
                          Meta(title="Two-column research note"), heading="Reserve managers' note")
    table = table_pdf("The table below lists the three largest foreign holders (invented figures).",
                      HOLDINGS_ROWS, "Figures are in billions of dollars at the end of each month.",
                      Meta(title="Holders table"))
    scan = scanned_pdf(["Foreign holdings of Treasurys rose in April", "Japan kept its lead"])
    return {
        # ingest
        "report_with_metadata.pdf": (report, None),
        "report_without_metadata.pdf": (text_pdf([section(n) for n in range(1, 3)]), None),
        "report_word_title.pdf": (text_pdf([section(1)], Meta(title="Microsoft Word - draft3.docx")), None),
        "long_report.pdf": (text_pdf([section(n, 6) for n in range(1, 9)], Meta(title="Long report")), None),
        "note_two_columns.pdf": (note, None),
        "holders_table.pdf": (table, None),
        "owner_locked.pdf": (encrypted_pdf(section(1), user_password=""), None),  # opens with no password
        "scanned_cover_then_text.pdf": (combine(scan, text_pdf([section(2)])), None),
        "dated_to_the_month.pdf": (text_pdf([section(1)], Meta(title="Monthly note", created="D:202503")), None),
        "one_line.pdf": (text_pdf([["Japan held the most Treasurys of any foreign country in April."]]), None),
        # fail, one line each
        "scanned_one_page.pdf": (scan, "has no text layer"),
        "scanned_three_pages.pdf": (scanned_pdf(["Custody holdings by country"], pages=3), "has no text layer"),
        "encrypted_128.pdf": (encrypted_pdf(section(1)), "is encrypted (password-protected)"),
        "encrypted_40.pdf": (encrypted_pdf(section(1), strength=40), "is encrypted (password-protected)"),
        "report_cut_at_30.pdf": (truncated(report, 0.3), "is cut short or damaged"),
        "note_cut_at_90.pdf": (truncated(note, 0.9), "is cut short or damaged"),
        "table_cut_in_half.pdf": (truncated(table, 0.5), "is cut short or damaged"),
        "broken_page_stream.pdf": (broken_page_stream(report), "is damaged and cannot be read (page 1"),
        "garbage_after_header.pdf": (garbage_after_header(report), "is damaged and cannot be read"),
        "error_page_saved_as.pdf": (b"<html><body><h1>403 Forbidden</h1></body></html>", "is not a PDF"),
    }
