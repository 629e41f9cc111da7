"""Warm question latency by route at a given store size (default 20k chunks).

The store holds the sample corpus and Treasury's tables (really embedded) plus filler
article chunks up to the target size. Filler text is synthetic and its vectors are random
unit vectors: query cost depends on how many vectors and terms there are, not on what they
mean, and embedding 20k+ chunks for real would take minutes on two cores.
Targets: table p95 < 50 ms, article p95 < 200 ms. Exits non-zero when one is missed.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.corpus import articles  # noqa: E402

CHUNKS = int(os.environ.get("BENCH_CHUNKS", "20000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
TABLE_QUESTIONS = ["Who holds the most Treasurys?", "How much did Japan hold in February 2025?",
                   "Top five holders in March 2026", "How did China's holdings change since January 2025?",
                   "Does the UK hold more than China?"]
ARTICLE_QUESTIONS = ["What did Japan's finance minister say about using Treasurys as a card?",
                     "Why do Belgium and Luxembourg show such large holdings?",
                     "When was the 90-day tariff pause announced?",
                     "Why do news figures differ from Treasury's current tables?"]


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def fill(kb, target: int) -> None:
    rng = np.random.default_rng(11)
    have = kb.count_chunks()
    docs = articles(max(0, (target - have) // 3 + 1), seed=3, paragraphs=3)
    batch = 0
    for i, a in enumerate(docs):
        if have >= target:
            break
        paragraphs = a["text"].split("\n\n")
        vectors = rng.normal(size=(len(paragraphs), 384)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        meta = {"title": a["title"], "source": a["source"], "url": a["url"], "published": a["published"],
                "published_day": int(a["published"].replace("-", "")), "kind": "article", "ref": a["url"],
                "content_hash": f"filler{i:08d}"}
        kb.write_document(a["url"], meta, paragraphs, [{"start": 0}] * len(paragraphs), vectors.tolist())
        have += len(paragraphs)
        batch += 1


def main() -> int:
    from ingest.pipeline import Ingester
    from retrieval.answer import AnswerEngine
    from retrieval.settings import RetrievalSettings
    from retrieval.store import KnowledgeBase

    data_dir = Path(os.environ.get("BENCH_DATA_DIR") or tempfile.mkdtemp(prefix="desk-bench-q-"))
    kb = KnowledgeBase(RetrievalSettings(data_dir=data_dir, chroma_url=os.environ.get("DESK_CHROMA_URL", "")))
    if not kb.list_documents():
        shared = REPO.parent / "shared" / "data"
        inputs = [str(REPO / "data" / "sample")] + [str(p) for p in (
            shared / "holdings" / "slt_table5.txt", shared / "holdings" / "mfhhis01.txt",
            shared / "articles") if p.exists()]
        Ingester(kb).ingest(inputs)
    fill(kb, CHUNKS)
    engine = AnswerEngine(kb)
    for q in TABLE_QUESTIONS + ARTICLE_QUESTIONS:  # warm: model loaded, indexes built
        engine.ask(q)
    results = {}
    for name, questions in (("table", TABLE_QUESTIONS), ("article", ARTICLE_QUESTIONS)):
        times = []
        for _ in range(ROUNDS):
            for q in questions:
                started = time.perf_counter()
                engine.ask(q)
                times.append((time.perf_counter() - started) * 1000)
        results[name] = times
    print(f"store: {kb.describe()}, {kb.count_chunks()} chunks")
    ok = True
    for name, target in (("table", 50), ("article", 200)):
        t = results[name]
        p50, p95, p99 = (percentile(t, q) for q in (50, 95, 99))
        met = p95 < target
        ok &= met
        print(f"{name:8} n={len(t):3}  p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  p99 {p99:6.1f} ms  "
              f"mean {statistics.mean(t):6.1f}  (target p95 < {target} ms) {'ok' if met else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
