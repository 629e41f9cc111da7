"""Slash-command options parsed once, as discord.py's app_commands examples do it: a Transformer
turns what was typed into the value the command takes, and offers the autocomplete for it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import cast

import discord
from discord import app_commands

from bot.discord_bot import DeskBot
from retrieval.calendar import month_label
from retrieval.errors import DeskError
from retrieval.lookup import parse_month

MAX_CHOICES = 25  # Discord shows at most 25


async def matching_choices(names_of: Callable[[], Iterable[str]], current: str) -> list[app_commands.Choice[str]]:
    """The names that start with what is typed, then those that contain it (read in a worker thread)."""
    try:
        names = await asyncio.to_thread(lambda: list(names_of()))
    except DeskError:
        return []  # tables missing or the store down: no suggestions rather than an error
    typed = (current or "").lower().strip()
    starts = [n for n in names if n.lower().startswith(typed)]
    contains = [n for n in names if typed in n.lower() and n not in starts]
    return [app_commands.Choice(name=n[:100], value=n[:100]) for n in (starts + contains)[:MAX_CHOICES]]


class MonthTransformer(app_commands.Transformer):
    """A month as YYYY-MM (a one-digit month is padded); offers the months the tables hold, newest first."""

    async def transform(self, interaction: discord.Interaction, value: str) -> str:
        return parse_month(value)  # a DeskError: the bot's error handler tells the user

    async def autocomplete(  # type: ignore[override]  # the base also allows int and float choices
        self, interaction: discord.Interaction, value: str
    ) -> list[app_commands.Choice[str]]:
        book = cast(DeskBot, interaction.client).engine.book
        choices = await matching_choices(lambda: sorted(book.months(), reverse=True), value)
        # Show "2026-04 (April 2026)" but send the YYYY-MM the lookups take.
        return [app_commands.Choice(name=f"{c.value} ({month_label(c.value)})", value=c.value) for c in choices]


Month = app_commands.Transform[str, MonthTransformer]
