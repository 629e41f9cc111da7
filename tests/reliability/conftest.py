"""Helpers for the reliability suite: the forking ingest runner, a small corpus written here,
the Discord fixtures of tests/integration reused, and the `soak` marker (long runs CI skips).

Run the soak tests with `make soak` (RELIABILITY_SOAK=1 pytest tests/reliability -m soak).
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, wait_or_kill

# The Discord fixtures (sample_kb, engine, desk) live with the integration tests: reuse them.
from tests.integration.conftest import desk, engine, sample_kb  # noqa: F401

SOAK = os.environ.get("RELIABILITY_SOAK") == "1"


def pytest_configure(config):
    config.addinivalue_line("markers", "soak: long reliability runs (20 SIGKILL trials); set RELIABILITY_SOAK=1")


def pytest_collection_modifyitems(config, items):
    """The soak run is opt-in (`make soak`): left out of the run, not skipped inside it."""
    if SOAK:
        return
    soak = [item for item in items if "soak" in item.keywords]
    if soak:
        config.hook.pytest_deselected(items=soak)
        items[:] = [item for item in items if "soak" not in item.keywords]


# -- a corpus of short, distinct briefs --------------------------------------------------------

TOPICS = [
    ("aardvark", "Belgium"), ("badger", "Luxembourg"), ("cormorant", "Ireland"), ("dingo", "Norway"),
    ("egret", "Brazil"), ("ferret", "India"), ("gecko", "Mexico"), ("heron", "Canada"),
    ("ibis", "Taiwan"), ("jackal", "Singapore"), ("kestrel", "Israel"), ("lemur", "Sweden"),
    ("marmot", "Thailand"), ("narwhal", "Poland"), ("ocelot", "Chile"), ("pelican", "Peru"),
    ("quail", "Colombia"), ("raven", "Kuwait"), ("stoat", "Qatar"), ("tapir", "Vietnam"),
    ("urchin", "Egypt"), ("vole", "Kenya"), ("walrus", "Turkey"), ("yak", "Greece"),
]


def brief(i: int, version: int = 1) -> str:
    animal, country = TOPICS[i % len(TOPICS)]
    change = f"{i + version}.{version}"
    extra = "" if version == 1 else f"\nA revised note adds that the {animal} desk rechecked every figure in version {version}.\n"
    return (f"title: The {animal} memo on {country}\nsource: reliability test brief\n"
            f"published: 2026-02-{i % 27 + 1:02d}\nurl: https://example.com/reliability/{animal}\n\n"
            f"The {animal} memo says {country} changed its holdings of Treasury bills by {change} billion dollars "
            f"in January. Analysts on the {animal} desk said the move reflected reserve management in {country}, "
            f"not a view on U.S. credit.{extra}")


def write_corpus(folder: Path, count: int, version: int = 1, changed: set[int] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        v = version if changed is None or i in changed else 1
        (folder / f"{i:02d}-{TOPICS[i][0]}.md").write_text(brief(i, v), encoding="utf-8")
    return folder


# -- the forking ingest runner --------------------------------------------------------------------

class IngestRunner:
    """tests/reliability/ingest_child.py in a subprocess: one forked ingest process per job."""

    def __init__(self):
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.reliability.ingest_child"], cwd=REPO, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1)
        self.events: queue.Queue = queue.Queue()
        self.log: list[dict] = []
        threading.Thread(target=self._read, daemon=True).start()
        self.expect("imported", timeout=120)

    def _read(self) -> None:
        for line in self.process.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue  # a library printing to stdout
            self.log.append(event)
            self.events.put(event)

    def expect(self, name: str, timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {name!r} event from the ingest runner; last events: {self.log[-5:]}")
            try:
                event = self.events.get(timeout=left)
            except queue.Empty:
                continue
            if event["event"] == "error":
                raise AssertionError(f"ingest child failed:\n{event['traceback']}")
            if event["event"] == name:
                return event

    def start(self, **job) -> int:
        """Fork an ingest; returns its pid once the child says it is ready (model loaded)."""
        self.process.stdin.write(json.dumps(job) + "\n")
        self.process.stdin.flush()
        return self.expect("ready")["pid"]

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()  # the runner exits at the end of its input
            wait_or_kill(self.process, 20)


@pytest.fixture(scope="session")
def ingest_runner():
    runner = IngestRunner()
    yield runner
    runner.close()
