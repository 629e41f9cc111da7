"""The keyword index against a real store: kept on disk for the next process, updated by
document when the store changes, never serving a forgotten or replaced document."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ingest.pipeline import Ingester
from retrieval.search import Retriever


def brief(folder: Path, name: str, title: str, body: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.txt"
    path.write_text(f"title: {title}\npublished: 2025-06-0{len(name) % 9 + 1}\n\n{body}\n")
    return path


def chunk_reads(kb, monkeypatch) -> list:
    """Every whole-store or filtered chunk read the retriever makes, by its `where`."""
    reads = []
    real = kb.iter_chunks
    monkeypatch.setattr(kb, "iter_chunks", lambda where=None, **kw: reads.append(where) or real(where, **kw))
    return reads


def titles(hits) -> list[str]:
    return [h.meta["title"] for h in hits]


def test_a_new_process_loads_the_saved_index_and_updates_it_by_document(kb, tmp_path, monkeypatch):
    corpus = tmp_path / "in"
    brief(corpus, "one", "Okapi memo", "The okapi memo says Norway bought bills.")
    brief(corpus, "two", "Heron memo", "The heron memo says Brazil sold notes.")
    assert Ingester(kb).ingest([str(corpus)]).added == 2
    first = Retriever(kb)
    assert titles(first.keyword_search("okapi Norway")) == ["Okapi memo"]
    assert (kb.settings.data_dir / "keyword-index.npz").exists()

    reads = chunk_reads(kb, monkeypatch)
    later = Retriever(kb)  # as a new process would: nothing in memory yet
    hits = later.keyword_search("heron Brazil")
    assert titles(hits) == ["Heron memo"] and "Brazil sold notes" in hits[0].text
    assert reads == []  # read from the file, not from every chunk

    brief(corpus, "three", "Lemur memo", "The lemur memo says Sweden held steady.")
    assert Ingester(kb).ingest([str(corpus)]).added == 1
    later.refresh(max_age=0)
    assert reads == [{"doc_id": {"$in": ["three.txt"]}}]  # only the new document is read
    assert titles(later.keyword_search("lemur Sweden")) == ["Lemur memo"]
    assert titles(later.keyword_search("okapi Norway")) == ["Okapi memo"]


def test_replaced_and_forgotten_documents_leave_the_keyword_index(kb, tmp_path):
    corpus = tmp_path / "in"
    path = brief(corpus, "one", "Okapi memo", "The okapi memo says Norway bought bills.")
    brief(corpus, "two", "Heron memo", "The heron memo says Brazil sold notes.")
    Ingester(kb).ingest([str(corpus)])
    retriever = Retriever(kb)
    assert titles(retriever.keyword_search("Norway bills")) == ["Okapi memo"]

    path.write_text("title: Okapi memo\npublished: 2025-06-04\n\nThe okapi memo now says Chile bought bonds.\n")
    assert Ingester(kb).ingest([str(corpus)]).updated == 1
    retriever.refresh(max_age=0)
    assert retriever.keyword_search("Norway bills") == []
    assert [h.text for h in retriever.keyword_search("Chile bonds")] == ["The okapi memo now says Chile bought bonds."]

    assert kb.forget("two.txt")
    retriever.refresh(max_age=0)
    assert retriever.keyword_search("heron Brazil") == []
    assert not retriever.known("heron")
    # The dense half of the hybrid search agrees: the forgotten memo is nowhere.
    assert "Heron memo" not in titles(retriever.search("heron memo Brazil", k=5))


def test_a_damaged_index_file_is_rebuilt_from_the_store(kb, tmp_path):
    corpus = tmp_path / "in"
    brief(corpus, "one", "Okapi memo", "The okapi memo says Norway bought bills.")
    Ingester(kb).ingest([str(corpus)])
    Retriever(kb).refresh()
    saved = kb.settings.data_dir / "keyword-index.npz"
    saved.write_bytes(b"not an index")
    assert titles(Retriever(kb).keyword_search("okapi")) == ["Okapi memo"]
    assert saved.read_bytes()[:2] == b"PK"  # written again, whole


def test_a_passage_found_by_its_words_alone_is_scored_by_its_meaning_too(kb, tmp_path, monkeypatch):
    # One candidate from each ranking, so the word match cannot also be the nearest in meaning.
    monkeypatch.setattr("retrieval.search.CANDIDATES", 1)
    corpus = tmp_path / "in"
    brief(corpus, "one", "Tokyo memo", "Tokyo offloaded American government bonds to defend the yen.")
    brief(corpus, "two", "Lab memo", "The zebrafish study in the lab found nothing about markets at all.")
    Ingester(kb).ingest([str(corpus)])
    query = "did Japan dump its Treasury holdings for its currency? zebrafish"  # no word of the Tokyo memo
    hits = {h.meta["title"]: h for h in Retriever(kb).search(query, k=5)}
    assert set(hits) == {"Tokyo memo", "Lab memo"}
    found_by_words = hits["Lab memo"]
    assert "dense" not in found_by_words.ranks and "keyword" in found_by_words.ranks
    vector = np.asarray(kb.embedder.embed_query(query))
    embedded = f"{found_by_words.meta['title']}\n{found_by_words.text}"  # as ingest embeds it
    expected = float(vector @ np.asarray(kb.embedder.embed_documents([embedded])[0]))
    assert found_by_words.similarity == pytest.approx(expected, abs=1e-4)
    assert 0 < found_by_words.similarity < hits["Tokyo memo"].similarity
