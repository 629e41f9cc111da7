"""Reopening the embedded store clears chromadb's process-wide client cache: threads and other
knowledge bases of the process must neither see it half done nor keep a client it orphaned."""

from __future__ import annotations

import threading

from retrieval import store
from retrieval.settings import RetrievalSettings
from retrieval.store import KnowledgeBase


def test_a_reopen_waits_for_calls_in_flight_and_every_knowledge_base_reconnects(tmp_path, embedder):
    settings = RetrievalSettings(data_dir=tmp_path / "data", chroma_url="", _env_file=None)
    first, second = KnowledgeBase(settings, embedder=embedder), KnowledgeBase(settings, embedder=embedder)
    first.ping()
    second.ping()
    entered, release, results = threading.Event(), threading.Event(), []

    def slow_call():
        entered.set()
        release.wait(10)
        return first.documents_collection().count()

    caller = threading.Thread(target=lambda: results.append(first._run(slow_call)))
    caller.start()
    assert entered.wait(10)
    reopening = threading.Thread(target=second._reopen_embedded, args=(store._CLIENTS.epoch,))
    reopening.start()
    reopening.join(0.3)
    assert reopening.is_alive()  # held back while a call is in flight
    release.set()
    caller.join(10)
    reopening.join(10)
    assert not reopening.is_alive() and results == [0]
    # The first knowledge base's client belonged to the cleared cache: it reconnects.
    assert first.count_chunks() == 0 and second.count_chunks() == 0


def test_calls_that_fail_together_reopen_the_store_once(tmp_path, embedder):
    settings = RetrievalSettings(data_dir=tmp_path / "data", chroma_url="", _env_file=None)
    first, second = KnowledgeBase(settings, embedder=embedder), KnowledgeBase(settings, embedder=embedder)
    first.ping()
    seen = store._CLIENTS.epoch  # both calls failed on the clients of this epoch
    first._reopen_embedded(seen)
    second._reopen_embedded(seen)  # the first reopen already gave it fresh clients
    assert store._CLIENTS.epoch == seen + 1
    assert first.count_chunks() == 0 and second.count_chunks() == 0
