"""`make bench`: every benchmark in turn, then one results table with the machine, the date and
the versions (printed, and written to benchmarks/.cache/results.md); exits non-zero when any
target is missed.

`run_all.py NAME...` runs only those (ingest, quality, questions, bot); `--report-only` rebuilds
the table from the JSON the last runs left in benchmarks/.cache/results/. The sizes and rounds are
set by each script's BENCH_* environment variables (see their docstrings).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.common import cache_dir, loadavg, machine  # noqa: E402

SCRIPTS = {"ingest": "bench_ingest.py", "quality": "bench_quality.py", "questions": "bench_questions.py",
           "bot": "bench_bot.py"}


def table(results: list[dict]) -> str:
    lines = ["| benchmark | metric | value | target | met |", "| --- | --- | --- | --- | --- |"]
    for result in results:
        for row in result["rows"]:
            met = "" if row["met"] is None else ("met" if row["met"] else "**MISSED**")
            value = f"{row['value']} {row['unit']}".strip()
            lines.append(f"| {row['benchmark']} | {row['metric']} | {value} | {row['target']} | {met} |")
    return "\n".join(lines)


def main() -> int:
    report_only = "--report-only" in sys.argv
    chosen = [a for a in sys.argv[1:] if not a.startswith("--")] or list(SCRIPTS)
    out = cache_dir("results")
    info = machine()
    results, failed, durations = [], [], {}
    for name in chosen:
        path = out / f"{name}.json"
        if report_only:  # the table from the last runs' JSON, nothing measured again
            code = 0 if path.exists() and not any(r["met"] is False for r in json.loads(path.read_text())["rows"]) else 1
        else:
            print(f"== {name} ({SCRIPTS[name]}), load {loadavg()}", flush=True)
            started = time.perf_counter()
            path.unlink(missing_ok=True)
            code = subprocess.run([sys.executable, str(HERE / SCRIPTS[name]), "--json", str(path)],
                                  cwd=HERE.parent).returncode
            durations[name] = time.perf_counter() - started
        if code != 0:
            failed.append(name)
        if path.exists():
            results.append(json.loads(path.read_text()))
        else:
            results.append({"benchmark": name, "rows": [{"benchmark": name, "metric": "did not finish",
                                                         "value": f"exit {code}", "unit": "", "target": "",
                                                         "met": False}], "notes": []})
    versions = ", ".join(f"{k} {v}" for k, v in info["versions"].items())
    header = (f"Date: {info['date']}  \nMachine: {info['nproc']} cores, {info['cpu']}, {info['ram']} RAM, "
              f"kernel {info['kernel']}  \nLoad average at start: {info['load']}; at end: {loadavg()}  \n"
              f"Versions: {versions}  \nDurations: " + ", ".join(f"{k} {v:.0f} s" for k, v in durations.items()))
    runs = "; ".join(f"{r['benchmark']} at {r['machine']['date']} (load {r['machine']['load']})"
                     for r in results if "machine" in r)
    header += f"  \nRuns: {runs}"
    notes = "\n".join(f"- {r['benchmark']}: {n}" for r in results for n in r.get("notes", []))
    report = f"{header}\n\n{table(results)}\n\nNotes:\n{notes}\n"
    (out / "results.md").write_text(report, encoding="utf-8")
    print("\n" + report)
    if failed:
        print("targets missed in:", ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
