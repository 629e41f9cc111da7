"""Digest scheduling with a controlled clock."""

from datetime import datetime, timezone

import pytest

from bot.schedule import SubscriptionStore
from retrieval.errors import DeskError


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


@pytest.fixture
def store(tmp_path):
    return SubscriptionStore(tmp_path / "digest.json")


EARLY = utc("2026-01-01T00:00:00")


def test_fires_at_the_channels_local_time(store):
    store.subscribe(1, 10, "08:00", "America/New_York", now=EARLY)  # 08:00 EST is 13:00 UTC in January
    assert store.due(utc("2026-01-15T12:59:00")) == []
    assert [s.channel_id for s in store.due(utc("2026-01-15T13:00:00"))] == [1]


def test_once_per_day_and_no_double_post_after_restart(store, tmp_path):
    store.subscribe(1, 10, "09:00", "Europe/London", now=EARLY)
    now = utc("2026-03-02T09:05:00")
    assert len(store.due(now)) == 1
    store.mark_posted(1, now, month="2026-04")
    restarted = SubscriptionStore(tmp_path / "digest.json")  # a new process reads the same file
    assert restarted.due(utc("2026-03-02T09:06:00")) == []
    assert restarted.due(utc("2026-03-02T23:59:00")) == []
    assert len(restarted.due(utc("2026-03-03T09:00:00"))) == 1
    assert restarted.load()[1].last_month_posted == "2026-04"


def test_downtime_gives_one_catch_up_post_not_one_per_missed_day(store):
    store.subscribe(1, 10, "07:30", "UTC", now=EARLY)
    store.mark_posted(1, utc("2026-03-01T07:30:00"))
    back = utc("2026-03-05T15:00:00")  # down from the 2nd to the afternoon of the 5th
    assert len(store.due(back)) == 1
    store.mark_posted(1, back)
    assert store.due(utc("2026-03-05T16:00:00")) == []


def test_two_channels_with_different_times(store):
    store.subscribe(1, 10, "08:00", "Asia/Tokyo", now=EARLY)  # 23:00 UTC the day before
    store.subscribe(2, 10, "08:00", "Europe/London", now=EARLY)
    store.mark_posted(2, utc("2026-02-10T08:00:00"))
    assert [s.channel_id for s in store.due(utc("2026-02-10T23:30:00"))] == [1]
    store.mark_posted(1, utc("2026-02-10T23:30:00"))
    assert [s.channel_id for s in store.due(utc("2026-02-11T08:00:00"))] == [2]


def test_subscribing_after_todays_time_waits_for_tomorrow(store):
    store.subscribe(1, 10, "08:00", "UTC", now=utc("2026-02-10T12:00:00"))
    assert store.due(utc("2026-02-10T12:01:00")) == []
    assert len(store.due(utc("2026-02-11T08:00:00"))) == 1


def test_bad_time_or_timezone_is_refused_and_nothing_stored(store):
    with pytest.raises(DeskError, match="HH:MM"):
        store.subscribe(1, 10, "25:99")
    with pytest.raises(DeskError, match="unknown timezone"):
        store.subscribe(1, 10, "08:00", "Mars/Olympus")
    assert store.load() == {}


def test_unsubscribe(store):
    store.subscribe(1, 10, "08:00")
    assert store.unsubscribe(1) is True
    assert store.unsubscribe(1) is False
    assert store.due(utc("2026-02-11T09:00:00")) == []


def test_crash_mid_write_leaves_the_old_state(store, monkeypatch):
    store.subscribe(1, 10, "08:00")
    import bot.schedule as schedule

    def boom(*args):
        raise OSError("disk full")

    monkeypatch.setattr(schedule.os, "replace", boom)
    with pytest.raises(OSError):
        store.subscribe(2, 10, "09:00")
    assert list(store.load()) == [1]
    assert [p.name for p in store.path.parent.iterdir()] == ["digest.json"]  # no temp file left
