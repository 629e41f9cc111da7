"""The REST API: one handler per route, each returning (status, JSON or None)."""

from __future__ import annotations

import json
import re
import time
from typing import Any, Callable, Optional, Union

from aiohttp import web

from tests.fakediscord.state import (
    CALLBACK_AUTOCOMPLETE,
    CALLBACK_DEFER,
    CALLBACK_DEFER_UPDATE,
    CALLBACK_LAUNCH_ACTIVITY,
    CALLBACK_MESSAGE,
    CALLBACK_MODAL,
    CALLBACK_PONG,
    CALLBACK_UPDATE,
    FakeInteraction,
    RecordedFile,
    RecordedRequest,
    TOKEN_LIFETIME,
    _ApiError,
    _CREATE_PUBLIC_THREADS,
    _EPHEMERAL,
    _LOADING,
    _SEND_MESSAGES,
    _SEND_MESSAGES_IN_THREADS,
    _err,
    _form_error,
    _json_dumps,
    _now_iso,
)


class RoutesMixin:

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
            ("DELETE", "/users/@me/guilds/" + s.format("guild"), self._r_leave_guild),
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
            time=self.now(),
        )
        self.requests.append(rec)
        parts = path.strip("/").split("/")
        if len(parts) >= 3 and parts[0] in ("interactions", "webhooks"):
            self._requests_by_token.setdefault(parts[2], []).append(rec)
        headers: dict[str, str] = {}
        fault = self._take_fault(request.method, path)
        limited, limit_headers = self._rate_limit(request.method, path) if fault is None else (None, {})
        if fault is not None:
            rec.fault = True
            fault.served.append(rec)
            status, resp, headers = self._fault_response(fault)
        elif limited is not None:
            rec.fault = True
            (status, resp), headers = limited, limit_headers
        else:
            headers = limit_headers
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
        rec.status, rec.response, rec.response_headers = status, resp, headers
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
        auth = rec.headers.get("Authorization", "")
        if not auth.startswith("Bot ") or (self.valid_tokens is not None and auth[4:] not in self.valid_tokens):
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
        if self.now() - inter.dispatched_at > TOKEN_LIFETIME:
            raise _ApiError(401, "Invalid Webhook Token", 50027)
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
        original = self._messages.get(inter.original_message_id or 0)
        if (self.edit_original_on_first_followup and inter.response_type == CALLBACK_DEFER and original is not None
                and original["flags"] & _LOADING):
            # Discord: the first follow-up after a defer replaces the "thinking…" message, and
            # that message keeps the visibility the defer chose (an ephemeral flag is ignored).
            edit = dict(payload)
            edit.pop("flags", None)
            msg = self._edit_message(original, edit, rec.files)
            inter.followups.append(rec)
            await self._echo("MESSAGE_UPDATE", msg)
            return (200, msg) if rec.query.get("wait") in ("1", "true", "True") else (204, None)
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
        ch = self._channel_or_404(cid)
        if self.enforce_permissions:
            self._require(cid, _SEND_MESSAGES_IN_THREADS if ch["type"] in (10, 11, 12) else _SEND_MESSAGES)
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
        if self.enforce_permissions:
            self._require(cid, self._posting_permissions(cid, payload, bool(rec.files)))
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
        if self.enforce_permissions:
            self._require(cid, _CREATE_PUBLIC_THREADS)
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
        if self.enforce_permissions:
            self._require(cid, _SEND_MESSAGES if parent["type"] in (15, 16) else _CREATE_PUBLIC_THREADS)
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

    async def _r_leave_guild(self, rec: RecordedRequest, guild: str) -> tuple[int, Any]:
        self._guild_or_404(guild)
        self.left_guilds.append(int(guild))
        await self.dispatch("GUILD_DELETE", {"id": guild})
        return 204, None

    async def _r_get_member(self, rec: RecordedRequest, guild: str, user_id: str) -> tuple[int, Any]:
        self._guild_or_404(guild)
        u = self._user_by_id(user_id)
        if u is None or u["id"] in self.non_members:
            raise _ApiError(404, "Unknown Member", 10007)
        return 200, self.member_payload(u)


