"""Shared fixtures: every test gets its own data directory; the real model loads once per run;
a real `chroma run` server on loopback for the server-mode tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parent.parent
# Treasury's tables, byte for byte, and an article page written for the tests: the suite needs
# nothing beside the repository.
HOLDINGS_DIR = REPO / "tests" / "fixtures" / "treasury"
ARTICLES_DIR = REPO / "tests" / "fixtures" / "articles"
PAGE_ARTICLE = ARTICLES_DIR / "insurers-keep-treasurys.txt"
SAMPLE_DIR = REPO / "data" / "sample"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """No test reads the user's data, a .env file, a Discord token or an LLM setting."""
    for name in list(os.environ):
        if name.startswith("DESK_") or name == "DISCORD_TOKEN":
            monkeypatch.delenv(name)
    monkeypatch.setenv("DESK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)  # keeps any .env in the repo out of reach
    yield


@pytest.fixture(scope="session")
def embedder():
    from retrieval.embedder import Embedder

    return Embedder()


@pytest.fixture
def kb(tmp_path, embedder):
    from retrieval.settings import RetrievalSettings
    from retrieval.store import KnowledgeBase

    return KnowledgeBase(RetrievalSettings(data_dir=tmp_path / "data"), embedder=embedder)


class ChromaServer:
    def __init__(self, path: Path):
        self.path = path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> None:
        chroma = Path(sys.executable).parent / "chroma"
        self.process = subprocess.Popen(
            [str(chroma), "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None:
                raise RuntimeError(f"chroma run exited with {self.process.returncode}")
            time.sleep(0.2)
        raise RuntimeError("chroma run did not answer its heartbeat in time")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            wait_or_kill(self.process, 10)


def wait_or_kill(process: subprocess.Popen, seconds: float) -> None:
    """Let a process that was asked to stop do so, or kill it."""
    try:
        process.wait(seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    server = ChromaServer(tmp_path_factory.mktemp("chroma-server"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def server_kb(chroma_server, tmp_path, embedder):
    """A knowledge base on the real server, emptied first so tests do not see each other."""
    import chromadb

    from retrieval.settings import RetrievalSettings
    from retrieval.store import CHUNKS, DOCUMENTS, KnowledgeBase

    if chroma_server.process.poll() is not None:
        chroma_server.start()  # a test before this one stopped it on purpose
    client = chromadb.HttpClient(host="127.0.0.1", port=chroma_server.port)
    for name in (CHUNKS, DOCUMENTS):
        try:
            client.delete_collection(name)
        except Exception:
            pass
    return KnowledgeBase(RetrievalSettings(data_dir=tmp_path / "data", chroma_url=chroma_server.url), embedder=embedder)
