"""The digest end to end against the fake Discord: subscribe by slash command, post at its time
with its embed and chart, once; a failing feed is logged and the digest still goes out."""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from tests.webserver import LocalWeb


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 6, 1, hour, minute, tzinfo=timezone.utc)


async def subscribe(fake, bot, time: str = "08:00"):
    inter = await fake.send_interaction("digest subscribe", {"channel": fake.channel_id, "time": time, "timezone": "UTC"},
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


async def test_digest_unsubscribe_needs_manage_server(desk):
    fake, bot = await desk()
    inter = await fake.send_interaction("digest unsubscribe", {"channel": fake.channel_id}, user="alice")
    reply = await fake.wait_for_response(inter, "any", timeout=10)
    assert "Manage Server" in str(reply.json)


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
