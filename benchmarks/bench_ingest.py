"""Ingest throughput against bare model.encode on the same texts, and unchanged re-ingest.

Targets (issue 3): ingest >= 0.85 x bare encode; unchanged re-ingest >= 20 x faster than the
first ingest of a 500-document corpus; `desk --help` and `desk sources` start in < 1.5 s.
Exits non-zero when a target is missed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.corpus import write_corpus  # noqa: E402

DOCS = int(os.environ.get("BENCH_DOCS", "500"))


def timed_command(args: list[str], env: dict, runs: int = 3) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        best = min(best, time.perf_counter() - started)
    return best


def main() -> int:
    from ingest.documents import load_file
    from ingest.pipeline import Ingester, chunk_document, make_splitter
    from retrieval.embedder import BATCH_SIZE, Embedder
    from retrieval.settings import RetrievalSettings
    from retrieval.store import KnowledgeBase

    work = Path(tempfile.mkdtemp(prefix="desk-bench-"))
    corpus = work / "corpus"
    write_corpus(corpus, DOCS)
    embedder = Embedder()
    model = embedder._load()

    # The texts the ingest embeds: each chunk with its title in front.
    splitter = make_splitter()
    inputs = []
    for path in sorted(corpus.iterdir()):
        doc = load_file(path, path.name, 10**8)[0]
        texts, _ = chunk_document(doc, splitter)
        inputs += [f"{doc.title}\n{t}" for t in texts]
    model.encode(inputs[:64], batch_size=BATCH_SIZE)  # warm-up
    started = time.perf_counter()
    model.encode(inputs, batch_size=BATCH_SIZE, normalize_embeddings=True, show_progress_bar=False)
    bare = time.perf_counter() - started

    kb = KnowledgeBase(RetrievalSettings(data_dir=work / "data"), embedder=embedder)
    started = time.perf_counter()
    report = Ingester(kb).ingest([str(corpus)])
    first = time.perf_counter() - started
    started = time.perf_counter()
    again = Ingester(kb).ingest([str(corpus)])
    reingest = time.perf_counter() - started
    assert report.added == DOCS and again.unchanged == DOCS, (report.summary(), again.summary())

    env = {**os.environ, "DESK_DATA_DIR": str(work / "data")}
    help_s = timed_command([sys.executable, "-m", "bot.cli", "--help"], env)
    sources_s = timed_command([sys.executable, "-m", "bot.cli", "sources"], env)

    ratio = (len(inputs) / first) / (len(inputs) / bare)
    speedup = first / reingest
    print(f"documents {DOCS}, chunks {len(inputs)}")
    print(f"bare encode      {len(inputs) / bare:8.1f} chunks/s ({bare:.1f} s)")
    print(f"first ingest     {len(inputs) / first:8.1f} chunks/s ({first:.1f} s)  ratio {ratio:.2f}  (target >= 0.85)")
    print(f"unchanged again  {reingest:8.2f} s  speed-up {speedup:.0f}x  (target >= 20x)")
    print(f"desk --help      {help_s:8.2f} s  (target < 1.5 s)")
    print(f"desk sources     {sources_s:8.2f} s  (target < 1.5 s)")
    missed = [name for name, ok in [("ingest ratio", ratio >= 0.85), ("re-ingest", speedup >= 20),
                                   ("--help", help_s < 1.5), ("sources", sources_s < 1.5)] if not ok]
    if missed:
        print("MISSED:", ", ".join(missed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
