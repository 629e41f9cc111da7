"""Knowledge bases of 1k / 10k / 20k / 100k chunks for the latency, memory and bot benchmarks.

Each store holds the real corpus (data/sample, Treasury's tables, the shared article), ingested
by the project's own Ingester with real embeddings, and then synthetic filler articles
(benchmarks/corpus.py) up to the target number of chunks.

Filler vectors. Embedding 100k chunks for real takes 15+ minutes on two cores, so:
- the first REAL_VECTORS filler chunks (default 2,000) are embedded for real, once, with the
  project's embedder (title + chunk, as the ingest does), and cached in
  benchmarks/.cache/vectors-v{GENERATOR_VERSION}-{n}.npy;
- every later chunk i gets the real vector of chunk (i mod REAL_VECTORS) plus Gaussian noise
  (norm ~0.48, so cosine ~0.9 to its parent), renormalised, from a seeded generator.
The vectors keep the clustered shape of real MiniLM embeddings (which is what HNSW's search cost
depends on: uniform random vectors are the worst case for a graph index), but filler chunks past
the real subset do not mean what their text says. That is fine for latency and memory; quality is
measured on the real corpus only (bench_quality.py).

Filler is written in bulk (5,000 records per Chroma call) in the same layout as
KnowledgeBase.write_document (chunk metadata = document metadata + doc_id, content_hash, chunk,
start; one document record per article), then the write generation is bumped once. Going
through write_document one document at a time costs five Chroma calls per document, including
a filtered delete that grows with the collection (hours at 100k).

Stores are built once and kept under benchmarks/.cache/stores/ (embedded Chroma files; the
server benchmarks point `chroma run --path` at the same folder).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from pathlib import Path

import numpy as np

from benchmarks.common import REPO, cache_dir, real_corpus
from benchmarks.corpus import GENERATOR_VERSION, iter_articles
from tests.conftest import ChromaServer

REAL_VECTORS = int(os.environ.get("BENCH_REAL_VECTORS", "2000"))
FILLER_PARAGRAPHS = 10  # chunks per filler article (one paragraph is one 600-1,000 character chunk)
NOISE = 0.48 / np.sqrt(384)


def filler_chunks(count: int):
    """(article, paragraph index, text) for the first `count` filler chunks, deterministic."""
    made = 0
    for a in iter_articles(seed=3, paragraphs=FILLER_PARAGRAPHS):
        for j, paragraph in enumerate(a["text"].split("\n\n")):
            if made >= count:
                return
            yield a, j, paragraph
            made += 1


class VectorBank:
    def __init__(self, embedder=None):
        self.embedder = embedder
        self._real: np.ndarray | None = None

    def real(self) -> np.ndarray:
        if self._real is None:
            path = cache_dir() / f"vectors-v{GENERATOR_VERSION}-{REAL_VECTORS}.npy"
            if path.exists():
                self._real = np.load(path)
            else:
                from retrieval.embedder import Embedder

                embedder = self.embedder or Embedder()
                texts = [f"{a['title']}\n{t}" for a, _, t in filler_chunks(REAL_VECTORS)]
                started = time.perf_counter()
                self._real = np.asarray(embedder.embed_documents(texts), dtype=np.float32)
                print(f"  embedded {len(texts)} filler chunks for real in {time.perf_counter() - started:.0f} s "
                      f"(cached in {path.name})", flush=True)
                np.save(path, self._real)
        return self._real

    def vectors(self, start: int, count: int) -> np.ndarray:
        real = self.real()
        out = np.empty((count, real.shape[1]), dtype=np.float32)
        for offset in range(count):
            i = start + offset
            if i < len(real):
                out[offset] = real[i]
            else:
                rng = np.random.default_rng(i)
                v = real[i % len(real)] + rng.normal(scale=NOISE, size=real.shape[1]).astype(np.float32)
                out[offset] = v / np.linalg.norm(v)
        return out


def fill(kb, target: int, bank: VectorBank) -> int:
    """Add filler chunks until the store holds `target` chunks; returns how many were added."""
    from ingest.documents import day_number
    from retrieval.store import MAX_BATCH, _clean

    have = kb.count_chunks()
    need = target - have
    if need <= 0:
        return 0
    chunks, documents = kb.chunks(), kb.documents_collection()
    batch: dict[str, list] = {"ids": [], "documents": [], "metadatas": []}
    records: dict[str, dict] = {}
    written = 0

    def flush():
        nonlocal written
        if not batch["ids"]:
            return
        vectors = bank.vectors(written, len(batch["ids"]))
        chunks.add(ids=batch["ids"], documents=batch["documents"], metadatas=batch["metadatas"],
                   embeddings=vectors)
        ids = list(records)
        documents.upsert(ids=ids, embeddings=[[1.0]] * len(ids), documents=[records[i]["title"] for i in ids],
                         metadatas=[records[i] for i in ids])
        written += len(batch["ids"])
        for key in batch:
            batch[key] = []
        records.clear()

    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    for a, j, text in filler_chunks(need):
        doc_id = a["url"]
        content_hash = hashlib.sha256(a["text"].encode()).hexdigest()
        meta = _clean({"title": a["title"], "source": a["source"], "url": a["url"], "published": a["published"],
                       "published_raw": a["published"], "published_day": day_number(a["published"]),
                       "kind": "article", "ref": a["url"], "content_hash": content_hash})
        batch["ids"].append(f"{doc_id}|{content_hash[:16]}|{j}")
        batch["documents"].append(text)
        batch["metadatas"].append({**meta, "start": 0, "doc_id": doc_id, "chunk": j})
        record = records.get(doc_id) or records.setdefault(doc_id, {**meta, "chunks": 0, "ingested_at": stamp})
        record["chunks"] += 1
        if len(batch["ids"]) >= MAX_BATCH:
            flush()
    flush()
    kb._bump_generation()
    return written


def _store_key(size: int) -> str:
    return f"v{GENERATOR_VERSION}-r{REAL_VECTORS}-{size}"


def code_key() -> str:
    """A short hash of the code that decides what a store holds (ingest, store layout, embedder).

    It is recorded in each store's READY file and a mismatch is reported, not rebuilt: other
    engineers edit that code all day, and a rebuild costs minutes. Set BENCH_STRICT_STORES=1 to
    rebuild on a mismatch, or delete benchmarks/.cache/stores/."""
    digest = hashlib.sha256()
    for path in sorted((REPO / "ingest").glob("*.py")) + [REPO / "retrieval" / "store.py",
                                                          REPO / "retrieval" / "embedder.py"]:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:8]


def _base_store(embedder=None) -> Path:
    """The real corpus alone, ingested once by the project's Ingester; bigger stores start as a copy."""
    from ingest.pipeline import Ingester
    from retrieval.settings import RetrievalSettings
    from retrieval.store import KnowledgeBase

    folder = cache_dir("stores") / f"base-v{GENERATOR_VERSION}"
    done = folder / "READY"
    if not done.exists():
        if folder.exists():
            shutil.rmtree(folder)
        kb = KnowledgeBase(RetrievalSettings(data_dir=folder, chroma_url="", _env_file=None), embedder=embedder)
        report = Ingester(kb).ingest(real_corpus())
        done.write_text(f"real corpus: {report.summary()}; real chunks {kb.count_chunks()}\n")
        del kb
    return folder


def ensure_store(size: int, embedder=None) -> Path:
    """The data directory of a store with `size` chunks (built and cached when missing).

    The real corpus is about 1,550 chunks (Treasury's mfhhis01 history alone is most of them),
    so the smallest store, "1k", holds the real corpus and no filler.
    """
    from retrieval.settings import RetrievalSettings
    from retrieval.store import KnowledgeBase

    folder = cache_dir("stores") / _store_key(size)
    done = folder / "READY"
    if done.exists():
        built_with = done.read_text().split("code ")[-1].strip() if "code " in done.read_text() else "?"
        if built_with == code_key() or os.environ.get("BENCH_STRICT_STORES") != "1":
            if built_with != code_key():
                print(f"  note: store {folder.name} was built by ingest/store code {built_with}, "
                      f"the code now is {code_key()} (BENCH_STRICT_STORES=1 rebuilds)", flush=True)
            return folder
    if folder.exists():
        shutil.rmtree(folder)
    base = _base_store(embedder)
    started = time.perf_counter()
    shutil.copytree(base / "chroma", folder / "chroma")
    kb = KnowledgeBase(RetrievalSettings(data_dir=folder, chroma_url="", _env_file=None), embedder=embedder)
    real_chunks = kb.count_chunks()
    added = fill(kb, size, VectorBank(embedder))
    total = kb.count_chunks()
    done.write_text(f"real chunks {real_chunks}, filler {added}, total {total}, code {code_key()}\n")
    print(f"  built store {folder.name}: {real_chunks} real + {added} filler = {total} chunks "
          f"in {time.perf_counter() - started:.0f} s", flush=True)
    del kb
    return folder


def ensure_keyword_index(folder: Path) -> float:
    """Bring the store's keyword-index file up to date (as `desk ingest` leaves it); seconds taken."""
    from retrieval.search import Retriever
    from retrieval.settings import RetrievalSettings
    from retrieval.store import KnowledgeBase

    started = time.perf_counter()
    kb = KnowledgeBase(RetrievalSettings(data_dir=folder, chroma_url="", _env_file=None))
    Retriever(kb).update_index()
    return time.perf_counter() - started


def store_summary(folder: Path) -> str:
    return (folder / "READY").read_text().strip().replace("\n", "; ")


class ChromaRun(ChromaServer):
    """`chroma run` over a store's folder on a loopback port (the same files the embedded client
    uses): the tests' server, as a context manager, with its memory."""

    def __enter__(self) -> "ChromaRun":
        self.start(timeout=120)  # a 100k-chunk store takes a while to open
        return self

    def rss_mb(self) -> float:
        try:
            import psutil

            return psutil.Process(self.process.pid).memory_info().rss / 2**20
        except Exception:
            return float("nan")

    def __exit__(self, *exc) -> None:
        self.stop()
