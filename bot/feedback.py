"""👍/👎 votes on answers, one JSON object per line in the data directory.

Each vote is written with a single O_APPEND write of one line, so concurrent writers (threads,
or a second bot process) never interleave half lines, and a crash leaves whole lines only.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path


class FeedbackStore:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()

    def record(self, *, vote: str, user_id: int, question: str, answer: str, sources: list[dict],
               message_id: int | None = None, channel_id: int | None = None, route: str = "",
               data_month: str = "") -> dict:
        if vote not in ("up", "down"):
            raise ValueError(f"vote must be up or down, not {vote!r}")
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "vote": vote,
            "user_id": str(user_id),
            "question": question,
            "answer": answer,
            "sources": sources,
            "route": route,
            "data_month": data_month,
            "message_id": str(message_id) if message_id else "",
            "channel_id": str(channel_id) if channel_id else "",
        }
        line = (json.dumps(entry, ensure_ascii=False) + "\n").encode()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
        return entry

    def entries(self) -> list[dict]:
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue  # a line from a crashed writer of another tool: skip, keep the rest
        return out
