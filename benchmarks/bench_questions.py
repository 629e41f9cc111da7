"""Question latency p50/p95/p99 by kind (table, article, mixed) at 1k / 10k / 100k chunks, with
embedded Chroma and a `chroma run` server, warm (in process, model loaded, indexes built) and
cold (a new `desk ask` process per question); peak RSS of `desk ask` at each size.

The questions are the project's own question set (tests/eval/questions.jsonl): its table, article
and "both" (mixed) items. The stores are benchmarks/stores.py's (real corpus + filler).
Targets (issue 8): warm p95 table < 50 ms and article < 200 ms at 100k chunks; p95 growth from
1k to 100k chunks < 3x. Cold latency and RSS are reported without a target.

Environment: BENCH_SIZES (default 1000,10000,100000), BENCH_MODES (embedded,server),
BENCH_ROUNDS (3 passes over each kind's questions, warm), BENCH_COLD_RUNS (2 per kind; half that at 100k),
BENCH_WHATIF=1 re-measures warm article questions with torch.set_num_threads(1) (default 0 since
queries run through ONNX at one thread, issue 18), BENCH_PROFILE=1 (default) writes pyinstrument
profiles of the largest size to benchmarks/.cache/, BENCH_WARM=0 skips the warm runs (cold only).
Cold runs first bring the store's keyword-index file up to date (as `desk ingest` leaves it),
then time one `desk ask` without the file: until its answer is printed, and until it exits
(it finishes the background build and saves the file first).
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import DESK, REPO, Results, ask_times_ms, cache_dir, loadavg, percentile, run_measured  # noqa: E402
from benchmarks.stores import ChromaRun, ensure_keyword_index, ensure_store, store_summary  # noqa: E402

SIZES = [int(s) for s in os.environ.get("BENCH_SIZES", "1000,10000,100000").split(",")]
MODES = os.environ.get("BENCH_MODES", "embedded,server").split(",")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
COLD_RUNS = int(os.environ.get("BENCH_COLD_RUNS", "2"))
PER_KIND = int(os.environ.get("BENCH_PER_KIND", "10"))
PROFILE = os.environ.get("BENCH_PROFILE", "1") == "1"
WHATIF = os.environ.get("BENCH_WHATIF", "0") == "1"
WARM = os.environ.get("BENCH_WARM", "1") == "1"
KINDS = {"table": "table", "article": "article", "both": "mixed"}
TARGETS = {"table": 50.0, "article": 200.0}
BIG = 100_000


def questions() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {name: [] for name in KINDS.values()}
    for line in (REPO / "tests" / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            name = KINDS.get(item["kind"])
            if name and len(out[name]) < PER_KIND:
                out[name].append(item["question"])
    return out


def profile(engine, qs: list[str], path: Path, what: str) -> None:
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.001)
    profiler.start()
    for q in qs:
        engine.ask(q)
    profiler.stop()
    path.write_text(profiler.output_text(unicode=False, color=False, show_all=False), encoding="utf-8")
    print(f"  profile of {what}: {path}", flush=True)


def warm(res: Results, size: int, mode: str, folder: Path, url: str, embedder, qs, summary: dict) -> None:
    from retrieval.answer import AnswerEngine
    from retrieval.settings import RetrievalSettings
    from retrieval.store import KnowledgeBase

    kb = KnowledgeBase(RetrievalSettings(data_dir=folder, chroma_url=url, _env_file=None), embedder=embedder)
    engine = AnswerEngine(kb)
    tag = f"{size // 1000}k {mode}"
    if PROFILE and size == max(SIZES) and mode == "embedded":
        profile(engine, qs["article"][:1], cache_dir() / f"profile-first-question-{size}.txt",
                "the first question (index build)")
        engine = AnswerEngine(kb)
    (folder / "keyword-index.npz").unlink(missing_ok=True)
    started = time.perf_counter()
    engine.ask(qs["article"][0])
    res.add(f"first article question in a new engine, no saved keyword index, {tag}",
            (time.perf_counter() - started) * 1000, "ms",
            note="above 2,000 chunks: dense search alone while the index is built in the background")
    engine.retriever.wait_for_index()
    res.add(f"keyword index built and saved, from the first question, {tag}", time.perf_counter() - started, "s")
    started = time.perf_counter()
    AnswerEngine(kb).ask(qs["article"][0])
    res.add(f"first article question in a new engine, saved keyword index, {tag}",
            (time.perf_counter() - started) * 1000, "ms", note="loads the index file, reads the tables")
    for kind_qs in qs.values():  # warm: every question once
        for q in kind_qs:
            engine.ask(q)
    for kind, kind_qs in qs.items():
        times = ask_times_ms(engine, kind_qs, ROUNDS)
        p50, p95, p99 = (percentile(times, q) for q in (50, 95, 99))
        summary[(size, mode, kind)] = p95
        target = TARGETS.get(kind)
        judged = target is not None and size >= BIG
        res.add(f"warm {kind:7} p50 / p99, {tag} (n={len(times)})", f"{p50:.1f} / {p99:.1f}", "ms")
        res.add(f"warm {kind:7} p95, {tag}", p95, "ms", f"< {target:g} ms at 100k" if judged else "",
                (p95 < target) if judged else None)
    if mode == "embedded" and WHATIF:
        # What-if, not the project as it is: torch's intra-op threads cut to 1 (see BENCHMARKS.md).
        import torch

        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        times = []
        for _ in range(ROUNDS):
            for q in qs["article"]:
                started = time.perf_counter()
                engine.ask(q)
                times.append((time.perf_counter() - started) * 1000)
        torch.set_num_threads(threads)
        res.add(f"what-if: warm article p50 / p95 with torch.set_num_threads(1), {tag}",
                f"{percentile(times, 50):.1f} / {percentile(times, 95):.1f}", "ms")
    if PROFILE and size == max(SIZES) and mode == "embedded":
        profile(engine, qs["article"] * 2, cache_dir() / f"profile-warm-article-{size}.txt",
                "warm article questions")
        profile(engine, qs["table"] * 2, cache_dir() / f"profile-warm-table-{size}.txt", "warm table questions")
    del engine, kb
    gc.collect()


def until_answer(args: list[str], env: dict) -> tuple[float, float, int]:
    """(seconds until `desk ask --json` has printed its answer, seconds until it exits, exit code)."""
    import subprocess

    started = time.perf_counter()
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    answered = float("nan")
    for line in proc.stdout:
        if line.rstrip() == "}":  # json.dumps(indent=2) closes the answer on a line of its own
            answered = time.perf_counter() - started
    code = proc.wait()
    return answered, time.perf_counter() - started, code


def cold(res: Results, size: int, mode: str, folder: Path, url: str, qs) -> None:
    env = {**os.environ, "DESK_DATA_DIR": str(folder), "DESK_CHROMA_URL": url, "DESK_LLM": ""}
    tag = f"{size // 1000}k {mode}"
    if mode == "embedded":
        saved = folder / "keyword-index.npz"
        saved.unlink(missing_ok=True)
        answered, exited, code = until_answer([DESK, "ask", qs["article"][0], "--json"], env)
        if code != 0:
            res.note(f"desk ask without the index file failed ({code}) at {tag}")
        res.add(f"cold article `desk ask`, no keyword-index file: answer printed / process exit, {tag}",
                f"{answered:.2f} / {exited:.2f}", "s", note="the exit waits for the background build and saves the file")
    ensure_keyword_index(folder)
    peak = 0.0
    for kind, kind_qs in qs.items():
        times, cpu = [], []
        for r in range(COLD_RUNS if size < BIG else max(1, COLD_RUNS // 2)):
            q = kind_qs[r % len(kind_qs)]
            wall, rss, code, out, err, cpu_s = run_measured([DESK, "ask", q], env=env)
            if code != 0:
                res.note(f"desk ask failed ({code}) at {tag}: {err.strip()[-300:]}")
            times.append(wall * 1000)
            cpu.append(cpu_s)
            peak = max(peak, rss)
        res.add(f"cold {kind:7} `desk ask` median, {tag} (n={len(times)})", percentile(times, 50) / 1000, "s")
        res.add(f"cold {kind:7} `desk ask` CPU (user + system) median, {tag}", percentile(cpu, 50), "s")
    res.add(f"peak RSS of `desk ask`, {tag}", peak, "MiB")


def main() -> int:
    from retrieval.embedder import Embedder

    res = Results("questions")
    res.note(f"load average at start: {loadavg()}")
    embedder = Embedder()
    embedder.embed_query("warm up")
    qs = questions()
    summary: dict = {}
    for size in SIZES:
        folder = ensure_store(size, embedder)
        print(f"== {size} chunks: {store_summary(folder)}; load {loadavg()}", flush=True)
        for mode in MODES:
            if mode == "server":
                with ChromaRun(folder / "chroma") as server:
                    if WARM:
                        warm(res, size, mode, folder, server.url, embedder, qs, summary)
                    cold(res, size, mode, folder, server.url, qs)
                    res.add(f"chroma run RSS after the runs, {size // 1000}k", server.rss_mb(), "MiB")
            else:
                if WARM:
                    warm(res, size, mode, folder, "", embedder, qs, summary)
                cold(res, size, mode, folder, "", qs)
    small, big = min(SIZES), max(SIZES)
    if small != big:
        for mode in MODES:
            for kind in qs:
                a, b = summary.get((small, mode, kind)), summary.get((big, mode, kind))
                if a and b:
                    judged = big >= BIG
                    res.add(f"warm {kind} p95 growth {small // 1000}k -> {big // 1000}k, {mode}", b / a, "x",
                            "< 3x" if judged else "", (b / a < 3) if judged else None)
    res.note(f"load average at end: {loadavg()}")
    return res.finish()


if __name__ == "__main__":
    sys.exit(main())
