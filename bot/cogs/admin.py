"""Admin: /ingest url, /ingest feed, /ingest file, /forget. Manage Server only: Discord hides the
commands from others (default_permissions) and the bot checks again, since a server admin can
override command permissions per role or channel.

What a server ingests is that server's (guild scope): only it answers from it, lists it and may
forget it. Shared documents come from the command line."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import manager_group, manager_only, require_manager
from bot.discord_bot import NO_MENTIONS, DeskBot
from bot.render import plain_message, truncate
from bot.scope import documents_in_scope, forget_in_scope
from retrieval.errors import DeskError
from retrieval.store import owner_of

if TYPE_CHECKING:
    from ingest.pipeline import Ingester, IngestReport

log = logging.getLogger("desk.bot")

PROGRESS_EVERY = 2.0  # seconds between progress edits: well inside Discord's edit rate limit


class Admin(commands.Cog):
    ingest = manager_group("ingest", "Add sources to the knowledge base (Manage Server)")

    def __init__(self, bot: DeskBot):
        self.bot = bot

    async def _run_ingest(self, interaction: discord.Interaction, url: str, feed: bool) -> None:
        require_manager(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        url = url.strip()
        if not url.lower().startswith(("http://", "https://")):
            raise DeskError("Give an http(s) URL.")
        label = f"{'Feed' if feed else 'URL'} {url}"
        await self._ingest_with_progress(interaction, lambda ingester: ingester.ingest([url], feed), label)

    async def _ingest_with_progress(
        self, interaction: discord.Interaction, run: Callable[[Ingester], IngestReport], label: str
    ) -> None:
        """`run` the ingest in a thread, showing its progress in the deferred reply."""
        from ingest.pipeline import Ingester  # loaded on the first ingest, not at start-up

        latest = {"text": f"Fetching {label}…"}
        ingester = Ingester(
            self.bot.kb,
            progress=lambda msg: latest.__setitem__(
                "text", f"Ingesting {msg if msg.startswith(('http://', 'https://')) else label}"
            ),
            guild_id=interaction.guild_id,
        )
        job = asyncio.create_task(asyncio.to_thread(run, ingester))
        shown = None
        while not job.done():
            if latest["text"] != shown:
                shown = latest["text"]
                await interaction.edit_original_response(content=plain_message(shown), allowed_mentions=NO_MENTIONS)
            await asyncio.wait([job], timeout=PROGRESS_EVERY)
        report = job.result()
        lines = [f"{label}: {report.summary()}"]
        lines += [f"• failed: {error}" for error in report.errors[:5]]
        if report.doc_ids:
            lines.append("Documents: " + ", ".join(f"`{d}`" for d in report.doc_ids[:10]))
        log.info(
            "ingest by %s in guild %s of %s: %s", interaction.user.id, interaction.guild_id, label, report.summary()
        )
        await interaction.edit_original_response(content=plain_message("\n".join(lines)), allowed_mentions=NO_MENTIONS)
        interaction.extras["answered"] = True

    @ingest.command(name="url", description="Ingest one article or table from a URL")
    @manager_only()
    @app_commands.describe(url="http(s) address of the page or table")
    async def ingest_url(self, interaction: discord.Interaction, url: str) -> None:
        await self._run_ingest(interaction, url, feed=False)

    @ingest.command(name="feed", description="Ingest every entry of an RSS/Atom feed")
    @manager_only()
    @app_commands.describe(url="http(s) address of the feed")
    async def ingest_feed(self, interaction: discord.Interaction, url: str) -> None:
        await self._run_ingest(interaction, url, feed=True)

    @ingest.command(name="file", description="Ingest an attached file: article (.txt .md .html .json .jsonl) or more")
    @manager_only()
    @app_commands.describe(file="The file to add; only this server will answer from it")
    async def ingest_file(self, interaction: discord.Interaction, file: discord.Attachment) -> None:
        require_manager(interaction)
        from ingest.origins import check_size
        from ingest.settings import IngestSettings

        check_size(Path(file.filename).name, file.size, IngestSettings())  # before downloading it
        await interaction.response.defer(ephemeral=True, thinking=True)
        data = await file.read()
        # Read as `desk ingest` reads a file of that name: every format it knows works here too.
        await self._ingest_with_progress(
            interaction,
            lambda ingester: ingester.ingest_attachment(data, file.filename),
            f"File {Path(file.filename).name}",
        )

    @app_commands.command(name="forget", description="Remove a document from the knowledge base (Manage Server)")
    @app_commands.describe(id="The document id, as /sources shows it")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    @manager_only()
    async def forget(self, interaction: discord.Interaction, id: str) -> None:
        require_manager(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        await asyncio.to_thread(forget_in_scope, self.bot.kb, id, interaction.guild_id)
        log.info("forget by %s in guild %s of %s", interaction.user.id, interaction.guild_id, id)
        await interaction.edit_original_response(content=plain_message(f"Forgot `{id}`."), allowed_mentions=NO_MENTIONS)
        interaction.extras["answered"] = True

    @forget.autocomplete("id")
    async def forget_autocomplete(self, interaction: discord.Interaction, current: str):
        try:
            docs = await asyncio.to_thread(documents_in_scope, self.bot.kb, interaction.guild_id)
        except DeskError:
            return []
        docs = [d for d in docs if owner_of(d) == interaction.guild_id]  # only its own can be forgotten
        typed = (current or "").lower()
        hits = [
            d for d in docs if len(d["id"]) <= 100 and (typed in d["id"].lower() or typed in d.get("title", "").lower())
        ]
        return [app_commands.Choice(name=truncate(d.get("title") or d["id"], 100), value=d["id"]) for d in hits[:25]]


async def setup(bot: DeskBot) -> None:
    await bot.add_cog(Admin(bot))
