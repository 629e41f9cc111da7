"""Digest subscriptions and when each is due; no Discord here, so it is tested with a fixed clock.

Exactly one digest per channel per local day: a subscription is due once its local time has
passed and it has not posted on that local date. A bot that was down at the scheduled time
posts once when it comes back the same day; the days it missed entirely are not replayed.
State is one JSON file, replaced atomically, so a crash mid-write leaves the old file whole.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from retrieval.calendar import utc_stamp
from retrieval.errors import DeskError


@dataclass
class Subscription:
    channel_id: int
    guild_id: int
    at: str  # "HH:MM" local time
    timezone: str = "UTC"
    last_posted_date: str = ""  # local date of the last post
    last_posted_at: str = ""  # UTC time of the last post: articles ingested after it are new
    last_month_posted: str = ""  # the latest table month the last digest showed

    def local_now(self, now: datetime) -> datetime:
        return now.astimezone(ZoneInfo(self.timezone))

    def is_due(self, now: datetime) -> bool:
        local = self.local_now(now)
        return local.time() >= parse_time(self.at) and self.last_posted_date != local.date().isoformat()


def parse_time(text: str) -> time:
    try:
        hours, minutes = text.strip().split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise DeskError(f"time must be HH:MM (24-hour), got {text!r}") from None


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise DeskError(f"unknown timezone {name!r}; use a name like Europe/London or America/New_York") from None
    return name


def atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class SubscriptionStore:
    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()

    def load(self) -> dict[int, Subscription]:
        if not self.path.exists():
            return {}
        data = json.loads(self.path.read_text(encoding="utf-8") or "{}")
        return {int(k): Subscription(**v) for k, v in data.items()}

    def _save(self, subs: dict[int, Subscription]) -> None:
        atomic_write(self.path, json.dumps({str(k): asdict(v) for k, v in subs.items()}, indent=2))

    def subscribe(
        self, channel_id: int, guild_id: int, at: str, timezone: str = "UTC", now: datetime | None = None
    ) -> Subscription:
        parse_time(at)
        check_timezone(timezone)
        now = now or datetime.now(ZoneInfo("UTC"))
        with self._lock:
            subs = self.load()
            old = subs.get(channel_id)
            sub = Subscription(channel_id, guild_id, at, timezone)
            if old:  # changing the time keeps what was already posted
                sub.last_posted_date, sub.last_posted_at = old.last_posted_date, old.last_posted_at
                sub.last_month_posted = old.last_month_posted
            elif sub.is_due(now):
                # Subscribed after today's time: the first digest comes at the next one.
                sub.last_posted_date = sub.local_now(now).date().isoformat()
                sub.last_posted_at = utc_stamp(now)
            subs[channel_id] = sub
            self._save(subs)
            return sub

    def unsubscribe(self, channel_id: int) -> bool:
        with self._lock:
            subs = self.load()
            if subs.pop(channel_id, None) is None:
                return False
            self._save(subs)
            return True

    def due(self, now: datetime) -> list[Subscription]:
        return [s for s in self.load().values() if s.is_due(now)]

    def skip_day(self, channel_id: int, now: datetime) -> None:
        """Today's digest is given up (the channel refused it): not due again until tomorrow, and
        tomorrow's covers everything since the last post that went out."""
        self._update(channel_id, lambda sub: setattr(sub, "last_posted_date", sub.local_now(now).date().isoformat()))

    def mark_posted(self, channel_id: int, now: datetime, month: str = "") -> None:
        def posted(sub: Subscription) -> None:
            sub.last_posted_date = sub.local_now(now).date().isoformat()
            sub.last_posted_at = utc_stamp(now)
            sub.last_month_posted = month or sub.last_month_posted

        self._update(channel_id, posted)

    def _update(self, channel_id: int, change: Callable[[Subscription], None]) -> None:
        """`change` applied to a channel's subscription and saved; nothing when it has none."""
        with self._lock:
            subs = self.load()
            sub = subs.get(channel_id)
            if sub is None:
                return
            change(sub)
            self._save(subs)
