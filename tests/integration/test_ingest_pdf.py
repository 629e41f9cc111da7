"""PDF ingest as a user runs it: `desk ingest` on a folder of twenty PDFs made in the test (with
the real model and embedded Chroma), pages on the stored chunks, an answer that cites "p. 3",
and a PDF fetched over HTTP."""

from __future__ import annotations

from pathlib import Path

from bot.render.terminal import answer_text
from bot.cli import main
from bot.render import source_line
from ingest.pipeline import Ingester
from retrieval.answer import AnswerEngine
from retrieval.settings import RetrievalSettings
from retrieval.store import KnowledgeBase
from tests import pdfmaker
from tests.webserver import LocalWeb


def stored(kb) -> dict[str, dict]:
    return {d["id"]: d for d in kb.list_documents()}


def test_twenty_pdfs_ingest_or_fail_with_one_line_each(tmp_path, embedder, capsys):
    corpus = pdfmaker.corpus()
    folder = tmp_path / "reports"
    folder.mkdir()
    for name, (data, _) in corpus.items():
        (folder / name).write_bytes(data)
    data_dir = tmp_path / "store"

    assert main(["ingest", str(folder), "--data-dir", str(data_dir)]) == 1
    captured = capsys.readouterr()

    failed = [line for line in captured.err.splitlines() if line.strip()]
    assert len(failed) == 10, captured.err
    for name, (_, reason) in corpus.items():
        lines = [line for line in failed if line.startswith(f"failed {folder / name}: ")]
        assert len(lines) == (0 if reason is None else 1), (name, failed)
        if reason:
            assert reason in lines[0]
    assert "10 added, 0 updated, 0 unchanged, 10 failed" in captured.out

    kb = KnowledgeBase(RetrievalSettings(data_dir=data_dir), embedder=embedder)
    docs = stored(kb)
    good = {name for name, (_, reason) in corpus.items() if reason is None}
    assert set(docs) == good
    chunks = list(kb.iter_chunks())
    assert {meta["doc_id"] for _, _, meta in chunks} == good  # nothing from a failed file
    assert all(isinstance(meta["page"], int) and meta["page"] >= 1 for _, _, meta in chunks)
    assert docs["report_with_metadata.pdf"]["title"] == "Foreign Holdings of Treasury Securities: A Desk Primer"
    assert docs["report_with_metadata.pdf"]["published"] == "2025-03-14"
    assert docs["report_with_metadata.pdf"]["x_pages"] == "3"
    assert docs["report_word_title.pdf"]["title"] == "report_word_title.pdf"
    long_pages = sorted({meta["page"] for _, _, meta in chunks if meta["doc_id"] == "long_report.pdf"})
    assert long_pages == list(range(1, 9))

    # Run again: every readable PDF is unchanged, every bad one fails the same way.
    assert main(["ingest", str(folder), "--data-dir", str(data_dir)]) == 1
    captured = capsys.readouterr()
    assert "0 added, 0 updated, 10 unchanged, 10 failed" in captured.out
    assert len([line for line in captured.err.splitlines() if line.strip()]) == 10


OKAPI_REPORT = [
    pdfmaker.section(1),
    pdfmaker.section(2),
    ["The okapi ratio of custody holdings to official reserves rose to 0.42 in March, the desk's note says.",
     *pdfmaker.section(3)],
]


def test_an_answer_from_a_pdf_cites_its_page(kb, tmp_path):
    path = tmp_path / "okapi-report.pdf"
    path.write_bytes(pdfmaker.text_pdf(OKAPI_REPORT, pdfmaker.Meta(title="Custody and reserves",
                                                                  author="Desk Research Unit")))
    assert Ingester(kb).ingest([str(path)]).added == 1

    answer = AnswerEngine(kb).ask("What was the okapi ratio of custody holdings to official reserves in March?")

    assert not answer.refused and "0.42" in answer.text
    cited = [c for c in answer.citations if c.ref == str(path)]
    assert [c.title for c in cited] == ["Custody and reserves, p. 3"]
    assert "[1] Custody and reserves, p. 3 — Desk Research Unit" in answer_text(answer)
    assert "**Custody and reserves, p. 3** — Desk Research Unit" in source_line(cited[0])


def test_pdf_over_http(kb):
    report = pdfmaker.text_pdf([pdfmaker.section(1), pdfmaker.section(2)], pdfmaker.Meta(title="Served report"))
    with LocalWeb() as web:
        good = web.add("/files/report", body=report, content_type="application/pdf")
        cut = web.add("/files/cut.pdf", body=pdfmaker.truncated(report), content_type="application/pdf")
        result = Ingester(kb).ingest([good, cut])
    assert (result.added, result.failed) == (1, 1)
    assert result.errors == [f"{cut}: is cut short or damaged (no end-of-file marker); download it again"]
    doc = stored(kb)[good]
    assert (doc["title"], doc["url"]) == ("Served report", good)
    assert sorted({meta["page"] for _, _, meta in kb.iter_chunks()}) == [1, 2]


def test_a_pdf_is_never_read_as_a_holdings_table(kb, tmp_path):
    # A report whose page is a holdings table still ingests as a report, even with --holdings off.
    path = Path(tmp_path / "holders_table.pdf")
    path.write_bytes(pdfmaker.corpus()["holders_table.pdf"][0])
    result = Ingester(kb).ingest([str(path)])
    assert (result.added, result.failed) == (1, 0)
    assert stored(kb)["holders_table.pdf"]["kind"] == "article"
