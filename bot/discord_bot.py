"""The Discord bot: a commands.Bot whose setup_hook opens the knowledge base once and loads one
cog per feature (bot/cogs/). `desk bot` runs it; tests run it against tests/fakediscord.py.

Rules every cog follows (the reasons are Discord's): an interaction is deferred before any
work (3 s to acknowledge); blocking work (embedding, Chroma, matplotlib) runs in a worker
thread so the gateway heartbeat never stalls; nothing the bot sends may ping anybody.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
import os
import sys
import time
from collections import OrderedDict, deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, cast

import aiohttp
import discord
from discord import app_commands
from discord.ext import commands

from bot.feedback import FeedbackStore
from bot.render import Rendered, plain_message
from bot.settings import BotSettings
from retrieval.errors import DeskError, KnowledgeBaseUnavailable

if TYPE_CHECKING:  # types only here: setup_hook imports them where it opens them
    from retrieval.answer import AnswerEngine
    from retrieval.store import KnowledgeBase

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


class DeskTree(app_commands.CommandTree):
    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Where the bot answers, for every command at once (a per-command check was missed by
        all but /ask): DESK_ALLOWED_CHANNELS, DESK_GUILD_IDS, and DMs from allowed members."""
        bot = cast("DeskBot", interaction.client)  # DeskBot is the only client built with tree_cls=DeskTree
        if interaction.guild_id is not None and not bot.guild_allowed(interaction.guild_id):
            raise app_commands.CheckFailure("This server is not one I serve.")
        if interaction.guild_id is None and not await bot.dm_allowed(interaction.user):
            raise app_commands.CheckFailure("I answer DMs only from members of the servers I serve.")
        if not bot.channel_allowed(interaction.channel):
            raise app_commands.CheckFailure("I don't answer in this channel.")
        return True


class DeskBot(commands.Bot):
    # Handed in (tests share one) or opened by setup_hook, before any cog is loaded.
    kb: KnowledgeBase
    engine: AnswerEngine

    def __init__(
        self,
        settings: BotSettings | None = None,
        *,
        kb: KnowledgeBase | None = None,
        engine: AnswerEngine | None = None,
        **client_options,
    ):
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
            tree_cls=DeskTree,
            **client_options,
        )
        if kb is not None:
            self.kb = kb
        if engine is not None:
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
        self.tree.error(self.on_tree_error)  # the public way to set tree.on_error
        self._dm_members: dict[int, bool] = {}  # user id -> member of an allowed guild (DESK_GUILD_IDS)
        self._cleared_stale = False

    # -- start-up --------------------------------------------------------------------------------

    # Seconds before the 2nd, 3rd... attempt to reach Discord at start-up: doubling, capped.
    connect_backoff: tuple[float, float] = (1.0, 60.0)

    async def start(self, token: str, *, reconnect: bool = True) -> None:
        redact_in_logs(token)
        quiet_reconnect_tracebacks()
        # Answer workers run CPU-bound Python. By default the event loop waits up to 5 ms for the
        # GIL after each network read, so a burst of questions starved the acknowledgements
        # Discord needs within 3 s (docs/BENCHMARKS.md); a shorter interval hands it back sooner.
        sys.setswitchinterval(0.0005)
        await self.wait_for_discord(token)
        await self.login(token)
        await self.connect(reconnect=reconnect)

    async def wait_for_discord(self, token: str) -> None:
        """Until Discord answers the token check: one log line per failed attempt, then a wait
        that doubles up to a cap. A rejected token is not retried (LoginFailure)."""
        delay, cap = self.connect_backoff
        attempt = 0
        while True:
            attempt += 1
            try:
                await self.http.static_login(token.strip())
                return
            except (TimeoutError, OSError, aiohttp.ClientError, discord.DiscordServerError) as exc:
                reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                log.warning("cannot reach Discord (%s); attempt %d, retrying in %.0f s", reason, attempt, delay)
            finally:
                # login() opens its own session; this one (and the connector it owns) is closed.
                await self.http.close()
                self.http.connector = discord.utils.MISSING
            await asyncio.sleep(delay)
            delay = min(cap, delay * 2)

    async def setup_hook(self) -> None:
        if not hasattr(self, "kb"):  # not handed in
            from retrieval.settings import RetrievalSettings
            from retrieval.store import KnowledgeBase

            self.kb = KnowledgeBase(RetrievalSettings(data_dir=self.settings.data_dir))
            # A Chroma server that is still starting gets a few retries, then a clear error.
            await asyncio.to_thread(self.kb.wait_until_available)
        if not hasattr(self, "engine"):  # not handed in
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
        await self.sync_commands()

    async def sync_commands(self) -> None:
        """Each sync replaces a scope's whole list, so renamed or removed commands disappear.
        With DESK_GUILD_IDS the global list is emptied too, or every command would show twice;
        without it, stale guild lists are emptied once the guilds are known (on_ready)."""
        if self.settings.guild_ids:
            for guild_id in self.settings.guild_ids:
                guild = discord.Object(id=guild_id)
                self.tree.copy_global_to(guild=guild)
                synced = await self.tree.sync(guild=guild)
                log.info("synced %d commands to guild %s", len(synced), guild_id)
            self.tree.clear_commands(guild=None)  # the guild copies answer the interactions
            await self.tree.sync()
            log.info("cleared the global commands (DESK_GUILD_IDS is set)")
        else:
            synced = await self.tree.sync()
            log.info("synced %d global commands", len(synced))

    async def _clear_stale_guild_commands(self) -> None:
        if self._cleared_stale or self.settings.guild_ids:
            return
        self._cleared_stale = True
        for guild in self.guilds:
            try:
                if await self.tree.fetch_commands(guild=guild):
                    await self.tree.sync(guild=guild)  # the tree holds none for it: the list is emptied
                    log.info("cleared stale commands of guild %s (a DESK_GUILD_IDS run left them)", guild.id)
            except (discord.HTTPException, aiohttp.ClientError) as exc:
                if self.is_closed():
                    return
                log.warning("could not check guild %s for stale commands: %s", guild.id, exc)

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
        log.info(
            "logged in as %s (%s) in %d guild(s): %s",
            self.user,
            getattr(self.user, "id", "?"),
            len(self.guilds),
            ", ".join(f"{g.name} ({g.id})" for g in self.guilds) or "none",
        )
        for guild in list(self.guilds):
            await self._leave_unless_allowed(guild)
        await self._clear_stale_guild_commands()

    async def on_guild_join(self, guild: discord.Guild) -> None:
        log.info("added to guild %s (%s)", guild.name, guild.id)
        await self._leave_unless_allowed(guild)

    async def _leave_unless_allowed(self, guild: discord.Guild) -> None:
        # Bots are public by default: anyone can add this one. DESK_GUILD_IDS is the allow-list.
        if self.settings.guild_ids and guild.id not in self.settings.guild_ids:
            log.warning("leaving guild %s (%s): not in DESK_GUILD_IDS", guild.name, guild.id)
            try:
                await guild.leave()
            except discord.HTTPException as exc:
                log.warning("could not leave guild %s: %s", guild.id, exc)

    async def on_connect(self) -> None:
        log.info("connected to the gateway")

    async def on_resumed(self) -> None:
        log.info("gateway session resumed")

    async def on_disconnect(self) -> None:
        log.info("disconnected from the gateway; discord.py reconnects")

    def guild_allowed(self, guild_id: int | None) -> bool:
        return not self.settings.guild_ids or guild_id in self.settings.guild_ids

    async def dm_allowed(self, user: discord.abc.User) -> bool:
        """With DESK_GUILD_IDS, a DM is answered only for a member of an allowed guild."""
        if not self.settings.guild_ids:
            return True
        known = self._dm_members.get(user.id)
        if known is not None:
            return known
        member = False
        for guild_id in self.settings.guild_ids:
            guild = self.get_guild(guild_id)
            if guild is None:
                continue
            if guild.get_member(user.id) is not None:
                member = True
                break
            try:  # without the members intent the cache is partial: ask Discord
                await guild.fetch_member(user.id)
                member = True
                break
            except discord.NotFound:
                continue
            except discord.HTTPException as exc:
                log.warning("could not check %s's membership of guild %s: %s", user.id, guild_id, exc)
                return False  # not cached: asked again next time
        self._dm_members[user.id] = member
        return member

    async def on_message(self, message: discord.Message) -> None:
        # No prefix commands: the ask cog's listener handles mentions, DMs and replies.
        return

    async def close(self) -> None:
        await super().close()
        self.answer_pool.shutdown(wait=False, cancel_futures=True)

    # -- shared helpers for the cogs -------------------------------------------------------------

    async def answer(self, question: str, previous=None, guild_id: int | None = None):
        """`guild_id`: the guild asking (None in a DM): it reads the shared documents and its own."""
        await self._acknowledgements_sent()
        loop = asyncio.get_running_loop()
        ask = functools.partial(self.engine.ask, question, previous=previous, guild_id=guild_id)
        return await loop.run_in_executor(self.answer_pool, ask)

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
    def _parts(rendered: Rendered, view) -> Iterator[tuple[int, dict[str, Any]]]:
        """Each message of a rendering as send() arguments: its embeds, no mentions, the buttons on the last."""
        for i, message in enumerate(rendered.messages):
            kwargs: dict[str, Any] = {
                "embeds": [discord.Embed.from_dict(e) for e in message],
                "allowed_mentions": NO_MENTIONS,
            }
            if view is not None and i == len(rendered.messages) - 1:
                kwargs["view"] = view
            yield i, kwargs

    async def followup_rendered(
        self, interaction: discord.Interaction, rendered: Rendered, *, view=None, ephemeral: bool = False
    ) -> list[discord.WebhookMessage]:
        sent = []
        for _, kwargs in self._parts(rendered, view):
            sent.append(await interaction.followup.send(ephemeral=ephemeral, wait=True, **kwargs))
            # The first part replaced the "thinking…" message: an error after it must not touch @original.
            interaction.extras["answered"] = True
        return sent

    async def send_rendered(self, channel, rendered: Rendered, *, view=None, reference=None) -> list[discord.Message]:
        sent = []
        for i, kwargs in self._parts(rendered, view):
            if i == 0 and reference is not None:
                kwargs.update(reference=reference, mention_author=False)
            sent.append(await channel.send(**kwargs))
        return sent

    async def reply_error(self, interaction: discord.Interaction, text: str) -> None:
        """A short message for the user, whether or not the interaction was already deferred."""
        # Error texts quote what the user typed: a 2,100-character option must not make the
        # reply itself too long for Discord (then the user would see nothing at all).
        text = plain_message(text)
        try:
            if not interaction.response.is_done():
                await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
                return
            if not interaction.extras.get("answered"):
                # On Discord the first follow-up after a defer would replace the "thinking…"
                # message and keep its visibility (public): drop it, so the error can be private.
                try:
                    await interaction.delete_original_response()
                except discord.HTTPException:
                    pass
            # Otherwise part of the answer is out, and @original is its first part: it stays.
            await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException:
            log.warning("could not tell the user about an error (interaction %s)", interaction.id, exc_info=True)

    async def on_tree_error(self, interaction: discord.Interaction, error: Exception) -> None:
        original = getattr(error, "original", error)
        if isinstance(error, app_commands.TransformerError) and error.__cause__ is not None:
            original = error.__cause__  # an option a Transformer refused (bot.transformers): its own message
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


class _ReconnectWithoutTraceback(logging.Filter):
    """discord.py logs each gateway reconnect with a full traceback: one line says as much."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.msg.startswith("Attempting a reconnect"):
            exc = record.exc_info[1]
            record.msg = f"{record.msg} ({type(exc).__name__}: {exc})" if exc else record.msg
            record.exc_info = record.exc_text = None
        return True


def quiet_reconnect_tracebacks() -> None:
    logger = logging.getLogger("discord.client")
    if not any(isinstance(f, _ReconnectWithoutTraceback) for f in logger.filters):
        logger.addFilter(_ReconnectWithoutTraceback())


class TokenRejected(DeskError):
    """Discord answered 401 to the token: retrying cannot help (exit code 2)."""


TOKEN_REJECTED = (
    "Discord rejected the token (401 Unauthorized): check DISCORD_TOKEN "
    "(Developer Portal -> your application -> Bot -> Reset Token)."
)


async def start_bot(bot: DeskBot, token: str) -> None:
    """bot.start with Discord's start-up refusals turned into messages a person can act on."""
    try:
        await bot.start(token)
    except discord.PrivilegedIntentsRequired:
        raise DeskError(PRIVILEGED_HELP) from None
    except discord.LoginFailure:
        raise TokenRejected(TOKEN_REJECTED) from None
    finally:
        if not bot.is_closed():
            await bot.close()


def configure_logging() -> None:
    """INFO for the bot by default (logged in, guilds, connections, syncs), with times."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig()
    for handler in root.handlers:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.setLevel(min(root.level, logging.INFO) if root.level else logging.INFO)


def run_bot(settings: BotSettings | None = None) -> int:
    settings = settings or BotSettings()
    token = settings.token.get_secret_value()
    if not token:
        raise DeskError("DISCORD_TOKEN is not set: create a bot in the Discord Developer Portal and export its token.")
    redact_in_logs(token)
    configure_logging()
    bot = DeskBot(settings)
    try:
        asyncio.run(start_bot(bot, token))
    except TokenRejected as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0
