"""The Discord bot: a commands.Bot whose setup_hook opens the knowledge base once and loads one
cog per feature (bot/cogs/). `desk bot` runs it; tests run it against tests/fakediscord.py.

Rules every cog follows (the reasons are Discord's): an interaction is deferred before any
work (3 s to acknowledge); blocking work (embedding, Chroma, matplotlib) runs in a worker
thread so the gateway heartbeat never stalls; nothing the bot sends may ping anybody.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import sys
import time
from collections import OrderedDict, deque
from concurrent.futures import ThreadPoolExecutor

import discord
from discord import app_commands
from discord.ext import commands

from bot.feedback import FeedbackStore
from bot.render import Rendered
from bot.settings import BotSettings
from retrieval.errors import DeskError, KnowledgeBaseUnavailable

log = logging.getLogger("desk.bot")

COGS = ("bot.cogs.ask", "bot.cogs.lookup", "bot.cogs.admin", "bot.cogs.digest")
NO_MENTIONS = discord.AllowedMentions.none()
UNAVAILABLE = "The knowledge base is unavailable, try again shortly."
UNEXPECTED = "Something went wrong on my side; it has been logged. Please try again."
CONTEXT_ENTRIES = 5000  # threads/answers whose last question is remembered for follow-ups

PRIVILEGED_HELP = (
    "Discord refused the Message Content intent (DESK_MESSAGE_CONTENT=true). Either turn it on for "
    "this bot under Developer Portal -> your application -> Bot -> Privileged Gateway Intents -> "
    "Message Content Intent, or unset DESK_MESSAGE_CONTENT: without it the bot still answers "
    "slash commands, mentions, DMs and replies that mention it."
)


def user_message(exc: BaseException) -> tuple[str, bool]:
    """(text for the user, expected?). Unexpected errors are logged with their traceback."""
    if isinstance(exc, KnowledgeBaseUnavailable):
        return UNAVAILABLE, True
    if isinstance(exc, DeskError):
        return str(exc), True
    if isinstance(exc, app_commands.NoPrivateMessage):
        return "This command works in a server only, not in direct messages.", True
    if isinstance(exc, app_commands.MissingPermissions):
        return "You need the Manage Server permission for this command.", True
    if isinstance(exc, app_commands.CheckFailure):
        return str(exc) or "You cannot use this command here.", True
    return UNEXPECTED, False


class Cooldown:
    """Per-user: at most `rate` questions per `per` seconds."""

    def __init__(self, rate: int, per: float):
        self.rate, self.per = max(1, rate), per
        self._hits: dict[int, deque[float]] = {}

    def retry_after(self, user_id: int) -> float:
        """0 and the question is counted, or the seconds to wait."""
        if self.per <= 0:
            return 0.0
        now = time.monotonic()
        hits = self._hits.setdefault(user_id, deque())
        while hits and now - hits[0] >= self.per:
            hits.popleft()
        if len(hits) >= self.rate:
            return self.per - (now - hits[0])
        hits.append(now)
        return 0.0


def cooldown_text(seconds: float) -> str:
    return f"Easy there — you can ask again in {max(1, round(seconds))} s."


class DeskBot(commands.Bot):
    def __init__(self, settings: BotSettings | None = None, *, kb=None, engine=None, **client_options):
        self.settings = settings or BotSettings()
        # The bot never joins voice: skip discord.py's start-up warnings about voice libraries.
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        intents = discord.Intents.none()
        intents.guilds = True  # channels and threads in the cache
        intents.guild_messages = True  # mentions and replies (content comes with a mention)
        intents.dm_messages = True
        intents.message_content = self.settings.message_content  # privileged; off by default
        super().__init__(
            command_prefix=commands.when_mentioned,  # required by commands.Bot; no prefix commands exist
            intents=intents,
            allowed_mentions=NO_MENTIONS,
            help_command=None,
            max_messages=1000,
            **client_options,
        )
        self.kb = kb
        self.engine = engine
        self.feedback = FeedbackStore(self.settings.feedback_path)
        self.cooldown = Cooldown(self.settings.cooldown_rate, self.settings.cooldown_seconds)
        # Last Question per thread / DM channel / answer message, for follow-ups ("and in March?").
        self.contexts: OrderedDict[int, object] = OrderedDict()
        # What each answer message said, so a vote records it exactly (after a restart the embed is read back).
        self.answer_records: OrderedDict[int, dict] = OrderedDict()
        self._arrived: deque[tuple[float, discord.Interaction]] = deque()  # recent ones, for _acknowledgements_sent
        # Answers get their own workers: a burst of questions must not starve autocomplete and lookups.
        # One per core: answering is CPU-bound, and more workers only take the GIL from the event loop.
        self.answer_pool = ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1), thread_name_prefix="desk-answer")
        self.tree.on_error = self.on_tree_error

    # -- start-up --------------------------------------------------------------------------------

    async def start(self, token: str, *, reconnect: bool = True) -> None:
        redact_in_logs(token)
        # Answer workers run CPU-bound Python. By default the event loop waits up to 5 ms for the
        # GIL after each network read, so a burst of questions starved the acknowledgements
        # Discord needs within 3 s (docs/BENCHMARKS.md); a shorter interval hands it back sooner.
        sys.setswitchinterval(0.0005)
        await super().start(token, reconnect=reconnect)

    async def setup_hook(self) -> None:
        if self.kb is None:
            from retrieval.store import KnowledgeBase

            self.kb = KnowledgeBase()
            # A Chroma server that is still starting gets a few retries, then a clear error.
            await asyncio.to_thread(self.kb.wait_until_available)
        if self.engine is None:
            from retrieval.answer import AnswerEngine
            from retrieval.llm import llm_from_settings

            self.engine = AnswerEngine(self.kb, llm=llm_from_settings(self.kb.settings))
            # Loading the embedding model takes ~10 s: do it now, not on the first question.
            self._warm_task = asyncio.create_task(asyncio.to_thread(self._warm_up))
        else:
            gc.freeze()  # an engine handed in is already warm: see _warm_up
        from bot.views import FeedbackView

        self.add_view(FeedbackView(self))  # fixed custom ids: buttons keep working after a restart
        for extension in COGS:
            await self.load_extension(extension)
        if self.settings.guild_ids:
            for guild_id in self.settings.guild_ids:
                guild = discord.Object(id=guild_id)
                self.tree.copy_global_to(guild=guild)
                await self.tree.sync(guild=guild)
        else:
            await self.tree.sync()

    def _warm_up(self) -> None:
        try:
            self.kb.embedder.embed_query("warm up")
            # Queries run through ONNX at one thread and never import torch; only a model that
            # falls back to sentence-transformers loads it. Questions are answered in parallel
            # workers: on two cores, one torch thread each beats several workers' thread pairs
            # fighting over them (docs/BENCHMARKS.md).
            torch = sys.modules.get("torch")
            if torch is not None:
                torch.set_num_threads(1)
            # The keyword index and the holdings tables too, so the first asker does not wait for them.
            self.engine.retriever.refresh()
            self.engine.book.refresh()
            # What start-up built lives as long as the bot: keep the collector from re-scanning it
            # in the middle of a burst of questions.
            gc.freeze()
        except Exception:
            log.warning("could not warm up the answer engine", exc_info=True)

    async def on_ready(self) -> None:
        log.info("logged in as %s (%s) in %d guild(s)", self.user, getattr(self.user, "id", "?"), len(self.guilds))

    async def on_message(self, message: discord.Message) -> None:
        # No prefix commands: the ask cog's listener handles mentions, DMs and replies.
        return

    async def close(self) -> None:
        await super().close()
        self.answer_pool.shutdown(wait=False, cancel_futures=True)

    # -- shared helpers for the cogs -------------------------------------------------------------

    async def answer(self, question: str, previous=None):
        await self._acknowledgements_sent()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.answer_pool, self.engine.ask, question, previous)

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        self._forget_old_arrivals()
        self._arrived.append((time.monotonic(), interaction))

    def _forget_old_arrivals(self) -> None:
        # After Discord's 3 s deadline an interaction can no longer be acknowledged anyway.
        now = time.monotonic()
        while self._arrived and now - self._arrived[0][0] > 3.0:
            self._arrived.popleft()

    async def _acknowledgements_sent(self, longest: float = 0.5) -> None:
        """Acknowledge first, answer second: while recent interactions still await their first
        response, answers wait (at most `longest` seconds), so a burst's defers do not compete
        with answering for the GIL."""
        deadline = time.monotonic() + longest
        while time.monotonic() < deadline:
            self._forget_old_arrivals()
            if all(i.response.is_done() for _, i in self._arrived):
                return
            await asyncio.sleep(0.005)

    def remember(self, key: int | None, value, store: OrderedDict | None = None) -> None:
        store = self.contexts if store is None else store
        if key is None or value is None:
            return
        store[key] = value
        store.move_to_end(key)
        while len(store) > CONTEXT_ENTRIES:
            store.popitem(last=False)

    def channel_allowed(self, channel) -> bool:
        allowed = self.settings.allowed_channels
        if not allowed or channel is None:
            return True
        ids = {getattr(channel, "id", None), getattr(channel, "parent_id", None)}
        # DMs are always allowed: the list restricts where in a server the bot speaks.
        return bool(ids & set(allowed)) or getattr(channel, "guild", None) is None

    @staticmethod
    def opens_thread_in(channel) -> bool:
        return getattr(channel, "type", None) in (discord.ChannelType.text, discord.ChannelType.news)

    @staticmethod
    def embeds(rendered_message: list[dict]) -> list[discord.Embed]:
        return [discord.Embed.from_dict(e) for e in rendered_message]

    async def followup_rendered(self, interaction: discord.Interaction, rendered: Rendered, *, view=None,
                                ephemeral: bool = False, files=None) -> list[discord.WebhookMessage]:
        sent = []
        for i, message in enumerate(rendered.messages):
            last = i == len(rendered.messages) - 1
            kwargs = {"view": view} if (last and view is not None) else {}
            if i == 0 and files:
                kwargs["files"] = files
            sent.append(await interaction.followup.send(
                content=rendered.content if i == 0 and rendered.content else discord.utils.MISSING,
                embeds=self.embeds(message), ephemeral=ephemeral, wait=True, allowed_mentions=NO_MENTIONS, **kwargs))
        interaction.extras["answered"] = True
        return sent

    async def send_rendered(self, channel, rendered: Rendered, *, view=None, reference=None) -> list[discord.Message]:
        sent = []
        for i, message in enumerate(rendered.messages):
            last = i == len(rendered.messages) - 1
            kwargs = {"view": view} if (last and view is not None) else {}
            if i == 0 and reference is not None:
                kwargs["reference"] = reference
                kwargs["mention_author"] = False
            sent.append(await channel.send(content=rendered.content if i == 0 and rendered.content else None,
                                           embeds=self.embeds(message), allowed_mentions=NO_MENTIONS, **kwargs))
        return sent

    async def reply_error(self, interaction: discord.Interaction, text: str) -> None:
        """A short ephemeral message, whether or not the interaction was already deferred."""
        try:
            if not interaction.response.is_done():
                await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
                return
            if not interaction.extras.get("answered"):
                # A public "thinking…" placeholder would otherwise stay; drop it, then answer privately.
                try:
                    await interaction.delete_original_response()
                except discord.HTTPException:
                    pass
            await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException:
            log.warning("could not tell the user about an error (interaction %s)", interaction.id, exc_info=True)

    async def on_tree_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        original = getattr(error, "original", error)
        text, expected = user_message(original)
        if expected:
            log.info("command %s: %s", getattr(interaction.command, "qualified_name", "?"), original)
        else:
            log.error("command %s failed", getattr(interaction.command, "qualified_name", "?"), exc_info=original)
        if interaction.type == discord.InteractionType.autocomplete:
            return  # an autocomplete cannot show a message
        await self.reply_error(interaction, text)


_REDACTED: set[str] = set()


def redact_in_logs(secret: str) -> None:
    """From now on every log record has `secret` replaced, in its message and its traceback.

    A record factory rather than a handler filter: it covers every logger and every handler,
    including ones added later, and a library error that quotes the token is caught too."""
    if not secret or secret in _REDACTED:
        return
    if not _REDACTED:
        make_record = logging.getLogRecordFactory()

        def redacting_factory(*args, **kwargs):
            record = make_record(*args, **kwargs)
            try:
                message = record.getMessage()
            except (TypeError, ValueError):  # a call whose arguments do not fit its format
                message = f"{record.msg} {record.args}"  # logged as it came, but still redacted
            if record.exc_info and not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            for value in _REDACTED:
                message = message.replace(value, "[token]")
                if record.exc_text:
                    record.exc_text = record.exc_text.replace(value, "[token]")
            record.msg, record.args = message, None
            return record

        logging.setLogRecordFactory(redacting_factory)
    _REDACTED.add(secret)


async def start_bot(bot: DeskBot, token: str) -> None:
    """bot.start with Discord's start-up refusals turned into messages a person can act on."""
    try:
        await bot.start(token)
    except discord.PrivilegedIntentsRequired:
        raise DeskError(PRIVILEGED_HELP) from None
    except discord.LoginFailure:
        raise DeskError("Discord refused the token: check DISCORD_TOKEN (Developer Portal -> Bot -> Reset Token).") from None
    finally:
        if not bot.is_closed():
            await bot.close()


def run_bot(settings: BotSettings | None = None) -> int:
    settings = settings or BotSettings()
    token = settings.token.get_secret_value()
    if not token:
        raise DeskError("DISCORD_TOKEN is not set: create a bot in the Discord Developer Portal and export its token.")
    bot = DeskBot(settings)
    try:
        asyncio.run(start_bot(bot, token))
    except KeyboardInterrupt:
        pass
    return 0
