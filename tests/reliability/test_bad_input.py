"""The bad-input corpus (tests/fixtures/bad/, plus big files generated here in tmp): each input
gives a clear error naming it, nothing from it is stored, and what was stored before is intact.

Already covered elsewhere, not repeated here: an empty file, a PNG named .txt, latin-1 text, a
scripts-only page, a JSONL line that breaks, a record without text, an unsupported suffix, a 1 MB
limit (tests/integration/test_ingest_articles.py::test_bad_file_is_named_and_store_unchanged,
::test_oversized_file_refused); a redirect loop, a 404, a slow first byte, a non-feed
(::test_bad_urls_and_feeds); every damaged-table layout (tests/unit/test_tables.py).
"""

from __future__ import annotations

import gzip
import time
import zipfile

import pytest

from ingest.pipeline import Ingester
from ingest.settings import IngestSettings
from tests.conftest import REPO
from tests.webserver import LocalWeb, LoopbackServer, QuietHandler

BAD = REPO / "tests" / "fixtures" / "bad"
GOOD = """title: The okapi baseline
source: reliability test brief
published: 2026-03-01

Japan held the most Treasurys of any foreign country at the end of February, the okapi baseline says.
"""


def state(kb) -> tuple:
    return (sorted((d["id"], d["content_hash"]) for d in kb.list_documents()),
            sorted(cid for cid, _, _ in kb.iter_chunks(with_text=False)))


@pytest.fixture
def seeded(kb, tmp_path):
    """A store holding one good document (and the sample table) before each bad input."""
    good = tmp_path / "good" / "okapi.md"
    good.parent.mkdir()
    good.write_text(GOOD, encoding="utf-8")
    report = Ingester(kb).ingest([str(good)])
    assert report.added == 1
    return kb


def ingest_bad(kb, inputs, settings=None, feed=False):
    before = state(kb)
    started = time.monotonic()
    report = Ingester(kb, settings).ingest([str(i) for i in inputs], feed=feed)
    elapsed = time.monotonic() - started
    return report, before, elapsed


@pytest.mark.parametrize("name,reason", [
    ("table5_cut_mid_row.txt", "line 13"),  # the cut Canada row: its line, and why
    ("table5_shifted_row.txt", "line 11"),
    ("table5_header_only.txt", "no data rows"),
    ("cp1252_article.md", "line 1: is not UTF-8 text (byte 0xe9)"),
    ("mixed_encoding.md", "line 5"),  # the UTF-8 part is fine; the line of the first bad byte is named
    ("utf16_article.txt", "looks like a binary file"),
    ("scripts_only.html", "no article text could be extracted"),
    ("broken_lines.jsonl", "line 2"),
    ("not_records.json", "must be a JSON object"),
    ("bad_front_matter.md", "is not valid YAML"),
])
def test_bad_file_is_refused_by_name_and_nothing_changes(seeded, name, reason):
    report, before, _ = ingest_bad(seeded, [BAD / name])
    assert report.failed == 1 and report.added == report.updated == 0, report.errors
    (error,) = report.errors
    assert str(BAD / name) in error and reason in error, error
    assert state(seeded) == before


def test_the_good_lines_of_a_broken_jsonl_are_not_half_stored(seeded):
    """All or nothing per file: line 1 is fine, line 2 is cut; line 1 must not be stored alone."""
    report, before, _ = ingest_bad(seeded, [BAD / "broken_lines.jsonl"])
    assert report.failed == 1 and report.added == 0, report.summary()
    assert all("broken_lines.jsonl" not in d["id"] for d in seeded.list_documents())
    assert state(seeded) == before


def test_a_100_mb_file_is_refused_without_reading_it(seeded, tmp_path):
    huge = tmp_path / "huge.txt"
    line = b"Japan holds the most Treasurys. " * 32 + b"\n"
    with open(huge, "wb") as handle:
        block = line * (1_000_000 // len(line) + 1)
        for _ in range(100):
            handle.write(block)
    assert huge.stat().st_size >= 100_000_000
    report, before, elapsed = ingest_bad(seeded, [huge])
    assert report.failed == 1 and "over the 20 MB limit" in report.errors[0] and str(huge) in report.errors[0]
    assert elapsed < 5  # refused by its size, not read and embedded
    assert state(seeded) == before
    # and in a folder beside good files, the good ones still go in
    (tmp_path / "mixed").mkdir()
    huge.rename(tmp_path / "mixed" / "huge.txt")
    (tmp_path / "mixed" / "fine.md").write_text(GOOD.replace("okapi baseline", "okapi sequel"), encoding="utf-8")
    report = Ingester(seeded).ingest([str(tmp_path / "mixed")])
    assert (report.added, report.failed) == (1, 1)


def test_a_zip_archive_named_like_an_article_is_refused(seeded, tmp_path):
    archive = tmp_path / "archive.txt"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("bomb.txt", b"0" * 50_000_000)  # 50 MB that compresses to ~50 KB
    assert archive.stat().st_size < 200_000
    report, before, _ = ingest_bad(seeded, [archive])
    assert report.failed == 1 and "binary" in report.errors[0]
    assert state(seeded) == before
    # a real .zip in a folder is skipped quietly (not a supported kind)
    folder = tmp_path / "withzip"
    folder.mkdir()
    archive.rename(folder / "archive.zip")
    report = Ingester(seeded).ingest([str(folder)])
    assert (report.added, report.failed) == (0, 0) and state(seeded) == before


def test_html_nested_a_hundred_thousand_deep_is_refused_quickly(seeded, tmp_path):
    depth = 100_000
    page = tmp_path / "nested.html"
    page.write_text("<html><body>" + "<div>" * depth + "<p>Japan holds the most Treasurys, says the nested page.</p>"
                    + "</div>" * depth + "</body></html>", encoding="utf-8")
    report, before, elapsed = ingest_bad(seeded, [page])
    assert report.failed == 1 and "no article text could be extracted" in report.errors[0]
    assert elapsed < 20
    assert state(seeded) == before


def test_feed_with_invalid_dates_and_duplicate_ids_stores_each_entry_once_without_a_false_date(seeded):
    report, before, _ = ingest_bad(seeded, [BAD / "feed_bad_dates_duplicate_ids.xml"], feed=True)
    # The entries' pages are unreachable (port 9): each entry falls back to its summary.
    assert report.failed == 0 and report.added == 3, report.errors
    docs = {d["id"]: d for d in seeded.list_documents() if "okapi-" in d["id"]}
    assert sorted(docs) == ["http://127.0.0.1:9/okapi-1", "http://127.0.0.1:9/okapi-2", "http://127.0.0.1:9/okapi-3"]
    first = docs["http://127.0.0.1:9/okapi-1"]
    assert first["title"] == "First okapi note"  # the first of the duplicates wins
    for doc in docs.values():
        assert "published" not in doc, doc  # an impossible date is not guessed into a real one
    assert docs["http://127.0.0.1:9/okapi-3"]["published_raw"] == "2025-13-45"  # kept as written
    # ingesting it again changes nothing
    again = Ingester(seeded).ingest([str(BAD / "feed_bad_dates_duplicate_ids.xml")], feed=True)
    assert again.unchanged == 3 and again.added == 0


# -- hostile servers ------------------------------------------------------------------------------

class HostileWeb(LoopbackServer):
    """Answers that LocalWeb cannot give: a gzip bomb, a body dripped a byte at a time, a redirect
    chain that never ends (a new address each time)."""

    def __init__(self):
        bomb = gzip.compress(b"<html><body><p>" + b"Japan " * 7_000_000 + b"</p></body></html>", compresslevel=6)
        self.hits = 0
        web = self

        class Handler(QuietHandler):
            def do_GET(self):
                web.hits += 1
                if self.path == "/bomb":
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Encoding", "gzip")
                    self.send_header("Content-Length", str(len(bomb)))
                    self.end_headers()
                    self.wfile.write(bomb)
                elif self.path == "/drip":
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html")
                    self.end_headers()
                    try:
                        for _ in range(2400):  # ten minutes at most, a byte every quarter second
                            self.wfile.write(b"<")
                            self.wfile.flush()
                            time.sleep(0.25)
                    except (BrokenPipeError, ConnectionResetError):
                        pass
                elif self.path.startswith("/chain/"):
                    n = int(self.path.rsplit("/", 1)[1])
                    self.send_response(301)
                    self.send_header("Location", f"/chain/{n + 1}")
                    self.end_headers()
                else:
                    self.send_response(404)
                    self.end_headers()

        super().__init__(Handler)


def test_gzip_bomb_over_http_is_stopped_at_the_size_limit(seeded):
    with HostileWeb() as web:
        report, before, elapsed = ingest_bad(seeded, [web.url + "/bomb"], IngestSettings(max_file_mb=5))
    assert report.failed == 1 and "over the 5 MB limit" in report.errors[0], report.errors
    assert elapsed < 30
    assert state(seeded) == before


def test_a_dripped_body_times_out_instead_of_hanging(seeded):
    """httpx's timeout is per read; the fetch also bounds the whole transfer (ingest/origins.py).
    Each byte comes well inside the 2 s read timeout, so only the transfer bound can stop it."""
    with HostileWeb() as web:
        report, before, elapsed = ingest_bad(seeded, [web.url + "/drip"], IngestSettings(fetch_timeout=2))
    assert report.failed == 1 and "did not finish within 8 s" in report.errors[0], report.errors
    assert elapsed < 20
    assert state(seeded) == before


def test_an_endless_redirect_chain_with_new_addresses_stops(seeded):
    with HostileWeb() as web:
        report, before, _ = ingest_bad(seeded, [web.url + "/chain/0"])
        hits = web.hits
    assert report.failed == 1 and "redirected more than 5 times" in report.errors[0]
    assert hits <= 7
    assert state(seeded) == before


def test_a_slow_feed_entry_page_falls_back_to_its_summary_in_bounded_time(seeded):
    feed = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Slow Feed</title>
<item><title>Slow page</title><link>{url}</link><guid>s1</guid><description>The slow page's summary mentions Chile.</description></item>
</channel></rss>"""
    with LocalWeb() as web:
        slow = web.add("/slow-page", body=b"<html><body><p>late</p></body></html>", delay=5)
        feed_url = web.add("/feed.xml", body=feed.replace(b"{url}", slow.encode()), content_type="application/rss+xml")
        started = time.monotonic()
        report = Ingester(seeded, IngestSettings(fetch_timeout=1)).ingest([feed_url], feed=True)
        elapsed = time.monotonic() - started
    assert report.added == 1 and report.failed == 0 and elapsed < 5
    doc = next(d for d in seeded.list_documents() if d["id"].endswith("/slow-page"))
    assert doc["title"] == "Slow page"
