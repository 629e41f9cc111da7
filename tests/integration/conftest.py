"""Fixtures for the Discord tests: a knowledge base built once per module from data/sample/
(plus one article whose text tries to ping everyone) and a factory for fake Discord + bot."""

from __future__ import annotations

import asyncio
import shutil

import discord
import pytest

from bot.discord_bot import DeskBot
from bot.settings import BotSettings
from retrieval.answer import AnswerEngine
from tests.conftest import SAMPLE_DIR
from tests.fakediscord import FakeDiscord

TOKEN = "fake-token-7c1d9e"  # distinctive, so a leak into the logs would be found

EVERYONE_ARTICLE = """title: The zebra audit of custody records
source: Holdings Desk test brief
published: 2026-05-01
url: https://example.com/tests/zebra-audit

@everyone The zebra audit is the desk's quarterly check of custody records before each Treasury release. @here The zebra audit compares what custodians report with the holdings table, line by line.
"""




@pytest.fixture(scope="module")
def sample_kb(tmp_path_factory, embedder):
    """data/sample/ plus one article whose text carries @everyone, ingested once (~15 s)."""
    from ingest.pipeline import Ingester
    from retrieval.settings import RetrievalSettings
    from retrieval.store import KnowledgeBase

    root = tmp_path_factory.mktemp("bot-kb")
    corpus = root / "corpus"
    shutil.copytree(SAMPLE_DIR, corpus)
    (corpus / "articles" / "2026-05-01-zebra-audit.md").write_text(EVERYONE_ARTICLE, encoding="utf-8")
    kb = KnowledgeBase(RetrievalSettings(data_dir=root / "data", llm="", _env_file=None), embedder=embedder)
    report = Ingester(kb).ingest([str(corpus)])
    assert report.failed == 0, report.errors
    return kb


@pytest.fixture(scope="module")
def engine(sample_kb):
    return AnswerEngine(sample_kb)


@pytest.fixture
async def desk(sample_kb, engine, tmp_path):
    """Factory: ``fake, bot = await desk(**settings)``; fake_kwargs/users/kb/engine are extras."""
    started: list[tuple[FakeDiscord, DeskBot, asyncio.Task]] = []

    async def make(*, fake_kwargs=None, users=0, kb=None, engine_=None, sync_to_fake_guild=False, prepare=None,
                   **overrides):
        fake = FakeDiscord(**(fake_kwargs or {}))
        if prepare is not None:
            prepare(fake)  # the world as an earlier run or a server admin left it
        if sync_to_fake_guild:
            overrides["guild_ids"] = [fake.guild_id]
        for i in range(users):
            fake.add_user(f"user{i}")
        await fake.start()
        fake.patch_discord()
        overrides.setdefault("cooldown_seconds", 0)
        settings = BotSettings(_env_file=None, data_dir=tmp_path / "bot", **overrides)
        bot = DeskBot(settings, kb=kb or sample_kb, engine=engine_ or (AnswerEngine(kb) if kb else engine),
                      guild_ready_timeout=0.05)
        task = asyncio.create_task(bot.start(TOKEN))
        started.append((fake, bot, task))
        await fake.wait_ready()
        await asyncio.wait_for(bot.wait_until_ready(), 5)
        return fake, bot

    yield make

    # newest first: each fake restores the Discord URLs it found, which may be an older fake's
    for fake, bot, task in reversed(started):
        if not bot.is_closed():
            await bot.close()
        await asyncio.wait_for(task, 5)
        await fake.stop()
        assert fake.unknown_requests == [], [(r.method, r.path) for r in fake.unknown_requests]
    assert discord.http.Route.BASE == "https://discord.com/api/v10"  # the patch is undone
