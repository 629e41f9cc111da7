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
- ``mentions`` of a stored bot message is what would really ping, given ``allowed_mentions``.
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

__all__ = [
    "ADMIN_PERMISSIONS",
    "EVERYONE_PERMISSIONS",
    "FakeDiscord",
    "FakeInteraction",
    "RecordedFile",
    "RecordedRequest",
    "Intents",
]

DISCORD_EPOCH_MS = 1420070400000

# Permission bits (Discord's numbering).
_ADD_REACTIONS = 1 << 6
_VIEW_CHANNEL = 1 << 10
_SEND_MESSAGES = 1 << 11
_EMBED_LINKS = 1 << 14
_ATTACH_FILES = 1 << 15
_READ_MESSAGE_HISTORY = 1 << 16
_USE_EXTERNAL_EMOJIS = 1 << 18
_USE_APPLICATION_COMMANDS = 1 << 31
_CREATE_PUBLIC_THREADS = 1 << 35
_SEND_MESSAGES_IN_THREADS = 1 << 38

EVERYONE_PERMISSIONS = str(
    _ADD_REACTIONS
    | _VIEW_CHANNEL
    | _SEND_MESSAGES
    | _EMBED_LINKS
    | _ATTACH_FILES
    | _READ_MESSAGE_HISTORY
    | _USE_EXTERNAL_EMOJIS
    | _USE_APPLICATION_COMMANDS
    | _CREATE_PUBLIC_THREADS
    | _SEND_MESSAGES_IN_THREADS
)
# Discord sends every bit to an administrator, not just ADMINISTRATOR (8).
ADMIN_PERMISSIONS = str((1 << 53) - 1)


class Intents:
    """The gateway intent bits the fake looks at."""

    GUILDS = 1 << 0
    GUILD_MEMBERS = 1 << 1
    GUILD_PRESENCES = 1 << 8
    GUILD_MESSAGES = 1 << 9
    DIRECT_MESSAGES = 1 << 12
    MESSAGE_CONTENT = 1 << 15
    PRIVILEGED = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT


# Interaction callback types
CALLBACK_PONG = 1
CALLBACK_MESSAGE = 4
CALLBACK_DEFER = 5
CALLBACK_DEFER_UPDATE = 6
CALLBACK_UPDATE = 7
CALLBACK_AUTOCOMPLETE = 8
CALLBACK_MODAL = 9
CALLBACK_LAUNCH_ACTIVITY = 12

_EPHEMERAL = 1 << 6
_LOADING = 1 << 7
_COMPONENTS_V2 = 1 << 15


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat()


def _json_dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"))


class _ApiError(Exception):
    def __init__(self, status: int, message: str, code: int = 0, errors: Optional[dict] = None):
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"message": message, "code": code}
        if errors:
            self.body["errors"] = errors


def _form_error(errors: dict) -> _ApiError:
    return _ApiError(400, "Invalid Form Body", 50035, errors)


def _err(code: str, message: str) -> dict:
    return {"_errors": [{"code": code, "message": message}]}


@dataclass
class RecordedFile:
    """One file part of a multipart request."""

    field: str  # e.g. "files[0]"
    filename: Optional[str]
    content_type: Optional[str]
    data: bytes


@dataclass
class RecordedRequest:
    """One HTTP request the client made, and what the fake answered."""

    method: str
    path: str  # without the /api/v10 prefix, e.g. "/channels/1/messages"
    query: dict[str, str]
    json: Any  # the JSON body, or the multipart payload_json
    files: list[RecordedFile]
    headers: dict[str, str]
    time: float  # time.monotonic() on receipt
    status: Optional[int] = None
    response: Any = None
    fault: bool = False  # answered by fail_next()
    known: bool = True  # False: no such route in the fake (answered 404)

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class SentEvent:
    """One gateway DISPATCH the fake sent (or buffered for a resume)."""

    seq: int
    name: str
    data: Any
    time: float
    delivered: bool


@dataclass(eq=False)
class FakeInteraction:
    """An interaction the test dispatched, and everything the bot answered to it."""

    id: int
    token: str
    type: int  # 2 command, 3 component, 4 autocomplete, 5 modal submit
    name: str  # command path ("admin reindex") or custom_id
    payload: dict
    channel_id: int
    guild_id: Optional[int]
    user: dict
    dispatched_at: float = 0.0
    message_id: Optional[int] = None  # the message a component sits on
    original_message_id: Optional[int] = None
    response_type: Optional[int] = None  # first accepted callback type
    acknowledged_at: Optional[float] = None
    callbacks: list[RecordedRequest] = field(default_factory=list)
    followups: list[RecordedRequest] = field(default_factory=list)
    edits: list[RecordedRequest] = field(default_factory=list)
    choices: Optional[list[dict]] = None  # autocomplete answer
    modal: Optional[dict] = None  # modal the bot opened

    @property
    def response_latency(self) -> Optional[float]:
        """Seconds from dispatch to the first accepted callback (defer or message)."""
        if self.acknowledged_at is None:
            return None
        return self.acknowledged_at - self.dispatched_at

    @property
    def deferred(self) -> bool:
        return self.response_type in (CALLBACK_DEFER, CALLBACK_DEFER_UPDATE)


@dataclass
class _Fault:
    method: Optional[str]
    prefix: str
    status: int
    retry_after: float
    remaining: int
    is_global: bool
    message: Optional[str]
    code: int
    served: list[RecordedRequest] = field(default_factory=list)


class _IdMaker:
    """Snowflakes with a real timestamp, so created_at in discord.py is sensible."""

    def __init__(self) -> None:
        self._counter = 0

    def next(self) -> int:
        self._counter += 1
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        return (ms << 22) | (self._counter & 0x3FFFFF)


UserRef = Union[str, int, dict, None]


class FakeDiscord:
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
    ) -> None:
        self.heartbeat_interval = heartbeat_interval
        self.interaction_deadline = interaction_deadline
        self.strict = strict
        self.enforce_intents = enforce_intents
        self.echo_bot_messages = echo_bot_messages
        self.privileged_intents_enabled = privileged_intents_enabled
        self.ack_heartbeats = ack_heartbeats
        self.attachment_size_limit = attachment_size_limit

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

    async def start(self) -> "FakeDiscord":
        """Serve on 127.0.0.1 at a free port. Returns self."""
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
        sock.bind(("127.0.0.1", 0))
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

    # ------------------------------------------------------------------ world building

    def _make_user(self, username: str, *, user_id: Optional[int] = None, bot: bool = False) -> dict:
        user = {
            "id": str(user_id or self._ids.next()),
            "username": username,
            "discriminator": "0",
            "global_name": None if bot else username.title(),
            "avatar": None,
            "public_flags": 0,
            "flags": 0,
        }
        if bot:
            user["bot"] = True
        return user

    def _add_role(self, role_id: int, name: str, permissions: str, *, position: int, **extra: Any) -> dict:
        role = {
            "id": str(role_id),
            "name": name,
            "permissions": permissions,
            "position": position,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "managed": False,
            "mentionable": False,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
        }
        role.update(extra)
        self.roles[role_id] = role
        return role

    def _register_member(self, user: dict, roles: list[int]) -> None:
        uid = int(user["id"])
        self._member_roles[uid] = list(roles)
        self._joined_at[uid] = _now_iso()

    def add_user(self, username: str, *, roles: Iterable[int] = (), bot: bool = False) -> dict:
        """Add a guild member (before the bot connects, or live: GUILD_MEMBER_ADD). Returns the user dict."""
        user = self._make_user(username, bot=bot)
        self.users[username] = user
        self._register_member(user, list(roles))
        if self._gateway_live():
            data = dict(self.member_payload(user), guild_id=str(self.guild_id))
            self._spawn(self.dispatch("GUILD_MEMBER_ADD", data))
        return user

    def add_channel(self, name: str, *, type: int = 0, topic: Optional[str] = None) -> dict:
        """Add a guild channel (0 text, 5 news, 15 forum). Returns the channel dict."""
        cid = self._ids.next()
        channel = {
            "id": str(cid),
            "type": type,
            "guild_id": str(self.guild_id),
            "name": name,
            "position": len([c for c in self._channels.values() if "guild_id" in c]),
            "permission_overwrites": [],
            "topic": topic,
            "nsfw": False,
            "rate_limit_per_user": 0,
            "parent_id": None,
            "last_message_id": None,
            "flags": 0,
        }
        if type in (15, 16):
            channel.update(available_tags=[], default_reaction_emoji=None, default_sort_order=None, default_forum_layout=0)
        self._channels[cid] = channel
        if self._gateway_live():
            self._spawn(self.dispatch("CHANNEL_CREATE", channel))
        return channel

    def user(self, ref: UserRef = None) -> dict:
        """Resolve a user given as a username, an id, or a user dict (default: alice)."""
        if ref is None:
            return self.users["alice"]
        if isinstance(ref, dict):
            return ref
        if isinstance(ref, str) and ref in self.users:
            return self.users[ref]
        try:
            uid = int(ref)
        except (TypeError, ValueError):
            raise KeyError(f"unknown user {ref!r}; known: {sorted(self.users)}") from None
        found = self._user_by_id(uid)
        if found is None:
            raise KeyError(f"unknown user id {uid}")
        return found

    def _user_by_id(self, uid: Union[int, str]) -> Optional[dict]:
        uid = str(uid)
        if uid == self.bot_user["id"]:
            return self.bot_user
        for u in self.users.values():
            if u["id"] == uid:
                return u
        return None

    def member_payload(self, user: dict, *, permissions: Optional[str] = None, with_user: bool = True) -> dict:
        uid = int(user["id"])
        member: dict[str, Any] = {
            "roles": [str(r) for r in self._member_roles.get(uid, [])],
            "joined_at": self._joined_at.get(uid, _now_iso()),
            "deaf": False,
            "mute": False,
            "flags": 0,  # discord.py reads member["flags"] unconditionally
            "pending": False,
            "nick": None,
            "avatar": None,
            "premium_since": None,
            "communication_disabled_until": None,
        }
        if with_user:
            member["user"] = user
        if permissions is not None:
            member["permissions"] = permissions
        return member

    def _default_permissions(self, user: dict) -> str:
        if user["id"] == self.owner["id"] or self.admin_role_id in self._member_roles.get(int(user["id"]), []):
            return ADMIN_PERMISSIONS
        return EVERYONE_PERMISSIONS

    def channel(self, channel_id: Union[int, str]) -> dict:
        ch = self._channels.get(int(channel_id))
        if ch is None:
            raise KeyError(f"unknown channel {channel_id}")
        return ch

    def dm_channel(self, user: UserRef) -> dict:
        """The DM channel between the bot and a user (created on first use)."""
        u = self.user(user)
        uid = int(u["id"])
        cid = self._dm_by_user.get(uid)
        if cid is None:
            cid = self._ids.next()
            self._channels[cid] = {
                "id": str(cid),
                "type": 1,
                "recipients": [u],
                "last_message_id": None,
                "flags": 0,
            }
            self._dm_by_user[uid] = cid
        return self._channels[cid]

    def guild_payload(self) -> dict:
        members = [self.member_payload(self.bot_user)] + [self.member_payload(u) for u in self.users.values()]
        channels = [c for c in self._channels.values() if c.get("guild_id") and c["type"] not in (10, 11, 12)]
        threads = [c for c in self._channels.values() if c["type"] in (10, 11, 12)]
        return {
            "id": str(self.guild_id),
            "name": self.guild_name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": self.owner["id"],
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 1,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "system_channel_id": str(self.channel_id),
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "vanity_url_code": None,
            "features": [],
            "roles": list(self.roles.values()),
            "emojis": [],
            "stickers": [],
            "channels": channels,
            "threads": threads,
            "members": members,
            # equal to len(members): discord.py then treats the guild as chunked
            "member_count": len(members),
            "large": False,
            "unavailable": False,
            "joined_at": self._joined_at[int(self.bot_user["id"])],
            "presences": [],
            "voice_states": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "premium_progress_bar_enabled": False,
            "max_members": 500000,
            "application_id": None,
        }

    def application_payload(self) -> dict:
        return {
            "id": str(self.application_id),
            "name": self.bot_user["username"],
            "description": "Fake application",
            "icon": None,
            "bot_public": False,
            "bot_require_code_grant": False,
            "owner": self.owner,
            "verify_key": "0" * 64,
            "flags": (1 << 15) | (1 << 19),  # GATEWAY_*_LIMITED, as for an unverified bot
            "summary": "",
            "team": None,
            "bot": self.bot_user,
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "tags": [],
            "approximate_guild_count": 1,
        }

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

    # ------------------------------------------------------------------ fault injection

    def fail_next(
        self,
        method: Optional[str],
        path_prefix: str,
        status: int = 429,
        retry_after: float = 0.5,
        times: int = 1,
        *,
        is_global: bool = False,
        message: Optional[str] = None,
        code: int = 0,
    ) -> _Fault:
        """Answer the next ``times`` requests matching method ("*"/None = any) and path prefix
        (relative to /api/v10, e.g. "/webhooks/") with ``status``.

        429 comes as Discord sends it: JSON ``{"message", "retry_after", "global"}`` plus
        ``Retry-After``, ``X-RateLimit-*`` and ``Via`` headers (discord.py treats a 429 without
        ``Via`` as a Cloudflare ban and does not retry). Returns a handle whose ``served`` list
        holds the requests that got the fault.
        """
        m = None if method in (None, "*") else method.upper()
        prefix = re.sub(r"^/api/v\d+", "", path_prefix)
        fault = _Fault(m, prefix, status, retry_after, times, is_global, message, code)
        self._faults.append(fault)
        return fault

    def _take_fault(self, method: str, path: str) -> Optional[_Fault]:
        for fault in self._faults:
            if fault.remaining > 0 and (fault.method is None or fault.method == method) and path.startswith(fault.prefix):
                fault.remaining -= 1
                return fault
        return None

    def _fault_response(self, fault: _Fault) -> tuple[int, Any, dict[str, str]]:
        headers: dict[str, str] = {}
        if fault.status == 429:
            body = {
                "message": fault.message or "You are being rate limited.",
                "retry_after": fault.retry_after,
                "global": fault.is_global,
            }
            headers = {
                "Retry-After": str(max(1, math.ceil(fault.retry_after))),
                "X-RateLimit-Limit": "5",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset-After": f"{fault.retry_after:.3f}",
                "X-RateLimit-Scope": "global" if fault.is_global else "user",
                "Via": "1.1 google",
            }
            if fault.is_global:
                headers["X-RateLimit-Global"] = "true"
        else:
            default = {403: "Missing Permissions", 404: "Unknown", 500: "500: Internal Server Error"}
            body = {"message": fault.message or default.get(fault.status, "Error"), "code": fault.code}
        return fault.status, body, headers

    async def close_gateway(self, code: int = 4000) -> None:
        """Close the bot's websocket from the server side; discord.py then reconnects and RESUMEs.

        4007 (invalid seq) and 4009 (session timed out) also invalidate the session, so the
        resume is refused (op 9) and the client IDENTIFYs again.
        """
        ws = self._ws
        self._ws = None  # later dispatches are buffered and replayed on RESUME
        if code in (4007, 4009):
            self._session_valid = False
        if ws is not None and not ws.closed:
            if ws in self._all_ws:
                self._all_ws[ws]["closed_by_fake"] = code
            await ws.close(code=code)
        self._notify()

    async def send_reconnect(self) -> None:
        """Send op 7 RECONNECT; the client closes and RESUMEs."""
        await self._send_raw({"op": 7, "d": None})

    # ------------------------------------------------------------------ gateway

    def _gateway_live(self) -> bool:
        return self._ws is not None and not self._ws.closed

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send_raw(self, frame: dict) -> bool:
        ws = self._ws
        if ws is None or ws.closed:
            return False
        try:
            await ws.send_str(_json_dumps(frame))
        except (ConnectionResetError, RuntimeError):
            return False
        return True

    async def _dispatch_locked(self, name: str, data: Any) -> int:
        self._seq += 1
        frame = {"op": 0, "t": name, "s": self._seq, "d": data}
        self._history.append(frame)
        delivered = await self._send_raw(frame)
        self.events.append(SentEvent(self._seq, name, data, time.monotonic(), delivered))
        return self._seq

    async def dispatch(self, name: str, data: Any) -> int:
        """Send a DISPATCH event to the bot (buffered for the RESUME if the socket is down). Returns seq."""
        assert self._send_lock is not None, "start() first"
        async with self._send_lock:
            seq = await self._dispatch_locked(name, data)
        self._notify()
        return seq

    async def _gateway_handler(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        conn = {
            "path": request.path,
            "query": dict(request.query),
            "time": time.monotonic(),
            "closed_by_fake": None,
            "close_code": None,
        }
        self.connections.append(conn)
        self._all_ws[ws] = conn
        try:
            # plain JSON text frames: discord.py decompresses only binary frames
            await ws.send_str(_json_dumps({"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval}}))
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await self._on_gateway_frame(ws, json.loads(msg.data))
                elif msg.type == WSMsgType.ERROR:
                    break
        finally:
            conn["close_code"] = ws.close_code
            self._all_ws.pop(ws, None)
            if self._ws is ws:
                self._ws = None
            self._notify()
        return ws

    async def _on_gateway_frame(self, ws: web.WebSocketResponse, frame: dict) -> None:
        now = time.monotonic()
        self.gateway_received.append((now, frame))
        op, d = frame.get("op"), frame.get("d")
        assert self._send_lock is not None
        if op == 1:
            self.heartbeats.append(now)
            if self.ack_heartbeats:
                await ws.send_str(_json_dumps({"op": 11}))
                self.heartbeat_acks += 1
        elif op == 2:
            self.identifies.append(d)
            self.intents = d.get("intents")
            if not self.privileged_intents_enabled and (self.intents or 0) & Intents.PRIVILEGED:
                self._all_ws[ws]["closed_by_fake"] = 4014
                await ws.close(code=4014, message=b"Disallowed intent(s).")
                return
            async with self._send_lock:
                self._ws = ws
                self._session_id = secrets.token_hex(16)
                self._session_valid = True
                self._seq = 0
                self._history = []
                await self._dispatch_locked("READY", self._ready_payload())
                await self._dispatch_locked("GUILD_CREATE", self.guild_payload())
                self.ready_count += 1
        elif op == 6:
            self.resumes.append(d)
            async with self._send_lock:
                if not self._session_valid or d.get("session_id") != self._session_id:
                    await ws.send_str(_json_dumps({"op": 9, "d": False}))
                else:
                    self._ws = ws
                    last = d.get("seq") or 0
                    for old in self._history:
                        if old["s"] > last:
                            await self._send_raw(old)
                    await self._dispatch_locked("RESUMED", {})
                    self.resumed_count += 1
        elif op == 3:
            self.presence_updates.append(d)
        elif op == 8:
            members = [self.member_payload(self.bot_user)] + [self.member_payload(u) for u in self.users.values()]
            chunk = {
                "guild_id": str(self.guild_id),
                "members": members,
                "chunk_index": 0,
                "chunk_count": 1,
                "not_found": [],
            }
            if d.get("nonce"):
                chunk["nonce"] = d["nonce"]
            await self.dispatch("GUILD_MEMBERS_CHUNK", chunk)
        self._notify()

    def _ready_payload(self) -> dict:
        return {
            "v": self.API_VERSION,
            "user": self.bot_user,
            "guilds": [{"id": str(self.guild_id), "unavailable": True}],
            "session_id": self._session_id,
            "resume_gateway_url": self.resume_gateway_url,
            "shard": [0, 1],
            "application": {"id": str(self.application_id), "flags": self.application_payload()["flags"]},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "user_settings": {},
            "session_type": "normal",
            "geo_ordered_rtc_regions": [],
        }

    # ------------------------------------------------------------------ test-driven events

    def _resolve_target(self, user: dict, channel_id: Optional[Union[int, str]], guild: bool) -> tuple[dict, Optional[int]]:
        if not guild:
            return self.dm_channel(user), None
        ch = self.channel(channel_id or self.channel_id)
        return ch, int(ch["guild_id"])

    def _base_interaction(
        self,
        type_: int,
        data: dict,
        name: str,
        *,
        user: UserRef,
        channel_id: Optional[Union[int, str]],
        guild: bool,
        permissions: Optional[str],
        locale: str,
        message: Optional[dict] = None,
    ) -> FakeInteraction:
        u = self.user(user)
        channel, guild_id = self._resolve_target(u, channel_id, guild)
        iid = self._ids.next()
        token = "itok_" + secrets.token_hex(20)
        perms = permissions if permissions is not None else self._default_permissions(u)
        payload: dict[str, Any] = {
            "id": str(iid),
            "application_id": str(self.application_id),
            "type": type_,
            "data": data,
            "token": token,
            "version": 1,
            "locale": locale,
            "app_permissions": self.bot_permissions,
            "entitlements": [],
            "attachment_size_limit": self.attachment_size_limit,
            "channel_id": channel["id"],
            "channel": dict(channel, permissions=perms),
        }
        if guild_id is not None:
            payload.update(
                guild_id=str(guild_id),
                guild={"id": str(guild_id), "locale": "en-US", "features": []},
                guild_locale="en-US",
                member=self.member_payload(u, permissions=perms),
                authorizing_integration_owners={"0": str(guild_id)},
                context=0,
            )
        else:
            payload.update(user=u, authorizing_integration_owners={"0": "0"}, context=1)
        if message is not None:
            payload["message"] = message
        inter = FakeInteraction(
            id=iid,
            token=token,
            type=type_,
            name=name,
            payload=payload,
            channel_id=int(channel["id"]),
            guild_id=guild_id,
            user=u,
            message_id=int(message["id"]) if message else None,
            original_message_id=int(message["id"]) if message else None,
        )
        self.interactions[iid] = inter
        self._interactions_by_token[token] = inter
        return inter

    async def _send(self, inter: FakeInteraction) -> FakeInteraction:
        inter.dispatched_at = time.monotonic()
        await self.dispatch("INTERACTION_CREATE", inter.payload)
        return inter

    def _find_command(self, root: str, guild_id: Optional[int], command_type: int) -> tuple[Optional[dict], bool]:
        if guild_id is not None:
            for cmd in self._guild_commands.get(guild_id, []):
                if cmd["name"] == root and cmd.get("type", 1) == command_type:
                    return cmd, True
        for cmd in self.global_commands:
            if cmd["name"] == root and cmd.get("type", 1) == command_type:
                return cmd, False
        return None, False

    def _command_data(
        self,
        name: str,
        options: Union[dict, list, None],
        *,
        guild: bool,
        focused: Optional[str] = None,
        command_type: int = 1,
    ) -> dict:
        path = name.split()
        cmd, is_guild_cmd = self._find_command(path[0], self.guild_id if guild else None, command_type)
        data: dict[str, Any] = {
            "id": cmd["id"] if cmd else str(self._ids.next()),
            "name": path[0],
            "type": command_type,
        }
        if is_guild_cmd:
            data["guild_id"] = str(self.guild_id)  # discord.py looks guild commands up by this
        resolved: dict[str, dict] = {}
        schema = (cmd or {}).get("options", [])
        if isinstance(options, list):
            leaf = list(options)  # raw option dicts, passed through
        else:
            # walk subcommand group / subcommand in the synced schema
            for part in path[1:]:
                sub = next((o for o in schema if o["name"] == part), None)
                schema = (sub or {}).get("options", [])
            leaf = [
                self._option(key, value, schema, resolved, focused=(key == focused), guild=guild)
                for key, value in (options or {}).items()
            ]
        nested = leaf
        for i, part in enumerate(reversed(path[1:])):
            kind = 1 if i == 0 else 2  # innermost is the subcommand, outer ones groups
            nested = [{"name": part, "type": kind, "options": nested}]
        if nested:
            data["options"] = nested
        if resolved:
            data["resolved"] = resolved
        return data

    def _option(self, key: str, value: Any, schema: list, resolved: dict, *, focused: bool, guild: bool) -> dict:
        spec = next((o for o in schema if o.get("name") == key), None)
        if spec is not None:
            otype = spec["type"]
        elif isinstance(value, bool):
            otype = 5
        elif isinstance(value, int):
            otype = 4
        elif isinstance(value, float):
            otype = 10
        else:
            otype = 3
        opt: dict[str, Any] = {"name": key, "type": otype}
        if focused:
            opt["focused"] = True
            opt["value"] = str(value)  # while typing, Discord sends the partial text
            return opt
        if otype == 3:
            opt["value"] = str(value)
        elif otype == 4:
            opt["value"] = int(value)
        elif otype == 5:
            opt["value"] = bool(value)
        elif otype == 10:
            opt["value"] = float(value)
        elif otype == 6 or (otype == 9 and not self._is_role(value)):
            u = self.user(value)
            opt["value"] = u["id"]
            resolved.setdefault("users", {})[u["id"]] = u
            if guild:
                resolved.setdefault("members", {})[u["id"]] = self.member_payload(
                    u, permissions=self._default_permissions(u), with_user=False
                )
        elif otype in (8, 9):
            role = self.roles[int(value)]
            opt["value"] = role["id"]
            resolved.setdefault("roles", {})[role["id"]] = role
        elif otype == 7:
            ch = self.channel(value["id"] if isinstance(value, dict) else value)
            opt["value"] = ch["id"]
            resolved.setdefault("channels", {})[ch["id"]] = dict(ch, permissions=EVERYONE_PERMISSIONS)
        elif otype == 11:
            # value: (filename, bytes) or {"filename": ..., "data": ...}
            filename, blob = (value["filename"], value["data"]) if isinstance(value, dict) else value
            att = self._store_attachment(0, filename, blob, None)
            opt["value"] = att["id"]
            resolved.setdefault("attachments", {})[att["id"]] = att
        else:
            opt["value"] = value
        return opt

    def _is_role(self, value: Any) -> bool:
        try:
            return int(value) in self.roles
        except (TypeError, ValueError):
            return False

    async def send_interaction(
        self,
        name: str,
        options: Union[dict, list, None] = None,
        *,
        user: UserRef = None,
        channel_id: Optional[Union[int, str]] = None,
        guild: bool = True,
        permissions: Optional[str] = None,
        locale: str = "en-US",
        command_type: int = 1,
    ) -> FakeInteraction:
        """Dispatch a slash command (INTERACTION_CREATE type 2).

        ``name`` is the command path: "ask", or "admin reindex" / "data lookup country" for
        subcommands in groups. ``options`` maps option names to values (types come from the
        synced command; user/role/channel/attachment options are resolved), or is a raw list
        of option dicts. ``guild=False`` sends it from the user's DM with the bot.
        ``permissions`` is the member's permission string ("0", ADMIN_PERMISSIONS, ...);
        default: admin for the owner, @everyone's for others.
        """
        data = self._command_data(name, options, guild=guild, command_type=command_type)
        inter = self._base_interaction(
            2, data, name, user=user, channel_id=channel_id, guild=guild, permissions=permissions, locale=locale
        )
        return await self._send(inter)

    async def send_autocomplete(
        self,
        name: str,
        options: dict,
        focused: str,
        *,
        user: UserRef = None,
        channel_id: Optional[Union[int, str]] = None,
        guild: bool = True,
        permissions: Optional[str] = None,
        locale: str = "en-US",
    ) -> FakeInteraction:
        """Dispatch an autocomplete request (type 4) with ``focused`` being typed.

        After ``wait_for_response(inter)``, ``inter.choices`` holds the returned choices.
        """
        data = self._command_data(name, options, guild=guild, focused=focused)
        inter = self._base_interaction(
            4, data, name, user=user, channel_id=channel_id, guild=guild, permissions=permissions, locale=locale
        )
        return await self._send(inter)

    async def send_component(
        self,
        custom_id: str,
        *,
        message: Union[dict, int, str, None] = None,
        component_type: int = 2,
        values: Optional[list[str]] = None,
        user: UserRef = None,
        channel_id: Optional[Union[int, str]] = None,
        guild: bool = True,
        permissions: Optional[str] = None,
        locale: str = "en-US",
    ) -> FakeInteraction:
        """Dispatch a component interaction (type 3): a button click (component_type 2) or a
        select (3, 5-8, with ``values``) on ``message`` (a stored message dict or id).

        Without a message, one from the bot carrying that button is made up (enough for
        persistent views, which match on custom_id alone).
        """
        if message is None:
            u = self.user(user)
            ch, _ = self._resolve_target(u, channel_id, guild)
            button = {"type": 2, "style": 1, "label": custom_id[:80], "custom_id": custom_id}
            msg = self._make_message(
                ch["id"], {"content": "", "components": [{"type": 1, "components": [button]}]}, [], author=self.bot_user
            )
        elif isinstance(message, dict):
            msg = self._messages.get(int(message["id"]), message)
        else:
            msg = self._messages[int(message)]
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component_type}
        if component_type != 2:
            data["values"] = list(values or [])
        inter = self._base_interaction(
            3,
            data,
            custom_id,
            user=user,
            channel_id=(channel_id or msg["channel_id"]) if guild else None,
            guild=guild,
            permissions=permissions,
            locale=locale,
            message=msg,
        )
        return await self._send(inter)

    async def send_modal_submit(
        self,
        custom_id: str,
        values: dict[str, Union[str, list[str]]],
        *,
        modal: Optional[FakeInteraction] = None,
        user: UserRef = None,
        channel_id: Optional[Union[int, str]] = None,
        guild: bool = True,
        permissions: Optional[str] = None,
        locale: str = "en-US",
    ) -> FakeInteraction:
        """Dispatch a modal submit (type 5). ``values`` maps component custom_ids to text
        (or to a list for selects). Pass ``modal=`` the interaction that opened it to mirror
        its layout (rows or labels); otherwise text inputs in action rows are sent.
        """

        def fill(component: dict) -> Optional[dict]:
            ctype = component.get("type")
            if ctype == 1:
                inner = [c for c in (fill(x) for x in component.get("components", [])) if c]
                return {"type": 1, "components": inner}
            if ctype == 18:
                inner = fill(component["component"])
                return {"type": 18, "component": inner} if inner else None
            cid = component.get("custom_id")
            if cid is None or cid not in values:
                return None
            value = values[cid]
            if ctype == 4:
                return {"type": 4, "custom_id": cid, "value": value}
            return {"type": ctype, "custom_id": cid, "values": list(value)}

        if modal is not None and modal.modal is not None:
            components = [c for c in (fill(c) for c in modal.modal.get("components", [])) if c]
            u = user if user is not None else modal.user
        else:
            components = [
                {"type": 1, "components": [{"type": 4, "custom_id": k, "value": v}]} for k, v in values.items()
            ]
            u = user
        data = {"custom_id": custom_id, "components": components}
        inter = self._base_interaction(
            5, data, custom_id, user=u, channel_id=channel_id, guild=guild, permissions=permissions, locale=locale
        )
        return await self._send(inter)

    async def send_message(
        self,
        content: str,
        *,
        author: UserRef = None,
        channel_id: Optional[Union[int, str]] = None,
        mentions: Optional[list[UserRef]] = None,
        dm: bool = False,
        reference_message_id: Optional[Union[int, str]] = None,
        attachments: Optional[list[tuple[str, bytes]]] = None,
    ) -> dict:
        """A test user posts a message (MESSAGE_CREATE). Returns the stored message dict.

        ``mentions`` (users, ids, or names; use ``fake.bot_user`` for the bot) become real
        mentions: listed in ``mentions`` and ``<@id>`` put at the front of the content if it
        is not already there. Delivery follows the bot's intents (see the module docstring);
        check ``fake.events_named("MESSAGE_CREATE")`` if in doubt.
        """
        u = self.user(author)
        if dm:
            ch = self.dm_channel(u)
        else:
            ch = self.channel(channel_id or self.channel_id)
        mentioned = [self.user(m) if not isinstance(m, dict) else m for m in (mentions or [])]
        missing = [f"<@{m['id']}>" for m in mentioned if f"<@{m['id']}>" not in content and f"<@!{m['id']}>" not in content]
        if missing:
            content = " ".join(missing + [content])
        payload: dict[str, Any] = {"content": content}
        if reference_message_id is not None:
            payload["message_reference"] = {"message_id": str(reference_message_id), "channel_id": ch["id"]}
        files = [RecordedFile(f"files[{i}]", name, None, blob) for i, (name, blob) in enumerate(attachments or [])]
        msg = self._make_message(ch["id"], payload, files, author=u, explicit_mentions=mentioned)
        await self._deliver_message_create(msg)
        return msg

    async def _deliver_message_create(self, msg: dict) -> None:
        is_dm = "guild_id" not in msg
        from_bot = msg["author"]["id"] == self.bot_user["id"]
        event = dict(msg)
        if self.enforce_intents and self.intents is not None:
            needed = Intents.DIRECT_MESSAGES if is_dm else Intents.GUILD_MESSAGES
            if not self.intents & needed:
                return
            mentions_bot = any(m["id"] == self.bot_user["id"] for m in msg.get("mentions", []))
            if not (self.intents & Intents.MESSAGE_CONTENT) and not (is_dm or mentions_bot or from_bot):
                event.update(content="", embeds=[], attachments=[], components=[])
        if not is_dm:
            if not msg.get("webhook_id"):
                event["member"] = self.member_payload(msg["author"], with_user=False)
            event["mentions"] = [dict(m, member=self.member_payload(m, with_user=False)) for m in msg.get("mentions", [])]
        await self.dispatch("MESSAGE_CREATE", event)

    # ------------------------------------------------------------------ messages

    def _store_attachment(self, channel_id: Union[int, str], filename: str, blob: bytes, content_type: Optional[str]) -> dict:
        aid = str(self._ids.next())
        key = f"{channel_id}/{aid}/{filename}"
        self._attachment_blobs[key] = blob
        url = f"{self.url}/attachments/{key}"
        att = {
            "id": aid,
            "filename": filename,
            "size": len(blob),
            "url": url,
            "proxy_url": url,
            "content_type": content_type,
        }
        return att

    def attachment_bytes(self, attachment: dict) -> bytes:
        """The bytes behind a stored attachment dict."""
        key = attachment["url"].split("/attachments/", 1)[1]
        return self._attachment_blobs[key]

    def _attachments_from(self, channel_id: Union[int, str], payload: dict, files: list[RecordedFile]) -> list[dict]:
        meta = {str(a.get("id")): a for a in payload.get("attachments") or [] if isinstance(a, dict)}
        out = []
        for f in files:
            m = re.fullmatch(r"files\[(\d+)\]", f.field) or re.fullmatch(r"file(\d*)", f.field)
            idx = (m.group(1) or "0") if m else "0"
            info = meta.get(idx, {})
            att = self._store_attachment(channel_id, info.get("filename") or f.filename or "file", f.data, f.content_type)
            if info.get("description"):
                att["description"] = info["description"]
            out.append(att)
        return out

    def _make_message(
        self,
        channel_id: Union[int, str],
        payload: dict,
        files: list[RecordedFile],
        *,
        author: dict,
        webhook: bool = False,
        interaction: Optional[FakeInteraction] = None,
        type_: Optional[int] = None,
        extra_flags: int = 0,
        explicit_mentions: Optional[list[dict]] = None,
    ) -> dict:
        ch = self.channel(channel_id)
        mid = self._ids.next()
        msg: dict[str, Any] = {
            "id": str(mid),
            "channel_id": ch["id"],
            "type": 0,
            "content": payload.get("content") or "",
            "author": author,
            "timestamp": _now_iso(),
            "edited_timestamp": None,
            "tts": bool(payload.get("tts")),
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": self._attachments_from(ch["id"], payload, files),
            "embeds": [dict(e, type=e.get("type", "rich")) for e in payload.get("embeds") or []],
            "components": payload.get("components") or [],
            "pinned": False,
            "flags": int(payload.get("flags") or 0) | extra_flags,
            "reactions": [],
        }
        if ch.get("guild_id"):
            msg["guild_id"] = ch["guild_id"]
        if payload.get("nonce") is not None:
            msg["nonce"] = payload["nonce"]
        if payload.get("poll") is not None:
            msg["_poll_request"] = payload["poll"]  # kept for asserts; not a parsed poll
        if webhook:
            msg["webhook_id"] = str(self.application_id)
            msg["application_id"] = str(self.application_id)
        if interaction is not None:
            msg["interaction_metadata"] = {
                "id": str(interaction.id),
                "type": interaction.type,
                "user": interaction.user,
                "authorizing_integration_owners": interaction.payload["authorizing_integration_owners"],
            }
            if interaction.type == 2:
                msg["type"] = 20  # CHAT_INPUT_COMMAND
        referenced = None
        ref = payload.get("message_reference")
        if ref and ref.get("message_id"):
            referenced = self._messages.get(int(ref["message_id"]))
            if referenced is None and ref.get("fail_if_not_exists", True) and self.strict:
                raise _form_error({"message_reference": _err("MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message")})
            msg["type"] = 19  # REPLY
            msg["message_reference"] = {
                "type": 0,
                "message_id": str(ref["message_id"]),
                "channel_id": str(ref.get("channel_id") or ch["id"]),
            }
            if ch.get("guild_id"):
                msg["message_reference"]["guild_id"] = ch["guild_id"]
            if referenced is not None:
                msg["referenced_message"] = {k: v for k, v in referenced.items() if k != "referenced_message"}
        if type_ is not None:
            msg["type"] = type_
        if explicit_mentions is not None:
            msg["mentions"] = explicit_mentions
        else:
            self._apply_mentions(msg, payload, referenced)
        self._messages[mid] = msg
        self._channel_messages.setdefault(int(ch["id"]), []).append(mid)
        ch["last_message_id"] = str(mid)
        return msg

    def _apply_mentions(self, msg: dict, payload: dict, referenced: Optional[dict]) -> None:
        """Fill mentions/mention_roles/mention_everyone with who would really be pinged."""
        content = msg["content"]
        am = payload.get("allowed_mentions")
        if am is None:
            parse = {"users", "roles", "everyone"}
            users_ok: set[str] = set()
            roles_ok: set[str] = set()
            replied = True
        else:
            parse = set(am.get("parse") or [])
            users_ok = {str(x) for x in am.get("users") or []}
            roles_ok = {str(x) for x in am.get("roles") or []}
            replied = bool(am.get("replied_user", False))
        pinged: list[dict] = []
        for uid in dict.fromkeys(re.findall(r"<@!?(\d+)>", content)):
            if "users" in parse or uid in users_ok:
                pinged.append(self._user_by_id(uid) or {"id": uid, "username": "unknown", "discriminator": "0", "avatar": None})
        if referenced is not None and replied and all(p["id"] != referenced["author"]["id"] for p in pinged):
            pinged.append(referenced["author"])
        msg["mentions"] = pinged
        msg["mention_roles"] = [
            rid for rid in dict.fromkeys(re.findall(r"<@&(\d+)>", content)) if "roles" in parse or rid in roles_ok
        ]
        msg["mention_everyone"] = "everyone" in parse and ("@everyone" in content or "@here" in content)

    def _edit_message(self, msg: dict, payload: dict, files: list[RecordedFile]) -> dict:
        self._validate_message(payload, bool(files), edit=True, flags=msg["flags"])
        for key in ("content", "components"):
            if key in payload:
                msg[key] = payload[key] if payload[key] is not None else ("" if key == "content" else [])
        if "embeds" in payload:
            msg["embeds"] = [dict(e, type=e.get("type", "rich")) for e in payload["embeds"] or []]
        if "flags" in payload and payload["flags"] is not None:
            # only SUPPRESS_EMBEDS (4) may change on edit; ephemeral stays
            msg["flags"] = (msg["flags"] & ~4) | (int(payload["flags"]) & 4)
        if "attachments" in payload or files:
            keep_ids = {str(a.get("id")) for a in payload.get("attachments") or [] if isinstance(a, dict)}
            kept = [a for a in msg["attachments"] if a["id"] in keep_ids] if "attachments" in payload else msg["attachments"]
            msg["attachments"] = kept + self._attachments_from(msg["channel_id"], payload, files)
        msg["flags"] &= ~_LOADING  # the "thinking..." state ends with the first edit
        if "content" in payload or "allowed_mentions" in payload:
            self._apply_mentions(msg, payload, self._messages.get(int(msg.get("message_reference", {}).get("message_id", 0))))
        msg["edited_timestamp"] = _now_iso()
        return msg

    async def _echo(self, event: str, msg: dict) -> None:
        if not self.echo_bot_messages or msg["flags"] & _EPHEMERAL:
            return
        if event == "MESSAGE_CREATE":
            await self._deliver_message_create(msg)
        elif event == "MESSAGE_DELETE":
            data = {"id": msg["id"], "channel_id": msg["channel_id"]}
            if "guild_id" in msg:
                data["guild_id"] = msg["guild_id"]
            await self.dispatch(event, data)
        else:
            await self.dispatch(event, msg)

    # ------------------------------------------------------------------ validation

    def _validate_message(self, payload: dict, has_files: bool, *, edit: bool = False, flags: int = 0) -> None:
        if not self.strict:
            return
        errors: dict[str, Any] = {}
        content = payload.get("content") or ""
        if len(content) > 2000:
            errors["content"] = _err("BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length.")
        embeds = payload.get("embeds") or []
        if len(embeds) > 10:
            errors["embeds"] = _err("BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
        total = 0
        limits = {"title": 256, "description": 4096}
        for i, e in enumerate(embeds):
            e_err: dict[str, Any] = {}
            for key, limit in limits.items():
                text = e.get(key) or ""
                total += len(text)
                if len(text) > limit:
                    e_err[key] = _err("BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")
            fields = e.get("fields") or []
            if len(fields) > 25:
                e_err["fields"] = _err("BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
            for j, f in enumerate(fields):
                name, value = f.get("name") or "", f.get("value") or ""
                total += len(name) + len(value)
                if not name or not value:
                    e_err.setdefault("fields", {})[str(j)] = _err("BASE_TYPE_REQUIRED", "This field is required")
                if len(name) > 256 or len(value) > 1024:
                    e_err.setdefault("fields", {})[str(j)] = _err("BASE_TYPE_MAX_LENGTH", "Field name 256 / value 1024 max.")
            footer = (e.get("footer") or {}).get("text") or ""
            author = (e.get("author") or {}).get("name") or ""
            total += len(footer) + len(author)
            if len(footer) > 2048:
                e_err["footer"] = _err("BASE_TYPE_MAX_LENGTH", "Must be 2048 or fewer in length.")
            if len(author) > 256:
                e_err["author"] = _err("BASE_TYPE_MAX_LENGTH", "Must be 256 or fewer in length.")
            if e_err:
                errors.setdefault("embeds", {})[str(i)] = e_err
        if total > 6000:
            errors.setdefault("embeds", {}).update(_err("MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000"))
        components = payload.get("components") or []
        if not (int(payload.get("flags") or flags) & _COMPONENTS_V2):
            if len(components) > 5:
                errors["components"] = _err("BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length.")
            for i, row in enumerate(components):
                inner = row.get("components") or []
                buttons = [c for c in inner if c.get("type") == 2]
                if row.get("type") != 1 or len(buttons) > 5 or (len(inner) > 1 and len(buttons) != len(inner)):
                    errors.setdefault("components", {})[str(i)] = _err(
                        "COMPONENT_LAYOUT_WIDTH_EXCEEDED", "An action row holds up to 5 buttons or one select"
                    )
                for c in inner:
                    if len(c.get("custom_id") or "") > 100 or len(c.get("label") or "") > 80:
                        errors.setdefault("components", {})[str(i)] = _err(
                            "BASE_TYPE_MAX_LENGTH", "custom_id 100 / label 80 max."
                        )
                    if len(c.get("options") or []) > 25:
                        errors.setdefault("components", {})[str(i)] = _err("BASE_TYPE_MAX_LENGTH", "25 options max.")
        if errors:
            raise _form_error(errors)
        if not edit and not (
            content or embeds or components or has_files or payload.get("sticker_ids") or payload.get("poll")
        ):
            raise _ApiError(400, "Cannot send an empty message", 50006)

    # ------------------------------------------------------------------ REST

    def _build_routes(self) -> list[tuple[str, re.Pattern, Callable]]:
        s = r"(?P<{}>[0-9]+)"
        tok = r"(?P<token>[^/]+)"
        table = [
            ("GET", "/users/@me", self._r_me),
            ("GET", "/users/" + s.format("user_id"), self._r_get_user),
            ("POST", "/users/@me/channels", self._r_create_dm),
            ("GET", "/oauth2/applications/@me", self._r_app),
            ("GET", "/applications/@me", self._r_app),
            ("GET", "/gateway", self._r_gateway),
            ("GET", "/gateway/bot", self._r_gateway_bot),
            ("PUT", "/applications/{}/commands".format(s.format("app")), self._r_put_commands),
            ("GET", "/applications/{}/commands".format(s.format("app")), self._r_get_commands),
            ("POST", "/applications/{}/commands".format(s.format("app")), self._r_post_command),
            ("PUT", "/applications/{}/guilds/{}/commands".format(s.format("app"), s.format("guild")), self._r_put_commands),
            ("GET", "/applications/{}/guilds/{}/commands".format(s.format("app"), s.format("guild")), self._r_get_commands),
            ("POST", "/applications/{}/guilds/{}/commands".format(s.format("app"), s.format("guild")), self._r_post_command),
            ("POST", "/interactions/{}/{}/callback".format(s.format("iid"), tok), self._r_callback),
            ("POST", "/webhooks/{}/{}".format(s.format("app"), tok), self._r_followup),
            ("GET", "/webhooks/{}/{}/messages/(?P<mid>@original|[0-9]+)".format(s.format("app"), tok), self._r_hook_get),
            ("PATCH", "/webhooks/{}/{}/messages/(?P<mid>@original|[0-9]+)".format(s.format("app"), tok), self._r_hook_edit),
            ("DELETE", "/webhooks/{}/{}/messages/(?P<mid>@original|[0-9]+)".format(s.format("app"), tok), self._r_hook_delete),
            ("GET", "/channels/" + s.format("cid"), self._r_get_channel),
            ("POST", "/channels/{}/typing".format(s.format("cid")), self._r_typing),
            ("GET", "/channels/{}/messages".format(s.format("cid")), self._r_history),
            ("POST", "/channels/{}/messages".format(s.format("cid")), self._r_post_message),
            ("GET", "/channels/{}/messages/{}".format(s.format("cid"), s.format("mid")), self._r_get_message),
            ("PATCH", "/channels/{}/messages/{}".format(s.format("cid"), s.format("mid")), self._r_edit_message),
            ("DELETE", "/channels/{}/messages/{}".format(s.format("cid"), s.format("mid")), self._r_delete_message),
            (
                "PUT",
                "/channels/{}/messages/{}/reactions/(?P<emoji>[^/]+)/@me".format(s.format("cid"), s.format("mid")),
                self._r_add_reaction,
            ),
            (
                "DELETE",
                "/channels/{}/messages/{}/reactions/(?P<emoji>[^/]+)/@me".format(s.format("cid"), s.format("mid")),
                self._r_remove_reaction,
            ),
            ("POST", "/channels/{}/messages/{}/threads".format(s.format("cid"), s.format("mid")), self._r_thread_from_message),
            ("POST", "/channels/{}/threads".format(s.format("cid")), self._r_thread),
            ("PUT", "/channels/{}/thread-members/@me".format(s.format("cid")), self._r_no_content),
            ("GET", "/guilds/" + s.format("guild"), self._r_get_guild),
            ("GET", "/guilds/{}/channels".format(s.format("guild")), self._r_guild_channels),
            ("GET", "/guilds/{}/members/{}".format(s.format("guild"), s.format("user_id")), self._r_get_member),
        ]
        return [(m, re.compile(p), h) for m, p, h in table]

    @staticmethod
    def _json_response(status: int, body: Any, headers: Optional[dict[str, str]] = None) -> web.Response:
        if body is None:
            return web.Response(status=status, headers=headers)
        # discord.py parses JSON only when Content-Type is exactly "application/json";
        # web.json_response would append "; charset=utf-8".
        hdrs = {"Content-Type": "application/json"}
        hdrs.update(headers or {})
        return web.Response(status=status, body=_json_dumps(body).encode(), headers=hdrs)

    async def _read_body(self, request: web.Request) -> tuple[Any, list[RecordedFile]]:
        if not request.can_read_body:
            return None, []
        if request.content_type.startswith("multipart/"):
            payload = None
            files: list[RecordedFile] = []
            reader = await request.multipart()
            async for part in reader:
                if part is None:
                    break
                data = await part.read(decode=False)  # type: ignore[union-attr]
                name = part.name or ""  # type: ignore[union-attr]
                if name == "payload_json":
                    payload = json.loads(data.decode())
                else:
                    files.append(
                        RecordedFile(name, part.filename, part.headers.get("Content-Type"), bytes(data))  # type: ignore[union-attr]
                    )
            return payload, files
        raw = await request.read()
        if not raw:
            return None, []
        try:
            return json.loads(raw), []
        except ValueError:
            return raw.decode(errors="replace"), []

    async def _rest_handler(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["tail"]
        body, files = await self._read_body(request)
        rec = RecordedRequest(
            method=request.method,
            path=path,
            query=dict(request.query),
            json=body,
            files=files,
            headers=dict(request.headers),
            time=time.monotonic(),
        )
        self.requests.append(rec)
        parts = path.strip("/").split("/")
        if len(parts) >= 3 and parts[0] in ("interactions", "webhooks"):
            self._requests_by_token.setdefault(parts[2], []).append(rec)
        headers: dict[str, str] = {}
        fault = self._take_fault(request.method, path)
        if fault is not None:
            rec.fault = True
            fault.served.append(rec)
            status, resp, headers = self._fault_response(fault)
        else:
            for method, pattern, handler in self._routes:
                m = pattern.fullmatch(path)
                if m and method == request.method:
                    try:
                        status, resp = await handler(rec, **m.groupdict())
                    except _ApiError as exc:
                        status, resp = exc.status, exc.body
                    break
            else:
                rec.known = False
                status, resp = 404, {"message": f"404: Not Found (fake has no {request.method} {path})", "code": 0}
        rec.status, rec.response = status, resp
        self._notify()
        return self._json_response(status, resp, headers)

    async def _not_api_handler(self, request: web.Request) -> web.Response:
        rec = RecordedRequest(request.method, request.path, dict(request.query), None, [], dict(request.headers), time.monotonic())
        rec.known, rec.status = False, 404
        rec.response = {"message": "404: Not Found", "code": 0}
        self.requests.append(rec)
        self._notify()
        return self._json_response(404, rec.response)

    async def _attachment_handler(self, request: web.Request) -> web.Response:
        blob = self._attachment_blobs.get(request.match_info["tail"])
        if blob is None:
            return web.Response(status=404)
        return web.Response(body=blob, headers={"Content-Type": "application/octet-stream"})

    # --- handlers: each returns (status, json-or-None)

    async def _r_me(self, rec: RecordedRequest) -> tuple[int, Any]:
        if not rec.headers.get("Authorization", "").startswith("Bot "):
            raise _ApiError(401, "401: Unauthorized", 0)
        return 200, self.bot_user

    async def _r_get_user(self, rec: RecordedRequest, user_id: str) -> tuple[int, Any]:
        u = self._user_by_id(user_id)
        if u is None:
            raise _ApiError(404, "Unknown User", 10013)
        return 200, u

    async def _r_app(self, rec: RecordedRequest) -> tuple[int, Any]:
        return 200, self.application_payload()

    async def _r_gateway(self, rec: RecordedRequest) -> tuple[int, Any]:
        return 200, {"url": self.gateway_url}

    async def _r_gateway_bot(self, rec: RecordedRequest) -> tuple[int, Any]:
        return 200, {
            "url": self.gateway_url,
            "shards": 1,
            "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1},
        }

    def _command_list(self, guild: Optional[str]) -> list[dict]:
        if guild is None:
            return self.global_commands
        return self._guild_commands.setdefault(int(guild), [])

    def _store_command(self, cmd: dict, guild: Optional[str], existing: list[dict]) -> dict:
        if self.strict:
            name = cmd.get("name", "")
            ctype = cmd.get("type", 1)
            if ctype == 1 and (not re.fullmatch(r"[-_\w]{1,32}", name) or name != name.lower()):
                raise _form_error({"name": _err("APPLICATION_COMMAND_INVALID_NAME", f"Invalid command name {name!r}")})
            if ctype == 1 and not 1 <= len(cmd.get("description") or "") <= 100:
                raise _form_error({"description": _err("BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")})
            if len(cmd.get("options") or []) > 25:
                raise _form_error({"options": _err("BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")})
        old = next((c for c in existing if c["name"] == cmd["name"] and c.get("type", 1) == cmd.get("type", 1)), None)
        stored = dict(cmd)
        stored.setdefault("type", 1)
        stored.setdefault("options", [])
        stored.setdefault("description", "")
        stored.update(
            id=old["id"] if old else str(self._ids.next()),
            application_id=str(self.application_id),
            version=str(self._ids.next()),
            default_member_permissions=cmd.get("default_member_permissions"),
            nsfw=cmd.get("nsfw", False),
        )
        if guild is not None:
            stored["guild_id"] = str(guild)
        return stored

    async def _r_put_commands(self, rec: RecordedRequest, app: str, guild: Optional[str] = None) -> tuple[int, Any]:
        existing = self._command_list(guild)
        new = [self._store_command(c, guild, existing) for c in rec.json or []]
        if len(new) > 100:
            raise _form_error({"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "100 commands max."}]})
        existing[:] = new
        return 200, new

    async def _r_get_commands(self, rec: RecordedRequest, app: str, guild: Optional[str] = None) -> tuple[int, Any]:
        return 200, self._command_list(guild)

    async def _r_post_command(self, rec: RecordedRequest, app: str, guild: Optional[str] = None) -> tuple[int, Any]:
        existing = self._command_list(guild)
        cmd = self._store_command(rec.json, guild, existing)
        existing[:] = [c for c in existing if c["id"] != cmd["id"]] + [cmd]
        return 201, cmd

    async def _r_callback(self, rec: RecordedRequest, iid: str, token: str) -> tuple[int, Any]:
        inter = self._interactions_by_token.get(token)
        if inter is None or str(inter.id) != iid:
            raise _ApiError(404, "Unknown interaction", 10062)
        if self.interaction_deadline is not None and rec.time - inter.dispatched_at > self.interaction_deadline:
            raise _ApiError(404, "Unknown interaction", 10062)  # what Discord says after 3 s
        if inter.response_type is not None:
            raise _ApiError(400, "Interaction has already been acknowledged.", 40060)
        body = rec.json or {}
        ctype = body.get("type")
        data = body.get("data") or {}
        resource: Optional[dict] = None
        msg: Optional[dict] = None
        if ctype == CALLBACK_MESSAGE:
            self._validate_message(data, bool(rec.files))
            msg = self._make_message(
                inter.channel_id, data, rec.files, author=self.bot_user, webhook=True, interaction=inter
            )
            inter.original_message_id = int(msg["id"])
        elif ctype == CALLBACK_DEFER:
            flags = _LOADING | (int(data.get("flags") or 0) & _EPHEMERAL)
            msg = self._make_message(
                inter.channel_id, {"flags": flags}, [], author=self.bot_user, webhook=True, interaction=inter
            )
            inter.original_message_id = int(msg["id"])
        elif ctype == CALLBACK_UPDATE:
            if inter.message_id is None or int(inter.message_id) not in self._messages:
                raise _ApiError(400, "Interaction has no message to update", 50035)
            msg = self._edit_message(self._messages[inter.message_id], data, rec.files)
        elif ctype == CALLBACK_AUTOCOMPLETE:
            choices = data.get("choices") or []
            if self.strict and (
                len(choices) > 25 or any(len(str(c.get("name", ""))) > 100 or len(str(c.get("value", ""))) > 100 for c in choices)
            ):
                raise _form_error({"data": {"choices": _err("BASE_TYPE_MAX_LENGTH", "25 choices, 100 characters each.")}})
            inter.choices = choices
        elif ctype == CALLBACK_MODAL:
            if self.strict and (len(data.get("custom_id") or "") > 100 or len(data.get("title") or "") > 45):
                raise _form_error({"data": _err("BASE_TYPE_MAX_LENGTH", "custom_id 100 / title 45 max.")})
            inter.modal = data
        elif ctype in (CALLBACK_PONG, CALLBACK_DEFER_UPDATE, CALLBACK_LAUNCH_ACTIVITY, 10):
            pass
        else:
            raise _form_error({"type": _err("BASE_TYPE_CHOICES", f"Value {ctype!r} is not a valid callback type.")})
        inter.response_type = ctype
        inter.acknowledged_at = rec.time
        inter.callbacks.append(rec)
        if ctype in (CALLBACK_MESSAGE, CALLBACK_DEFER) and msg is not None:
            await self._echo("MESSAGE_CREATE", msg)
        elif ctype == CALLBACK_UPDATE and msg is not None:
            await self._echo("MESSAGE_UPDATE", msg)
        callback: dict[str, Any] = {
            "id": str(inter.id),
            "type": inter.type,
            "response_message_loading": ctype == CALLBACK_DEFER,
            "response_message_ephemeral": bool(msg and msg["flags"] & _EPHEMERAL),
        }
        if msg is not None:
            callback["response_message_id"] = msg["id"]
            resource = {"type": ctype, "message": msg}
        elif ctype == CALLBACK_LAUNCH_ACTIVITY:
            callback["activity_instance_id"] = "fake-activity"
            resource = {"type": ctype, "activity_instance": {"id": "fake-activity"}}
        if rec.query.get("with_response") in ("1", "true", "True"):
            out: dict[str, Any] = {"interaction": callback}
            if resource is not None:
                out["resource"] = resource
            return 200, out
        return 204, None

    def _interaction_for_hook(self, app: str, token: str) -> FakeInteraction:
        inter = self._interactions_by_token.get(token)
        if inter is None or app != str(self.application_id):
            raise _ApiError(404, "Unknown Webhook", 10015)
        if inter.response_type is None:
            raise _ApiError(404, "Unknown Webhook", 10015)  # a followup needs an acknowledged interaction
        return inter

    def _hook_message(self, inter: FakeInteraction, mid: str) -> dict:
        target = inter.original_message_id if mid == "@original" else int(mid)
        msg = self._messages.get(target) if target is not None else None
        if msg is None:
            raise _ApiError(404, "Unknown Message", 10008)
        return msg

    async def _r_followup(self, rec: RecordedRequest, app: str, token: str) -> tuple[int, Any]:
        inter = self._interaction_for_hook(app, token)
        payload = rec.json or {}
        self._validate_message(payload, bool(rec.files))
        channel_id = rec.query.get("thread_id") or inter.channel_id
        msg = self._make_message(channel_id, payload, rec.files, author=self.bot_user, webhook=True, interaction=inter)
        inter.followups.append(rec)
        await self._echo("MESSAGE_CREATE", msg)
        if rec.query.get("wait") in ("1", "true", "True"):
            return 200, msg
        return 204, None

    async def _r_hook_get(self, rec: RecordedRequest, app: str, token: str, mid: str) -> tuple[int, Any]:
        return 200, self._hook_message(self._interaction_for_hook(app, token), mid)

    async def _r_hook_edit(self, rec: RecordedRequest, app: str, token: str, mid: str) -> tuple[int, Any]:
        inter = self._interaction_for_hook(app, token)
        msg = self._edit_message(self._hook_message(inter, mid), rec.json or {}, rec.files)
        inter.edits.append(rec)
        await self._echo("MESSAGE_UPDATE", msg)
        return 200, msg

    async def _r_hook_delete(self, rec: RecordedRequest, app: str, token: str, mid: str) -> tuple[int, Any]:
        inter = self._interaction_for_hook(app, token)
        msg = self._hook_message(inter, mid)
        del self._messages[int(msg["id"])]
        await self._echo("MESSAGE_DELETE", msg)
        return 204, None

    def _channel_or_404(self, cid: Union[str, int]) -> dict:
        ch = self._channels.get(int(cid))
        if ch is None:
            raise _ApiError(404, "Unknown Channel", 10003)
        return ch

    def _message_or_404(self, cid: str, mid: str) -> dict:
        msg = self._messages.get(int(mid))
        if msg is None or msg["channel_id"] != cid:
            raise _ApiError(404, "Unknown Message", 10008)
        return msg

    async def _r_get_channel(self, rec: RecordedRequest, cid: str) -> tuple[int, Any]:
        return 200, self._channel_or_404(cid)

    async def _r_typing(self, rec: RecordedRequest, cid: str) -> tuple[int, Any]:
        self._channel_or_404(cid)
        return 204, None

    async def _r_history(self, rec: RecordedRequest, cid: str) -> tuple[int, Any]:
        self._channel_or_404(cid)
        limit = int(rec.query.get("limit", 50))
        msgs = self.messages_in(cid)
        if "before" in rec.query:
            msgs = [m for m in msgs if int(m["id"]) < int(rec.query["before"])]
        if "after" in rec.query:
            msgs = [m for m in msgs if int(m["id"]) > int(rec.query["after"])][:limit]
        return 200, list(reversed(msgs))[:limit]

    async def _r_post_message(self, rec: RecordedRequest, cid: str) -> tuple[int, Any]:
        self._channel_or_404(cid)
        payload = rec.json or {}
        self._validate_message(payload, bool(rec.files))
        msg = self._make_message(cid, payload, rec.files, author=self.bot_user)
        await self._echo("MESSAGE_CREATE", msg)
        return 200, msg

    async def _r_get_message(self, rec: RecordedRequest, cid: str, mid: str) -> tuple[int, Any]:
        return 200, self._message_or_404(cid, mid)

    async def _r_edit_message(self, rec: RecordedRequest, cid: str, mid: str) -> tuple[int, Any]:
        msg = self._message_or_404(cid, mid)
        if msg["author"]["id"] != self.bot_user["id"]:
            raise _ApiError(403, "Cannot edit a message authored by another user", 50005)
        self._edit_message(msg, rec.json or {}, rec.files)
        await self._echo("MESSAGE_UPDATE", msg)
        return 200, msg

    async def _r_delete_message(self, rec: RecordedRequest, cid: str, mid: str) -> tuple[int, Any]:
        msg = self._message_or_404(cid, mid)
        del self._messages[int(mid)]
        await self._echo("MESSAGE_DELETE", msg)
        return 204, None

    async def _r_add_reaction(self, rec: RecordedRequest, cid: str, mid: str, emoji: str) -> tuple[int, Any]:
        msg = self._message_or_404(cid, mid)
        self.reactions.append({"channel_id": int(cid), "message_id": int(mid), "emoji": emoji, "time": rec.time})
        name, _, eid = emoji.partition(":")
        for r in msg["reactions"]:
            if r["emoji"]["name"] == name:
                r["count"] += 0 if r["me"] else 1
                r["me"] = True
                break
        else:
            msg["reactions"].append({"count": 1, "me": True, "emoji": {"id": eid or None, "name": name}})
        return 204, None

    async def _r_remove_reaction(self, rec: RecordedRequest, cid: str, mid: str, emoji: str) -> tuple[int, Any]:
        msg = self._message_or_404(cid, mid)
        name = emoji.partition(":")[0]
        msg["reactions"] = [r for r in msg["reactions"] if not (r["emoji"]["name"] == name and r["count"] <= 1)]
        return 204, None

    def _new_thread(self, parent: dict, name: str, thread_id: int, payload: dict, type_: int) -> dict:
        if parent.get("type") not in (0, 5, 15, 16):
            raise _ApiError(400, "Cannot create a thread here", 50024)
        thread = {
            "id": str(thread_id),
            "type": type_,
            "guild_id": parent["guild_id"],
            "parent_id": parent["id"],
            "owner_id": self.bot_user["id"],
            "name": name,
            "last_message_id": None,
            "rate_limit_per_user": payload.get("rate_limit_per_user") or 0,
            "message_count": 0,
            "member_count": 1,
            "total_message_sent": 0,
            "flags": 0,
            "applied_tags": payload.get("applied_tags") or [],
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": payload.get("auto_archive_duration") or 1440,
                "archive_timestamp": _now_iso(),
                "locked": False,
                "invitable": bool(payload.get("invitable", True)),
                "create_timestamp": _now_iso(),
            },
            "member": {
                "id": str(thread_id),
                "user_id": self.bot_user["id"],
                "join_timestamp": _now_iso(),
                "flags": 0,
            },
        }
        self._channels[thread_id] = thread
        self.threads.append(thread)
        return thread

    async def _r_thread_from_message(self, rec: RecordedRequest, cid: str, mid: str) -> tuple[int, Any]:
        parent = self._channel_or_404(cid)
        msg = self._message_or_404(cid, mid)
        payload = rec.json or {}
        if int(mid) in self._channels:
            raise _ApiError(400, "A thread has already been created for this message", 160004)
        # a message thread takes the message's id, as on Discord
        thread = self._new_thread(parent, payload.get("name") or "thread", int(mid), payload, 10 if parent["type"] == 5 else 11)
        msg["thread"] = thread
        msg["flags"] |= 1 << 5  # HAS_THREAD
        await self.dispatch("THREAD_CREATE", dict(thread, newly_created=True))
        return 201, thread

    async def _r_thread(self, rec: RecordedRequest, cid: str) -> tuple[int, Any]:
        parent = self._channel_or_404(cid)
        payload = rec.json or {}
        is_forum = parent["type"] in (15, 16)
        type_ = 11 if is_forum else int(payload.get("type") or 12)
        thread = self._new_thread(parent, payload.get("name") or "thread", self._ids.next(), payload, type_)
        out = dict(thread)
        if is_forum:
            first = payload.get("message") or {}
            self._validate_message(first, bool(rec.files))
            starter = self._make_message(thread["id"], first, rec.files, author=self.bot_user)
            out["message"] = starter
        await self.dispatch("THREAD_CREATE", dict(thread, newly_created=True))
        if is_forum:
            await self._echo("MESSAGE_CREATE", out["message"])
        return 201, out

    async def _r_no_content(self, rec: RecordedRequest, **_: str) -> tuple[int, Any]:
        return 204, None

    async def _r_create_dm(self, rec: RecordedRequest) -> tuple[int, Any]:
        rid = (rec.json or {}).get("recipient_id")
        if rid is None or self._user_by_id(rid) is None:
            raise _ApiError(400, "Unknown recipient", 50035)
        return 200, self.dm_channel(int(rid))

    def _guild_or_404(self, guild: str) -> None:
        if int(guild) != self.guild_id:
            raise _ApiError(404, "Unknown Guild", 10004)

    async def _r_get_guild(self, rec: RecordedRequest, guild: str) -> tuple[int, Any]:
        self._guild_or_404(guild)
        g = self.guild_payload()
        for key in ("channels", "threads", "members", "presences", "voice_states"):
            g.pop(key, None)
        return 200, g

    async def _r_guild_channels(self, rec: RecordedRequest, guild: str) -> tuple[int, Any]:
        self._guild_or_404(guild)
        return 200, [c for c in self._channels.values() if c.get("guild_id") and c["type"] not in (10, 11, 12)]

    async def _r_get_member(self, rec: RecordedRequest, guild: str, user_id: str) -> tuple[int, Any]:
        self._guild_or_404(guild)
        u = self._user_by_id(user_id)
        if u is None:
            raise _ApiError(404, "Unknown Member", 10007)
        return 200, self.member_payload(u)


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
