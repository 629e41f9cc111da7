"""A fake Discord (REST API + gateway) that the real, unchanged discord.py client can log in to.

Start it, point discord.py at it, run a bot, drive it with interactions and messages,
and assert on everything the bot sent::

    fake = FakeDiscord(heartbeat_interval=1000)
    await fake.start()
    with fake.patch_discord():
        task = asyncio.create_task(bot.start("fake-token"))
        await fake.wait_ready()
        inter = await fake.send_interaction("ask", {"question": "Who holds the most?"})
        defer = await fake.wait_for_response(inter, "callback")
        followup = await fake.wait_for_response(inter, "followup")
        await bot.close(); await task
    await fake.stop()

Behaviour that mirrors real Discord on purpose (so the tests catch real bugs):
- an interaction must be acknowledged within ``interaction_deadline`` seconds (3 s, as on
  Discord) and only once; a followup before the acknowledgement is refused;
- message payloads are checked against Discord's limits (content 2,000; 10 embeds; embed
  description 4,096; 25 fields; field value 1,024; 6,000 characters across the embeds;
  5 rows of 5 buttons; custom_id 100; 25 autocomplete choices) and answered with the same
  400 "Invalid Form Body" (code 50035) Discord returns;
- MESSAGE_CREATE is delivered only with the GUILD_MESSAGES / DIRECT_MESSAGES intents, and its
  content is blanked without MESSAGE_CONTENT unless it is a DM or mentions the bot;
- the bot's own messages come back as MESSAGE_CREATE, as on Discord;
- ``mentions`` of a stored bot message is what would really ping, given ``allowed_mentions``;
- after a defer, the first follow-up edits the deferred "thinking" message (@original) and
  keeps its visibility, whatever flags it asks for;
- the bot's channel permissions (roles and overwrites, ``set_channel_permissions``) are
  enforced on channel routes with 403 50001 (no View Channel) / 50013 (any other bit), and sent
  as ``app_permissions``;
- a command is only sent if Discord would show it to the member: ``default_member_permissions``
  in a guild, ``contexts`` / ``dm_permission`` in a DM (else ``CommandNotVisible``);
- interaction tokens expire after 15 minutes (401, 50027; ``advance()`` moves the clock);
- per-route rate limits per major id with X-RateLimit headers and 429 + ``retry_after``;
- a reply to an interaction's message does not ping its author (the bot); a mention of the
  bot's managed role (``fake.bot_role``) lists the role in ``mention_roles`` only.
Each of these can be switched off through the constructor.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import secrets
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Optional, Union

from aiohttp import WSMsgType, web

from tests.fakediscord.faults import DEFAULT_RATE_LIMITS, FaultsMixin, _Fault  # noqa: F401
from tests.fakediscord.gateway import GatewayMixin
from tests.fakediscord.routes import RoutesMixin
from tests.fakediscord.state import *  # noqa: F401,F403
from tests.fakediscord.state import (  # noqa: F401
    _ADD_REACTIONS,
    _VIEW_CHANNEL,
    _SEND_MESSAGES,
    _EMBED_LINKS,
    _ATTACH_FILES,
    _READ_MESSAGE_HISTORY,
    _USE_EXTERNAL_EMOJIS,
    _USE_APPLICATION_COMMANDS,
    _CREATE_PUBLIC_THREADS,
    _SEND_MESSAGES_IN_THREADS,
    _EPHEMERAL,
    _LOADING,
    _COMPONENTS_V2,
    _now_iso,
    _json_dumps,
    _ApiError,
    _form_error,
    _err,
    _IdMaker,
)
from tests.fakediscord.state import WorldMixin  # noqa: F401

__all__ = [
    "ADMIN_PERMISSIONS",
    "CommandNotVisible",
    "EVERYONE_PERMISSIONS",
    "FakeDiscord",
    "FakeInteraction",
    "RecordedFile",
    "RecordedRequest",
    "Intents",
]

class FakeDiscord(WorldMixin, GatewayMixin, RoutesMixin, FaultsMixin):
    """Fake Discord: aiohttp REST + gateway on 127.0.0.1, recording every request."""

    API_VERSION = 10

    def __init__(
        self,
        *,
        heartbeat_interval: int = 41250,
        interaction_deadline: Optional[float] = 3.0,
        strict: bool = True,
        enforce_intents: bool = True,
        echo_bot_messages: bool = True,
        privileged_intents_enabled: bool = True,
        ack_heartbeats: bool = True,
        bot_name: str = "Holdings Desk",
        guild_name: str = "Treasury Watchers",
        attachment_size_limit: int = 10 * 1024 * 1024,
        enforce_permissions: bool = True,
        enforce_visibility: bool = True,
        edit_original_on_first_followup: bool = True,
        role_mention_carries_content: bool = True,
        rate_limits: Optional[dict[str, tuple[int, float]]] = None,
        valid_tokens: Optional[Iterable[str]] = None,
    ) -> None:
        self.heartbeat_interval = heartbeat_interval
        self.interaction_deadline = interaction_deadline
        self.strict = strict
        self.enforce_intents = enforce_intents
        self.echo_bot_messages = echo_bot_messages
        self.privileged_intents_enabled = privileged_intents_enabled
        self.ack_heartbeats = ack_heartbeats
        self.attachment_size_limit = attachment_size_limit
        self.enforce_permissions = enforce_permissions
        self.enforce_visibility = enforce_visibility
        self.edit_original_on_first_followup = edit_original_on_first_followup
        self.role_mention_carries_content = role_mention_carries_content
        # Route template -> (requests, per seconds), per major id (channel, webhook token), as on Discord.
        self.rate_limits = DEFAULT_RATE_LIMITS if rate_limits is None else rate_limits
        self.valid_tokens = None if valid_tokens is None else set(valid_tokens)  # None: any "Bot ..." is accepted
        self.clock_offset = 0.0
        self.left_guilds: list[int] = []
        self.non_members: set[str] = set()  # user ids that share no guild with the bot
        self.rate_limited: list[tuple[str, str, float]] = []  # (route, major id, time) of each 429 served
        self._rate_windows: dict[tuple[str, str], list] = {}

        self._ids = _IdMaker()
        self.port: Optional[int] = None

        # Recordings
        self.requests: list[RecordedRequest] = []
        self.events: list[SentEvent] = []
        self.gateway_received: list[tuple[float, dict]] = []
        self.heartbeats: list[float] = []
        self.heartbeat_acks = 0
        self.identifies: list[dict] = []
        self.resumes: list[dict] = []
        self.presence_updates: list[dict] = []
        # one per websocket: path, query, time, closed_by_fake (code or None), close_code
        self.connections: list[dict] = []
        self.intents: Optional[int] = None
        self.ready_count = 0
        self.resumed_count = 0
        self.interactions: dict[int, FakeInteraction] = {}
        self.reactions: list[dict] = []
        self.threads: list[dict] = []
        self.global_commands: list[dict] = []
        self._guild_commands: dict[int, list[dict]] = {}

        # Plumbing
        self._interactions_by_token: dict[str, FakeInteraction] = {}
        # Requests by the interaction token in their path: a burst of 200 waiters each scanning
        # every request ever made cost the fake seconds per request (quadratic).
        self._requests_by_token: dict[str, list[RecordedRequest]] = {}
        self._faults: list[_Fault] = []
        self._waiters: list[tuple[Callable[[], Any], asyncio.Future]] = []
        self._runner: Optional[web.AppRunner] = None
        self._ws: Optional[web.WebSocketResponse] = None
        self._all_ws: dict[web.WebSocketResponse, dict] = {}  # live socket -> its connections entry
        self._send_lock: Optional[asyncio.Lock] = None
        self._session_id: Optional[str] = None
        self._session_valid = False
        self._seq = 0
        self._history: list[dict] = []
        self._tasks: set[asyncio.Task] = set()
        self._patch_saved: Optional[tuple[Any, Any]] = None
        # World
        self.application_id = self._ids.next()
        self.bot_user = self._make_user(bot_name, user_id=self.application_id, bot=True)
        self.guild_id = self._ids.next()
        self.guild_name = guild_name
        self.everyone_role_id = self.guild_id
        self.admin_role_id = self._ids.next()
        self.bot_role_id = self._ids.next()
        self.bot_permissions = EVERYONE_PERMISSIONS
        self.roles: dict[int, dict] = {}
        self._add_role(self.everyone_role_id, "@everyone", EVERYONE_PERMISSIONS, position=0)
        self._add_role(self.admin_role_id, "Desk Admin", "8", position=1)
        self._add_role(
            self.bot_role_id,
            bot_name,
            self.bot_permissions,
            position=2,
            managed=True,
            tags={"bot_id": str(self.application_id)},
        )
        self.users: dict[str, dict] = {}
        self._member_roles: dict[int, list[int]] = {}
        self._joined_at: dict[int, str] = {}
        self._register_member(self.bot_user, [self.bot_role_id])
        self.owner = self.add_user("owner", roles=[self.admin_role_id])
        self.add_user("alice")
        self.add_user("bob")

        self._channels: dict[int, dict] = {}
        self._dm_by_user: dict[int, int] = {}
        self.channel_id = int(self.add_channel("general")["id"])

        self._messages: dict[int, dict] = {}
        self._channel_messages: dict[int, list[int]] = {}
        self._attachment_blobs: dict[str, bytes] = {}

        self._routes = self._build_routes()

    # ------------------------------------------------------------------ lifecycle

    async def start(self, port: int = 0) -> "FakeDiscord":
        """Serve on 127.0.0.1 at ``port`` (default: a free one). Returns self."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway_handler)
        app.router.add_get("/resume", self._gateway_handler)
        app.router.add_get("/attachments/{tail:.*}", self._attachment_handler)
        app.router.add_route("*", r"/api/v{version:\d+}/{tail:.*}", self._rest_handler)
        app.router.add_route("*", "/{tail:.*}", self._not_api_handler)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        self._send_lock = asyncio.Lock()
        return self

    async def stop(self) -> None:
        """Close websockets, stop the server, undo patch_discord()."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        for ws in list(self._all_ws):
            if not ws.closed:
                await ws.close(code=1001)
        self._ws = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        for _, fut in self._waiters:
            if not fut.done():
                fut.cancel()
        self._waiters.clear()
        self.unpatch_discord()

    async def __aenter__(self) -> "FakeDiscord":
        return await self.start()

    async def __aexit__(self, *exc: Any) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        """http://127.0.0.1:PORT (the API lives under /api/v10)."""
        if self.port is None:
            raise RuntimeError("FakeDiscord.start() has not been awaited")
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        return f"{self.url}/api/v{self.API_VERSION}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    @property
    def resume_gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/resume"

    @property
    def bot_id(self) -> int:
        return self.application_id

    def patch_discord(self) -> "_DiscordPatch":
        """Point discord.py's REST base and gateway at this fake, now.

        Works as a plain call (undone by ``stop()`` or ``unpatch_discord()``) and as a
        context manager (undone on exit).
        """
        import discord.gateway
        import discord.http
        import yarl

        if self._patch_saved is None:
            self._patch_saved = (
                discord.http.Route.BASE,
                discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY,
            )
        discord.http.Route.BASE = self.api_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)
        return _DiscordPatch(self)

    def unpatch_discord(self) -> None:
        if self._patch_saved is None:
            return
        import discord.gateway
        import discord.http

        discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = self._patch_saved
        self._patch_saved = None

    # ------------------------------------------------------------------ waiting

    def _notify(self) -> None:
        still: list[tuple[Callable[[], Any], asyncio.Future]] = []
        for check, fut in self._waiters:
            if fut.done():
                continue
            try:
                result = check()
            except Exception as exc:  # surface a broken predicate to the waiting test
                fut.set_exception(exc)
                continue
            if result is not None and result is not False:
                fut.set_result(result)
            else:
                still.append((check, fut))
        self._waiters = still

    async def wait_until(self, check: Callable[[], Any], *, timeout: float = 5.0, what: str = "condition") -> Any:
        """Wait until ``check()`` returns something other than None/False; return it.

        ``check`` runs after every request, gateway frame and dispatch, and every 20 ms
        besides, so it may also look at the bot's own state.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = check()
            if result is not None and result is not False:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                recent = ", ".join(f"{r.method} {r.path} -> {r.status}" for r in self.requests[-8:])
                raise asyncio.TimeoutError(f"timed out after {timeout}s waiting for {what}; last requests: [{recent}]")
            fut: asyncio.Future = loop.create_future()
            entry = (check, fut)
            self._waiters.append(entry)
            try:
                return await asyncio.wait_for(fut, min(remaining, 0.02))
            except asyncio.TimeoutError:
                continue
            finally:
                if entry in self._waiters:
                    self._waiters.remove(entry)

    async def wait_ready(self, timeout: float = 10.0) -> None:
        """Wait until the fake has answered an IDENTIFY with READY and GUILD_CREATE."""
        await self.wait_until(lambda: self.ready_count >= 1, timeout=timeout, what="IDENTIFY -> READY")

    async def wait_resumed(self, count: int = 1, timeout: float = 10.0) -> None:
        """Wait until ``count`` RESUMEs have been answered with RESUMED."""
        await self.wait_until(lambda: self.resumed_count >= count, timeout=timeout, what=f"{count} RESUMED")

    async def wait_heartbeats(self, count: int, timeout: float = 10.0) -> list[float]:
        """Wait until ``count`` heartbeats arrived; returns their timestamps."""
        return await self.wait_until(
            lambda: list(self.heartbeats) if len(self.heartbeats) >= count else None,
            timeout=timeout,
            what=f"{count} heartbeats",
        )

    def _kind_matches(self, rec: RecordedRequest, inter: FakeInteraction, kind: str) -> bool:
        hook = f"/webhooks/{self.application_id}/{inter.token}"
        if kind == "callback":
            return rec.path == f"/interactions/{inter.id}/{inter.token}/callback"
        if kind == "followup":
            return rec.method == "POST" and rec.path == hook
        if kind == "edit":
            return rec.method == "PATCH" and rec.path.startswith(hook + "/messages/")
        if kind == "delete":
            return rec.method == "DELETE" and rec.path.startswith(hook + "/messages/")
        if kind == "any":
            return inter.token in rec.path
        raise ValueError(f"unknown kind {kind!r}: callback, followup, edit, delete or any")

    async def wait_for_response(
        self,
        interaction: FakeInteraction,
        kind: str = "callback",
        *,
        index: int = 0,
        timeout: float = 5.0,
        ok_only: bool = True,
    ) -> RecordedRequest:
        """Wait for the ``index``-th request of ``kind`` answering ``interaction``.

        kind: "callback" (POST .../callback), "followup" (POST /webhooks/{app}/{token}),
        "edit" (PATCH .../messages/...), "delete", or "any". With ``ok_only`` (default) only
        requests the fake accepted (2xx) count, so a 429'd attempt is skipped.
        """

        def check() -> Optional[RecordedRequest]:
            hits = [
                r
                for r in self._requests_by_token.get(interaction.token, ())
                if r.status is not None and (r.ok or not ok_only) and self._kind_matches(r, interaction, kind)
            ]
            return hits[index] if len(hits) > index else None

        return await self.wait_until(check, timeout=timeout, what=f"{kind} #{index} for interaction {interaction.name!r}")

    async def wait_for_request(
        self,
        method: Optional[str] = None,
        path_prefix: Optional[str] = None,
        *,
        predicate: Optional[Callable[[RecordedRequest], bool]] = None,
        since: int = 0,
        ok_only: bool = True,
        timeout: float = 5.0,
    ) -> RecordedRequest:
        """Wait for a request (from ``fake.requests[since:]``) matching method/prefix/predicate."""

        def check() -> Optional[RecordedRequest]:
            for r in self.requests[since:]:
                if r.status is None or (ok_only and not r.ok):
                    continue
                if method and r.method != method.upper():
                    continue
                if path_prefix and not r.path.startswith(path_prefix):
                    continue
                if predicate and not predicate(r):
                    continue
                return r
            return None

        return await self.wait_until(check, timeout=timeout, what=f"request {method or '*'} {path_prefix or ''}")

    async def wait_for_message(
        self,
        channel_id: Optional[Union[int, str]] = None,
        *,
        predicate: Optional[Callable[[dict], bool]] = None,
        after: Union[dict, int, str, None] = None,
        from_bot: Optional[bool] = True,
        timeout: float = 5.0,
    ) -> dict:
        """Wait for a stored message (by default one the bot sent) in a channel (any channel if None).

        ``after``: a message dict or id; only later messages count.
        """
        after_id = int(after["id"]) if isinstance(after, dict) else int(after) if after is not None else 0

        def check() -> Optional[dict]:
            for mid in sorted(self._messages):
                m = self._messages[mid]
                if mid <= after_id:
                    continue
                if channel_id is not None and m["channel_id"] != str(channel_id):
                    continue
                if from_bot is not None and (m["author"]["id"] == self.bot_user["id"]) != from_bot:
                    continue
                if predicate and not predicate(m):
                    continue
                return m
            return None

        return await self.wait_until(check, timeout=timeout, what=f"message in channel {channel_id}")

    # ------------------------------------------------------------------ inspection

    def messages_in(self, channel_id: Union[int, str, None] = None, *, from_bot: Optional[bool] = None) -> list[dict]:
        """Messages stored for a channel (default: #general), oldest first.

        ``from_bot``: None = all, True = only the bot's, False = only the test users'.
        Includes ephemeral ones (``flags & 64``); deleted messages are gone.
        """
        cid = int(channel_id) if channel_id is not None else self.channel_id
        out = []
        for mid in self._channel_messages.get(cid, []):
            m = self._messages.get(mid)
            if m is None:
                continue
            if from_bot is not None and (m["author"]["id"] == self.bot_user["id"]) != from_bot:
                continue
            out.append(m)
        return out

    def get_message(self, message_id: Union[int, str]) -> Optional[dict]:
        return self._messages.get(int(message_id))

    def find_requests(self, method: Optional[str] = None, path_prefix: Optional[str] = None) -> list[RecordedRequest]:
        return [
            r
            for r in self.requests
            if (method is None or r.method == method.upper()) and (path_prefix is None or r.path.startswith(path_prefix))
        ]

    @property
    def unknown_requests(self) -> list[RecordedRequest]:
        """Requests to routes the fake does not implement (answered 404)."""
        return [r for r in self.requests if not r.known]

    def guild_commands(self, guild_id: Optional[int] = None) -> list[dict]:
        return list(self._guild_commands.get(int(guild_id or self.guild_id), []))

    def events_named(self, name: str) -> list[SentEvent]:
        return [e for e in self.events if e.name == name]

class _DiscordPatch:
    """Returned by FakeDiscord.patch_discord(): the patch is already applied; exiting undoes it."""

    def __init__(self, fake: FakeDiscord) -> None:
        self._fake = fake

    def __enter__(self) -> FakeDiscord:
        return self._fake

    def __exit__(self, *exc: Any) -> None:
        self._fake.unpatch_discord()

    def restore(self) -> None:
        self._fake.unpatch_discord()

