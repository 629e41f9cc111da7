"""A local OpenAI-compatible chat server for the LLM-path tests. No network, no model.

`POST /v1/chat/completions` answers in OpenAI's non-streaming JSON format. The reply is a
function of the request's messages, so a test can script what the "model" says (including a
model that obeys instructions planted in a source). Every request body is recorded. Modes:
"ok", "error" (HTTP 500) and "hang" (answers only after `hang_seconds`).
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

Messages = list[dict]


def default_reply(messages: Messages) -> str:
    return "NOT IN SOURCES"


class FakeLLM:
    def __init__(self, reply: Callable[[Messages], str] = default_reply):
        self.reply = reply
        self.mode = "ok"
        self.hang_seconds = 5.0
        self.requests: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
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

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> "FakeLLM":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- helpers for tests ---------------------------------------------------------------------

    def last_prompt(self) -> str:
        """All message contents of the last request, joined."""
        return "\n".join(str(m.get("content", "")) for m in self.requests[-1]["messages"])
