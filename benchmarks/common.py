"""Helpers shared by the benchmarks: machine facts, percentiles, result rows, process timing.

Every benchmark records rows (benchmark, metric, value, unit, target, met) with `Results`,
prints them as it goes, writes them as JSON when given `--json PATH` (run_all.py collects
them into one table) and exits 1 when a target was missed.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("BENCH_CACHE", REPO / "benchmarks" / ".cache"))
SHARED = REPO.parent / "shared" / "data"
PYTHON = sys.executable
DESK = str(Path(sys.executable).parent / "desk")

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def cache_dir(*parts: str) -> Path:
    """A folder under benchmarks/.cache, which keeps itself out of git."""
    CACHE.mkdir(parents=True, exist_ok=True)
    ignore = CACHE / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n", encoding="utf-8")
    path = CACHE.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def real_corpus() -> list[str]:
    """What `make eval` ingests: the sample corpus, Treasury's tables and the shared article."""
    inputs = [str(REPO / "data" / "sample")]
    for p in (SHARED / "holdings" / "slt_table5.txt", SHARED / "holdings" / "mfhhis01.txt",
              SHARED / "holdings" / "mfh.txt", SHARED / "articles"):
        if p.exists():
            inputs.append(str(p))
    return inputs


def percentile(values: list[float], q: float) -> float:
    """retrieval.evaluate's nearest-rank percentile, but NaN for no values: an empty sample (no
    interaction deferred, say) must fail a "< target" check rather than pass as 0."""
    from retrieval.evaluate import percentile as nearest_rank

    return nearest_rank(values, q) if values else float("nan")


def ask_times_ms(engine, questions: list[str], rounds: int) -> list[float]:
    """Each question asked `rounds` times in turn: the wall time of every answer, in ms."""
    times = []
    for _ in range(rounds):
        for question in questions:
            started = time.perf_counter()
            engine.ask(question)
            times.append((time.perf_counter() - started) * 1000)
    return times


def loadavg() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def machine() -> dict:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    versions = {"python": platform.python_version()}
    from importlib.metadata import PackageNotFoundError, version

    for name in ("torch", "sentence-transformers", "chromadb", "langchain-core", "langchain-text-splitters",
                 "langchain-chroma", "discord.py", "numpy", "pyinstrument", "psutil"):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "-"
    return {"date": time.strftime("%Y-%m-%d %H:%M %Z"), "nproc": os.cpu_count(), "cpu": cpu, "ram": ram,
            "load": loadavg(), "kernel": platform.release(), "versions": versions}


@dataclass
class Row:
    benchmark: str
    metric: str
    value: float | str
    unit: str = ""
    target: str = ""
    met: bool | None = None  # None: reported, no target
    note: str = ""


@dataclass
class Results:
    benchmark: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, metric: str, value, unit: str = "", target: str = "", met: bool | None = None, note: str = ""):
        if isinstance(value, float):
            value = round(value, 3 if abs(value) < 10 else 1)
        row = Row(self.benchmark, metric, value, unit, target, met, note)
        self.rows.append(row)
        status = "" if met is None else ("  ok" if met else "  MISSED")
        target_text = f"  (target {target})" if target else ""
        print(f"  {metric:<58} {value!s:>10} {unit:<6}{target_text}{status}{'  ' + note if note else ''}", flush=True)
        return row

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"  note: {text}", flush=True)

    @property
    def missed(self) -> list[Row]:
        return [r for r in self.rows if r.met is False]

    def finish(self, argv: list[str] | None = None) -> int:
        argv = sys.argv[1:] if argv is None else argv
        if "--json" in argv:
            path = Path(argv[argv.index("--json") + 1])
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({"benchmark": self.benchmark, "machine": machine(),
                                        "rows": [asdict(r) for r in self.rows], "notes": self.notes}, indent=1))
        if self.missed:
            print(f"{self.benchmark}: MISSED " + ", ".join(r.metric for r in self.missed), flush=True)
            return 1
        print(f"{self.benchmark}: every target met", flush=True)
        return 0


class Measured(NamedTuple):
    wall: float  # seconds
    rss: float  # peak MiB
    code: int
    out: str
    err: str
    cpu: float  # user + system seconds: on a shared machine far steadier than the wall time


def run_measured(args: list[str], env: dict | None = None, timeout: float = 900) -> Measured:
    """One child, measured.

    The peak is the child's own VmHWM, polled while it runs: the kernel's ru_maxrss of a child
    starts from its parent's peak when the child was spawned from it (fork or vfork, then exec),
    so a benchmark holding a 100k-chunk engine would report its own size for every child."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=err)
        deadline = started + timeout
        peak_kib = 0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            peak_kib = max(peak_kib, _own_peak_kib(proc.pid, args[-1]))
            if time.perf_counter() > deadline:
                proc.kill()
            time.sleep(0.005)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Measured(
            wall,
            peak_kib / 1024,
            proc.returncode,
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
            usage.ru_utime + usage.ru_stime,
        )


def _own_peak_kib(pid: int, last_arg: str) -> int:
    """VmHWM of the process once it runs its own program (before exec it is still the parent)."""
    try:
        if last_arg.encode() not in Path(f"/proc/{pid}/cmdline").read_bytes():
            return 0
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def self_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
