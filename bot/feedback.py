"""👍/👎 votes on answers, one JSON object per line in the data directory.

Each vote is written with a single O_APPEND write of one line, so concurrent writers (threads,
or a second bot process) never interleave half lines, and a crash leaves whole lines only.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path

from retrieval.calendar import utc_stamp


class FeedbackStore:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._votes: dict[tuple[str, str], str] | None = None  # (user, message) -> latest vote

    def _latest_votes(self) -> dict[tuple[str, str], str]:
        if self._votes is None:
            self._votes = {}
            for e in self.entries():
                if e.get("message_id"):
                    self._votes[(e.get("user_id", ""), e["message_id"])] = e.get("vote", "")
        return self._votes

    def record(
        self,
        *,
        vote: str,
        user_id: int,
        question: str,
        answer: str,
        sources: list[dict],
        message_id: int | None = None,
        channel_id: int | None = None,
        route: str = "",
        data_month: str = "",
    ) -> dict | None:
        """The entry written, or None when this person already gave this answer this vote (one
        vote per person per answer; a changed vote is written and replaces the earlier one)."""
        if vote not in ("up", "down"):
            raise ValueError(f"vote must be up or down, not {vote!r}")
        key = (str(user_id), str(message_id) if message_id else "")
        entry = {
            "time": utc_stamp(datetime.now(UTC)),
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
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            earlier = self._latest_votes().get(key) if key[1] else None
            if earlier == vote:
                return None
            if earlier:
                entry["replaces"] = earlier
            line = (json.dumps(entry, ensure_ascii=False) + "\n").encode()
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
            if key[1]:
                self._latest_votes()[key] = vote
        return entry

    def latest(self) -> list[dict]:
        """One entry per person and answer: their last vote (what the counts use)."""
        last: dict[tuple, dict] = {}
        for n, e in enumerate(self.entries()):
            last[(e.get("user_id", ""), e.get("message_id") or f"#{n}")] = e
        return list(last.values())

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
