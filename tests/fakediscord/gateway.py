"""The gateway: HELLO, heartbeats, IDENTIFY/READY, RESUME, dispatches, and the events a test sends
(interactions, messages)."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from typing import Any, Optional, Union

from aiohttp import WSMsgType, web

from tests.fakediscord.state import (
    CommandNotVisible,
    EVERYONE_PERMISSIONS,
    FakeInteraction,
    Intents,
    RecordedFile,
    SentEvent,
    UserRef,
    _json_dumps,
)


class GatewayMixin:

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
            "app_permissions": str(self.bot_permissions_in(channel["id"])),
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
        inter.dispatched_at = self.now()
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

    def _visible_or_raise(self, name: str, user: UserRef, guild: bool, permissions: Optional[str], command_type: int) -> None:
        root = name.split()[0]
        cmd, is_guild_cmd = self._find_command(root, self.guild_id if guild else None, command_type)
        if cmd is None and not guild and self.enforce_visibility and any(
                c["name"] == root for cmds in self._guild_commands.values() for c in cmds):
            raise CommandNotVisible(f"/{root} is a guild command: Discord does not offer it in DMs")
        perms = permissions if permissions is not None else self._default_permissions(self.user(user))
        self._check_visible(cmd, perms, guild, is_guild_cmd)

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
        default: admin for the owner, @everyone's for others. Raises CommandNotVisible when
        Discord would not have offered the command to this member here.
        """
        self._visible_or_raise(name, user, guild, permissions, command_type)
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
        self._visible_or_raise(name, user, guild, permissions, 1)
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
        role_mentions: Optional[list[Union[int, dict]]] = None,
        ping_reply: bool = True,
    ) -> dict:
        """A test user posts a message (MESSAGE_CREATE). Returns the stored message dict.

        ``mentions`` (users, ids, or names; use ``fake.bot_user`` for the bot) become real
        mentions: listed in ``mentions`` and ``<@id>`` put at the front of the content if it
        is not already there. Delivery follows the bot's intents (see the module docstring);
        check ``fake.events_named("MESSAGE_CREATE")`` if in doubt.
        ``role_mentions`` (role ids or dicts; ``fake.bot_role`` is what the picker often
        inserts for the bot) put ``<@&id>`` in front and fill ``mention_roles`` only. A reply
        (``reference_message_id``) with ``ping_reply`` mentions the replied-to author, except
        the author of an interaction's message: Discord does not ping the app for those.
        """
        u = self.user(author)
        if dm:
            ch = self.dm_channel(u)
        else:
            ch = self.channel(channel_id or self.channel_id)
        mentioned = [self.user(m) if not isinstance(m, dict) else m for m in (mentions or [])]
        missing = [f"<@{m['id']}>" for m in mentioned if f"<@{m['id']}>" not in content and f"<@!{m['id']}>" not in content]
        role_ids = [str(r["id"] if isinstance(r, dict) else r) for r in (role_mentions or [])]
        missing += [f"<@&{rid}>" for rid in role_ids if f"<@&{rid}>" not in content]
        if missing:
            content = " ".join(missing + [content])
        replied = self._messages.get(int(reference_message_id)) if reference_message_id is not None else None
        if (replied is not None and ping_reply and not replied.get("interaction_metadata")
                and all(m["id"] != replied["author"]["id"] for m in mentioned)):
            mentioned.append(replied["author"])
        payload: dict[str, Any] = {"content": content}
        if reference_message_id is not None:
            payload["message_reference"] = {"message_id": str(reference_message_id), "channel_id": ch["id"]}
        files = [RecordedFile(f"files[{i}]", name, None, blob) for i, (name, blob) in enumerate(attachments or [])]
        msg = self._make_message(ch["id"], payload, files, author=u, explicit_mentions=mentioned)
        msg["mention_roles"] = role_ids
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
            mentions_bot = any(m["id"] == self.bot_user["id"] for m in msg.get("mentions", [])) or (
                self.role_mention_carries_content and str(self.bot_role_id) in msg.get("mention_roles", []))
            if not (self.intents & Intents.MESSAGE_CONTENT) and not (is_dm or mentions_bot or from_bot):
                event.update(content="", embeds=[], attachments=[], components=[])
        if not is_dm:
            if not msg.get("webhook_id"):
                event["member"] = self.member_payload(msg["author"], with_user=False)
            event["mentions"] = [dict(m, member=self.member_payload(m, with_user=False)) for m in msg.get("mentions", [])]
        await self.dispatch("MESSAGE_CREATE", event)

