"""Digest: /digest subscribe|unsubscribe (Manage Server), /digest now, and the daily posts.

A loop checks every minute which subscriptions are due (bot.schedule decides, so the rule is
tested with a fixed clock); each due channel gets one post, recorded right after it is sent.
"""

from __future__ import annotations

import asyncio
import io
import logging
from datetime import datetime, timedelta, timezone

import discord
from discord import app_commands
from discord.ext import commands, tasks

from bot.cogs.admin import _require_manager, manager_only
from bot.digest_render import digest_embed, top_holders_png
from bot.discord_bot import NO_MENTIONS
from bot.schedule import SubscriptionStore
from retrieval.digest import compose_digest
from retrieval.errors import NotFound

log = logging.getLogger("desk.bot")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Digest(commands.Cog):
    digest = app_commands.Group(name="digest", description="A daily post of what the news and the tables say")

    def __init__(self, bot, clock=utcnow):
        self.bot = bot
        self.clock = clock  # tests move time by replacing this
        self.store = SubscriptionStore(bot.settings.data_dir / "digest_subscriptions.json")
        self.check.start()

    def cog_unload(self) -> None:
        self.check.cancel()

    # -- commands ------------------------------------------------------------------------------

    @digest.command(name="subscribe", description="Post the digest in a channel every day at a time")
    @app_commands.describe(channel="where to post", time="HH:MM, 24-hour", timezone="e.g. Europe/London (default UTC)")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    @manager_only()
    async def subscribe(self, interaction: discord.Interaction, channel: discord.TextChannel, time: str,
                        timezone: str = "UTC") -> None:
        _require_manager(interaction)
        await interaction.response.defer(ephemeral=True)
        sub = await asyncio.to_thread(self.store.subscribe, channel.id, interaction.guild_id, time, timezone, self.clock())
        await interaction.followup.send(f"Daily digest set for {channel.mention} at {sub.at} ({sub.timezone}).",
                                        ephemeral=True, allowed_mentions=NO_MENTIONS)

    @digest.command(name="unsubscribe", description="Stop the daily digest in a channel")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    @manager_only()
    async def unsubscribe(self, interaction: discord.Interaction, channel: discord.TextChannel) -> None:
        _require_manager(interaction)
        await interaction.response.defer(ephemeral=True)
        removed = await asyncio.to_thread(self.store.unsubscribe, channel.id)
        text = f"No more digests in {channel.mention}." if removed else f"{channel.mention} had no digest."
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)

    @digest.command(name="now", description="Post the digest of the last day here")
    async def now(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer()
        since = (self.clock() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        embed, png, _ = await asyncio.to_thread(self._build, since, "")
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
        for sub in await asyncio.to_thread(self.store.due, now):
            channel = self.bot.get_channel(sub.channel_id)
            if channel is None:
                log.warning("digest channel %s is not visible to the bot; skipped", sub.channel_id)
                continue
            try:
                await asyncio.to_thread(self._refresh_feeds)
                since = sub.last_posted_at or (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
                embed, png, month = await asyncio.to_thread(self._build, since, sub.last_month_posted)
                await channel.send(**self._message(embed, png))
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

    def _build(self, since: str, last_month: str) -> tuple[dict, bytes | None, str]:
        digest = compose_digest(self.bot.kb, since=since, book=self.bot.engine.book, last_month_posted=last_month)
        png = None
        if not digest.empty and digest.month:
            try:
                png = top_holders_png(self.bot.engine.book, digest.month)
            except NotFound:
                png = None
        return digest_embed(digest), png, digest.month

    @staticmethod
    def _message(embed: dict, png: bytes | None) -> dict:
        message = {"embed": discord.Embed.from_dict(embed), "allowed_mentions": NO_MENTIONS}
        if png:
            message["embed"].set_image(url="attachment://top-holders.png")
            message["file"] = discord.File(io.BytesIO(png), filename="top-holders.png")
        return message


async def setup(bot) -> None:
    await bot.add_cog(Digest(bot))
