"""A Chroma server that is not there yet, never comes, or dies in the middle of an ingest.

Already covered: the bot answering "The knowledge base is unavailable" while the server is down
and recovering without a restart (tests/integration/test_bot.py::
test_knowledge_base_going_away_gets_a_clear_reply_and_recovers).
"""

from __future__ import annotations

import logging
import re
import signal
import threading
import time

import pytest

from ingest import pipeline
from ingest.pipeline import Ingester
from retrieval.errors import KnowledgeBaseUnavailable
from retrieval.settings import RetrievalSettings
from retrieval.store import PENDING, KnowledgeBase
from tests.conftest import ChromaServer
from tests.reliability.conftest import write_corpus

pytestmark = pytest.mark.server


def server_kb_for(server, tmp_path, embedder) -> KnowledgeBase:
    return KnowledgeBase(RetrievalSettings(data_dir=tmp_path / "data", chroma_url=server.url, _env_file=None),
                         embedder=embedder)


def test_server_down_at_start_is_retried_with_backoff_until_it_comes(tmp_path, embedder, caplog):
    server = ChromaServer(tmp_path / "late-server")
    kb = server_kb_for(server, tmp_path, embedder)
    starter = threading.Timer(2.5, server.start)
    starter.start()
    try:
        caplog.set_level(logging.WARNING, logger="retrieval.store")
        started = time.monotonic()
        kb.wait_until_available(attempts=10, first_delay=0.5)
        waited = time.monotonic() - started
        kb.ping()
        delays = [float(d) for d in re.findall(r"retrying in ([\d.]+) s", caplog.text)]
        assert len(delays) >= 2 and delays == sorted(delays) and delays[1] == 2 * delays[0]  # backoff
        assert waited >= 2.0
    finally:
        starter.join()
        server.stop()


def test_server_that_never_comes_gives_a_clear_error(tmp_path, embedder):
    server = ChromaServer(tmp_path / "never")  # a port nobody listens on
    kb = server_kb_for(server, tmp_path, embedder)
    started = time.monotonic()
    with pytest.raises(KnowledgeBaseUnavailable) as err:
        kb.wait_until_available(attempts=3, first_delay=0.2)
    assert str(err.value).startswith("The knowledge base is unavailable, try again shortly.")
    assert server.url in str(err.value) and "Traceback" not in str(err.value)
    assert time.monotonic() - started < 30


def test_server_killed_during_an_ingest_then_back_the_rerun_completes_the_store(tmp_path, embedder, monkeypatch):
    server = ChromaServer(tmp_path / "dying-server")
    server.start()
    try:
        corpus = write_corpus(tmp_path / "corpus", 12)
        kb = server_kb_for(server, tmp_path, embedder)
        kb.ping()
        # The server dies right after the fourth document is committed: mid-ingest on any machine.
        monkeypatch.setattr(pipeline, "EMBED_BATCH_CHUNKS", 1)  # each document written on its own
        written = {"count": 0}
        write_documents = kb.write_documents

        def write_then_kill_the_server(writes):
            result = write_documents(writes)
            written["count"] += len(writes)
            if written["count"] == 4:
                server.process.send_signal(signal.SIGKILL)
                server.process.wait()
            return result

        monkeypatch.setattr(kb, "write_documents", write_then_kill_the_server)
        report = Ingester(kb).ingest([str(corpus)])
        assert report.added == 4 and report.failed == 8, report.summary()
        assert all("The knowledge base is unavailable" in e for e in report.errors), report.errors
        with pytest.raises(KnowledgeBaseUnavailable):
            kb.ping()  # a clear error while it is down, from the same object

        server.start()  # the same data directory, the same port
        report = Ingester(kb).ingest([str(corpus)])  # same KnowledgeBase object: no restart needed
        assert report.failed == 0, report.errors
        docs = kb.list_documents()
        assert len(docs) == 12 and len({d["id"] for d in docs}) == 12
        assert not [d for d in docs if d.get(PENDING)]
        assert kb.orphan_chunk_count() == 0
        assert kb.count_chunks() == sum(d["chunks"] for d in docs)
    finally:
        server.stop()
