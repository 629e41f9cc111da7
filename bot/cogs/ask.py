"""Questions: /ask, a mention of the bot, a DM, a reply to one of the bot's answers.

The first answer in a channel opens a thread; a follow-up in that thread (or DM, or a reply
to an answer) is read with the previous question as context, kept in memory by thread id.
"""

from __future__ import annotations

import logging
import re
from typing import cast

import discord
from discord import app_commands
from discord.ext import commands

from bot.checks import POST, THREAD, lacking_text, missing_permissions
from bot.discord_bot import NO_MENTIONS, DeskBot, cooldown_text, user_message
from bot.render import answer_record, render_answer, strip_bot_mention, thread_name
from bot.views import answer_view

log = logging.getLogger("desk.bot")

HELP = (
    'Ask me about foreign holdings of U.S. Treasurys, e.g. "Who holds the most Treasurys?" '
    "— or use /holdings, /top, /compare and /chart for exact figures."
)
# A reply to an /ask answer (an interaction's message) does not ping the bot, so without the
# Message Content intent its text never arrives: the advice must work there too.
UNREADABLE_REPLY = (
    "I can't read that reply: Discord only shows me messages that mention me. Type @ and pick me "
    "in the text of your reply, or use /ask in the thread."
)
ROLE_MENTION_EMPTY = (
    "I can't read messages that mention my role: type @ and pick me (the bot, not the role), or use /ask."
)


class Ask(commands.Cog):
    def __init__(self, bot: DeskBot):
        self.bot = bot

    # -- /ask ------------------------------------------------------------------------------------

    @app_commands.command(
        name="ask", description="Ask about foreign holdings of U.S. Treasurys; the answer cites its sources"
    )
    @app_commands.describe(
        question="Your question, e.g. Who holds the most Treasurys?", private="Only you see the answer (no thread)"
    )
    async def ask(
        self, interaction: discord.Interaction, question: app_commands.Range[str, 1, 1000], private: bool = False
    ) -> None:
        wait = self.bot.cooldown.retry_after(interaction.user.id)
        if wait:
            await interaction.response.send_message(cooldown_text(wait), ephemeral=True)
            return
        await interaction.response.defer(ephemeral=private, thinking=True)
        previous = self.bot.contexts.get(interaction.channel_id) if interaction.channel_id else None
        answer = await self.bot.answer(question, previous, interaction.guild_id)
        sent = await self.bot.followup_rendered(
            interaction, render_answer(answer, question), view=answer_view(self.bot), ephemeral=private
        )
        self._remember(sent, answer, question)
        channel = interaction.channel
        if not private and not self.bot.opens_thread_in(channel):
            self.bot.remember(interaction.channel_id, answer.question)  # a thread or DM: the conversation goes on here
        if not private and self.bot.settings.threads and interaction.guild_id and self.bot.opens_thread_in(channel):
            lacking = missing_permissions(interaction.app_permissions, THREAD)
            if lacking:  # the answer stands; say once, privately, why no thread follows
                await interaction.followup.send(
                    lacking_text(lacking, "No thread for follow-ups"),
                    ephemeral=True,
                    allowed_mentions=NO_MENTIONS,
                )
                return
            try:
                # Through the channel: a follow-up (webhook) message carries no guild to start a thread from.
                text_channel = cast(discord.TextChannel, channel)  # opens_thread_in: a text or news channel
                thread = await text_channel.create_thread(name=thread_name(question), message=sent[0])
                self.bot.remember(thread.id, answer.question)
            except discord.HTTPException:
                # No thread permission: the answer stands, follow-ups can reply to it instead.
                log.warning("could not open a thread in channel %s", interaction.channel_id, exc_info=True)

    def _remember(self, sent: list, answer, question: str) -> None:
        record = answer_record(answer, question)
        for message in sent:
            self.bot.remember(message.id, answer.question)
            self.bot.remember(message.id, record, self.bot.answer_records)

    # -- mentions, DMs, replies --------------------------------------------------------------------

    def _question_in(self, message: discord.Message) -> str | None:
        """The question a message asks the bot, or None when it is not addressed to the bot."""
        me = self.bot.user
        if message.author.bot or me is None or message.author.id == me.id:
            return None
        text = strip_bot_mention(message.content, me.id)
        if message.guild is None:
            return text
        if any(u.id == me.id for u in message.mentions):
            return text
        own_role = message.guild.self_role
        if own_role is not None and own_role.id in message.raw_role_mentions:
            # The mention picker often inserts the bot's managed role rather than the bot.
            return re.sub(rf"<@&{own_role.id}>", " ", text).strip()
        ref = message.reference.resolved if message.reference else None
        if isinstance(ref, discord.Message) and ref.author.id == me.id:
            return text  # a reply to an answer (content needs the mention or the intent)
        if self.bot.settings.message_content and self._bot_thread(message.channel):
            return text  # any message in a thread the bot opened, and only there
        return None

    def _bot_thread(self, channel) -> bool:
        """A thread the bot opened for an answer: not any thread where someone once used /ask."""
        me = self.bot.user
        return isinstance(channel, discord.Thread) and me is not None and channel.owner_id == me.id

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        question = self._question_in(message)
        if question is None or not self.bot.channel_allowed(message.channel):
            return
        if message.guild is None and not await self.bot.dm_allowed(message.author):
            return  # DESK_GUILD_IDS: only members of an allowed server may DM the bot
        if message.guild is not None:
            if not self.bot.guild_allowed(message.guild.id):
                return
            perms = message.channel.permissions_for(message.guild.me)
            in_thread = isinstance(message.channel, discord.Thread)
            if not (perms.send_messages_in_threads if in_thread else perms.send_messages):
                log.warning("no permission to answer in channel %s (%s)", message.channel.id, message.guild.id)
                return  # nothing can be said here; the log names the channel for an admin
            lacking = missing_permissions(perms, POST[2:])
            if lacking:
                await message.channel.send(lacking_text(lacking), allowed_mentions=NO_MENTIONS)
                return
        try:
            await self._answer_message(message, question)
        except Exception as exc:  # a listener has no error handler: answer briefly, log the rest
            text, expected = user_message(exc)
            if not expected:
                log.error("answering message %s failed", message.id, exc_info=exc)
            try:
                await message.channel.send(text, reference=message, mention_author=False, allowed_mentions=NO_MENTIONS)
            except discord.HTTPException:
                log.warning("could not send the error reply", exc_info=True)

    async def _answer_message(self, message: discord.Message, question: str) -> None:
        if not question:
            ref = message.reference.resolved if message.reference else None
            unreadable = isinstance(ref, discord.Message) and not self.bot.intents.message_content
            own_role = message.guild.self_role if message.guild is not None else None
            by_role = own_role is not None and own_role.id in message.raw_role_mentions
            # Without the Message Content intent a message that does not ping the bot arrives blank.
            text = (
                UNREADABLE_REPLY
                if unreadable and message.guild is not None
                else ROLE_MENTION_EMPTY
                if by_role and not message.content
                else HELP
            )
            await message.channel.send(text, reference=message, mention_author=False, allowed_mentions=NO_MENTIONS)
            return
        wait = self.bot.cooldown.retry_after(message.author.id)
        if wait:
            await message.channel.send(
                cooldown_text(wait), reference=message, mention_author=False, allowed_mentions=NO_MENTIONS
            )
            return
        ref = message.reference.resolved if message.reference else None
        previous = self.bot.contexts.get(message.channel.id)
        if previous is None and isinstance(ref, discord.Message):
            previous = self.bot.contexts.get(ref.id)
        async with message.channel.typing():
            answer = await self.bot.answer(question, previous, message.guild.id if message.guild else None)
        rendered = render_answer(answer, question)
        view = answer_view(self.bot)
        threads_ok = message.guild is not None and not missing_permissions(
            message.channel.permissions_for(message.guild.me), THREAD
        )
        if threads_ok and self.bot.settings.threads and self.bot.opens_thread_in(message.channel):
            try:
                thread = await message.create_thread(name=thread_name(question))
            except discord.HTTPException:
                log.warning("could not open a thread in channel %s", message.channel.id, exc_info=True)
            else:
                sent = await self.bot.send_rendered(thread, rendered, view=view)
                self.bot.remember(thread.id, answer.question)
                self._remember(sent, answer, question)
                return
        sent = await self.bot.send_rendered(message.channel, rendered, view=view, reference=message)
        self._remember(sent, answer, question)
        if message.guild is None or isinstance(message.channel, discord.Thread):
            self.bot.remember(message.channel.id, answer.question)


async def setup(bot: DeskBot) -> None:
    await bot.add_cog(Ask(bot))
