"""The keyword index: the project's own BM25 (retrieval/keyword.py) against bm25s, in one run (issue 17).

bm25s is not a dependency of the project; install it for this measurement only:

    .venv/bin/python -m pip install bm25s==0.3.16

Both indexes get the same rows and the same terms: the project's `tokenize` (stemming, units,
"U.S.", compounds) runs once per chunk and bm25s is handed the token lists, so what is compared
is the index, not two tokenizers. bm25s is set to the same formula (Lucene idf, k1 1.4, b 0.75;
its scores lack our constant k1 + 1 factor, which does not change a ranking). A query is the
product's: the top 40 rows under a filter mask of kind and day, computed by one function over
the same arrays for both (bm25s takes it as its `weight_mask`).

Per size (1k, 20k, 100k chunks of benchmarks/corpus.py's filler articles plus 2% holdings tables,
titles prefixed as retrieval/search.py indexes them), each index runs in its own process so that
no measurement inherits another's heap:
- build: tokenize and index every row (wall and CPU seconds);
- memory: RSS the built index keeps, and the peak above the starting RSS while building;
- query: p50/p95 over BENCH_KEYWORD_QUERIES questions x BENCH_KEYWORD_ROUNDS rounds, mask included;
- file: bytes saved to disk (everything needed to answer after a restart), save and load seconds;
- update: 10 documents' chunks replaced, as an ingest of 10 changed pages does. The project's
  index drops and appends by document. bm25s has no update (every stored score holds the corpus'
  idf and mean length), so it rebuilds from every row's text, which the product would first read
  back from Chroma (not counted here); also shown, the rebuild from token lists kept in memory,
  its lower bound, with what keeping those lists costs;
- agreement: overlap of the two top-10s, query by query, before and after the update.

    python benchmarks/bench_keyword.py [--json PATH]

Knobs: BENCH_KEYWORD_SIZES (default 1000,20000,100000), BENCH_KEYWORD_QUERIES (200),
BENCH_KEYWORD_ROUNDS (3). No targets: it informs the choice written in docs/BENCHMARKS.md.
"""

from __future__ import annotations

import gc
import json
import math
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import PYTHON, REPO, cache_dir, loadavg, machine  # noqa: E402
from benchmarks.corpus import COUNTRIES, MONTHS, PEOPLE, TOPICS, VERBS, VOCABULARY, holdings_table, iter_articles  # noqa: E402
from benchmarks.stores import filler_chunks  # noqa: E402
from retrieval.keyword import BM25Index, Row, release_freed_memory, tokenize  # noqa: E402
from retrieval.search import SearchFilter  # noqa: E402

SEED = 17
SIZES = [int(s) for s in os.environ.get("BENCH_KEYWORD_SIZES", "1000,20000,100000").split(",")]
QUERIES = int(os.environ.get("BENCH_KEYWORD_QUERIES", "200"))
ROUNDS = int(os.environ.get("BENCH_KEYWORD_ROUNDS", "3"))
TOP_K = 40  # retrieval/search.py's CANDIDATES
CHANGED_DOCS = 10
INSTALL = ".venv/bin/python -m pip install bm25s==0.3.16"


# -- the same input for both ---------------------------------------------------------------------


def make_rows(size: int) -> list[Row]:
    """`size` chunks: filler articles (10 chunks each, the benchmark stores' filler) and 2% tables."""
    rng = random.Random(SEED)
    tables = max(1, size // 50)
    rows = [
        Row(f"{a['url']}|v1|{j}", f"{a['title']}\n{text}", a["url"], "article", _day(a["published"]))
        for a, j, text in filler_chunks(size - tables)
    ]
    for i in range(tables):
        text = holdings_table(rng, i)
        year, month = re.search(r"\t(\d{4})-(\d{2})", text).groups()
        rows.append(Row(f"table-{i}|v1|0", text, f"table-{i}", "table", int(year + month + "28")))
    return rows


def changed_rows(rows: list[Row]) -> tuple[set[str], list[Row]]:
    """Ten article documents, re-ingested with new text and new chunk ids."""
    rng = random.Random(SEED + 1)
    doc_ids = sorted({r.doc_id for r in rows if r.kind == "article"})
    gone = set(rng.sample(doc_ids, min(CHANGED_DOCS, len(doc_ids))))
    fresh = iter_articles(seed=SEED + 2, paragraphs=10)
    new = []
    for doc_id in sorted(gone):
        a = next(fresh)
        for j, text in enumerate(a["text"].split("\n\n")):
            new.append(Row(f"{doc_id}|v2|{j}", f"{a['title']}\n{text}", doc_id, "article", _day(a["published"])))
    return gone, new


def _day(iso: str) -> int:
    return int(iso.replace("-", ""))


def make_queries(count: int) -> list[tuple[str, tuple[str, ...] | None, int, int]]:
    """Questions as the desk gets them, each with the filter its route would set."""
    rng = random.Random(SEED + 3)
    names = VOCABULARY[20:2000]  # the made-up words stand for names: neither the commonest nor unseen

    def country() -> str:
        return rng.choice(COUNTRIES).removeprefix("the ")

    shapes = [
        lambda: f"Which holders {rng.choice(VERBS)} Treasurys in {rng.choice(MONTHS)}, and why did {country()}?",
        lambda: f"What did {rng.choice(PEOPLE)} say about {rng.choice(TOPICS)}?",
        lambda: f"How much did {country()} hold in {rng.choice(MONTHS)} {rng.randint(2019, 2026)}?",
        lambda: f"{country()} holdings of U.S. Treasurys {rng.choice(MONTHS)} {rng.randint(2024, 2026)}",
        lambda: f"{rng.choice(TOPICS)} {rng.choice(names)} {rng.choice(names)}",
        lambda: f"Is {country()} selling Treasuries amid {rng.choice(TOPICS)} and {rng.choice(names)}?",
        lambda: f"{rng.choice(names)} {country()} 10yr yields {rng.uniform(0.5, 60):.1f}bn",
    ]
    queries = []
    for _ in range(count):
        text = rng.choice(shapes)()
        r = rng.random()
        day = 20240101 + 10000 * rng.randint(0, 2) + 100 * rng.randint(0, 11)
        if r < 0.15:
            queries.append((text, None, 0, 0))
        elif r < 0.6:
            queries.append((text, ("article",), 0, 0))
        elif r < 0.85:
            queries.append((text, ("article",), day, 0))
        elif r < 0.95:
            queries.append((text, ("table",), 0, 0))
        else:
            queries.append((text, ("article",), day, day + 200))
    return queries


# -- bm25s behind the project's interface ---------------------------------------------------------


class Bm25sIndex:
    """What retrieval/keyword.py would be over bm25s: the scores in bm25s, the row ids, documents,
    kinds and days beside them (bm25s keeps no metadata), the filter as its weight mask."""

    def __init__(self):
        import bm25s

        self.retriever = bm25s.BM25(k1=BM25Index.K1, b=BM25Index.B, method="lucene")
        self.ids: list[str] = []
        self.row_docs: list[str] = []
        self.kinds = np.zeros(0, dtype="<U16")
        self.days = np.zeros(0, dtype=np.int32)

    @classmethod
    def build(cls, rows: list[Row], tokens: list[list[str]] | None = None) -> Bm25sIndex:
        index = cls()
        tokens = tokens if tokens is not None else [tokenize(r.text) for r in rows]
        index.retriever.index(tokens, show_progress=False)
        index.ids = [r.id for r in rows]
        index.row_docs = [r.doc_id for r in rows]
        index.kinds = np.array([r.kind for r in rows], dtype="<U16")
        index.days = np.array([r.day for r in rows], dtype=np.int32)
        return index

    def top(self, query: str, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        terms = list(dict.fromkeys(tokenize(query)))  # each term once, as BM25Index.scores does
        k = min(k, len(self.ids))
        if not terms or not k:
            return []
        found = self.retriever.retrieve([terms], k=k, show_progress=False, weight_mask=allowed)
        return [(int(i), float(s)) for i, s in zip(found.documents[0], found.scores[0]) if s > 0]

    def save(self, folder: Path) -> None:
        self.retriever.save(folder / "bm25s", show_progress=False)
        np.savez(
            folder / "rows.npz",
            ids=_pack(self.ids),
            row_docs=_pack(self.row_docs),
            kinds=self.kinds,
            days=self.days,
        )

    @classmethod
    def load(cls, folder: Path) -> Bm25sIndex:
        import bm25s

        index = cls()
        index.retriever = bm25s.BM25.load(folder / "bm25s", load_corpus=False)
        with np.load(folder / "rows.npz") as saved:
            index.ids, index.row_docs = _unpack(saved["ids"]), _unpack(saved["row_docs"])
            index.kinds, index.days = saved["kinds"], saved["days"]
        return index


def _pack(strings: list[str]) -> np.ndarray:
    return np.frombuffer("\0".join(strings).encode(), dtype=np.uint8)


def _unpack(packed: np.ndarray) -> list[str]:
    return packed.tobytes().decode().split("\0")


# -- one case, in its own process ----------------------------------------------------------------


def _status(field: str) -> int:
    """A /proc/self/status figure in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _settle() -> int:
    """RSS in KiB after collecting and trimming, with the peak reset to it (so a phase's peak is its own)."""
    gc.collect()
    release_freed_memory()
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM
    except OSError:
        pass
    return _status("VmRSS")


def _timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn()
    return value, time.perf_counter() - wall, time.process_time() - cpu


def mask(index, kinds: tuple[str, ...] | None, since_day: int, until_day: int) -> np.ndarray | None:
    """The product's filter rules (SearchFilter) over either index's columns: both pay the same."""
    return SearchFilter(kinds, since_day, until_day).mask({"kind": index.kinds, "published_day": index.days})


def _tops(index, queries, k: int = 10) -> list[list[tuple[str, float]]]:
    """Each query's top k as (row id, score); our scores carry a constant k1 + 1 that bm25s's lack."""
    scale = BM25Index.K1 + 1 if isinstance(index, BM25Index) else 1.0
    return [
        [(index.ids[i], score / scale) for i, score in index.top(q, k, mask(index, kinds, since, until))]
        for q, kinds, since, until in queries
    ]


def _query_times(index, queries) -> list[float]:
    for q, kinds, since, until in queries[:20]:  # warm caches and the term cache
        index.top(q, TOP_K, mask(index, kinds, since, until))
    times = []
    for _ in range(ROUNDS):
        for q, kinds, since, until in queries:
            started = time.perf_counter()
            index.top(q, TOP_K, mask(index, kinds, since, until))
            times.append(time.perf_counter() - started)
    return times


def run_case(impl: str, size: int) -> dict:
    rows = make_rows(size)
    gone, new = changed_rows(rows)
    queries = make_queries(QUERIES)
    kept = [r for r in rows if r.doc_id not in gone] + new
    out: dict = {"impl": impl, "size": size, "rows": len(rows), "changed_rows": len(new)}
    if impl == "bm25s":
        import bm25s  # noqa: F401  (its import is not the index's memory)

    base = _settle()
    if impl == "own":
        index, out["build_s"], out["build_cpu_s"] = _timed(lambda: BM25Index().updated((), rows))
    else:
        index, out["build_s"], out["build_cpu_s"] = _timed(lambda: Bm25sIndex.build(rows))
    out["build_peak_mib"] = (_status("VmHWM") - base) / 1024
    out["retained_mib"] = (_settle() - base) / 1024

    times = _query_times(index, queries)
    out["query_p50_ms"] = statistics.median(times) * 1000
    out["query_p95_ms"] = float(np.percentile(times, 95, method="inverted_cdf")) * 1000
    out["top10"] = _tops(index, queries)

    folder = Path(tempfile.mkdtemp(prefix=f"bench-keyword-{impl}-"))
    try:
        if impl == "own":
            path = folder / "keyword-index.npz"
            _, out["save_s"], _ = _timed(lambda: index.save(path, "bench"))
            loaded, out["load_s"], _ = _timed(lambda: BM25Index.load(path, "bench"))
        else:
            _, out["save_s"], _ = _timed(lambda: index.save(folder))
            loaded, out["load_s"], _ = _timed(lambda: Bm25sIndex.load(folder))
        out["file_bytes"] = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
        out["loaded_agrees"] = _tops(loaded, queries[:20]) == out["top10"][:20]
        del loaded
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    before = _settle()
    if impl == "own":
        updated, out["update_s"], out["update_cpu_s"] = _timed(lambda: index.updated(gone, new))
    else:
        # No update in bm25s: every row again, from its text (the product reads it back from Chroma).
        updated, out["update_s"], out["update_cpu_s"] = _timed(lambda: Bm25sIndex.build(kept))
    out["update_peak_mib"] = (_status("VmHWM") - before) / 1024
    assert len(updated.ids) == len(kept), (len(updated.ids), len(kept))
    out["top10_updated"] = _tops(updated, queries)
    del updated

    if impl == "bm25s":
        # The lower bound: had the index kept every row's tokens, only bm25s's own build is paid.
        del index
        before = _settle()
        tokens = [tokenize(r.text) for r in kept]
        out["kept_tokens_mib"] = (_settle() - before) / 1024
        _, out["rebuild_from_tokens_s"], out["rebuild_from_tokens_cpu_s"] = _timed(
            lambda: Bm25sIndex.build(kept, tokens)
        )
    return out


# -- the run ---------------------------------------------------------------------------------------


def overlap(a: list[list], b: list[list]) -> dict:
    """Mean overlap@10 of the row ids over the queries either answers, and the share of queries
    whose two top-10s have the same scores rank by rank: where ids differ but scores do not,
    the two indexes broke a tie differently (repeated filler phrasing ties many rows)."""
    values, same_scores, empty = [], 0, 0
    for x, y in zip(a, b):
        if not x and not y:
            empty += 1
            continue
        values.append(len({i for i, _ in x} & {i for i, _ in y}) / max(1, min(10, max(len(x), len(y)))))
        same_scores += len(x) == len(y) and all(math.isclose(s, t, rel_tol=1e-4) for (_, s), (_, t) in zip(x, y))
    answered = len(values)
    return {
        "mean": statistics.mean(values) if values else float("nan"),
        "lowest": min(values) if values else float("nan"),
        "same_scores": same_scores / answered if answered else float("nan"),
        "answered": answered,
        "neither": empty,
    }


def _mib(n: float) -> str:
    return f"{n:.1f}"


def table(results: list[dict]) -> str:
    lines = [
        "| chunks | index | build s (CPU) | update 10 docs s (CPU) | query p50 / p95 ms | retained MiB | "
        "build peak MiB | file MiB | save / load s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        update = f"{r['update_s']:.3f} ({r['update_cpu_s']:.3f})"
        if r["impl"] == "bm25s":
            update += f"; from kept tokens {r['rebuild_from_tokens_s']:.2f} (+{_mib(r['kept_tokens_mib'])} MiB kept)"
        lines.append(
            f"| {r['size']:,} | {'own (keyword.py)' if r['impl'] == 'own' else 'bm25s 0.3.16'} "
            f"| {r['build_s']:.2f} ({r['build_cpu_s']:.2f}) | {update} "
            f"| {r['query_p50_ms']:.2f} / {r['query_p95_ms']:.2f} | {_mib(r['retained_mib'])} "
            f"| {_mib(r['build_peak_mib'])} | {r['file_bytes'] / 2**20:.2f} | {r['save_s']:.2f} / {r['load_s']:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--case"]:
        impl, size, out = argv[1], int(argv[2]), Path(argv[3])
        out.write_text(json.dumps(run_case(impl, size)))
        return 0
    try:
        import bm25s
    except ImportError:
        print(f"bench_keyword.py needs bm25s, which the project does not depend on: {INSTALL}", file=sys.stderr)
        return 2

    info = machine()
    print(f"{info['date']}  {info['cpu']}  nproc {info['nproc']}  {info['ram']}  load {loadavg()}", flush=True)
    print(f"bm25s {bm25s.__version__}, numpy {np.__version__}; sizes {SIZES}, {QUERIES} queries x {ROUNDS}", flush=True)
    results, loads = [], [loadavg()]
    work = Path(tempfile.mkdtemp(prefix="bench-keyword-"))
    try:
        for n, size in enumerate(SIZES):
            # Alternate who goes first: a load that comes and goes then falls on both.
            for impl in ("own", "bm25s") if n % 2 == 0 else ("bm25s", "own"):
                path = work / f"{impl}-{size}.json"
                started = time.perf_counter()
                subprocess.run([PYTHON, __file__, "--case", impl, str(size), str(path)], cwd=REPO, check=True)
                result = json.loads(path.read_text())
                results.append(result)
                loads.append(loadavg())
                print(
                    f"  {size:>7,} {impl:<6} build {result['build_s']:.2f} s, update {result['update_s']:.3f} s, "
                    f"p95 {result['query_p95_ms']:.2f} ms, retained {result['retained_mib']:.1f} MiB, "
                    f"file {result['file_bytes'] / 2**20:.2f} MiB ({time.perf_counter() - started:.0f} s, "
                    f"load {loads[-1]})",
                    flush=True,
                )
    finally:
        shutil.rmtree(work, ignore_errors=True)

    results.sort(key=lambda r: (r["size"], r["impl"] != "own"))
    print()
    print(table(results))
    print()
    agreement = {}
    for size in SIZES:
        own, other = (next(r for r in results if r["size"] == size and r["impl"] == i) for i in ("own", "bm25s"))
        agreement[size] = {
            "built": overlap(own["top10"], other["top10"]),
            "updated": overlap(own["top10_updated"], other["top10_updated"]),
            "loaded_agrees": (own["loaded_agrees"], other["loaded_agrees"]),
        }
        built, updated = agreement[size]["built"], agreement[size]["updated"]
        print(
            f"  {size:,}: overlap@10 of ids {built['mean']:.3f} (lowest {built['lowest']:.2f}); same scores rank by "
            f"rank {built['same_scores']:.1%} of {built['answered']} queries ({built['neither']} answered by "
            f"neither); after the update {updated['mean']:.3f} / {updated['same_scores']:.1%}; "
            f"saved files answer as built (own, bm25s): {agreement[size]['loaded_agrees']}"
        )
    print(f"  load averages, start and after each case: {' | '.join(loads)}")
    if "--json" in argv:
        path = Path(argv[argv.index("--json") + 1])
    else:
        path = cache_dir("results") / "keyword.json"
    slim = [{k: v for k, v in r.items() if not k.startswith("top10")} for r in results]
    path.write_text(json.dumps({"machine": info, "loads": loads, "results": slim, "agreement": agreement}, indent=1))
    print(f"  written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
