"""Start-up that survives the network: Discord unreachable at start (the fake not yet up), then
reachable; a token Discord rejects. One log line per attempt, no traceback, the token never shown."""

from __future__ import annotations

import asyncio
import os
import re
import sys

from bot.discord_bot import DeskBot, start_bot
from bot.settings import BotSettings
from tests.conftest import free_port
from tests.fakediscord import FakeDiscord
from tests.integration.conftest import TOKEN

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


async def test_discord_down_at_start_is_retried_with_capped_backoff_until_it_comes_up(sample_kb, engine, tmp_path,
                                                                                       caplog):
    fake = FakeDiscord()
    fake.port = free_port()  # nothing listens there yet: connections are refused
    fake.patch_discord()
    bot = DeskBot(BotSettings(_env_file=None, data_dir=tmp_path, cooldown_seconds=0), kb=sample_kb, engine=engine,
                  guild_ready_timeout=0.05)
    bot.connect_backoff = (0.02, 0.08)
    task = asyncio.create_task(start_bot(bot, TOKEN))
    try:
        def attempts():
            return [r for r in caplog.records if r.getMessage().startswith("cannot reach Discord")]

        await fake.wait_until(lambda: len(attempts()) >= 5, timeout=30, what="five failed attempts")
        assert not task.done()
        await fake.start(fake.port)
        await fake.wait_ready(timeout=30)
        await asyncio.wait_for(bot.wait_until_ready(), 10)

        inter = await fake.send_interaction("ask", {"question": "Who holds the most Treasurys?"})
        followup = await fake.wait_for_response(inter, "followup", timeout=20)
        assert "Japan" in followup.json["embeds"][0]["description"]

        lines = attempts()
        for n, record in enumerate(lines, start=1):
            assert record.exc_info is None and "\n" not in record.getMessage()
            assert f"attempt {n}," in record.getMessage()
        delays = [float(re.search(r"retrying in ([\d.]+) s", r.getMessage()).group(1)) for r in lines]
        assert delays == sorted(delays) and max(delays) <= 0.08  # doubling, then capped
        assert "Traceback" not in caplog.text and TOKEN not in caplog.text
    finally:
        await bot.close()
        await asyncio.wait_for(task, 10)
        await fake.stop()


async def test_a_rejected_token_exits_2_with_one_line_naming_discord_token(tmp_path):
    fake = FakeDiscord(valid_tokens={"the-right-token"})
    await fake.start()
    script = (
        "import sys, yarl, discord.http, discord.gateway\n"
        f"discord.http.Route.BASE = {fake.api_base!r}\n"
        f"discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL({fake.gateway_url!r})\n"
        "from bot.cli import main\n"
        "sys.exit(main(['bot']))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DESK_")}
    env.update(DISCORD_TOKEN="wrong-token-3f9a", DESK_DATA_DIR=str(tmp_path), PYTHONPATH=ROOT)
    try:
        process = await asyncio.create_subprocess_exec(sys.executable, "-c", script, env=env, cwd=str(tmp_path),
                                                       stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(process.communicate(), 120)
    finally:
        await fake.stop()
    text = (out + err).decode()
    assert process.returncode == 2, text
    assert "Traceback" not in text and "wrong-token-3f9a" not in text
    (line,) = [line for line in text.splitlines() if "DISCORD_TOKEN" in line]
    assert line.startswith("error: Discord rejected the token (401 Unauthorized)")
    assert [r.path for r in fake.requests] == ["/users/@me"]  # asked once, not retried
