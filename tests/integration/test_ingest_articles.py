"""Article ingest with the real model and real Chroma: every input kind, idempotence, bad input."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.pipeline import CHUNK_SIZE, Ingester
from ingest.settings import IngestSettings
from retrieval.answer import AnswerEngine
from tests.conftest import PAGE_ARTICLE, REPO
from tests.webserver import LocalWeb

BRIEF = """title: Japan keeps its lead among foreign holders
source: Test Wire
url: https://news.example.com/japan-lead?utm_source=feed
published: 2025-05-17 04:00 GMT+8
desk: markets

Japan held $1,125.9 billion of Treasurys at the end of February 2025, more than any other foreign country.
Officials in Tokyo said the holdings were not a bargaining chip.
"""


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.write_bytes if isinstance(text, bytes) else path.write_text)(text)
    return path


def stored(kb) -> dict[str, dict]:
    return {d["id"]: d for d in kb.list_documents()}


def test_header_block_file_keeps_its_fields(kb, tmp_path):
    write(tmp_path / "in" / "brief.txt", BRIEF)
    report = Ingester(kb).ingest([str(tmp_path / "in")])
    assert (report.added, report.failed) == (1, 0)
    doc = stored(kb)["https://news.example.com/japan-lead"]  # canonical URL is the id
    assert doc["title"] == "Japan keeps its lead among foreign holders"
    assert doc["source"] == "Test Wire"
    assert doc["published"] == "2025-05-17"
    assert doc["published_raw"] == "2025-05-17 04:00 GMT+8"
    assert doc["x_desk"] == "markets"
    assert doc["kind"] == "article"
    chunks = list(kb.iter_chunks())
    assert chunks and all(meta["doc_id"] == doc["id"] and meta["title"] == doc["title"] for _, _, meta in chunks)
    assert "1,125.9" in chunks[0][1]


def test_front_matter_messy_dates_and_relative_ids(kb, tmp_path):
    root = tmp_path / "corpus"
    write(root / "a" / "month.md", "---\ntitle: Month only\npublished: 2025-04\n---\nChina trimmed its holdings in April.\n")
    write(root / "b" / "unknown.md", "title: No date\npublished: not stated\n\nBelgium is a custody centre for many owners.\n")
    report = Ingester(kb).ingest([str(root)])
    assert report.added == 2 and report.failed == 0
    docs = stored(kb)
    assert docs["a/month.md"]["published"] == "2025-04"
    assert "published" not in docs["b/unknown.md"]  # kept as written, never a reason to fail
    assert docs["b/unknown.md"]["published_raw"] == "not stated"


def test_html_json_and_jsonl(kb, tmp_path):
    html = """<html><head><title>Canada's holdings swing</title>
    <meta property="og:site_name" content="Maple Markets"><meta name="date" content="2025-06-20"></head>
    <body><nav>Home | Markets</nav><article><h1>Canada's holdings swing</h1>
    <p>Canada's holdings of U.S. Treasury securities rose to $438.7 billion in June 2025, after falling in May.</p>
    <p>Analysts said the swings reflect reserve management rather than a change of policy.</p></article>
    <script>var x = 1;</script></body></html>"""
    write(tmp_path / "in" / "canada.html", html)
    write(tmp_path / "in" / "one.json", json.dumps({"title": "JSON story", "text": "Norway's fund bought bills.", "published": "2025-03-02"}))
    write(tmp_path / "in" / "many.jsonl", "\n".join(json.dumps(r) for r in [
        {"id": "r1", "title": "Line one", "text": "India sold some Treasurys.", "source": "Wire"},
        {"url": "https://example.org/two/", "title": "Line two", "text": "Brazil held steady."},
    ]))
    report = Ingester(kb).ingest([str(tmp_path / "in")])
    assert report.failed == 0 and report.added == 4, report.errors
    docs = stored(kb)
    canada = docs["canada.html"]
    assert canada["title"] == "Canada's holdings swing" and canada["published"] == "2025-06-20"
    text = " ".join(t for _, t, m in kb.iter_chunks() if m["doc_id"] == "canada.html")
    assert "438.7" in text and "var x" not in text and "Home | Markets" not in text
    assert docs["one.json#1"]["title"] == "JSON story"
    assert docs["many.jsonl#r1"]["source"] == "Wire"
    assert "https://example.org/two" in docs


def test_long_document_chunks_end_at_sentences(kb, tmp_path):
    sentences = [f"Sentence {i} says that holder number {i} moved its Treasury position by {i}.{i} billion." for i in range(80)]
    write(tmp_path / "long.txt", "title: Long\n\n" + " ".join(sentences))
    Ingester(kb).ingest([str(tmp_path / "long.txt")])
    chunks = sorted(kb.iter_chunks(), key=lambda c: c[2]["chunk"])
    assert len(chunks) > 3
    for _, text, meta in chunks:
        assert len(text) <= CHUNK_SIZE
        assert text.endswith("billion.")  # never cut inside a sentence
    starts = [meta["start"] for _, _, meta in chunks]
    assert starts == sorted(starts) and starts[0] == 0


def test_reingest_unchanged_embeds_nothing_and_changed_replaces_chunks(kb, tmp_path, embedder):
    path = write(tmp_path / "brief.txt", BRIEF)
    Ingester(kb).ingest([str(path)])
    before = embedder.texts_embedded
    report = Ingester(kb).ingest([str(path)])
    assert (report.unchanged, report.added, report.updated) == (1, 0, 0)
    assert embedder.texts_embedded == before

    write(path, BRIEF.replace("$1,125.9 billion", "$1,126.0 billion") + "\nA second paragraph.\n" * 3)
    report = Ingester(kb).ingest([str(path)])
    assert report.updated == 1
    chunks = list(kb.iter_chunks())
    hashes = {meta["content_hash"] for _, _, meta in chunks}
    assert hashes == {stored(kb)["https://news.example.com/japan-lead"]["content_hash"]}  # no orphans
    assert all("1,125.9" not in text for _, text, _ in chunks)
    assert kb.orphan_chunk_count() == 0


def test_an_unchanged_document_read_from_a_new_place_cites_the_new_place(kb, tmp_path, embedder):
    first = write(tmp_path / "old-checkout" / "brief.txt", BRIEF)
    Ingester(kb).ingest([str(first)])
    moved = write(tmp_path / "new-checkout" / "brief.txt", BRIEF)
    shutil.rmtree(first.parent)  # the old checkout is gone
    before = embedder.texts_embedded
    report = Ingester(kb).ingest([str(moved)])
    assert (report.unchanged, report.added, report.updated) == (1, 0, 0)
    assert embedder.texts_embedded == before  # nothing embedded again
    assert stored(kb)["https://news.example.com/japan-lead"]["ref"] == str(moved)
    assert {meta["ref"] for _, _, meta in kb.iter_chunks()} == {str(moved)}
    answer = AnswerEngine(kb).ask("Did officials in Tokyo call the holdings a bargaining chip?")
    assert not answer.refused, answer.text
    assert [c.ref for c in answer.citations] == [str(moved)]


def test_small_documents_share_one_encode_call_and_each_is_stored_whole(kb, tmp_path, embedder, monkeypatch):
    countries = ["Japan", "China", "Belgium", "Canada", "Norway", "India", "Brazil", "Ireland"]
    for i, country in enumerate(countries):
        write(tmp_path / "in" / f"{i}.txt", f"title: {country} brief\n\n{country} changed its Treasury holdings in March.")
    calls = []
    real = embedder.embed_documents
    monkeypatch.setattr(embedder, "embed_documents", lambda texts: calls.append(len(texts)) or real(texts))
    report = Ingester(kb).ingest([str(tmp_path / "in")])
    assert (report.added, report.failed) == (8, 0)
    assert calls == [8]  # one batch across the eight documents, not eight calls of one
    assert {d["title"] for d in kb.list_documents()} == {f"{c} brief" for c in countries}
    assert kb.orphan_chunk_count() == 0


def test_two_versions_of_one_document_in_a_batch_end_as_the_second(kb, tmp_path):
    first = {"id": "r1", "title": "Draft", "text": "India sold some Treasurys."}
    second = {"id": "r1", "title": "Final", "text": "India sold Treasurys for a third month."}
    write(tmp_path / "a.jsonl", json.dumps(first) + "\n" + json.dumps(second))
    report = Ingester(kb).ingest([str(tmp_path / "a.jsonl")])
    assert (report.added, report.updated, report.failed) == (1, 1, 0)
    assert [d["title"] for d in kb.list_documents()] == ["Final"]
    assert [text for _, text, _ in kb.iter_chunks()] == ["India sold Treasurys for a third month."]

    # A new version, then the stored one again: the last one read wins, as it did unbatched.
    write(tmp_path / "a.jsonl", json.dumps(first) + "\n" + json.dumps(second))
    report = Ingester(kb).ingest([str(tmp_path / "a.jsonl")])
    assert [d["title"] for d in kb.list_documents()] == ["Final"], report.summary()


def test_forget_removes_document_and_chunks(kb, tmp_path):
    write(tmp_path / "in" / "a.txt", "title: A\n\nJapan holds the most.")
    write(tmp_path / "in" / "b.txt", "title: B\n\nChina holds less.")
    Ingester(kb).ingest([str(tmp_path / "in")])
    assert kb.forget("a.txt") is True
    assert set(stored(kb)) == {"b.txt"}
    assert {m["doc_id"] for m in kb.iter_chunk_metas()} == {"b.txt"}
    assert kb.forget("a.txt") is False


def test_news_page_ingests_with_its_header(kb):
    report = Ingester(kb).ingest([str(PAGE_ARTICLE)])
    assert report.added == 1
    doc = stored(kb)["insurers-keep-treasurys.txt"]
    assert doc["title"] == "Japan's life insurers say they will keep their Treasurys as hedging costs bite"
    assert doc["published"] == "2026-02-12"
    assert doc["x_note"].startswith("written for these tests in the shape of a scraped news page")
    # The header block is metadata, not text: no chunk starts with it.
    assert not any(text.startswith("title:") for _, text, _ in kb.iter_chunks())


@pytest.mark.parametrize("name,content,reason", [
    ("empty.txt", b"   \n", "the file is empty"),
    ("binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00", "binary"),
    ("latin1.txt", "title: Caf\xe9\n\nBody text here.".encode("latin-1"), "is not UTF-8 text"),
    ("scripts.html", b"<html><body><script>var a=1;</script></body></html>", "no article text"),
    ("broken.jsonl", b'{"text": "ok line"}\n{"text": broken\n', "line 2"),
    ("notext.json", b'{"title": "no text"}', 'no "text" field'),
    ("photo.png", b"\x89PNG", "unsupported file type"),
])
def test_bad_file_is_named_and_store_unchanged(kb, tmp_path, name, content, reason):
    good = write(tmp_path / "good.txt", "title: Good\n\nJapan holds the most Treasurys.")
    Ingester(kb).ingest([str(good)])
    before = (stored(kb), sorted(c[0] for c in kb.iter_chunks()))
    bad = write(tmp_path / "bad" / name, content)
    report = Ingester(kb).ingest([str(bad)])
    assert report.failed == 1
    assert str(bad) in report.errors[0] and reason in report.errors[0]
    assert (stored(kb), sorted(c[0] for c in kb.iter_chunks())) == before


def test_oversized_file_refused(kb, tmp_path):
    big = write(tmp_path / "big.txt", b"title: Big\n\n" + b"word " * 300_000)
    report = Ingester(kb, IngestSettings(max_file_mb=1)).ingest([str(big)])
    assert report.failed == 1 and "over the 1 MB limit" in report.errors[0]
    assert kb.list_documents() == []


def test_batch_goes_on_after_a_failure(kb, tmp_path):
    write(tmp_path / "in" / "a.txt", b"")
    write(tmp_path / "in" / "b.txt", "title: B\n\nThe UK is the second-largest holder.")
    report = Ingester(kb).ingest([str(tmp_path / "in"), str(tmp_path / "missing.txt")])
    assert (report.added, report.failed) == (1, 2)
    assert any("missing.txt: no such file or folder" in e for e in report.errors)


def test_an_attachment_is_read_as_a_file_of_its_name(kb, tmp_path):
    # The bot's /ingest file: bytes and a file name (never a path of the sender's choosing).
    report = Ingester(kb).ingest_attachment(BRIEF.encode(), "../../brief.txt")
    assert (report.added, report.failed) == (1, 0)
    [doc] = kb.list_documents()
    assert (doc["id"], doc["title"], doc["ref"]) == (
        "https://news.example.com/japan-lead", "Japan keeps its lead among foreign holders", "brief.txt")
    table = b"country,month,value\nJapan,2026-04,1.0\n"
    refused = Ingester(kb, IngestSettings(max_file_mb=0.00001)).ingest_attachment(table, "team.csv")
    assert refused.failed == 1 and refused.errors[0].startswith("team.csv: is 0.0 MB, over the 1e-05 MB limit")


PAGE = b"""<html><head><title>Treasury demand holds up</title><meta name="date" content="2025-07-01">
<link rel="canonical" href="/story"></head><body><article>
<p>Foreign demand for Treasury bills held up in June as official holders rolled over their positions.</p>
<p>Japan remained the largest foreign holder, ahead of the United Kingdom.</p></article></body></html>"""

FEED = """<?xml version="1.0"?><rss version="2.0"><channel><title>Desk Feed</title>
<item><title>Story with page</title><link>{base}/story</link><guid>1</guid><pubDate>Tue, 01 Jul 2025 08:00:00 GMT</pubDate>
<description>Summary one.</description></item>
<item><title>Story without page</title><link>{base}/gone</link><guid>2</guid><pubDate>Wed, 02 Jul 2025 08:00:00 GMT</pubDate>
<description>Cayman Islands custody accounts grew in June.</description></item>
<item><title>Duplicate id</title><link>{base}/gone</link><guid>2</guid><description>again</description></item>
</channel></rss>"""


def test_url_and_feed_ingest_from_local_server(kb):
    with LocalWeb() as web:
        page_url = web.add("/story", body=PAGE)
        feed_url = web.add("/feed.xml", body=FEED.format(base=web.url).encode(), content_type="application/rss+xml")
        report = Ingester(kb).ingest([page_url])
        assert report.added == 1
        report = Ingester(kb).ingest([feed_url], feed=True)
    docs = stored(kb)
    assert report.failed == 0 and report.unchanged == 1 and report.added == 1  # the page is known already
    assert docs[page_url]["title"] == "Treasury demand holds up"
    gone = docs[f"{web.url}/gone"]
    assert gone["title"] == "Story without page" and gone["published"] == "2025-07-02" and gone["source"] == "Desk Feed"
    assert any("Cayman Islands custody" in t for _, t, m in kb.iter_chunks() if m["doc_id"] == gone["id"])


FRESH_FEED = """<?xml version="1.0"?><rss version="2.0"><channel><title>Desk Feed</title>
<item><title>First</title><link>{base}/one</link><guid>1</guid><description>Norway's fund bought bills in May.</description></item>
<item><title>Second</title><link>{base}/two</link><guid>2</guid><description>Brazil held steady in May.</description></item>
<item><title>Second again</title><link>{base}/two?utm_source=feed</link><guid>3</guid>
<description>Brazil held steady in May, then sold in June.</description></item>
</channel></rss>"""


def test_feed_entry_is_looked_up_once(kb, monkeypatch):
    """A new entry is looked up before its page is fetched, and that look-up is not repeated;
    an entry whose id is still queued is looked up again after the queue is written."""
    reads: list[str] = []
    get_document = kb.get_document
    monkeypatch.setattr(kb, "get_document", lambda doc_id: reads.append(doc_id) or get_document(doc_id))
    with LocalWeb() as web:  # no pages: each entry is stored from its summary
        feed_url = web.add("/feed.xml", body=FRESH_FEED.format(base=web.url).encode(), content_type="application/rss+xml")
        report = Ingester(kb).ingest([feed_url], feed=True)
    one, two = f"{web.url}/one", f"{web.url}/two"
    assert (report.added, report.updated, report.unchanged, report.failed) == (2, 1, 0, 0)
    assert reads == [one, two, two, two]  # "Second again" is read before and after "Second" is written
    assert "then sold in June" in "".join(t for _, t, m in kb.iter_chunks() if m["doc_id"] == two)


def test_bad_urls_and_feeds(kb):
    with LocalWeb() as web:
        loop = web.add("/loop", redirect="/loop")
        missing = web.url + "/nothing"
        slow = web.add("/slow", body=PAGE, delay=3)
        junk = web.add("/junk.xml", body=b"this is not a feed at all", content_type="text/plain")
        report = Ingester(kb, IngestSettings(fetch_timeout=1)).ingest([loop, missing, slow])
        feed_report = Ingester(kb).ingest([junk], feed=True)
    errors = "\n".join(report.errors)
    assert report.failed == 3
    assert f"{loop}: redirected more than 5 times" in errors
    assert f"{missing}: the server answered HTTP 404" in errors
    assert f"{slow}: no answer within 1 s" in errors
    assert feed_report.failed == 1 and "is not an RSS or Atom feed" in feed_report.errors[0]
    assert kb.list_documents() == []


@pytest.mark.server
def test_ingest_and_query_on_chroma_server(server_kb, tmp_path):
    from retrieval.search import Retriever

    write(tmp_path / "in" / "brief.txt", BRIEF)
    write(tmp_path / "in" / "other.txt", "title: Tariffs\n\nA 25% tariff on imported cars took effect in April 2025.")
    report = Ingester(server_kb).ingest([str(tmp_path / "in")])
    assert report.added == 2
    hits = Retriever(server_kb).search("Which country holds the most Treasurys?", k=2)
    assert hits[0].meta["title"] == "Japan keeps its lead among foreign holders"
    assert Ingester(server_kb).ingest([str(tmp_path / "in")]).unchanged == 2


def test_desk_run_cites_this_checkout_s_sample_after_another_checkout_filled_the_store(kb, tmp_path, embedder, monkeypatch):
    from bot import cli

    other = tmp_path / "other-checkout" / "data" / "sample"
    shutil.copytree(cli.SAMPLE_DIR, other)
    monkeypatch.setattr(cli, "SAMPLE_DIR", other)
    cli.ensure_sample_ingested(kb)  # the first checkout's run
    shutil.rmtree(tmp_path / "other-checkout")  # and that checkout is gone
    monkeypatch.setattr(cli, "SAMPLE_DIR", REPO / "data" / "sample")
    before = embedder.texts_embedded
    cli.ensure_sample_ingested(kb)
    assert embedder.texts_embedded == before  # only the refs change
    refs = {str(d.get("ref")) for d in kb.list_documents()}
    assert refs and all(ref.startswith(str(REPO / "data" / "sample")) for ref in refs), refs


def test_desk_run_without_terminal_answers_two_questions(tmp_path):
    env = {**os.environ, "DESK_DATA_DIR": str(tmp_path / "run-data")}
    env.pop("DISCORD_TOKEN", None)
    result = subprocess.run([sys.executable, "-m", "bot.cli", "run"], cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "> Who holds the most Treasurys?" in result.stdout
    assert "[1]" in result.stdout and "Japan" in result.stdout
