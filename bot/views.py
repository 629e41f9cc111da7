"""The 👍/👎 buttons under every answer. timeout=None and fixed custom ids make the view
persistent: added once in setup_hook, it answers clicks on messages sent before a restart."""

from __future__ import annotations

import asyncio
import logging

import discord

from bot.discord_bot import DeskBot
from bot.render import record_from_embeds

log = logging.getLogger("desk.bot")

UP_ID = "desk:feedback:up"
DOWN_ID = "desk:feedback:down"


def answer_view(bot: DeskBot) -> FeedbackView:
    """The buttons for one answer. Stopped before sending, so discord.py does not keep a view per
    message for ever (it did: one per answer); the persistent view added at start-up answers
    every click by custom_id."""
    view = FeedbackView(bot)
    view.stop()
    return view


class FeedbackView(discord.ui.View):
    def __init__(self, bot: DeskBot):
        super().__init__(timeout=None)
        self.bot = bot

    @discord.ui.button(emoji="\N{THUMBS UP SIGN}", style=discord.ButtonStyle.secondary, custom_id=UP_ID)
    async def up(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await self._vote(interaction, "up")

    @discord.ui.button(emoji="\N{THUMBS DOWN SIGN}", style=discord.ButtonStyle.secondary, custom_id=DOWN_ID)
    async def down(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await self._vote(interaction, "down")

    async def _vote(self, interaction: discord.Interaction, vote: str) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        message = interaction.message
        record = self.bot.answer_records.get(message.id) if message else None
        if record is None:
            record = record_from_embeds([e.to_dict() for e in (message.embeds if message else [])])
        entry = await asyncio.to_thread(
            self.bot.feedback.record,
            vote=vote,
            user_id=interaction.user.id,
            question=record.get("question", ""),
            answer=record.get("answer", ""),
            sources=record.get("sources", []),
            message_id=message.id if message else None,
            channel_id=interaction.channel_id,
            route=record.get("route", ""),
            data_month=record.get("data_month", ""),
        )
        if entry is None:  # the same vote again from the same person: counted once
            thanks = "You already voted that way on this answer."
        elif entry.get("replaces"):
            thanks = "Vote changed — thanks."
        else:
            thanks = "Thanks — noted." if vote == "up" else "Thanks — noted; this helps fix weak answers."
        await interaction.followup.send(thanks, ephemeral=True, allowed_mentions=discord.AllowedMentions.none())

    async def on_error(self, interaction: discord.Interaction, error: Exception, item) -> None:
        await self.bot.on_tree_error(interaction, error)
