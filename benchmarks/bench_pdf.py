"""pypdf against pdfplumber on PDFs the project makes (tests/pdfmaker.py): how fast each reads
them, and whether what it reads comes out in the order a person reads it.

Three shapes: a 12-page report with metadata, a two-column research note, a table page.
Checks, per reader:
- text: every sentence of the report found whole (whitespace squeezed);
- columns: the note's paragraphs found whole and in reading order (left column, then right);
- table: each table row's cells on one line, in order; the paragraphs around it found whole.
Speed: median seconds to open a file and extract every page (BENCH_PDF_ROUNDS rounds), and the
cold `import` of each library in a fresh interpreter (it is paid by every `desk ingest`).

`python benchmarks/bench_pdf.py` (no targets: it informs the choice written in docs/BENCHMARKS.md).
"""

from __future__ import annotations

import io
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import PYTHON, loadavg  # noqa: E402
from tests.pdfmaker import Meta, table_pdf, text_pdf, two_column_pdf  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_PDF_ROUNDS", "5"))

COUNTRIES = ["Japan", "United Kingdom", "China, Mainland", "Belgium", "Canada", "Cayman Islands", "Luxembourg",
             "France", "Ireland", "Switzerland", "Taiwan", "Singapore", "Hong Kong", "India", "Brazil", "Norway"]


def sentence(n: int) -> str:
    country = COUNTRIES[n % len(COUNTRIES)]
    return (f"Note {n}: holdings attributed to {country} moved by {n % 37 + 0.5:.1f} billion dollars in the month, "
            f"and analysts traced part of the change to custody accounts rather than to new buying.")


def paragraphs(start: int, count: int, per: int = 4) -> list[str]:
    return [" ".join(sentence(start + p * per + s) for s in range(per)) for p in range(count)]


def corpus() -> dict[str, tuple[bytes, dict]]:
    report_pages = [paragraphs(100 * page, 5) for page in range(12)]
    note = paragraphs(5000, 14, per=3)
    rows = [["Country", "Apr 2026", "Mar 2026", "Apr 2025"]] + [
        [c, f"{1200 - 60 * i:,.1f}", f"{1190 - 59 * i:,.1f}", f"{1100 - 55 * i:,.1f}"] for i, c in enumerate(COUNTRIES[:12])]
    before, after = sentence(9001), sentence(9002)
    return {
        "report (12 pages, text)": (text_pdf(report_pages, Meta(title="A test report")),
                                    {"sentences": [s for page in report_pages for p in page for s in split(p)]}),
        "note (two columns)": (two_column_pdf(note, heading="A two-column note"), {"ordered": note}),
        "table": (table_pdf(before, rows, after), {"rows": rows[1:], "sentences": [before, after]}),
    }


def split(paragraph: str) -> list[str]:
    return re.split(r"(?<=buying\.) ", paragraph)


def squeeze(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def read_pypdf(data: bytes) -> list[str]:
    from pypdf import PdfReader

    return [page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages]


def read_pypdf_layout(data: bytes) -> list[str]:
    from pypdf import PdfReader

    return [page.extract_text(extraction_mode="layout") or "" for page in PdfReader(io.BytesIO(data)).pages]


def read_pdfplumber(data: bytes) -> list[str]:
    import pdfplumber

    with pdfplumber.open(io.BytesIO(data)) as pdf:
        return [page.extract_text() or "" for page in pdf.pages]


def read_desk(data: bytes) -> list[str]:
    """What `desk ingest` keeps: pypdf's text with pieces on one baseline joined (ingest/pdf.py)."""
    from ingest.pdf import from_pdf

    doc = from_pdf(data, "bench.pdf", "bench.pdf")
    ends = doc.page_starts[1:] + [len(doc.text)]
    return [doc.text[start:end] for start, end in zip(doc.page_starts, ends)]


READERS = {"pypdf": read_pypdf, "pypdf (layout mode)": read_pypdf_layout, "pdfplumber": read_pdfplumber,
           "ingest/pdf.py (pypdf + baseline join)": read_desk}


def score(pages: list[str], expect: dict) -> str:
    text = squeeze(" ".join(pages))
    notes = []
    if "sentences" in expect:
        found = sum(squeeze(s) in text for s in expect["sentences"])
        notes.append(f"{found}/{len(expect['sentences'])} sentences whole")
    if "ordered" in expect:
        positions = [text.find(squeeze(p)) for p in expect["ordered"]]
        whole = sum(p >= 0 for p in positions)
        in_order = all(a < b for a, b in zip(positions, positions[1:])) and whole == len(positions)
        notes.append(f"{whole}/{len(positions)} paragraphs whole, {'in' if in_order else 'NOT in'} reading order")
    if "rows" in expect:
        lines = [squeeze(line) for page in pages for line in page.splitlines()]
        on_one_line = sum(any(squeeze(" ".join(row)) in line for line in lines) for row in expect["rows"])
        notes.append(f"{on_one_line}/{len(expect['rows'])} table rows on one line")
    return "; ".join(notes)


def cold_import(module: str) -> float:
    times = []
    for _ in range(3):
        out = subprocess.run([PYTHON, "-c", f"import time; t = time.perf_counter(); import {module}; "
                              "print(time.perf_counter() - t)"], capture_output=True, text=True, check=True)
        times.append(float(out.stdout))
    return statistics.median(times)


def main() -> int:
    files = corpus()
    print(f"load average at start: {loadavg()}")
    for name, module in (("pypdf", "pypdf"), ("pdfplumber", "pdfplumber")):
        print(f"cold import {name}: {cold_import(module) * 1000:.0f} ms")
    print()
    print("| file | pages | reader | median s | what came out |")
    print("| --- | --- | --- | --- | --- |")
    for file, (data, expect) in files.items():
        from pypdf import PdfReader

        count = len(PdfReader(io.BytesIO(data)).pages)
        for reader, read in READERS.items():
            read(data)  # warm: imports and caches
            times = []
            for _ in range(ROUNDS):
                started = time.perf_counter()
                pages = read(data)
                times.append(time.perf_counter() - started)
            print(f"| {file} | {count} | {reader} | {statistics.median(times):.3f} | {score(pages, expect)} |")
    print(f"\nload average at end: {loadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
