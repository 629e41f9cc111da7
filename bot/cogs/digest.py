"""Digest: /digest (post it now), /digest-schedule subscribe|unsubscribe (Manage Server), and
the daily posts.

The schedule commands are a group of their own: Discord applies default_permissions and
guild_only to a top-level command only (discord.py drops them on subcommands), so only then are
they hidden from members without Manage Server and from DMs.

A loop checks every minute which subscriptions are due (bot.schedule decides, so the rule is
tested with a fixed clock); each due channel gets one post, recorded right after it is sent.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import discord
from discord import app_commands
from discord.ext import commands, tasks

from bot.checks import DIGEST_POST, lacking_text, manager_group, manager_only, missing_permissions, require_manager
from bot.discord_bot import NO_MENTIONS, DeskBot
from bot.render import digest_embed, top_holders_png
from bot.schedule import SubscriptionStore
from retrieval.calendar import utc_stamp
from retrieval.digest import compose_digest
from retrieval.errors import NotFound

log = logging.getLogger("desk.bot")

FEED_REFRESH_EVERY = timedelta(minutes=30)  # a retried digest must not re-ingest every feed each minute


def utcnow() -> datetime:
    return datetime.now(UTC)


class Digest(commands.Cog):
    schedule = manager_group("digest-schedule", "A daily digest in a channel (Manage Server)")

    def __init__(self, bot: DeskBot, clock: Callable[[], datetime] = utcnow):
        self.bot = bot
        self._feeds_refreshed_at: datetime | None = None
        self.clock = clock  # tests move time by replacing this
        self.store = SubscriptionStore(bot.settings.data_dir / "digest_subscriptions.json")
        self.check.start()

    # discord.py accepts a plain method here (it calls it through maybe_coroutine), but its
    # annotation declares the base method async.
    def cog_unload(self) -> None:  # type: ignore[override]
        self.check.cancel()

    # -- commands ------------------------------------------------------------------------------

    @schedule.command(name="subscribe", description="Post the digest in a channel every day at a time")
    @app_commands.describe(channel="where to post", time="HH:MM, 24-hour", timezone="e.g. Europe/London (default UTC)")
    @manager_only()
    async def subscribe(
        self, interaction: discord.Interaction, channel: discord.TextChannel, time: str, timezone: str = "UTC"
    ) -> None:
        require_manager(interaction)
        assert interaction.guild is not None  # require_manager refused DMs
        lacking = missing_permissions(channel.permissions_for(interaction.guild.me), DIGEST_POST)
        if lacking:  # refused now, not every morning
            await interaction.response.send_message(
                lacking_text(lacking, f"I can't post the digest in {channel.mention}"),
                ephemeral=True,
                allowed_mentions=NO_MENTIONS,
            )
            return
        await interaction.response.defer(ephemeral=True)
        sub = await asyncio.to_thread(
            self.store.subscribe, channel.id, interaction.guild.id, time, timezone, self.clock()
        )
        await interaction.followup.send(
            f"Daily digest set for {channel.mention} at {sub.at} ({sub.timezone}).",
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )

    @schedule.command(name="unsubscribe", description="Stop the daily digest in a channel")
    @manager_only()
    async def unsubscribe(self, interaction: discord.Interaction, channel: discord.TextChannel) -> None:
        require_manager(interaction)
        await interaction.response.defer(ephemeral=True)
        removed = await asyncio.to_thread(self.store.unsubscribe, channel.id)
        text = f"No more digests in {channel.mention}." if removed else f"{channel.mention} had no digest."
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @app_commands.command(name="digest", description="Post the digest of the last day here")
    async def now(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer()
        since = utc_stamp(self.clock() - timedelta(days=1))
        embed, png, _ = await asyncio.to_thread(self._build, since, "", interaction.guild_id)
        await interaction.followup.send(**self._message(embed, png))

    # -- schedule ------------------------------------------------------------------------------

    @tasks.loop(seconds=60)
    async def check(self) -> None:
        await self.post_due()

    @check.before_loop
    async def _wait_ready(self) -> None:
        await self.bot.wait_until_ready()

    @check.error
    async def _loop_error(self, error: BaseException) -> None:
        log.error("digest loop stopped", exc_info=error)

    async def post_due(self) -> int:
        """Post every due digest once; returns how many were posted."""
        now = self.clock()
        posted = 0
        due = await asyncio.to_thread(self.store.due, now)
        if due and (self._feeds_refreshed_at is None or now - self._feeds_refreshed_at >= FEED_REFRESH_EVERY):
            # Once for all the subscriptions due, not once each; and not again at every retry.
            self._feeds_refreshed_at = now
            await asyncio.to_thread(self._refresh_feeds)
        for sub in due:
            channel = self.bot.get_channel(sub.channel_id)
            if channel is None:  # not cached: its guild may be in an outage, so ask before giving up
                try:
                    channel = await self.bot.fetch_channel(sub.channel_id)
                except discord.NotFound:
                    log.warning("digest channel %s no longer exists; unsubscribed", sub.channel_id)
                    await asyncio.to_thread(self.store.unsubscribe, sub.channel_id)
                    continue
                except discord.Forbidden:
                    log.warning("digest channel %s is hidden from the bot; skipped today", sub.channel_id)
                    await asyncio.to_thread(self.store.skip_day, sub.channel_id, now)
                    continue
                except discord.HTTPException as exc:
                    log.warning("digest channel %s could not be looked up (%s); will retry", sub.channel_id, exc)
                    continue
            channel = cast(discord.TextChannel, channel)  # /digest-schedule subscribe takes text channels only
            me = getattr(getattr(channel, "guild", None), "me", None)
            lacking = missing_permissions(channel.permissions_for(me), DIGEST_POST) if me is not None else []
            if lacking:
                log.warning(
                    "digest for channel %s skipped today: the bot lacks %s there", sub.channel_id, ", ".join(lacking)
                )
                await asyncio.to_thread(self.store.skip_day, sub.channel_id, now)
                continue
            try:
                since = sub.last_posted_at or utc_stamp(now - timedelta(days=1))
                embed, png, month = await asyncio.to_thread(self._build, since, sub.last_month_posted, sub.guild_id)
                await channel.send(**self._message(embed, png))
            except (discord.Forbidden, discord.NotFound) as exc:
                # Retrying every minute cannot help: try again tomorrow (a deleted channel: never).
                log.warning(
                    "digest for channel %s refused (%s %s); skipped today", sub.channel_id, exc.status, exc.code
                )
                if isinstance(exc, discord.NotFound):
                    await asyncio.to_thread(self.store.unsubscribe, sub.channel_id)
                else:
                    await asyncio.to_thread(self.store.skip_day, sub.channel_id, now)
                continue
            except Exception:
                log.exception("digest for channel %s failed; will retry at the next check", sub.channel_id)
                continue
            await asyncio.to_thread(self.store.mark_posted, sub.channel_id, now, month)
            posted += 1
        return posted

    def _refresh_feeds(self) -> None:
        from ingest.pipeline import Ingester
        from ingest.settings import IngestSettings

        feeds = IngestSettings().feeds
        if not feeds:
            return
        ingester = Ingester(self.bot.kb)
        for feed in feeds:
            report = ingester.ingest([feed], feed=True)
            for error in report.errors:
                log.warning("digest feed refresh failed: %s", error)

    def _build(self, since: str, last_month: str, guild_id: int | None = None) -> tuple[dict, bytes | None, str]:
        digest = compose_digest(
            self.bot.kb, since=since, book=self.bot.engine.book, last_month_posted=last_month, guild_id=guild_id
        )
        png = None
        if not digest.empty and digest.month:
            try:
                png = top_holders_png(self.bot.engine.book, digest.month)
            except NotFound:
                png = None
        return digest_embed(digest), png, digest.month

    @staticmethod
    def _message(embed: dict, png: bytes | None) -> dict:
        message: dict[str, Any] = {"embed": discord.Embed.from_dict(embed), "allowed_mentions": NO_MENTIONS}
        if png:
            message["embed"].set_image(url="attachment://top-holders.png")
            message["file"] = discord.File(io.BytesIO(png), filename="top-holders.png")
        return message


async def setup(bot: DeskBot) -> None:
    await bot.add_cog(Digest(bot))
