"""A store without a usable keyword-index file: questions are answered at once by dense search
while a background thread reads every chunk and builds the index; no question waits for it."""

from __future__ import annotations

import threading
from pathlib import Path

from ingest.pipeline import Ingester
from retrieval.search import Retriever

MEMOS = {
    "one": ("Okapi memo", "The okapi memo says Norway bought bills in May."),
    "two": ("Heron memo", "The heron memo says Brazil sold notes after the tariff news."),
    "three": ("Lemur memo", "The lemur memo says Sweden held its Treasury bonds steady."),
}


def ingest_memos(kb, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, (title, body) in MEMOS.items():
        (folder / f"{name}.txt").write_text(f"title: {title}\npublished: 2025-06-0{len(name)}\n\n{body}\n")
    assert Ingester(kb).ingest([str(folder)]).added == len(MEMOS)


class HeldFullRead:
    """Holds every whole-store chunk read until released, and records which thread made it."""

    def __init__(self, kb, monkeypatch):
        self.release = threading.Event()
        self.readers: list[str] = []
        real = kb.iter_chunks

        def iter_chunks(where=None, **kwargs):
            if where is None:
                self.readers.append(threading.current_thread().name)
                assert self.release.wait(120), "the full read was never released"
            return real(where, **kwargs)

        monkeypatch.setattr(kb, "iter_chunks", iter_chunks)


def titles(hits) -> list[str]:
    return [h.meta["title"] for h in hits]


def test_questions_are_answered_by_dense_search_while_the_index_is_built_in_the_background(kb, tmp_path, monkeypatch):
    ingest_memos(kb, tmp_path / "in")
    saved = kb.settings.data_dir / "keyword-index.npz"
    saved.unlink(missing_ok=True)  # as for a store written before the index file existed
    held = HeldFullRead(kb, monkeypatch)
    retriever = Retriever(kb, inline_build_max_chunks=0)  # a "large" store

    # The full read is held, yet the question is answered: it never waited for the build.
    hits = retriever.search("Which memo says Norway bought bills?", k=3)
    assert titles(hits)[0] == "Okapi memo"
    assert all(set(h.ranks) == {"dense"} for h in hits)
    assert retriever.building and not saved.exists()
    # The keyword-only search stands in with the dense ranking rather than finding nothing.
    assert titles(retriever.keyword_search("heron Brazil notes", k=1)) == ["Heron memo"]
    assert retriever.known("okapi") and retriever.visible_word("norwegian", None, stem=True)  # no word is refused meanwhile

    held.release.set()
    assert retriever.wait_for_index(timeout=120)
    assert held.readers == ["keyword-index-build"]  # the one whole-store read, off the question's thread
    assert saved.exists()
    hits = retriever.search("okapi Norway bills", k=3)
    assert titles(hits)[0] == "Okapi memo" and hits[0].ranks.get("keyword") == 1
    assert not retriever.known("wombat") and retriever.known("okapi")

    # A new process finds the file: no build, no whole-store read.
    later = Retriever(kb, inline_build_max_chunks=0)
    assert titles(later.keyword_search("lemur Sweden", k=1)) == ["Lemur memo"]
    assert not later.building and held.readers == ["keyword-index-build"]


def test_a_document_written_during_the_build_is_indexed_by_the_next_refresh(kb, tmp_path, monkeypatch):
    ingest_memos(kb, tmp_path / "in")
    (kb.settings.data_dir / "keyword-index.npz").unlink(missing_ok=True)
    held = HeldFullRead(kb, monkeypatch)
    retriever = Retriever(kb, inline_build_max_chunks=0)
    retriever.refresh()
    assert retriever.building

    (tmp_path / "more").mkdir()
    (tmp_path / "more" / "four.txt").write_text("title: Ibis memo\npublished: 2025-06-09\n\nThe ibis memo says Chile bought bonds.\n")
    assert Ingester(kb).ingest([str(tmp_path / "more")]).added == 1
    held.release.set()
    assert retriever.wait_for_index(timeout=120)
    retriever.refresh(max_age=0)
    assert titles(retriever.keyword_search("ibis Chile", k=1)) == ["Ibis memo"]
    assert held.readers == ["keyword-index-build"]


def test_a_small_store_is_still_indexed_before_its_first_answer(kb, tmp_path, monkeypatch):
    ingest_memos(kb, tmp_path / "in")
    (kb.settings.data_dir / "keyword-index.npz").unlink(missing_ok=True)
    retriever = Retriever(kb)  # three chunks: well under the inline limit
    hits = retriever.search("okapi Norway bills", k=3)
    assert not retriever.building
    assert titles(hits)[0] == "Okapi memo" and hits[0].ranks.get("keyword") == 1


def test_a_new_process_trusts_a_file_of_the_stores_generation_and_nothing_older(kb, tmp_path, monkeypatch):
    ingest_memos(kb, tmp_path / "in")
    Retriever(kb).update_index()
    listings = []
    real = kb.list_documents
    monkeypatch.setattr(kb, "list_documents", lambda *a, **k: listings.append(a) or real(*a, **k))

    fresh = Retriever(kb)  # as a new process: the file is of the store's generation
    assert titles(fresh.search("okapi Norway bills", k=1)) == ["Okapi memo"]
    assert listings == []  # the file's documents were taken as the committed ones

    assert kb.forget("one.txt")  # the generation moves on
    later = Retriever(kb)
    assert "Okapi memo" not in titles(later.search("okapi Norway bills", k=3))
    assert not later.known("okapi")
    assert len(listings) == 1
    assert Retriever(kb).known("heron") and len(listings) == 1  # and the file was saved at the new generation


def test_a_document_written_in_this_process_is_found_by_the_next_question_at_once(kb, tmp_path):
    # The bot answers right after its own /ingest: the half-second between generation checks
    # must not hide what this process has just written.
    ingest_memos(kb, tmp_path / "in")
    retriever = Retriever(kb)
    retriever.search("okapi", k=1)
    (tmp_path / "more").mkdir()
    (tmp_path / "more" / "ibis.txt").write_text("title: Ibis memo\npublished: 2025-06-09\n\nThe ibis memo says Chile sold bills.\n")
    assert Ingester(kb).ingest([str(tmp_path / "more")]).added == 1
    retriever.refresh(max_age=3600)  # no check is due by the clock
    assert titles(retriever.search("ibis memo Chile", k=1)) == ["Ibis memo"]
