"""The knowledge base: Chroma, embedded under the data directory or a `chroma run` server.

Two collections, both named with the layout version so a later layout can migrate them:
- chunks: every embedded passage (article chunks and table documents), with its document's
  metadata, `doc_id` and the `content_hash` of the version it belongs to;
- documents: one record per ingested document (its metadata, content hash and chunk count).
  Writing this record is the commit point of an ingest: chunks of any other version of the
  document are orphans and are deleted right after, and readers ignore them meanwhile.
  The record is written with `commit_pending` true and the flag is cleared once the old chunks
  are gone and the generation bumped, so a process killed in between leaves a mark that the next
  ingest finds (`finish_interrupted_writes`) and completes.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import numpy as np

from retrieval.calendar import utc_stamp
from retrieval.errors import DeskError, KnowledgeBaseUnavailable
from retrieval.settings import RetrievalSettings

if TYPE_CHECKING:
    from chromadb.api import ClientAPI

log = logging.getLogger(__name__)

LAYOUT_VERSION = 1
CHUNKS = f"desk_v{LAYOUT_VERSION}_chunks"
DOCUMENTS = f"desk_v{LAYOUT_VERSION}_documents"
META_ID = "__meta__"  # the documents collection's record holding the write generation
PENDING = "commit_pending"  # on a document record between its commit and the clean-up after it
MAX_BATCH = 5000  # Chroma refuses more than 5,461 records in one add
PAGE = 5000
DOC_BATCH = 200  # documents per filtered chunk read
# On a server's documents and their chunks (the Discord guild id); absent on shared documents:
# those ingested from the command line and every document of a store written before scopes.
GUILD = "guild_id"


@dataclass
class DocumentWrite:
    """One document for write_documents: its record's metadata and its embedded chunks."""

    doc_id: str
    meta: dict[str, Any]  # must carry content_hash
    texts: list[str]
    chunk_metas: list[dict[str, Any]]
    embeddings: list[list[float]]
    record_extra: dict[str, Any] = field(default_factory=dict)  # on the document's record only


@dataclass
class Hit:
    id: str
    text: str
    meta: dict[str, Any]
    similarity: float = 0.0  # cosine similarity to the question (0 when only the keyword ranking found it)
    score: float = 0.0  # fused rank score
    ranks: dict[str, int] = field(default_factory=dict)  # 1-based rank in each ranking that found it

    @property
    def doc_id(self) -> str:
        return self.meta.get("doc_id", "")


def _is_connection_error(exc: BaseException) -> bool:
    text = f"{type(exc).__name__} {exc}".lower()
    return any(
        word in text
        for word in ("connect", "timeout", "timed out", "refused", "unavailable", "remoteprotocol", "readerror")
    )


def _is_stale_embedded_index(exc: BaseException) -> bool:
    return type(exc).__name__ == "InternalError" and "Error finding id" in str(exc)


class _ClientGuard:
    """Chroma calls against a reopen of the embedded store, process-wide.

    A reopen clears chromadb's process-wide client cache: a call in flight on another thread (or
    on another KnowledgeBase of this process) would find its system gone. Calls share the guard;
    a reopen holds new calls back from the moment it asks, waits for those in flight, and moves
    `epoch` so that every KnowledgeBase drops the client it holds."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._calls = 0
        self._waiting_reopens = 0  # reopens asked for: new calls wait, so a busy store cannot starve them
        self._reopening = False
        self._depth = threading.local()  # a call's own nested calls (a lambda over chunks()) pass
        self.epoch = 0

    def in_call(self) -> bool:
        return getattr(self._depth, "n", 0) > 0

    @contextmanager
    def call(self):
        """Yields the epoch of the clients the call runs on."""
        depth = getattr(self._depth, "n", 0)
        if not depth:
            with self._changed:
                self._changed.wait_for(lambda: not self._reopening and not self._waiting_reopens)
                self._calls += 1
        self._depth.n = depth + 1
        try:
            yield self.epoch
        finally:
            self._depth.n = depth
            if not depth:
                with self._changed:
                    self._calls -= 1
                    self._changed.notify_all()

    def reopen(self, seen_epoch: int, clear) -> None:
        """`clear` the process's clients once no call is in flight; not again when another thread
        reopened since `seen_epoch` (several calls that failed together need one reopen)."""
        with self._changed:
            self._waiting_reopens += 1
            try:
                self._changed.wait_for(lambda: not self._reopening and not self._calls)
            finally:
                self._waiting_reopens -= 1
            if self.epoch != seen_epoch:
                self._changed.notify_all()
                return
            self._reopening = True
        try:
            clear()
        finally:
            with self._changed:
                self.epoch += 1
                self._reopening = False
                self._changed.notify_all()


_CLIENTS = _ClientGuard()


class KnowledgeBase:
    def __init__(self, settings: RetrievalSettings | None = None, embedder=None):
        self.settings = settings or RetrievalSettings()
        self._embedder = embedder
        self._client: ClientAPI | None = None
        self._client_epoch = _CLIENTS.epoch
        self._collections: dict[str, Any] = {}
        self._lock = threading.RLock()
        # Writes made through this object: a reader in the same process (the bot's answers after
        # its own /ingest) sees them at once, without waiting for its next generation check.
        self.writes = 0

    # -- connection -------------------------------------------------------------------------

    @property
    def embedder(self):
        if self._embedder is None:
            from retrieval.embedder import Embedder

            # The ONNX export of the model is cached beside the store (retrieval/onnx_embedder.py).
            self._embedder = Embedder(self.settings.embed_model, cache_dir=self.settings.data_dir / "models")
        return self._embedder

    def describe(self) -> str:
        if self.settings.chroma_url:
            return f"Chroma server at {self.settings.chroma_url}"
        return f"embedded Chroma in {self.settings.data_dir / 'chroma'}"

    def _connect(self) -> ClientAPI:
        import chromadb
        from chromadb.config import Settings

        chroma_settings = Settings(anonymized_telemetry=False)
        if self.settings.chroma_url:
            url = urlparse(self.settings.chroma_url)
            if url.scheme not in ("http", "https") or not url.hostname:
                raise DeskError(f"DESK_CHROMA_URL must look like http://host:port, got {self.settings.chroma_url!r}")
            return chromadb.HttpClient(
                host=url.hostname,
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                settings=chroma_settings,
            )
        path = self.settings.data_dir / "chroma"
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)

    def _collection(self, name: str):
        with self._lock:
            if self._client_epoch != _CLIENTS.epoch:  # the store was reopened since this client was made
                self._drop_client()
            if name not in self._collections:
                if self._client is None:
                    self._client = self._connect()
                space = "cosine" if name == CHUNKS else "l2"
                self._collections[name] = self._client.get_or_create_collection(
                    name,
                    embedding_function=None,  # Chroma's default would try to download a model
                    metadata={"hnsw:space": space, "layout_version": LAYOUT_VERSION},
                )
            return self._collections[name]

    def _drop_client(self) -> None:
        with self._lock:
            self._client = None
            self._client_epoch = _CLIENTS.epoch
            self._collections.clear()

    def _reopen_embedded(self, seen_epoch: int) -> None:
        from chromadb.api.client import SharedSystemClient

        _CLIENTS.reopen(seen_epoch, SharedSystemClient.clear_system_cache)
        self._drop_client()

    def _run(self, action, *args, _retried: bool = False, **kwargs):
        """Run one Chroma call; a server that went away becomes KnowledgeBaseUnavailable.

        The client is dropped so the next call reconnects: recovery needs no restart. `action`
        must look its collection up when called (a lambda over self.chunks()), so that the retry
        after a reopen uses the new collection rather than the stale one.
        """
        epoch = _CLIENTS.epoch
        try:
            with _CLIENTS.call() as epoch:
                return action(*args, **kwargs)
        except DeskError:
            raise
        except Exception as exc:
            stale = not self.settings.chroma_url and _is_stale_embedded_index(exc)
            if stale and not _retried and not _CLIENTS.in_call():  # a nested call leaves it to the outer one
                # Another process wrote to the embedded store: this process's cached index no
                # longer matches it. Reopen from disk once (docs/RELIABILITY.md).
                self._reopen_embedded(epoch)
                return self._run(action, *args, _retried=True, **kwargs)
            if self.settings.chroma_url and _is_connection_error(exc):
                self._drop_client()
                raise KnowledgeBaseUnavailable(f"{self.settings.chroma_url}: {type(exc).__name__}") from None
            raise

    def chunks(self):
        return self._run(self._collection, CHUNKS)

    def documents_collection(self):
        return self._run(self._collection, DOCUMENTS)

    def ping(self) -> None:
        self._run(lambda: self.documents_collection().count())

    def wait_until_available(self, attempts: int = 8, first_delay: float = 0.5) -> None:
        """At start-up, retry a server that is not up yet with backoff, then give up clearly."""
        delay = first_delay
        for attempt in range(1, attempts + 1):
            try:
                self.ping()
                return
            except KnowledgeBaseUnavailable:
                if attempt == attempts:
                    raise
                log.warning(
                    "knowledge base not reachable (attempt %d/%d), retrying in %.1f s", attempt, attempts, delay
                )
                time.sleep(delay)
                delay = min(delay * 2, 10.0)

    # -- documents ------------------------------------------------------------------------------

    def generation(self) -> int:
        """A counter bumped by every write, so readers know when to refresh their caches."""
        got = self._run(lambda: self.documents_collection().get(ids=[META_ID], include=["metadatas"]))
        return int(got["metadatas"][0]["generation"]) if got["ids"] else 0

    def _bump_generation(self) -> None:
        # Readers only compare generations for equality. A plain "+1" lost updates when two
        # processes wrote at once (both read g, both wrote g+1, and a reader that had cached g+1
        # after the first write never saw the second): a value taken from the clock differs.
        value = max(self.generation() + 1, time.time_ns() // 1000)
        self._run(
            lambda: self.documents_collection().upsert(
                ids=[META_ID], embeddings=[[0.0]], documents=["meta"], metadatas=[{"generation": value, "kind": "meta"}]
            )
        )
        self.writes += 1

    def get_document(self, doc_id: str) -> dict[str, Any] | None:
        got = self._run(lambda: self.documents_collection().get(ids=[doc_id], include=["metadatas"]))
        return dict(got["metadatas"][0], id=doc_id) if got["ids"] else None

    def list_documents(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Every stored document, newest publication first (undated last)."""
        where = {"kind": kind} if kind else {"kind": {"$ne": "meta"}}
        docs = []
        for offset in range(0, 10**9, PAGE):
            got = self._run(
                lambda: self.documents_collection().get(where=where, include=["metadatas"], limit=PAGE, offset=offset)
            )
            docs += [dict(meta, id=doc_id) for doc_id, meta in zip(got["ids"], got["metadatas"])]
            if len(got["ids"]) < PAGE:
                break
        return sorted(docs, key=lambda d: (d.get("published") or "", d.get("ingested_at") or ""), reverse=True)

    def write_document(
        self,
        doc_id: str,
        meta: dict[str, Any],
        texts: list[str],
        chunk_metas: list[dict[str, Any]],
        embeddings: list[list[float]] | None = None,
    ) -> int:
        """Store a document's chunks, then commit its record, then drop its older chunks."""
        if embeddings is None:
            embeddings = self.embedder.embed_documents(texts)
        return self.write_documents([DocumentWrite(doc_id, meta, texts, chunk_metas, embeddings)])[0]

    def write_documents(self, docs: list[DocumentWrite]) -> list[int]:
        """Store several documents in write_document's order: every chunk, then every record
        (each its own document's commit point), then the clean-up. Six Chroma calls for the lot
        instead of eight per document, which cost ingest a third of its time."""
        ids, texts, embeddings, metas = [], [], [], []
        for doc in docs:
            content_hash = doc.meta["content_hash"]
            ids += [f"{doc.doc_id}|{content_hash[:16]}|{i}" for i in range(len(doc.texts))]
            texts += doc.texts
            embeddings += list(doc.embeddings)
            metas += [
                {**_clean(doc.meta), **_clean(extra), "doc_id": doc.doc_id, "content_hash": content_hash, "chunk": i}
                for i, extra in enumerate(doc.chunk_metas)
            ]
        for start in range(0, len(ids), MAX_BATCH):
            end = start + MAX_BATCH
            self._run(
                lambda: self.chunks().upsert(
                    ids=ids[start:end],
                    embeddings=embeddings[start:end],
                    documents=texts[start:end],
                    metadatas=metas[start:end],
                )
            )
        doc_ids = [doc.doc_id for doc in docs]
        got = self._run(lambda: self.documents_collection().get(ids=doc_ids, include=["metadatas"]))
        previous = dict(zip(got["ids"], got["metadatas"]))
        stamp = utc_stamp(datetime.now(UTC))
        records = []
        for doc in docs:
            record: dict[str, Any] = {
                **_clean(doc.meta),
                **_clean(doc.record_extra),
                "chunks": len(doc.texts),
                "ingested_at": stamp,
                PENDING: True,
            }
            for key in previous.get(doc.doc_id) or {}:
                # Chroma's upsert merges metadata: a field the new version no longer has (a date
                # removed from the header, say) would survive from the old one. None deletes it.
                record.setdefault(key, None)
            records.append(record)
        titles = [doc.meta.get("title") or doc.doc_id for doc in docs]
        self._run(
            lambda: self.documents_collection().upsert(
                ids=doc_ids, embeddings=[[1.0]] * len(docs), documents=titles, metadatas=records
            )
        )
        self._finish_commits({doc.doc_id: doc.meta["content_hash"] for doc in docs})
        return [len(doc.texts) for doc in docs]

    def _finish_commits(self, hashes: dict[str, str]) -> None:
        """After the commit points: drop the older chunks, tell readers, clear the pending marks."""
        clauses = [
            {"$and": [{"doc_id": doc_id}, {"content_hash": {"$ne": content_hash}}]}
            for doc_id, content_hash in hashes.items()
        ]
        for start in range(0, len(clauses), 100):
            part = clauses[start : start + 100]
            self._run(lambda: self.chunks().delete(where=part[0] if len(part) == 1 else {"$or": part}))
        self._bump_generation()
        self._run(
            lambda: self.documents_collection().update(ids=list(hashes), metadatas=[{PENDING: False}] * len(hashes))
        )

    def finish_interrupted_writes(self) -> int:
        """Complete the clean-up of writes whose process died after their commit point.

        Without this, a document killed between its record and the deletion of its older chunks
        kept those orphans for ever: the re-run found the document unchanged and wrote nothing.
        Safe beside a concurrent writer: the clean-up is idempotent and keeps the committed hash.
        """
        got = self._run(lambda: self.documents_collection().get(where={PENDING: True}, include=["metadatas"]))
        # Without a content hash the committed chunks cannot be told from the others: leave them be.
        hashes = {
            doc_id: meta["content_hash"]
            for doc_id, meta in zip(got["ids"], got["metadatas"])
            if meta.get("content_hash")
        }
        if hashes:
            log.info("finishing the interrupted writes of %s", ", ".join(hashes))
            self._finish_commits(hashes)
        return len(got["ids"])

    def relocate(self, doc_id: str, ref: str) -> None:
        """The same document read from another place (a new checkout, a moved folder): its
        record and its chunks cite where it was read last. Metadata only: nothing is embedded."""
        chunk_ids = self._run(lambda: self.chunks().get(where={"doc_id": doc_id}, include=[]))["ids"]
        for start in range(0, len(chunk_ids), MAX_BATCH):
            part = chunk_ids[start : start + MAX_BATCH]
            self._run(lambda: self.chunks().update(ids=part, metadatas=[{"ref": ref}] * len(part)))
        self._run(lambda: self.documents_collection().update(ids=[doc_id], metadatas=[{"ref": ref}]))
        self._bump_generation()

    def forget(self, doc_id: str) -> bool:
        if self.get_document(doc_id) is None:
            return False
        # The record goes first: once it is gone, leftover chunks are orphans that readers ignore.
        self._run(lambda: self.documents_collection().delete(ids=[doc_id]))
        self._run(lambda: self.chunks().delete(where={"doc_id": doc_id}))
        self._bump_generation()
        return True

    def orphan_chunk_count(self) -> int:
        committed = {d["id"]: d.get("content_hash") for d in self.list_documents()}
        return sum(
            1 for meta in self.iter_chunk_metas() if committed.get(meta.get("doc_id")) != meta.get("content_hash")
        )

    # -- reading --------------------------------------------------------------------------------

    def _chunk_pages(self, where: dict[str, Any] | None, include: list[str]) -> Iterator[dict]:
        for offset in range(0, 10**9, PAGE):
            got = self._run(lambda: self.chunks().get(where=where, include=include, limit=PAGE, offset=offset))
            yield got
            if len(got["ids"]) < PAGE:
                break

    def iter_chunks(
        self, where: dict[str, Any] | None = None, with_text: bool = True
    ) -> Iterator[tuple[str, str, dict]]:
        include = ["metadatas", "documents"] if with_text else ["metadatas"]
        for got in self._chunk_pages(where, include):
            texts = got["documents"] if with_text else [""] * len(got["ids"])
            yield from zip(got["ids"], texts, got["metadatas"])

    def iter_document_chunks(
        self, doc_ids: list[str], with_embeddings: bool = False
    ) -> Iterator[tuple[str, str, dict, Any]]:
        """(id, text, metadata, vector or None) of these documents' chunks, asked DOC_BATCH
        documents at a time: one `$in` over thousands of ids is slow in Chroma."""
        for start in range(0, len(doc_ids), DOC_BATCH):
            where = {"doc_id": {"$in": doc_ids[start : start + DOC_BATCH]}}
            if not with_embeddings:
                yield from ((cid, text, meta, None) for cid, text, meta in self.iter_chunks(where))
                continue
            for got in self._chunk_pages(where, ["metadatas", "documents", "embeddings"]):
                yield from zip(got["ids"], got["documents"], got["metadatas"], got["embeddings"])

    def get_chunks(self, ids: list[str], vector: list[float] | None = None) -> dict[str, Hit]:
        """These chunks as hits; an id no longer stored is left out. With a query `vector`, each
        hit's similarity to it is computed from its stored embedding."""
        include = ["metadatas", "documents", "embeddings"] if vector is not None else ["metadatas", "documents"]
        got = self._run(lambda: self.chunks().get(ids=ids, include=include))
        hits = {
            i: Hit(id=i, text=text, meta=meta) for i, text, meta in zip(got["ids"], got["documents"], got["metadatas"])
        }
        if vector is not None and hits:
            # Stored vectors are normalised, so the dot product is the cosine similarity.
            similarities = np.asarray(got["embeddings"], dtype=np.float32) @ np.asarray(vector, dtype=np.float32)
            for hit, similarity in zip(hits.values(), similarities):
                hit.similarity = float(similarity)
        return hits

    def iter_chunk_metas(self, where: dict[str, Any] | None = None) -> Iterator[dict]:
        for _, _, meta in self.iter_chunks(where, with_text=False):
            yield meta

    def count_chunks(self) -> int:
        return self._run(lambda: self.chunks().count())

    def dense_search(self, vector: list[float], k: int, where: dict[str, Any] | None = None) -> list[Hit]:
        # A lambda, not a bound method: a retry after reopening must use the new collection.
        got = self._run(
            lambda: self.chunks().query(
                query_embeddings=[vector],
                n_results=k,
                where=where,
                include=["documents", "metadatas", "distances"],
            )
        )
        if not got["ids"] or not got["ids"][0]:
            return []  # an empty collection answers with no lists at all
        return [
            Hit(id=i, text=t, meta=m, similarity=1.0 - d)
            for i, t, m, d in zip(got["ids"][0], got["documents"][0], got["metadatas"][0], got["distances"][0])
        ]


def scoped_doc_id(doc_id: str, guild_id: int | None) -> str:
    """A guild's copy of a page has its own id: another guild (or the shared copy) ingesting the
    same URL must not take it over."""
    return doc_id if guild_id is None else f"g{guild_id}:{doc_id}"


SCOPED_ID = re.compile(r"g(\d+):")


def id_visible_to(doc_id: str, guild_id: int | None) -> bool:
    """visible_to for a bare document id (the keyword index keeps ids, not metadata)."""
    scoped = SCOPED_ID.match(doc_id)
    return scoped is None or int(scoped.group(1)) == guild_id


def owner_of(meta: dict[str, Any]) -> int | None:
    """The guild a document or chunk belongs to, or None when it is shared by all."""
    value = meta.get(GUILD)
    return int(value) if value not in (None, "", 0) else None


def visible_to(meta: dict[str, Any], guild_id: int | None) -> bool:
    """Shared documents are everyone's; a guild's own documents are that guild's only."""
    owner = owner_of(meta)
    return owner is None or owner == guild_id


def _clean(meta: dict[str, Any]) -> dict[str, Any]:
    """Chroma metadata takes str, int, float and bool only: drop empty values, stringify the rest."""
    out = {}
    for key, value in meta.items():
        if value is None or value == "":
            continue
        out[key] = value if isinstance(value, (str, int, float, bool)) else str(value)
    return out
