"""The fake's world and records: constants, recorded requests and interactions, users, roles,
channels, messages, mentions and Discord's payload limits."""

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
_ADMINISTRATOR = 1 << 3
_ALL = (1 << 53) - 1
TOKEN_LIFETIME = 15 * 60  # an interaction token's webhook works for 15 minutes, as on Discord


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
    response_headers: dict[str, str] = field(default_factory=dict)

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



class _IdMaker:
    """Snowflakes with a real timestamp, so created_at in discord.py is sensible."""

    def __init__(self) -> None:
        self._counter = 0

    def next(self) -> int:
        self._counter += 1
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        return (ms << 22) | (self._counter & 0x3FFFFF)


UserRef = Union[str, int, dict, None]


class CommandNotVisible(Exception):
    """The member could not have sent this command: Discord hides it from them (its
    default_member_permissions, or its contexts / dm_permission in a DM)."""


class WorldMixin:
    """Users, roles, channels, guild and application payloads, messages and their validation."""

    # ------------------------------------------------------------------ time

    def now(self) -> float:
        """The fake's clock: time.monotonic() moved on by advance()."""
        return time.monotonic() + self.clock_offset

    def advance(self, seconds: float) -> None:
        """Move the fake's clock on (interaction deadlines, token expiry): no test sleeps 15 minutes."""
        self.clock_offset += seconds

    # ------------------------------------------------------------------ permissions

    @property
    def bot_role(self) -> dict:
        """The bot's managed role: what Discord's mention picker often inserts for the bot."""
        return self.roles[self.bot_role_id]

    def add_thread(self, name: str, *, owner: UserRef = None, parent_id: Optional[Union[int, str]] = None) -> dict:
        """A public thread a member opened for themselves (not the bot's), announced live."""
        parent = self.channel(parent_id or self.channel_id)
        thread = self._new_thread(parent, name, self._ids.next(), {}, 11)
        thread["owner_id"] = self.user(owner)["id"]
        thread.pop("member", None)  # the bot has not joined it
        if self._gateway_live():
            self._spawn(self.dispatch("THREAD_CREATE", dict(thread, newly_created=True)))
        return thread

    def set_channel_permissions(self, channel_id: Union[int, str], *, allow: int = 0, deny: int = 0) -> None:
        """A permission overwrite for the bot's member in a channel (as a server admin would set)."""
        ch = self.channel(channel_id)
        ch["permission_overwrites"] = [o for o in ch["permission_overwrites"] if o["id"] != self.bot_user["id"]]
        ch["permission_overwrites"].append({"id": self.bot_user["id"], "type": 1, "allow": str(allow), "deny": str(deny)})
        if self._gateway_live():
            self._spawn(self.dispatch("CHANNEL_UPDATE", ch))

    def bot_permissions_in(self, channel_id: Union[int, str]) -> int:
        """The bot's permissions in a channel, computed as Discord does: roles, then the
        channel's overwrites (@everyone, roles, member); a thread follows its parent."""
        ch = self.channel(channel_id)
        if "guild_id" not in ch:
            return _ALL  # a DM
        if ch["type"] in (10, 11, 12):
            ch = self.channel(ch["parent_id"])
        roles = [self.everyone_role_id] + self._member_roles.get(int(self.bot_user["id"]), [])
        perms = 0
        for rid in roles:
            perms |= int(self.roles[rid]["permissions"])
        if perms & _ADMINISTRATOR:
            return _ALL
        overwrites = ch.get("permission_overwrites") or []
        for o in overwrites:
            if o["id"] == str(self.everyone_role_id):
                perms = (perms & ~int(o["deny"])) | int(o["allow"])
        allow = deny = 0
        for o in overwrites:
            if o["type"] == 0 and o["id"] != str(self.everyone_role_id) and int(o["id"]) in roles:
                allow, deny = allow | int(o["allow"]), deny | int(o["deny"])
        perms = (perms & ~deny) | allow
        for o in overwrites:
            if o["type"] == 1 and o["id"] == self.bot_user["id"]:
                perms = (perms & ~int(o["deny"])) | int(o["allow"])
        return perms if perms & _VIEW_CHANNEL else 0

    def _require(self, channel_id: Union[int, str], needed: int) -> None:
        """403 as Discord answers it: 50001 without View Channel, 50013 for any other missing bit."""
        perms = self.bot_permissions_in(channel_id)
        if not perms & _VIEW_CHANNEL:
            raise _ApiError(403, "Missing Access", 50001)
        if needed & ~perms:
            raise _ApiError(403, "Missing Permissions", 50013)

    def _posting_permissions(self, channel_id: Union[int, str], payload: dict, has_files: bool) -> int:
        ch = self.channel(channel_id)
        needed = _SEND_MESSAGES_IN_THREADS if ch["type"] in (10, 11, 12) else _SEND_MESSAGES
        if payload.get("embeds"):
            needed |= _EMBED_LINKS
        if has_files:
            needed |= _ATTACH_FILES
        if payload.get("message_reference"):
            needed |= _READ_MESSAGE_HISTORY  # a reply needs to read what it replies to
        return needed

    def _check_visible(self, cmd: Optional[dict], permissions: str, guild: bool, is_guild_cmd: bool) -> None:
        if cmd is None or not self.enforce_visibility:
            return
        if not guild:
            contexts = cmd.get("contexts")
            if is_guild_cmd or cmd.get("dm_permission") is False or (contexts is not None and 1 not in contexts):
                raise CommandNotVisible(f"/{cmd['name']} is not offered in DMs")
            return
        required = cmd.get("default_member_permissions")
        if required is None:
            return
        perms = int(permissions)
        # "0" hides a command from everyone but administrators.
        if not perms & _ADMINISTRATOR and (int(required) == 0 or int(required) & ~perms):
            raise CommandNotVisible(f"/{cmd['name']} is hidden from members without permissions {required}")

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

    def add_user(self, username: str, *, roles: Iterable[int] = (), bot: bool = False, member: bool = True) -> dict:
        """Add a guild member (before the bot connects, or live: GUILD_MEMBER_ADD). Returns the user dict.
        ``member=False``: a user who shares no server with the bot (they can still DM it)."""
        user = self._make_user(username, bot=bot)
        self.users[username] = user
        if not member:
            self.non_members.add(user["id"])
            return user
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
        members = [self.member_payload(self.bot_user)] + [
            self.member_payload(u) for u in self.users.values() if u["id"] not in self.non_members]
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

