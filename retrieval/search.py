"""Hybrid search: Chroma's dense ranking fused with the project's BM25 ranking (RRF, k=60).

Only committed chunks count (a chunk whose content hash is not its document's current one
is an orphan of an interrupted or replaced ingest). One chunk per document, and one
document per story: near-duplicates collapse to the newest.
"""

from __future__ import annotations

import functools
import logging
import operator
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from retrieval.keyword import BM25Index, Row, release_freed_memory
from retrieval.store import Hit, KnowledgeBase, id_visible_to, visible_to

log = logging.getLogger(__name__)

RRF_K = 60
CANDIDATES = 40
# A store this small is indexed on the question's path (~3,000 chunks per CPU-second, so well
# under a second): its first answers keep the keyword ranking and corpus statistics. A bigger
# store without a usable index file is indexed in the background (issue 18).
INLINE_BUILD_MAX_CHUNKS = 2000
STEM = 4  # letters two forms of a name share ("norw" of "Norway" and "Norwegian")


DAY = "published_day"  # YYYYMMDD, 0 when unknown: an undated chunk is in no date range


@dataclass(frozen=True)
class _Rule:
    """One field of SearchFilter and how it tests a chunk. Chroma's `where`, the per-hit `allows`
    and the keyword index's row mask are all compiled from these, so the three cannot disagree."""

    field: str  # the SearchFilter attribute; empty (None, 0) sets no condition
    key: str  # the chunk metadata it tests, also a column of the keyword index
    op: str  # the comparison, in Chroma's words


_RULES = (
    _Rule("kinds", "kind", "$in"),
    _Rule("since_day", DAY, "$gte"),
    _Rule("until_day", DAY, "$lte"),
)
# Each works on one value (a hit's metadata) and on a column of them (the index's numpy arrays).
_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "$in": lambda value, wanted: np.isin(value, list(wanted)) if isinstance(value, np.ndarray) else value in wanted,
    "$gte": operator.ge,
    "$lte": operator.le,
}


@dataclass
class SearchFilter:
    kinds: tuple[str, ...] | None = None  # "article", "table"
    since_day: int = 0  # YYYYMMDD, inclusive
    until_day: int = 0
    # Shared documents plus this guild's own; None: shared documents only (a DM, the CLI).
    # Not part of where(): Chroma cannot match "field absent" (shared, and every document of an
    # older store), so the scope is applied with allows() on every path of the Retriever.
    guild_id: int | None = None

    def _conditions(self) -> list[tuple[_Rule, Any]]:
        return [(rule, getattr(self, rule.field)) for rule in _RULES if getattr(self, rule.field)]

    @staticmethod
    def _passes(rule: _Rule, wanted: Any, value: Any) -> Any:
        passed = _COMPARE[rule.op](value, wanted)
        return passed & (value != 0) if rule.key == DAY else passed

    def where(self) -> dict | None:
        """Chroma's pre-filter; undated chunks it lets through an end date are dropped by allows()."""
        clauses = [
            {rule.key: {rule.op: list(wanted) if rule.op == "$in" else wanted}} for rule, wanted in self._conditions()
        ]
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def allows(self, meta: dict) -> bool:
        if not visible_to(meta, self.guild_id):
            return False
        return all(
            self._passes(rule, wanted, int(meta.get(DAY) or 0) if rule.key == DAY else meta.get(rule.key))
            for rule, wanted in self._conditions()
        )

    def mask(self, columns: dict[str, np.ndarray]) -> np.ndarray | None:
        """The keyword index's rows that pass, from its columns; None when nothing is excluded."""
        allowed = None
        for rule, wanted in self._conditions():
            passed = self._passes(rule, wanted, columns[rule.key])
            allowed = passed if allowed is None else allowed & passed
        return allowed


class Retriever:
    """Dense search fused with the BM25 ranking, over the committed chunks.

    The keyword index is loaded from its file and updated document by document on a question's
    path; it is never built from scratch there. When there is nothing to update from (no file,
    another store's file, or most documents changed), a background thread builds it while the
    answers use dense search alone (`building` is true meanwhile). A store of at most
    `inline_build_max_chunks` chunks is indexed at once instead."""

    def __init__(self, kb: KnowledgeBase, inline_build_max_chunks: int = INLINE_BUILD_MAX_CHUNKS):
        self.kb = kb
        self.inline_build_max_chunks = inline_build_max_chunks
        self._lock = threading.Lock()
        self._generation = -1
        self._checked_at = 0.0
        self._writes_seen = 0  # the store's in-process writes when last checked
        self._index: BM25Index | None = None
        self._builder: threading.Thread | None = None
        self.committed: dict[str, str] = {}  # doc_id -> content hash of the stored version
        self.newest_day = 0  # YYYYMMDD of the newest stored article
        self._prefixes: tuple[int, set[str]] | None = None  # (id of the index, its term prefixes)

    @property
    def building(self) -> bool:
        """Whether the keyword index is being built in the background (answers use dense search)."""
        builder = self._builder
        return builder is not None and builder.is_alive()

    def wait_for_index(self, timeout: float | None = None) -> bool:
        """Block until a background build has finished (and its file is saved); True when done.
        A short-lived process calls it after answering, so that the next one finds the file."""
        builder = self._builder
        if builder is not None:
            builder.join(timeout)
        return not self.building

    def update_index(self) -> None:
        """Bring the keyword index and its file up to date now, waiting for a build if one is
        needed: for writers (`desk ingest`), so that questions find the file current."""
        self.refresh(max_age=0)
        self.wait_for_index()

    @property
    def generation(self) -> int:
        """The store's write generation as last checked by refresh()."""
        return self._generation

    def refresh(self, max_age: float = 0.5) -> None:
        """Bring the keyword index up to date when the store changed (checked at most every max_age s)."""
        now = time.monotonic()
        fresh = now - self._checked_at < max_age and self.kb.writes == self._writes_seen
        if self.building or (fresh and self._index is not None):
            return  # a build re-arms the check when it is done
        rebuilt = False
        with self._lock:
            self._writes_seen = self.kb.writes
            generation = self.kb.generation()
            self._checked_at = time.monotonic()
            if generation == self._generation and self._index is not None:
                return
            index = self._index or self._saved_index()
            if self._index is None and index is not None and index.generation == generation and generation > 0:
                # The file describes the store as it is: its documents are the committed ones.
                self.committed = dict(index.docs)
                self._install(index, generation)
                return
            documents = self.kb.list_documents()
            committed = {d["id"]: d.get("content_hash", "") for d in documents}
            # The dense ranking only needs to know what is committed: it is current at once.
            self.committed = committed
            changed = [d for d, h in committed.items() if index is None or index.docs.get(d) != h]
            gone = [d for d in index.docs if committed.get(d) != index.docs[d]] if index is not None else []
            full = index is None or len(changed) > len(committed) // 2
            if full and self.kb.count_chunks() > self.inline_build_max_chunks:
                # Nothing to update from, or nearly everything changed: one pass over every chunk
                # (35-50 s at 100k), too long for a question to wait. Meanwhile a loaded but stale
                # index still ranks (its gone chunks are dropped when read), or dense alone does.
                self._start_build(generation)
                self._index = index
                self.newest_day = index.newest_day("article") if index is not None else _newest_article_day(documents)
                return
            if full:
                index = BM25Index().updated((), self._rows(self.kb.iter_chunks(), committed), committed)
                rebuilt = True
            elif changed or gone:
                assert index is not None  # not full: there is an index to update
                chunks = ((cid, text, meta) for cid, text, meta, _ in self.kb.iter_document_chunks(changed))
                index = index.updated(gone, self._rows(chunks, committed), {d: committed[d] for d in changed})
                rebuilt = True
            # A file of an older generation (or none recorded) is saved again even when no document
            # changed, so that the next process can skip listing the documents.
            assert index is not None  # rebuilt above, or not full: there was one already
            rebuilt = rebuilt or index.generation != generation
            self._install(index, generation)
        # Outside the lock: answers on other threads need not wait for the file or the trim.
        if rebuilt:
            self._save(index, generation)
        # Reading the documents and chunks leaves freed pages the allocator keeps: ~140 MiB at 100k.
        release_freed_memory()

    def _install(self, index: BM25Index, generation: int) -> None:
        self._index = index
        # What "now" means to the knowledge base: the newest article it holds.
        self.newest_day = index.newest_day("article")
        self._generation = generation

    @staticmethod
    def _rows(chunks, committed: dict[str, str]) -> list[Row]:
        return [
            Row(
                chunk_id,
                _index_text(text, meta),
                meta["doc_id"],
                str(meta.get("kind", "")),
                int(meta.get("published_day") or 0),
            )
            for chunk_id, text, meta in chunks
            if committed.get(meta.get("doc_id")) == meta.get("content_hash")
        ]

    def _start_build(self, generation: int) -> None:
        """Build the whole index in a thread (called under the lock; one build at a time)."""
        if self.building:
            return
        self._builder = threading.Thread(
            target=self._build, args=(generation,), name="keyword-index-build", daemon=True
        )
        self._builder.start()

    def _build(self, generation: int) -> None:
        started = time.perf_counter()
        try:
            # The documents are read again after the generation: a write in between leaves the
            # index describing a newer state than `generation`, which the next refresh re-checks.
            committed = {d["id"]: d.get("content_hash", "") for d in self.kb.list_documents()}
            rows = self._rows(self.kb.iter_chunks(), committed)  # one pass beats many filtered reads
            index = BM25Index().updated((), rows, committed)
            del rows
            with self._lock:
                self._install(index, generation)
                self._checked_at = 0.0  # the next question checks for writes made meanwhile
            self._save(index, generation)
            log.info(
                "keyword index of %d chunks built in the background in %.1f s",
                len(index),
                time.perf_counter() - started,
            )
        except Exception as exc:  # the next refresh tries again; answers go on with dense search
            log.warning("building the keyword index failed: %s: %s", type(exc).__name__, exc)
        finally:
            release_freed_memory()

    def _index_path(self):
        return self.kb.settings.data_dir / "keyword-index.npz"

    def _index_key(self) -> str:
        # The chunk collection's own id: a store rebuilt from scratch never matches an old file,
        # and one store read embedded or through `chroma run` shares its index.
        return str(self.kb.chunks().id)

    def _saved_index(self) -> BM25Index | None:
        return BM25Index.load(self._index_path(), self._index_key())

    def _save(self, index: BM25Index, generation: int) -> None:
        index.generation = generation
        try:
            index.save(self._index_path(), self._index_key(), generation)
        except OSError as exc:  # a read-only data directory only costs the next process a rebuild
            log.warning("could not save the keyword index to %s: %s", self._index_path(), exc)

    def search(
        self,
        query: str,
        k: int = 6,
        flt: SearchFilter | None = None,
        vector: list[float] | None = None,
        per_doc: int = 1,
    ) -> list[Hit]:
        """The k best chunks; `per_doc` > 1 keeps that many chunks of each document (the answer
        sentence is not always in the chunk that matched best)."""
        self.refresh()
        flt = flt or SearchFilter()
        if vector is None:
            vector = self.kb.embedder.embed_query(query)
        dense = self._dense(vector, flt)
        fused: dict[str, Hit] = {}
        for rank, hit in enumerate(dense, start=1):
            hit.ranks["dense"] = rank
            hit.score += 1.0 / (RRF_K + rank)
            fused[hit.id] = hit
        for rank, hit in enumerate(self._keyword_hits(query, flt, known=fused, vector=vector), start=1):
            hit = fused.setdefault(hit.id, hit)
            hit.ranks["keyword"] = rank
            hit.score += 1.0 / (RRF_K + rank)
        ranked = sorted(fused.values(), key=lambda h: (h.score, h.meta.get("published_day", 0)), reverse=True)
        return collapse(ranked, per_doc)[:k]

    def keyword_search(self, query: str, k: int = 6, flt: SearchFilter | None = None, per_doc: int = 1) -> list[Hit]:
        """The BM25 ranking alone: no embedding, so it costs about a millisecond. While the index
        is first built, the dense ranking stands in for it."""
        self.refresh()
        if self._index is None:
            return self.search(query, k, flt, per_doc=per_doc)
        hits = self._keyword_hits(query, flt or SearchFilter())
        for rank, hit in enumerate(hits, start=1):
            hit.score = 1.0 / (RRF_K + rank)
            hit.ranks["keyword"] = rank
        return collapse(hits, per_doc)[:k]

    def _keyword_hits(
        self, query: str, flt: SearchFilter, known: dict[str, Hit] | None = None, vector: list[float] | None = None
    ) -> list[Hit]:
        """BM25's best chunks in rank order; the index holds no texts, so those not already in
        `known` are read from Chroma in one call (with their similarity to `vector`, when given)."""
        index = self._index
        if index is None:  # being built: dense search alone meanwhile
            return []
        ranked = [index.ids[row] for row, _ in index.top(query, CANDIDATES, flt.mask(index.columns))]
        known = known or {}
        missing = [chunk_id for chunk_id in ranked if chunk_id not in known]
        fetched = self.kb.get_chunks(missing, vector) if missing else {}
        hits = []
        for chunk_id in ranked:
            if chunk_id in known:
                hits.append(known[chunk_id])
            elif chunk_id in fetched and flt.allows(fetched[chunk_id].meta):
                # Gone only if forgotten since the index was read; another guild's document is never a hit.
                hits.append(fetched[chunk_id])
        return hits

    def _dense(self, vector: list[float], flt: SearchFilter) -> list[Hit]:
        """Chroma's nearest chunks that pass the filter.

        A `where` filter makes Chroma's query about 60x slower at 100k chunks (benchmarks), and
        the usual filter (articles only) removes few chunks: so ask unfiltered for more and
        filter here, and pay for the filtered query only when too few survive."""
        if flt.where() is None:
            return [h for h in self.kb.dense_search(vector, CANDIDATES) if flt.allows(h.meta) and self._is_committed(h)]
        hits = [h for h in self.kb.dense_search(vector, CANDIDATES * 2) if flt.allows(h.meta) and self._is_committed(h)]
        if len(hits) < CANDIDATES // 2:
            hits = [
                h
                for h in self.kb.dense_search(vector, CANDIDATES, flt.where())
                if flt.allows(h.meta) and self._is_committed(h)
            ]
        return hits[:CANDIDATES]

    # While the index is first built there are no corpus statistics: every word counts the same
    # and is taken as known, so no question is refused for a word the index could not vouch for.

    def idf(self, term: str) -> float:
        self.refresh()
        index = self._index
        return index.idf(term) if index is not None else 1.0

    def known(self, term: str) -> bool:
        """Whether any stored chunk uses the (tokenized) term."""
        self.refresh()
        index = self._index
        return index.known(term) if index is not None else True

    def visible_word(self, term: str, guild_id: int | None, stem: bool = False) -> bool:
        """Whether a chunk this guild may see (shared, or its own) uses the term or, with `stem`,
        a word starting like it ("norwegian" ~ "norway"): what a reply may say of a name without
        telling one server what another has ingested."""
        self.refresh()
        index = self._index
        if index is None:
            return True
        visible = functools.partial(id_visible_to, guild_id=guild_id)
        if not stem or len(term) <= STEM:
            return index.known(term, visible)
        if self._prefixes is None or self._prefixes[0] != id(index):
            self._prefixes = (id(index), {t[:STEM] for t in index.terms() if len(t) > STEM})
        if term[:STEM] not in self._prefixes[1]:
            return False  # the quick answer for most names: no stored word starts that way
        return any(index.known(t, visible) for t in index.terms() if len(t) > STEM and t[:STEM] == term[:STEM])

    def _is_committed(self, hit: Hit) -> bool:
        return self.committed.get(hit.doc_id) == hit.meta.get("content_hash")


def _newest_article_day(documents: list[dict]) -> int:
    """The newest article's day from the document records, while there is no index to ask."""
    return max((int(d.get("published_day") or 0) for d in documents if d.get("kind") == "article"), default=0)


def _index_text(text: str, meta: dict) -> str:
    # The title is searchable too: a chunk from the middle of a story still matches its headline.
    title = meta.get("title") or ""
    return f"{title}\n{text}" if title else text


def _story_key(meta: dict) -> str:
    title = re.sub(r"[^a-z0-9 ]", "", (meta.get("title") or "").lower())
    return " ".join(title.split()[:8]) or meta.get("doc_id", "")


def collapse(ranked: list[Hit], per_doc: int = 1) -> list[Hit]:
    """Best chunk(s) per document; of several copies of one story, the newest stands for all."""
    best_per_doc: dict[str, Hit] = {}
    extra: dict[str, list[Hit]] = {}
    for hit in ranked:
        if hit.doc_id not in best_per_doc:
            best_per_doc[hit.doc_id] = hit
        elif len(extra.setdefault(hit.doc_id, [])) < per_doc - 1:
            extra[hit.doc_id].append(hit)
    by_story: dict[str, Hit] = {}
    order: list[str] = []
    for hit in best_per_doc.values():
        key = _story_key(hit.meta) if hit.meta.get("kind") == "article" else hit.doc_id
        kept = by_story.get(key)
        if kept is None:
            by_story[key] = hit
            order.append(key)
        elif hit.meta.get("published_day", 0) > kept.meta.get("published_day", 0):
            hit.score = max(hit.score, kept.score)
            by_story[key] = hit
    ranked = sorted((by_story[key] for key in order), key=lambda h: h.score, reverse=True)
    if per_doc <= 1:
        return ranked
    # Each document's further chunks follow its best one.
    out = []
    for hit in ranked:
        out.append(hit)
        out.extend(extra.get(hit.doc_id, []))
    return out
