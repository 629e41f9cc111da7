"""The bot, in its own process, pointed at a fake Discord: `bot_runner.py API_BASE GATEWAY_URL STATS_PATH`.

It is DeskBot unchanged (knowledge base and answer engine opened by its own setup_hook from
DESK_DATA_DIR / DESK_CHROMA_URL), plus an event-loop lag probe: a task that sleeps 10 ms and
records how late it wakes. SIGUSR1 writes the lag figures since the last SIGUSR1 to STATS_PATH
(JSON) and starts a new window; SIGTERM closes the bot. Running the bot apart from the fake
Discord keeps the fake's own work out of the bot's loop lag and RSS. With BENCH_BOT_PROFILE=PATH,
a pyinstrument profile of the event-loop thread is written to PATH when the bot closes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TICK = 0.010


async def main() -> None:
    import discord.gateway
    import discord.http
    import yarl

    from bot.discord_bot import DeskBot
    from bot.settings import BotSettings

    api_base, gateway, stats_path = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    discord.http.Route.BASE = api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    settings = BotSettings(_env_file=None, data_dir=Path(os.environ["BENCH_BOT_DIR"]), cooldown_seconds=0)
    bot = DeskBot(settings, guild_ready_timeout=0.05)
    lags: list[float] = []

    async def probe() -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(TICK)
            lags.append((time.perf_counter() - started - TICK) * 1000)

    def dump() -> None:
        window = sorted(lags)
        lags.clear()
        pick = (lambda q: window[min(len(window) - 1, round(q / 100 * (len(window) - 1)))]) if window else (lambda q: 0)
        stats_path.write_text(json.dumps({"samples": len(window), "p50": pick(50), "p95": pick(95), "p99": pick(99),
                                          "max": window[-1] if window else 0, "over_100ms": sum(v > 100 for v in window)}))

    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGUSR1, dump)
    loop.add_signal_handler(signal.SIGTERM, lambda: asyncio.ensure_future(bot.close()))
    probe_task = asyncio.create_task(probe())
    profiler = None
    if os.environ.get("BENCH_BOT_PROFILE"):  # where the event loop's time goes (its thread only)
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.001, async_mode="disabled")
        profiler.start()
    try:
        await bot.start("bench-token")
    finally:
        probe_task.cancel()
        if profiler is not None:
            profiler.stop()
            Path(os.environ["BENCH_BOT_PROFILE"]).write_text(profiler.output_text(unicode=False, color=False))


if __name__ == "__main__":
    asyncio.run(main())
