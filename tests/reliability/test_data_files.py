"""Feedback votes and digest state survive a crash in the middle of a write.

A child process (plain Python, no model) records votes and rewrites the subscription file in
a tight loop, printing after each completed write; it is SIGKILLed at 20 random moments. After
each kill every feedback line is whole JSON, no acknowledged vote is missing, and the digest
state file is the old or the new version, never a mix.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

from tests.conftest import REPO

CHILD = r"""
import sys
from datetime import datetime, timezone
from pathlib import Path
from bot.feedback import FeedbackStore
from bot.schedule import SubscriptionStore
root = Path(sys.argv[1])
votes = FeedbackStore(root / "feedback.jsonl")
subs = SubscriptionStore(root / "digest_subscriptions.json")
print("ready", flush=True)
i = 0
while True:
    i += 1
    votes.record(vote="up" if i % 2 else "down", user_id=i, question="Who holds the most? " + "x" * (i % 300),
                 answer="Japan [1]. " * (i % 50), sources=[{"n": 1, "title": "Table 5", "url": ""}])
    for channel in range(1, 6):  # a file big enough that a torn write would show
        subs.subscribe(channel * 1000 + i % 7, 42, f"{i % 24:02d}:{i % 60:02d}", "Europe/London",
                       now=datetime(2026, 5, 1, tzinfo=timezone.utc))
    print(i, flush=True)
"""


def test_feedback_and_digest_state_survive_twenty_sigkills_mid_write(tmp_path):
    rng = random.Random(7)
    acknowledged_total = 0
    for trial in range(20):
        process = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path)], cwd=REPO,
                                   stdout=subprocess.PIPE, text=True)
        assert process.stdout.readline().strip() == "ready"
        time.sleep(0.05 + rng.random() * 0.4)
        os.kill(process.pid, signal.SIGKILL)
        out = process.stdout.read().split()
        process.wait()
        acknowledged = int(out[-1]) if out else 0
        acknowledged_total += acknowledged

        raw = (tmp_path / "feedback.jsonl").read_bytes()
        assert raw.endswith(b"\n"), f"trial {trial}: a half line at the end"
        entries = [json.loads(line) for line in raw.decode("utf-8").splitlines()]  # every line is whole JSON
        assert len(entries) >= acknowledged_total, f"trial {trial}: acknowledged votes lost"
        state = json.loads((tmp_path / "digest_subscriptions.json").read_text(encoding="utf-8"))
        assert state and all(set(v) >= {"channel_id", "at", "timezone"} for v in state.values())
        leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".digest_subscriptions.json.")]
        # a kill between mkstemp and os.replace can leave a temporary file behind; it is never read
        assert len(leftovers) <= trial + 1
    assert acknowledged_total >= 20  # the kills did land while writing
