"""Guild scopes through the `desk` command line, on embedded Chroma and on a `chroma run` server:
a document ingested with --guild 111 is 111's alone; documents ingested without a guild are every server's."""

from __future__ import annotations

import json

import pytest

from bot.cli import main

PRIVATE = """title: The pelican review of custody accounts
source: Team 111 internal brief
published: 2026-05-02
url: https://example.com/team111/pelican-review

The pelican review is team 111's monthly reconciliation of custody accounts against Treasury's holdings table. The pelican review found a gap of 4 billion dollars in March.
"""
COMMON_PAGE = PRIVATE.replace("team111", "common").replace("Team 111", "Common").replace("pelican", "heron").replace(
    "team 111's", "the desk's")


@pytest.fixture(params=["embedded", "server"])
def store(request, tmp_path, monkeypatch):
    """The CLI's store: embedded under the test's data directory, or the real Chroma server."""
    if request.param == "server":
        server_kb = request.getfixturevalue("server_kb")  # empties the server's collections
        monkeypatch.setenv("DESK_CHROMA_URL", server_kb.settings.chroma_url)
    return request.param


def desk_json(capsys, *argv) -> object:
    capsys.readouterr()
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def cited_urls(answer: dict) -> set[str]:
    return {c.get("url", "") for c in answer["citations"]}


def test_a_guild_document_is_seen_and_forgotten_by_its_guild_only(store, tmp_path, capsys):
    (tmp_path / "private.md").write_text(PRIVATE, encoding="utf-8")
    (tmp_path / "common.md").write_text(COMMON_PAGE, encoding="utf-8")
    assert main(["ingest", "--guild", "111", str(tmp_path / "private.md")]) == 0
    assert main(["ingest", str(tmp_path / "common.md")]) == 0

    own = desk_json(capsys, "ask", "What did the pelican review find?", "--guild", "111")
    assert "https://example.com/team111/pelican-review" in cited_urls(own)
    assert "4 billion" in own["text"]
    for other in (["--guild", "222"], []):  # another server, and a DM / the CLI without a scope
        answer = desk_json(capsys, "ask", "What did the pelican review find?", *other)
        assert "https://example.com/team111/pelican-review" not in cited_urls(answer)
        assert "pelican" not in answer["text"].lower()
    common = desk_json(capsys, "ask", "What did the heron review find?", "--guild", "222")
    assert "https://example.com/common/heron-review" in cited_urls(common)

    listed_222 = {d["id"] for d in desk_json(capsys, "sources", "--guild", "222")}
    listed_111 = {d["id"] for d in desk_json(capsys, "sources", "--guild", "111")}
    (private_id,) = listed_111 - listed_222
    (common_id,) = listed_222
    assert private_id.startswith("g111:") and common_id in listed_111

    capsys.readouterr()
    assert main(["forget", "--guild", "222", private_id]) == 1  # another guild's: unknown to 222
    assert "no document with id" in capsys.readouterr().err
    assert main(["forget", "--guild", "111", common_id]) == 1  # every server's: not one guild's to remove
    assert "shared by every server" in capsys.readouterr().err
    assert {d["id"] for d in desk_json(capsys, "sources")} == {private_id, common_id}
    assert main(["forget", "--guild", "111", private_id]) == 0
    assert {d["id"] for d in desk_json(capsys, "sources")} == {common_id}


def test_a_refusal_tells_no_server_what_another_has_ingested(store, tmp_path, capsys):
    (tmp_path / "private.md").write_text(PRIVATE, encoding="utf-8")
    assert main(["ingest", "--guild", "111", str(tmp_path / "private.md")]) == 0
    own = desk_json(capsys, "ask", "What gap did the Pelican Review find?", "--guild", "111")
    assert not own["refused"] and "4 billion" in own["text"]
    # To server 222 the name is as unknown as one nobody ingested: the same reply, by its name.
    other = desk_json(capsys, "ask", "What gap did the Pelican Review find?", "--guild", "222")
    nobody = desk_json(capsys, "ask", "What gap did the Osprey Review find?", "--guild", "222")
    assert other["text"].startswith("I don't know from my sources: none of them mentions Pelican Review.")
    assert nobody["text"].startswith("I don't know from my sources: none of them mentions Osprey Review.")


def test_a_store_written_before_scopes_is_seen_by_every_guild(kb, capsys):
    """Documents without the guild field (every store written before this change) are every server's."""
    from ingest.documents import SourceDocument
    from ingest.pipeline import Ingester, IngestReport

    doc = SourceDocument(doc_id="https://example.com/old/ibis", text="The ibis note says custody moved to Belgium in 2019.",
                         ref="old.md", title="The ibis note", url="https://example.com/old/ibis", published="2025-01-02")
    ingester = Ingester(kb)
    ingester.store_document(doc, IngestReport())
    ingester.flush()
    assert "guild_id" not in kb.get_document(doc.doc_id)
    answer = desk_json(capsys, "ask", "Where did the ibis note say custody moved?", "--guild", "333",
                       "--data-dir", str(kb.settings.data_dir))
    assert "https://example.com/old/ibis" in cited_urls(answer)
