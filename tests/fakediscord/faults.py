"""Fault injection: fail_next() answers chosen requests with an error or a 429."""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field
from typing import Any, Optional


from tests.fakediscord.state import (
    RecordedRequest,
)


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
    skip: int = 0  # matching requests let through before the fault starts



# Discord's per-route limit for posting in a channel (5 per 5 s per channel). Webhooks and
# interaction callbacks are left unlimited here: a burst of /ask uses one token each.
DEFAULT_RATE_LIMITS: dict[str, tuple[int, float]] = {"POST /channels/{id}/messages": (5, 5.0)}


def route_key(method: str, path: str) -> tuple[str, str]:
    """("POST /channels/{id}/messages", "123"): the route template and its major id."""
    parts = path.strip("/").split("/")
    hooky = parts[0] in ("webhooks", "interactions")
    template = "/" + "/".join(
        "{token}" if hooky and i == 2 else "{id}" if re.fullmatch(r"[0-9]+", p) else p for i, p in enumerate(parts)
    )
    major = "/".join(parts[1:3]) if hooky else parts[1] if parts[0] in ("channels", "guilds") and len(parts) > 1 else ""
    return f"{method} {template}", major


class FaultsMixin:
    # ------------------------------------------------------------------ rate limits

    def _rate_limit(self, method: str, path: str) -> tuple[Optional[tuple[int, Any]], dict[str, str]]:
        """(a 429 answer or None, the X-RateLimit headers for the response)."""
        route, major = route_key(method, path)
        rule = self.rate_limits.get(route)
        if rule is None:
            return None, {}
        limit, per = rule
        now = self.now()
        window = self._rate_windows.get((route, major))
        if window is None or now >= window[0] + per:
            window = self._rate_windows[(route, major)] = [now, 0]
        reset_after = max(0.001, window[0] + per - now)
        headers = {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Bucket": route.replace(" ", ":"),
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
        }
        if window[1] >= limit:
            self.rate_limited.append((route, major, now))
            headers.update({"X-RateLimit-Remaining": "0", "X-RateLimit-Scope": "user", "Via": "1.1 google",
                            "Retry-After": str(max(1, math.ceil(reset_after)))})
            return (429, {"message": "You are being rate limited.", "retry_after": round(reset_after, 3),
                          "global": False}), headers
        window[1] += 1
        headers["X-RateLimit-Remaining"] = str(limit - window[1])
        return None, headers

    # ------------------------------------------------------------------ injected faults

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
        skip: int = 0,
    ) -> _Fault:
        """Answer the next ``times`` requests matching method ("*"/None = any) and path prefix
        (relative to /api/v10, e.g. "/webhooks/") with ``status``.

        429 comes as Discord sends it: JSON ``{"message", "retry_after", "global"}`` plus
        ``Retry-After``, ``X-RateLimit-*`` and ``Via`` headers (discord.py treats a 429 without
        ``Via`` as a Cloudflare ban and does not retry). Returns a handle whose ``served`` list
        holds the requests that got the fault. ``skip`` lets that many matching requests
        through first (the second part of an answer, say).
        """
        m = None if method in (None, "*") else method.upper()
        prefix = re.sub(r"^/api/v\d+", "", path_prefix)
        fault = _Fault(m, prefix, status, retry_after, times, is_global, message, code, skip=skip)
        self._faults.append(fault)
        return fault

    def _take_fault(self, method: str, path: str) -> Optional[_Fault]:
        for fault in self._faults:
            if fault.remaining > 0 and (fault.method is None or fault.method == method) and path.startswith(fault.prefix):
                if fault.skip > 0:
                    fault.skip -= 1
                    return None
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

