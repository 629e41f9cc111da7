"""The BM25 index: its scores, its document-by-document updates, and the file it is kept in."""

from __future__ import annotations

import math

import numpy as np
import pytest

from retrieval.keyword import BM25Index, Row, tokenize
from retrieval.search import SearchFilter

ROWS = [
    Row("a|0", "Japan holds the most Treasurys of any foreign country.", "a", "article", 20250517),
    Row("a|1", "Japan trimmed its Treasury holdings in March.", "a", "article", 20250517),
    Row("b|0", "China holds fewer Treasurys than Japan.", "b", "article", 20240102),
    Row("c|0", "Belgium custody holdings rose; Belgium is a custody hub.", "c", "table", 0),
]


def bm25(rows: list[Row], query: str) -> dict[str, float]:
    """The textbook formula, written out, to check the array version against."""
    docs = [tokenize(r.text) for r in rows]
    avg = sum(map(len, docs)) / len(docs)
    out = {}
    for row, terms in zip(rows, docs):
        score = 0.0
        for term in set(tokenize(query)):
            df = sum(term in d for d in docs)
            tf = terms.count(term)
            if tf:
                idf = math.log(1 + (len(docs) - df + 0.5) / (df + 0.5))
                score += idf * tf * 2.4 / (tf + 1.4 * (1 - 0.75 + 0.75 * len(terms) / avg))
        out[row.id] = score
    return out


def scores_by_id(index: BM25Index, query: str) -> dict[str, float]:
    return dict(zip(index.ids, index.scores(query).tolist()))


@pytest.mark.parametrize("query", ["Japan Treasurys", "custody hub Belgium", "holdings", "nothing like it"])
def test_scores_are_bm25(query):
    index = BM25Index().updated((), ROWS)
    assert scores_by_id(index, query) == pytest.approx(bm25(ROWS, query), rel=1e-5)


def test_an_update_equals_a_fresh_build_and_leaves_the_old_index_alone():
    first = BM25Index().updated((), ROWS, {"a": "h1", "b": "h1", "c": "h1"})
    new_a = [Row("a|0", "Japan sold Treasurys for a third month.", "a", "article", 20250601)]
    second = first.updated(["a", "b"], new_a, {"a": "h2"})
    expected = BM25Index().updated((), [ROWS[3]] + new_a)
    assert sorted(second.ids) == sorted(expected.ids) == ["a|0", "c|0"]
    assert second.docs == {"a": "h2", "c": "h1"}
    for query in ["Japan Treasurys", "third month", "custody", "trimmed"]:
        assert scores_by_id(second, query) == pytest.approx(scores_by_id(expected, query))
    assert not second.known("trimm") and not second.known("china")  # the dropped rows' words are gone
    assert second.newest_day("article") == 20250601
    # A search still running on the old index sees it whole.
    assert first.ids == ["a|0", "a|1", "b|0", "c|0"] and first.known("china")
    assert scores_by_id(first, "China") == pytest.approx(bm25(ROWS, "China"))


def test_masks_by_kind_and_day():
    index = BM25Index().updated((), ROWS)
    assert SearchFilter(None).mask(index.columns) is None
    assert SearchFilter(("table",)).mask(index.columns).tolist() == [False, False, False, True]
    assert SearchFilter(("article",), since_day=20250101).mask(index.columns).tolist() == [True, True, False, False]
    assert SearchFilter(None, until_day=20241231).mask(index.columns).tolist() == [False, False, True, False]  # undated rows excluded
    top = index.top("Japan holdings", 3, SearchFilter(("article",)).mask(index.columns))
    assert [index.ids[i] for i, _ in top][:1] == ["a|1"] and all(index.ids[i] != "c|0" for i, _ in top)


def test_saved_index_loads_only_for_its_own_store(tmp_path):
    path = tmp_path / "kw" / "keyword-index.npz"
    index = BM25Index().updated((), ROWS, {"a": "h1", "b": "h1", "c": "h1"})
    index.save(path, "store-1")
    loaded = BM25Index.load(path, "store-1")
    assert loaded.ids == index.ids and loaded.row_docs == index.row_docs and loaded.docs == index.docs
    assert loaded.kinds.tolist() == index.kinds.tolist() and loaded.days.tolist() == index.days.tolist()
    assert scores_by_id(loaded, "Japan custody") == pytest.approx(scores_by_id(index, "Japan custody"))
    assert BM25Index.load(path, "store-2") is None
    assert BM25Index.load(tmp_path / "absent.npz", "store-1") is None
    assert [p.name for p in path.parent.iterdir()] == ["keyword-index.npz"]  # no temporary file left


def test_a_damaged_file_is_not_trusted(tmp_path, caplog):
    path = tmp_path / "keyword-index.npz"
    BM25Index().updated((), ROWS).save(path, "k")
    path.write_bytes(path.read_bytes()[:200])
    assert BM25Index.load(path, "k") is None
    assert "keyword-index.npz" in caplog.text and "rebuilding" in caplog.text


def test_empty_index_answers_nothing():
    index = BM25Index()
    assert index.top("Japan", 5) == [] and len(index) == 0 and not index.known("japan")
    assert index.newest_day("article") == 0
    assert isinstance(index.scores("Japan"), np.ndarray)
