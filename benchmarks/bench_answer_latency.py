"""Warm answer latency at 20k chunks, idle and with one of the two cores kept busy (issue 13).

Targets: table p95 < 20 ms and article p95 < 150 ms idle; article p95 with one core busy at most
1.5 x the idle p95, in the same run. The questions are the project's own set
(tests/eval/questions.jsonl), table and article kinds; the store is benchmarks/stores.py's 20k
store (real corpus + filler), embedded Chroma, keyword index loaded, model warm.

Environment: BENCH_LATENCY_SIZE (default 20000), BENCH_ROUNDS (default 5 passes per kind).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import REPO, Results, ask_times_ms, loadavg, percentile  # noqa: E402
from benchmarks.stores import ensure_keyword_index, ensure_store, store_summary  # noqa: E402

SIZE = int(os.environ.get("BENCH_LATENCY_SIZE", "20000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
TARGETS = {"table": 20.0, "article": 150.0}
BUSY_RATIO = 1.5
# One core spinning, as an ingest or a Chroma server beside the bot would keep it.
SPIN = "import time\nend = time.time() + 3600\nwhile time.time() < end:\n    pass\n"


def questions() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {"table": [], "article": []}
    for line in (REPO / "tests" / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines():
        item = json.loads(line) if line.strip() else {}
        if item.get("kind") in out:
            out[item["kind"]].append(item["question"])
    return out


def main() -> int:
    from retrieval.answer import AnswerEngine
    from retrieval.settings import RetrievalSettings
    from retrieval.store import KnowledgeBase

    results = Results("answer latency")
    folder = ensure_store(SIZE)
    ensure_keyword_index(folder)
    results.note(f"store: {store_summary(folder)}; load before: {loadavg()}")
    engine = AnswerEngine(KnowledgeBase(RetrievalSettings(data_dir=folder, chroma_url="", _env_file=None)))
    qs = questions()
    for kind_qs in qs.values():  # warm: model, indexes, tables
        for q in kind_qs:
            engine.ask(q)
    idle = {kind: ask_times_ms(engine, kind_qs, ROUNDS) for kind, kind_qs in qs.items()}
    for kind, times in idle.items():
        results.add(f"{kind} p50, idle", percentile(times, 50), "ms")
        results.add(f"{kind} p95, idle", percentile(times, 95), "ms", f"< {TARGETS[kind]:.0f} ms",
                    percentile(times, 95) < TARGETS[kind])
    spinner = subprocess.Popen([sys.executable, "-c", SPIN])
    try:
        time.sleep(1.0)
        busy = ask_times_ms(engine, qs["article"], ROUNDS)
    finally:
        spinner.kill()
        spinner.wait()
    ratio = percentile(busy, 95) / percentile(idle["article"], 95)
    results.add("article p50, one core busy", percentile(busy, 50), "ms")
    results.add("article p95, one core busy", percentile(busy, 95), "ms")
    results.add("article p95 busy / idle", ratio, "x", f"<= {BUSY_RATIO}", ratio <= BUSY_RATIO)
    results.note(f"load after: {loadavg()}")
    return results.finish()


if __name__ == "__main__":
    raise SystemExit(main())
