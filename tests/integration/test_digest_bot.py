"""The digest end to end against the fake Discord: subscribe by slash command, post at its time
with its embed and chart, once; a failing feed is logged and the digest still goes out; a day
with one story from three outlets posts it once, citing each, with the move it explains."""

from __future__ import annotations

import logging
import re
from datetime import datetime, timezone

import pytest

from tests.fakediscord import CommandNotVisible
from tests.integration.digest_fixtures import CHROME, build_store
from tests.webserver import LocalWeb


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 6, 1, hour, minute, tzinfo=timezone.utc)


async def subscribe(fake, bot, time: str = "08:00"):
    inter = await fake.send_interaction("digest-schedule subscribe", {"channel": fake.channel_id, "time": time, "timezone": "UTC"},
                                        user="owner")
    reply = await fake.wait_for_response(inter, "followup", timeout=10)
    return reply.json["content"]


async def test_subscription_posts_once_at_its_time_with_embed_and_chart(desk, monkeypatch):
    fake, bot = await desk()
    cog = bot.get_cog("Digest")
    cog.clock = lambda: at(7, 0)
    assert "Daily digest set" in await subscribe(fake, bot)
    assert await cog.post_due() == 0  # not yet 08:00

    cog.clock = lambda: at(8, 1)
    assert await cog.post_due() == 1
    message = await fake.wait_for_message(fake.channel_id, predicate=lambda m: m.get("embeds"), timeout=20)
    embed = message["embeds"][0]
    assert embed["title"] == "Treasury holdings digest"
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    top = next(v for k, v in fields.items() if k.startswith("Top holders"))
    assert top.splitlines()[0].startswith("1. Japan")
    (attachment,) = message["attachments"]
    assert attachment["filename"] == "top-holders.png"
    assert fake.attachment_bytes(attachment).startswith(b"\x89PNG")
    assert message["mentions"] == [] and not message["mention_everyone"]

    cog.clock = lambda: at(9, 0)
    assert await cog.post_due() == 0  # once per day


async def test_digest_schedule_is_hidden_from_members_and_dms_but_digest_is_not(desk):
    fake, bot = await desk()
    for name in ("digest-schedule subscribe", "digest-schedule unsubscribe"):
        with pytest.raises(CommandNotVisible):
            await fake.send_interaction(name, {"channel": fake.channel_id, "time": "09:00"}, user="alice")
        with pytest.raises(CommandNotVisible):
            await fake.send_interaction(name, {"channel": fake.channel_id, "time": "09:00"}, user="owner", guild=False)
    inter = await fake.send_interaction("digest", user="alice")
    post = await fake.wait_for_response(inter, "followup", timeout=20)
    assert post.json["embeds"][0]["title"] == "Treasury holdings digest"


async def test_subscribe_refuses_a_channel_the_bot_cannot_post_in(desk):
    fake, bot = await desk()
    quiet = fake.add_channel("quiet")
    fake.set_channel_permissions(quiet["id"], deny=1 << 15)  # Attach Files: the chart could not go out
    await fake.wait_until(lambda: bot.get_channel(int(quiet["id"])) and bot.get_channel(int(quiet["id"])).overwrites)
    inter = await fake.send_interaction("digest-schedule subscribe", {"channel": quiet["id"], "time": "08:00"},
                                        user="owner")
    reply = (await fake.wait_for_response(inter, "callback")).json["data"]
    assert reply["flags"] == 64 and "\n" not in reply["content"]
    assert reply["content"] == f"I can't post the digest in <#{quiet['id']}>: I lack the Attach Files permission here."
    assert not bot.get_cog("Digest").store.load()


async def test_a_channel_that_refuses_the_digest_is_not_retried_every_minute(desk, monkeypatch, caplog):
    fake, bot = await desk()
    cog = bot.get_cog("Digest")
    refreshed = []
    monkeypatch.setattr(cog, "_refresh_feeds", lambda: refreshed.append(1))
    cog.clock = lambda: at(7, 0)
    second = fake.add_channel("second")
    await fake.wait_until(lambda: bot.get_channel(int(second["id"])))
    await subscribe(fake, bot)
    inter = await fake.send_interaction("digest-schedule subscribe", {"channel": second["id"], "time": "08:00"},
                                        user="owner")
    await fake.wait_for_response(inter, "followup", timeout=10)
    fake.set_channel_permissions(fake.channel_id, deny=1 << 11)  # later, someone takes Send Messages away
    await fake.wait_until(lambda: bot.get_channel(fake.channel_id).overwrites)

    cog.clock = lambda: at(8, 1)
    with caplog.at_level(logging.WARNING, logger="desk.bot"):
        assert await cog.post_due() == 1  # the second channel gets its digest
    assert refreshed == [1]  # feeds refreshed once for both subscriptions
    assert any("skipped today" in r.getMessage() and "Send Messages" in r.getMessage() for r in caplog.records)
    posts = len(fake.find_requests("POST", "/channels/"))
    for minute in (2, 3, 4):
        cog.clock = lambda m=minute: at(8, m)
        assert await cog.post_due() == 0
    assert len(fake.find_requests("POST", "/channels/")) == posts  # no attempt every minute
    assert refreshed == [1]  # and no re-ingest of every feed each time
    assert [m for m in fake.messages_in(fake.channel_id, from_bot=True) if not m["flags"] & 64] == []


async def test_failing_feed_is_logged_and_digest_still_posts(desk, monkeypatch, caplog):
    with LocalWeb() as web:
        broken = web.add("/feed.xml", body=b"oops", status=500)
        monkeypatch.setenv("DESK_FEEDS", broken)
        fake, bot = await desk()
        cog = bot.get_cog("Digest")
        cog.clock = lambda: at(6, 0)
        await subscribe(fake, bot)
        cog.clock = lambda: at(8, 30)
        with caplog.at_level(logging.WARNING, logger="desk.bot"):
            assert await cog.post_due() == 1
    assert any("digest feed refresh failed" in r.getMessage() and "HTTP 500" in r.getMessage() for r in caplog.records)
    await fake.wait_for_message(fake.channel_id, predicate=lambda m: m.get("embeds"), timeout=20)


async def test_a_deleted_channel_is_unsubscribed_not_retried(desk, monkeypatch, caplog):
    fake, bot = await desk()
    cog = bot.get_cog("Digest")
    monkeypatch.setattr(cog, "_refresh_feeds", lambda: None)
    doomed = fake.add_channel("doomed")
    await fake.wait_until(lambda: bot.get_channel(int(doomed["id"])))
    cog.clock = lambda: at(7, 0)
    inter = await fake.send_interaction("digest-schedule subscribe", {"channel": doomed["id"], "time": "08:00"},
                                        user="owner")
    await fake.wait_for_response(inter, "followup", timeout=10)
    del fake._channels[int(doomed["id"])]
    await fake.dispatch("CHANNEL_DELETE", doomed)
    await fake.wait_until(lambda: bot.get_channel(int(doomed["id"])) is None)

    cog.clock = lambda: at(8, 1)
    with caplog.at_level(logging.WARNING, logger="desk.bot"):
        assert await cog.post_due() == 0
    assert any("no longer exists; unsubscribed" in r.getMessage() for r in caplog.records)
    assert cog.store.load() == {}
    lookups = len(fake.find_requests("GET", f"/channels/{doomed['id']}"))
    cog.clock = lambda: at(8, 2)
    assert await cog.post_due() == 0
    assert len(fake.find_requests("GET", f"/channels/{doomed['id']}")) == lookups == 1


@pytest.fixture(scope="module")
def stories_kb(tmp_path_factory, embedder):
    return build_store(tmp_path_factory.mktemp("digest-bot"), embedder)


async def test_posted_digest_gives_each_story_once_with_its_outlets_and_the_explained_move(desk, stories_kb):
    fake, bot = await desk(kb=stories_kb)
    cog = bot.get_cog("Digest")
    cog.clock = lambda: at(7, 0)
    await subscribe(fake, bot)
    cog.clock = lambda: at(8, 1)  # the first post reaches back a day: every fixture story is newer
    assert await cog.post_due() == 1
    message = await fake.wait_for_message(fake.channel_id, predicate=lambda m: m.get("embeds"), timeout=30)
    embed = message["embeds"][0]
    description = embed["description"]
    assert description.startswith("**[1] Canada")
    items = description.split("\n\n")
    assert sum("$42.3 billion" in item for item in items) == 1  # three outlets, one item
    assert re.match(r"^\*\*\[1\] .*\*\*\n.+\n\[.+\]\(https://.+\) · \[.+\]\(https://.+\) · \[.+\]\(https://.+\) · 2026-06-17$",
                    items[0])
    for outlet in ("Maple Ledger", "Northwind Wire", "Harbour Street Journal"):
        assert f"[{outlet}](https://" in description
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Why they moved"].startswith("**Canada -42.3bn**: ")
    for chrome in CHROME:
        assert chrome not in description
    total = len(embed.get("title", "")) + len(description) + len(embed["footer"]["text"])
    total += sum(len(f["name"]) + len(f["value"]) for f in embed["fields"])
    assert len(description) <= 4096 and total <= 6000
    (attachment,) = message["attachments"]
    assert fake.attachment_bytes(attachment).startswith(b"\x89PNG")
