"""PDF reading (ingest/pdf.py) on PDFs made in the test (tests/pdfmaker.py): text per page in
reading order, metadata, pages on chunks, and one clear error for each PDF that cannot be read."""

from __future__ import annotations

import re

import pytest

from ingest.readers import load_file
from ingest.pdf import from_pdf
from ingest.pipeline import chunk_document
from retrieval.errors import InputError
from tests import pdfmaker

CORPUS = pdfmaker.corpus()
GOOD = [name for name, (_, reason) in CORPUS.items() if reason is None]
BAD = [name for name, (_, reason) in CORPUS.items() if reason is not None]


def read(name: str):
    return from_pdf(CORPUS[name][0], name, f"reports/{name}")


def test_the_corpus_has_twenty_pdfs_of_both_outcomes():
    assert (len(CORPUS), len(GOOD), len(BAD)) == (20, 10, 10)


@pytest.mark.parametrize("name", GOOD)
def test_readable_pdf_gives_text(name):
    doc = read(name)
    assert sum(ch.isalpha() for ch in doc.text) > 40
    assert doc.page_starts[0] == 0 and doc.page_starts == sorted(doc.page_starts)


@pytest.mark.parametrize("name", BAD)
def test_unreadable_pdf_gives_one_line_naming_file_and_reason(name):
    with pytest.raises(InputError) as caught:
        read(name)
    message = str(caught.value)
    assert message.startswith(f"reports/{name}: ") and CORPUS[name][1] in message
    assert "\n" not in message


def test_metadata_gives_title_author_and_date():
    doc = read("report_with_metadata.pdf")
    assert doc.title == "Foreign Holdings of Treasury Securities: A Desk Primer"
    assert doc.source == "Desk Research Unit"
    assert (doc.published, doc.published_raw) == ("2025-03-14", "D:20250314093000-04'00'")
    assert doc.extra == {"pages": "3"}
    assert doc.text.startswith("Section 1, paragraph 1: foreign official accounts")


def test_no_metadata_leaves_the_file_name_as_title(tmp_path):
    path = tmp_path / "reports" / "report_without_metadata.pdf"
    path.parent.mkdir()
    path.write_bytes(CORPUS["report_without_metadata.pdf"][0])
    [doc] = load_file(path, "reports/report_without_metadata.pdf", 10**7)
    assert (doc.title, doc.source, doc.published) == ("", "", "")
    assert doc.metadata()["title"] == "reports/report_without_metadata.pdf"


def test_a_word_processors_leftover_title_is_not_a_title():
    assert read("report_word_title.pdf").title == ""


@pytest.mark.parametrize("raw,published", [
    ("D:20250314093000-04'00'", "2025-03-14"),
    ("D:202503", "2025-03"),
    ("D:2025", "2025"),
    ("20250314", "2025-03-14"),
    ("D:20251399", ""),
    ("yesterday", ""),
])
def test_pdf_dates(raw, published):
    data = pdfmaker.text_pdf([pdfmaker.section(1)], pdfmaker.Meta(title="t", created=raw))
    assert from_pdf(data, "d.pdf", "d.pdf").published == published


def test_two_columns_come_out_in_reading_order():
    text = " ".join(read("note_two_columns.pdf").text.split())
    positions = [text.find(f"Column text {n}: reserve managers in the note's sample spread new purchases across "
                           f"bills and notes, and paragraph {n} follows one of them.") for n in range(1, 25)]
    assert -1 not in positions and positions == sorted(positions)


def test_a_table_row_stays_on_one_line():
    lines = read("holders_table.pdf").text.splitlines()
    assert "Country Apr 2026 Mar 2026 Apr 2025" in lines
    assert "Japan 1,201.5 1,195.0 1,130.0" in lines
    assert "China, Mainland 690.3 701.1 757.2" in lines


def test_each_chunk_carries_the_page_of_its_sentence():
    doc = read("long_report.pdf")
    chunks = chunk_document(doc)
    assert len(chunks.texts) > 8  # several sentences a page
    for meta in chunks.metas:
        # The page a chunk cites is the page of the sentence at its centre: the page of the last
        # "Section N," heading at or before where that sentence starts.
        section = int(re.findall(r"Section (\d+),", doc.text[: meta["start"] + len("Section 10,")])[-1])
        assert meta["page"] == section == doc.page_at(meta["start"])
    assert {meta["page"] for meta in chunks.metas} == set(range(1, 9))


def test_page_at_maps_offsets_to_pages():
    doc = read("long_report.pdf")
    assert doc.page_at(0) == 1
    for n in range(2, 9):
        offset = doc.text.index(f"Section {n}, paragraph 1:")
        assert doc.text[offset - 2:offset] == "\n\n"
        assert doc.page_at(offset) == n
        assert doc.page_at(offset - 2) == n  # the blank line before a page belongs to the text after it
        assert doc.page_at(offset - 3) == n - 1


def test_a_scanned_cover_shifts_the_pages():
    doc = read("scanned_cover_then_text.pdf")
    metas = chunk_document(doc).metas
    assert doc.extra == {"pages": "2"} and {meta["page"] for meta in metas} == {2}


def test_articles_have_no_pages():
    from ingest.documents import SourceDocument

    doc = SourceDocument(doc_id="a", text="Japan held the most. " * 80, ref="a.txt")
    metas = chunk_document(doc).metas
    assert all("page" not in meta for meta in metas) and doc.page_at(10) is None


def test_an_empty_file_named_pdf(tmp_path):
    path = tmp_path / "empty.pdf"
    path.write_bytes(b"")
    with pytest.raises(InputError, match=r"empty.pdf: is not a PDF \(no %PDF header\)$"):
        load_file(path, "empty.pdf", 10**7)


def test_an_aes_encrypted_pdf_that_needs_no_password_opens():
    import io

    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(CORPUS["report_with_metadata.pdf"][0])))
    writer.encrypt(user_password="", owner_password="desk-owner", algorithm="AES-256")
    locked = io.BytesIO()
    writer.write(locked)
    doc = from_pdf(locked.getvalue(), "aes.pdf", "aes.pdf")
    assert doc.text.startswith("Section 1, paragraph 1:") and doc.page_starts == [0, 1005, 2010]


def test_an_aes_encrypted_pdf_with_a_password_is_refused():
    import io

    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(CORPUS["report_with_metadata.pdf"][0])))
    writer.encrypt(user_password="reader", owner_password="desk-owner", algorithm="AES-128")
    locked = io.BytesIO()
    writer.write(locked)
    with pytest.raises(InputError, match=r"^aes.pdf: is encrypted \(password-protected\)"):
        from_pdf(locked.getvalue(), "aes.pdf", "aes.pdf")
