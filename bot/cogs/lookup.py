"""Exact lookups from the holdings tables: /holdings, /top, /compare, /chart, and /sources.

Only Chroma metadata is read (retrieval.holdings), in a worker thread; countries and months
autocomplete from what the tables hold.
"""

from __future__ import annotations

import asyncio
import io
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_bot import NO_MENTIONS, DeskBot
from bot.render import render_chart, render_compare, render_country, render_sources, render_top, series_png
from bot.scope import documents_in_scope
from bot.transformers import Month, matching_choices
from retrieval.errors import DeskError
from retrieval.lookup import look_up_country, look_up_pair, look_up_series, look_up_top


class Lookup(commands.Cog):
    def __init__(self, bot: DeskBot):
        self.bot = bot

    @property
    def book(self):
        return self.bot.engine.book

    async def _send(self, interaction: discord.Interaction, embed: dict, file: discord.File | None = None) -> None:
        kwargs: dict[str, Any] = {"file": file} if file else {}
        await interaction.followup.send(embed=discord.Embed.from_dict(embed), allowed_mentions=NO_MENTIONS, **kwargs)
        interaction.extras["answered"] = True

    # -- autocomplete ------------------------------------------------------------------------------

    async def series_autocomplete(self, interaction: discord.Interaction, current: str):
        return await matching_choices(self.book.series_names, current)

    async def country_autocomplete(self, interaction: discord.Interaction, current: str):
        return await matching_choices(self.book.countries, current)

    # -- commands ----------------------------------------------------------------------------------

    @app_commands.command(name="holdings", description="A country's holdings: value, rank, change and recent months")
    @app_commands.describe(country="A country or series, e.g. Japan", month="YYYY-MM (default: the latest)")
    async def holdings(self, interaction: discord.Interaction, country: str, month: Month | None = None) -> None:
        await interaction.response.defer(thinking=True)
        view = await asyncio.to_thread(look_up_country, self.book, country, month)
        await self._send(interaction, render_country(view))

    @app_commands.command(name="top", description="The largest foreign holders in a month")
    @app_commands.describe(n="How many (1-25, default 5)", month="YYYY-MM (default: the latest)")
    async def top(
        self, interaction: discord.Interaction, n: app_commands.Range[int, 1, 25] = 5, month: Month | None = None
    ) -> None:
        await interaction.response.defer(thinking=True)
        view = await asyncio.to_thread(look_up_top, self.book, n, month)
        await self._send(interaction, render_top(view))

    @app_commands.command(name="compare", description="Two countries' holdings side by side")
    @app_commands.describe(
        country1="First country", country2="Second country", month="YYYY-MM (default: the latest both have)"
    )
    async def compare(
        self, interaction: discord.Interaction, country1: str, country2: str, month: Month | None = None
    ) -> None:
        await interaction.response.defer(thinking=True)
        a, b = await asyncio.to_thread(look_up_pair, self.book, country1, country2, month)
        await self._send(interaction, render_compare(a, b))

    @app_commands.command(name="chart", description="A line chart of a country's holdings")
    @app_commands.describe(country="A country or series", start="First month, YYYY-MM", end="Last month, YYYY-MM")
    @app_commands.rename(start="from", end="to")
    async def chart(
        self, interaction: discord.Interaction, country: str, start: Month | None = None, end: Month | None = None
    ) -> None:
        await interaction.response.defer(thinking=True)
        if start and end and start > end:
            raise DeskError(f"from {start} is after to {end}")
        view = await asyncio.to_thread(look_up_series, self.book, country, start, end)
        png = await asyncio.to_thread(series_png, view.series, view.figures)
        embed = render_chart(view, "holdings.png")
        await self._send(interaction, embed, file=discord.File(io.BytesIO(png), filename="holdings.png"))

    @app_commands.command(name="sources", description="What the knowledge base holds, newest first")
    @app_commands.describe(query="Only titles, outlets or ids containing this")
    async def sources(self, interaction: discord.Interaction, query: str | None = None) -> None:
        await interaction.response.defer(thinking=True)
        # This server's documents and the shared ones; a DM sees the shared ones only.
        docs = await asyncio.to_thread(documents_in_scope, self.bot.kb, interaction.guild_id)
        if query:
            q = query.lower()
            docs = [d for d in docs if any(q in str(d.get(k, "")).lower() for k in ("title", "source", "id", "url"))]
        await self._send(interaction, render_sources(docs, query or ""))

    holdings.autocomplete("country")(series_autocomplete)
    compare.autocomplete("country1")(country_autocomplete)
    compare.autocomplete("country2")(country_autocomplete)
    chart.autocomplete("country")(series_autocomplete)


async def setup(bot: DeskBot) -> None:
    await bot.add_cog(Lookup(bot))
