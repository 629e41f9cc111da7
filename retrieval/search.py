"""Hybrid search: Chroma's dense ranking fused with the project's BM25 ranking (RRF, k=60).

Only committed chunks count (a chunk whose content hash is not its document's current one
is an orphan of an interrupted or replaced ingest). One chunk per document, and one
document per story: near-duplicates collapse to the newest.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass

import numpy as np

from retrieval.keyword import BM25Index
from retrieval.store import Hit, KnowledgeBase

RRF_K = 60
CANDIDATES = 40


@dataclass
class SearchFilter:
    kinds: tuple[str, ...] | None = None  # "article", "table"
    since_day: int = 0  # YYYYMMDD, inclusive
    until_day: int = 0

    def where(self) -> dict | None:
        clauses = []
        if self.kinds:
            clauses.append({"kind": {"$in": list(self.kinds)}})
        if self.since_day:
            clauses.append({"published_day": {"$gte": self.since_day}})
        if self.until_day:
            clauses.append({"published_day": {"$lte": self.until_day}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def allows(self, meta: dict) -> bool:
        if self.kinds and meta.get("kind") not in self.kinds:
            return False
        day = int(meta.get("published_day") or 0)
        if self.since_day and day < self.since_day:
            return False
        if self.until_day and (not day or day > self.until_day):
            return False
        return True


class Retriever:
    def __init__(self, kb: KnowledgeBase):
        self.kb = kb
        self._lock = threading.Lock()
        self._generation = -1
        self._checked_at = 0.0
        self._index: BM25Index | None = None
        self._texts: list[str] = []
        self._metas: list[dict] = []
        self.committed: dict[str, str] = {}  # doc_id -> content hash of the stored version

    def refresh(self, max_age: float = 0.5) -> None:
        """Rebuild the keyword index when the store changed (checked at most every max_age s)."""
        now = time.monotonic()
        if now - self._checked_at < max_age and self._index is not None:
            return
        with self._lock:
            generation = self.kb.generation()
            self._checked_at = time.monotonic()
            if generation == self._generation and self._index is not None:
                return
            committed = {d["id"]: d.get("content_hash", "") for d in self.kb.list_documents()}
            ids, texts, metas = [], [], []
            for chunk_id, text, meta in self.kb.iter_chunks():
                if committed.get(meta.get("doc_id")) == meta.get("content_hash"):
                    ids.append(chunk_id)
                    texts.append(_index_text(text, meta))
                    metas.append(meta)
            self._index = BM25Index(ids, texts)
            self._raw = {i: (t, m) for i, t, m in zip(ids, texts, metas)}
            self._metas = metas
            self.committed = committed
            self._generation = generation

    def search(self, query: str, k: int = 6, flt: SearchFilter | None = None,
               vector: list[float] | None = None) -> list[Hit]:
        self.refresh()
        flt = flt or SearchFilter()
        if vector is None:
            vector = self.kb.embedder.embed_query(query)
        dense = [h for h in self.kb.dense_search(vector, CANDIDATES, flt.where()) if self._is_committed(h)]
        fused: dict[str, Hit] = {}
        for rank, hit in enumerate(dense, start=1):
            hit.ranks["dense"] = rank
            hit.score += 1.0 / (RRF_K + rank)
            fused[hit.id] = hit
        allowed = None
        if flt.kinds or flt.since_day or flt.until_day:
            allowed = np.fromiter((flt.allows(m) for m in self._metas), dtype=bool, count=len(self._metas))
        for rank, (index, _) in enumerate(self._index.top(query, CANDIDATES, allowed), start=1):
            chunk_id = self._index.ids[index]
            hit = fused.get(chunk_id)
            if hit is None:
                text, meta = self._raw[chunk_id]
                hit = fused[chunk_id] = Hit(id=chunk_id, text=_strip_index_prefix(text, meta), meta=meta)
            hit.ranks["keyword"] = rank
            hit.score += 1.0 / (RRF_K + rank)
        ranked = sorted(fused.values(), key=lambda h: (h.score, h.meta.get("published_day", 0)), reverse=True)
        return collapse(ranked)[:k]

    def idf(self, term: str) -> float:
        self.refresh()
        return self._index.idf(term)

    def _is_committed(self, hit: Hit) -> bool:
        return self.committed.get(hit.doc_id) == hit.meta.get("content_hash")


def _index_text(text: str, meta: dict) -> str:
    # The title is searchable too: a chunk from the middle of a story still matches its headline.
    title = meta.get("title") or ""
    return f"{title}\n{text}" if title else text


def _strip_index_prefix(text: str, meta: dict) -> str:
    title = meta.get("title") or ""
    return text[len(title) + 1:] if title and text.startswith(title + "\n") else text


def _story_key(meta: dict) -> str:
    title = re.sub(r"[^a-z0-9 ]", "", (meta.get("title") or "").lower())
    return " ".join(title.split()[:8]) or meta.get("doc_id", "")


def collapse(ranked: list[Hit]) -> list[Hit]:
    """Best chunk per document; of several copies of one story, the newest stands for all."""
    best_per_doc: dict[str, Hit] = {}
    for hit in ranked:
        best_per_doc.setdefault(hit.doc_id, hit)
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
    return sorted((by_story[key] for key in order), key=lambda h: h.score, reverse=True)
