"""A local HTTP server for ingest tests: fixed routes, redirects, slow answers. No network."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class QuietHandler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass  # test output stays readable


class LoopbackServer:
    """An HTTP server on a free loopback port, served from a daemon thread; a context manager.
    The test servers (LocalWeb, FakeLLM, HostileWeb) differ only in their handler."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class Route:
    def __init__(self, body: bytes = b"", content_type: str = "text/html; charset=utf-8", status: int = 200,
                 redirect: str | None = None, delay: float = 0.0):
        self.body, self.content_type, self.status, self.redirect, self.delay = body, content_type, status, redirect, delay


class LocalWeb(LoopbackServer):
    def __init__(self):
        self.routes: dict[str, Route] = {}
        self.hits: list[str] = []
        web = self

        class Handler(QuietHandler):
            def do_GET(self):
                web.hits.append(self.path)
                route = web.routes.get(self.path)
                if route is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                if route.delay:
                    time.sleep(route.delay)
                if route.redirect:
                    self.send_response(302)
                    self.send_header("Location", route.redirect)
                    self.end_headers()
                    return
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                try:
                    self.wfile.write(route.body)
                except BrokenPipeError:
                    pass

        super().__init__(Handler)

    def add(self, path: str, **kwargs) -> str:
        self.routes[path] = Route(**kwargs)
        return self.url + path
