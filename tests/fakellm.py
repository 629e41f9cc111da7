"""A local OpenAI-compatible chat server for the LLM-path tests. No network, no model.

`POST /v1/chat/completions` answers in OpenAI's non-streaming JSON format. The reply is a
function of the request's messages, so a test can script what the "model" says (including a
model that obeys instructions planted in a source). Every request body is recorded. Modes:
"ok", "error" (HTTP 500) and "hang" (answers only after `hang_seconds`).
"""

from __future__ import annotations

import json
import time
from typing import Callable

from tests.webserver import LoopbackServer, QuietHandler

Messages = list[dict]


def default_reply(messages: Messages) -> str:
    return "NOT IN SOURCES"


class FakeLLM(LoopbackServer):
    def __init__(self, reply: Callable[[Messages], str] = default_reply):
        self.reply = reply
        self.mode = "ok"
        self.hang_seconds = 5.0
        self.requests: list[dict] = []
        fake = self

        class Handler(QuietHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._send(404, {"error": {"message": "not found"}})
                    return
                request = json.loads(body or b"{}")
                fake.requests.append(request)
                if fake.mode == "error":
                    self._send(500, {"error": {"message": "the fake is failing on purpose", "type": "server_error"}})
                    return
                if fake.mode == "hang":
                    time.sleep(fake.hang_seconds)
                content = fake.reply(request.get("messages", []))
                self._send(200, {
                    "id": f"chatcmpl-fake-{len(fake.requests)}",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": request.get("model", "fake"),
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                                 "finish_reason": "stop", "logprobs": None}],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
                })

            def _send(self, status: int, payload: dict):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (the "hang" mode)

        super().__init__(Handler)
        self.base_url = f"{self.url}/v1"

    # -- helpers for tests ---------------------------------------------------------------------

    def last_prompt(self) -> str:
        """All message contents of the last request, joined."""
        return "\n".join(str(m.get("content", "")) for m in self.requests[-1]["messages"])
