"""The fake Discord works with the real discord.py client.

A tiny bot is built here (not the project's bot): slash commands, a persistent view, a
modal, an on_message reply. Each test starts its own fake and bot and closes both.
"""

from __future__ import annotations

import asyncio
import io
import time

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from tests.fakediscord import ADMIN_PERMISSIONS, CommandNotVisible, FakeDiscord

# ---------------------------------------------------------------- the tiny bot


class MoreView(discord.ui.View):
    """Persistent: timeout=None and a fixed custom_id, registered with add_view()."""

    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="More", custom_id="desk:more", style=discord.ButtonStyle.primary)
    async def more(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.send_message(f"more for {interaction.user.name}", ephemeral=True)


class FeedbackModal(discord.ui.Modal, title="Feedback"):
    text = discord.ui.TextInput(label="Your feedback", custom_id="feedback:text")

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"thanks: {self.text.value}", ephemeral=True)


COUNTRIES = ["Japan", "China, Mainland", "United Kingdom", "Luxembourg", "Cayman Islands"]


class TinyBot(commands.Bot):
    def __init__(self, *, message_content: bool = True) -> None:
        intents = discord.Intents.default()
        intents.message_content = message_content
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            help_command=None,
            guild_ready_timeout=0.05,  # on_ready 50 ms after GUILD_CREATE instead of 2 s
        )
        self.app_errors: list[Exception] = []
        self.seen_threads: list[int] = []
        self.release = asyncio.Event()  # /later answers once a test sets it
        self._add_commands()

    async def setup_hook(self) -> None:
        self.add_view(MoreView())
        await self.tree.sync()

    def _add_commands(self) -> None:
        tree = self.tree

        @tree.error
        async def on_app_error(interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
            self.app_errors.append(error)

        @tree.command(description="Ask the desk a question")
        async def ask(interaction: discord.Interaction, question: str) -> None:
            await interaction.response.defer(thinking=True)
            embed = discord.Embed(title="Answer", description=f"You asked: {question}")
            embed.add_field(name="Top holder", value="Japan", inline=False)
            embed.add_field(name="Source", value="TIC, major foreign holders", inline=False)
            await interaction.followup.send(
                content=f"{interaction.user.mention} here you go",
                embed=embed,
                view=MoreView(),
                allowed_mentions=discord.AllowedMentions.none(),
            )

        data = app_commands.Group(name="data", description="Exact data lookups")
        holdings = app_commands.Group(name="holdings", description="Holdings tables", parent=data)

        @holdings.command(name="country", description="Holdings of one country")
        async def country(interaction: discord.Interaction, name: str, year: int = 2024) -> None:
            await interaction.response.send_message(f"country={name} year={year}")

        @country.autocomplete("name")
        async def country_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
            return [app_commands.Choice(name=c, value=c) for c in COUNTRIES if current.lower() in c.lower()][:25]

        tree.add_command(data)

        @tree.command(description="Send feedback")
        async def feedback(interaction: discord.Interaction) -> None:
            await interaction.response.send_modal(FeedbackModal())

        @tree.command(description="Export a table")
        async def export(interaction: discord.Interaction) -> None:
            await interaction.response.defer()
            blob = io.BytesIO(b"country,holdings\nJapan,1130.8\n")
            await interaction.followup.send("table attached", file=discord.File(blob, filename="holdings.csv"))

        @tree.command(description="Private status")
        async def status(interaction: discord.Interaction) -> None:
            await interaction.response.defer(ephemeral=True, thinking=True)
            await interaction.edit_original_response(content="all systems go")

        @tree.command(description="Defers publicly, then asks for an ephemeral follow-up")
        async def whisper(interaction: discord.Interaction) -> None:
            await interaction.response.defer(thinking=True)
            await interaction.followup.send("just for you", ephemeral=True)
            await interaction.followup.send("and a second message", ephemeral=True)

        @tree.command(description="Answers when released")
        async def later(interaction: discord.Interaction) -> None:
            await interaction.response.defer(thinking=True)
            await self.release.wait()
            await interaction.edit_original_response(content="finally")

        @tree.command(description="Managers only")
        @app_commands.default_permissions(manage_guild=True)
        @app_commands.guild_only()
        async def manage(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("managed")

        @tree.command(description="Too long an answer")
        async def toolong(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("x" * 2001)

        @tree.command(description="Answers too late")
        async def slow(interaction: discord.Interaction) -> None:
            await asyncio.sleep(0.4)
            await interaction.response.send_message("late")

    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot:
            return
        if message.guild is None:
            await message.channel.send(f"dm: {message.content}")
        elif message.content.endswith("thread please"):
            await message.add_reaction("\N{THUMBS UP SIGN}")
            thread = await message.create_thread(name="Desk thread")
            await thread.send("in the thread")
        else:
            await message.reply(f"pong: {message.content}")

    async def on_thread_create(self, thread: discord.Thread) -> None:
        self.seen_threads.append(thread.id)


# ---------------------------------------------------------------- harness


@pytest.fixture
async def desk():
    """Factory: ``fake, bot = await desk(**fake_kwargs)``; teardown closes both."""
    started: list[tuple[FakeDiscord, TinyBot, asyncio.Task]] = []

    async def make(*, message_content: bool = True, **fake_kwargs) -> tuple[FakeDiscord, TinyBot]:
        fake = FakeDiscord(**fake_kwargs)
        await fake.start()
        fake.patch_discord()
        bot = TinyBot(message_content=message_content)
        task = asyncio.create_task(bot.start("fake-token"))
        started.append((fake, bot, task))
        await fake.wait_ready()
        await asyncio.wait_for(bot.wait_until_ready(), 5)
        return fake, bot

    yield make

    for fake, bot, task in started:
        await bot.close()
        await asyncio.wait_for(task, 5)
        await fake.stop()
        assert discord.http.Route.BASE == "https://discord.com/api/v10"  # patch undone
        assert fake.unknown_requests == [], [(r.method, r.path) for r in fake.unknown_requests]
    await asyncio.sleep(0)
    leaked = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]
    assert leaked == [], leaked


# ---------------------------------------------------------------- tests


async def test_login_and_command_sync_are_recorded(desk):
    fake, bot = await desk()

    paths = [(r.method, r.path) for r in fake.requests]
    assert ("GET", "/users/@me") in paths
    assert ("GET", "/oauth2/applications/@me") in paths
    assert ("PUT", f"/applications/{fake.application_id}/commands") in paths
    assert fake.find_requests("GET", "/users/@me")[0].headers["Authorization"] == "Bot fake-token"

    synced = {c["name"]: c for c in fake.global_commands}
    assert set(synced) == {"ask", "data", "feedback", "export", "status", "toolong", "slow", "whisper", "later", "manage"}
    assert synced["ask"]["options"][0]["name"] == "question" and synced["ask"]["id"]
    assert synced["data"]["options"][0]["type"] == 2  # subcommand group

    assert bot.user.id == fake.bot_id
    assert fake.intents == bot.intents.value
    guild = bot.get_guild(fake.guild_id)
    assert guild is not None and guild.name == fake.guild_name
    assert guild.get_channel(fake.channel_id).name == "general"
    assert guild.owner_id == int(fake.owner["id"])
    assert guild.default_role.permissions.send_messages


async def test_slash_command_defers_then_sends_followup_embed(desk):
    fake, bot = await desk()

    inter = await fake.send_interaction("ask", {"question": "Who holds the most Treasurys?"}, user="bob")
    callback = await fake.wait_for_response(inter, "callback", timeout=3)
    assert callback.json["type"] == 5  # deferred
    assert callback.time - inter.dispatched_at < 3.0
    assert inter.response_latency < 3.0
    assert callback.query["with_response"] == "1"

    followup = await fake.wait_for_response(inter, "followup")
    payload = followup.json
    assert payload["allowed_mentions"] == {"parse": []}
    (embed,) = payload["embeds"]
    assert embed["title"] == "Answer"
    assert embed["description"] == "You asked: Who holds the most Treasurys?"
    assert [(f["name"], f["value"]) for f in embed["fields"]] == [
        ("Top holder", "Japan"),
        ("Source", "TIC, major foreign holders"),
    ]
    button = payload["components"][0]["components"][0]
    assert button["custom_id"] == "desk:more" and button["label"] == "More"

    # the stored message: nobody pinged although the content mentions bob
    stored = fake.messages_in(fake.channel_id, from_bot=True)[-1]
    assert stored["content"] == f"<@{fake.users['bob']['id']}> here you go"
    assert stored["mentions"] == [] and stored["flags"] & 64 == 0
    assert bot.app_errors == []


async def test_ephemeral_defer_then_edit_original(desk):
    fake, bot = await desk()

    inter = await fake.send_interaction("status", user="owner")
    defer = await fake.wait_for_response(inter, "callback")
    assert defer.json == {"type": 5, "data": {"flags": 64}}
    edit = await fake.wait_for_response(inter, "edit")
    assert edit.path.endswith("/messages/@original") and edit.json["content"] == "all systems go"
    original = fake.get_message(inter.original_message_id)
    assert original["content"] == "all systems go"
    assert original["flags"] == 64  # still ephemeral, no longer "thinking" (128)


async def test_message_create_gets_a_reply(desk):
    fake, bot = await desk()

    msg = await fake.send_message("hello desk", author="bob")
    reply = await fake.wait_for_message(fake.channel_id, after=msg)
    assert reply["content"] == "pong: hello desk"
    assert reply["message_reference"]["message_id"] == msg["id"]
    post = fake.find_requests("POST", f"/channels/{fake.channel_id}/messages")[-1]
    assert str(post.json["message_reference"]["message_id"]) == msg["id"]
    assert post.json["content"] == "pong: hello desk"


async def test_mention_is_delivered_with_content_without_the_intent(desk):
    fake, bot = await desk(message_content=False)

    plain = await fake.send_message("no mention", author="alice")
    mention = await fake.send_message("who holds the most?", author="alice", mentions=[fake.bot_user])
    reply = await fake.wait_for_message(
        fake.channel_id, predicate=lambda m: m.get("message_reference", {}).get("message_id") == mention["id"]
    )
    # without MESSAGE_CONTENT, Discord blanks content unless the bot is mentioned
    assert reply["content"] == f"pong: <@{fake.bot_id}> who holds the most?"
    replies = [m for m in fake.messages_in(from_bot=True) if m.get("message_reference")]
    assert [m["message_reference"]["message_id"] for m in replies] == [plain["id"], mention["id"]]
    assert replies[0]["content"] == "pong: "


async def test_component_click_reaches_the_persistent_view(desk):
    fake, bot = await desk()

    ask = await fake.send_interaction("ask", {"question": "q"})
    followup = await fake.wait_for_response(ask, "followup")

    click = await fake.send_component("desk:more", message=followup.response, user="alice")
    callback = await fake.wait_for_response(click, "callback")
    assert callback.json["type"] == 4
    assert callback.json["data"]["content"] == "more for alice"
    assert callback.json["data"]["flags"] == 64  # ephemeral

    # with no message at all (e.g. after a restart) custom_id alone still routes
    click2 = await fake.send_component("desk:more", user="bob")
    assert (await fake.wait_for_response(click2, "callback")).json["data"]["content"] == "more for bob"


async def test_rate_limited_followup_is_retried_after_retry_after(desk):
    fake, bot = await desk()
    fault = fake.fail_next("POST", f"/webhooks/{fake.application_id}/", status=429, retry_after=0.5)

    inter = await fake.send_interaction("ask", {"question": "q"})
    followup = await fake.wait_for_response(inter, "followup", timeout=5)

    (limited,) = fault.served
    assert limited.status == 429 and limited.response["retry_after"] == 0.5
    assert followup.time - limited.time >= 0.45
    assert len(inter.followups) == 1
    assert bot.app_errors == []


async def test_gateway_close_resumes_and_keeps_answering(desk):
    fake, bot = await desk()
    first_session = fake.events_named("READY")[-1].data["session_id"]

    await fake.close_gateway(4000)
    # dispatched while the socket is down: buffered, replayed on RESUME
    inter = await fake.send_interaction("ask", {"question": "still there?"})
    await fake.wait_resumed()

    assert len(fake.identifies) == 1  # resumed, not re-identified
    assert fake.resumes[-1]["session_id"] == first_session
    assert fake.connections[0]["closed_by_fake"] == 4000
    assert fake.connections[-1]["path"] == "/resume"  # the resume_gateway_url from READY
    assert (await fake.wait_for_response(inter, "callback")).json["type"] == 5
    await fake.wait_for_response(inter, "followup")

    msg = await fake.send_message("after resume", author="bob")
    assert (await fake.wait_for_message(after=msg))["content"] == "pong: after resume"


async def test_heartbeats_are_acknowledged(desk):
    fake, bot = await desk(heartbeat_interval=200)

    beats = await fake.wait_heartbeats(3, timeout=5)
    assert fake.heartbeat_acks >= 3
    assert 0.1 <= beats[2] - beats[1] <= 1.0  # paced by the HELLO interval (200 ms)
    assert bot.latency < 1.0  # finite: the ACKs were matched to the beats


async def test_subcommands_autocomplete_and_modal(desk):
    fake, bot = await desk()

    auto = await fake.send_autocomplete("data holdings country", {"name": "an"}, focused="name")
    await fake.wait_for_response(auto, "callback")
    assert [c["value"] for c in auto.choices] == ["Japan", "China, Mainland", "Cayman Islands"]

    cmd = await fake.send_interaction("data holdings country", {"name": "Japan", "year": 2023})
    sent = await fake.wait_for_response(cmd, "callback")
    assert sent.json["data"]["content"] == "country=Japan year=2023"
    option = cmd.payload["data"]["options"][0]["options"][0]["options"]
    assert {o["name"]: o["type"] for o in option} == {"name": 3, "year": 4}

    opened = await fake.send_interaction("feedback")
    assert (await fake.wait_for_response(opened, "callback")).json["type"] == 9
    assert opened.modal["title"] == "Feedback"
    submit = await fake.send_modal_submit(opened.modal["custom_id"], {"feedback:text": "great"}, modal=opened)
    assert (await fake.wait_for_response(submit, "callback")).json["data"]["content"] == "thanks: great"


async def test_files_dm_threads_and_reactions(desk):
    fake, bot = await desk()

    export = await fake.send_interaction("export", permissions=ADMIN_PERMISSIONS)
    followup = await fake.wait_for_response(export, "followup")
    (upload,) = followup.files
    assert upload.filename == "holdings.csv" and upload.data.startswith(b"country,holdings")
    assert followup.json["attachments"][0]["filename"] == "holdings.csv"
    stored = fake.get_message(followup.response["id"])
    assert fake.attachment_bytes(stored["attachments"][0]) == upload.data

    dm = await fake.send_message("hi in private", author="bob", dm=True)
    dm_reply = await fake.wait_for_message(dm["channel_id"], after=dm)
    assert dm_reply["content"] == "dm: hi in private" and "guild_id" not in dm_reply

    ask = await fake.send_message("make a thread please", author="alice")
    thread = await fake.wait_until(lambda: fake.threads[-1] if fake.threads else None)
    assert thread["id"] == ask["id"] and thread["parent_id"] == str(fake.channel_id)
    in_thread = await fake.wait_for_message(thread["id"])
    assert in_thread["content"] == "in the thread"
    await fake.wait_until(lambda: bot.seen_threads or None)
    assert bot.seen_threads == [int(thread["id"])]
    assert fake.reactions[-1]["emoji"] == "\N{THUMBS UP SIGN}"


async def test_discord_limits_and_the_three_second_deadline(desk):
    fake, bot = await desk(interaction_deadline=0.2)

    too_long = await fake.send_interaction("toolong")
    rejected = await fake.wait_for_response(too_long, "callback", ok_only=False)
    assert rejected.status == 400 and rejected.response["code"] == 50035

    start = time.monotonic()
    slow = await fake.send_interaction("slow")
    late = await fake.wait_for_response(slow, "callback", ok_only=False)
    assert late.status == 404 and late.response["code"] == 10062  # Unknown interaction
    assert late.time - start >= 0.2

    await fake.wait_until(lambda: len(bot.app_errors) >= 2 or None)
    codes = sorted(e.original.code for e in bot.app_errors)
    assert codes == [10062, 50035]


# ---------------------------------------------------------------- where the fake is as strict as Discord


async def test_first_follow_up_after_a_defer_edits_the_thinking_message_and_keeps_its_visibility(desk):
    fake, bot = await desk()

    inter = await fake.send_interaction("whisper")
    first = await fake.wait_for_response(inter, "followup", index=0)
    second = await fake.wait_for_response(inter, "followup", index=1)
    assert first.response["id"] == str(inter.original_message_id)  # the deferred message, edited
    original = fake.get_message(inter.original_message_id)
    assert original["content"] == "just for you"
    assert original["flags"] & 64 == 0  # public, as deferred: the ephemeral flag is ignored
    assert original["flags"] & 128 == 0  # no longer "thinking"
    assert second.response["id"] != first.response["id"] and second.response["flags"] & 64  # a new, ephemeral one


async def test_channel_permissions_are_enforced_with_discords_codes(desk):
    fake, bot = await desk()
    quiet = fake.add_channel("quiet")
    hidden = fake.add_channel("hidden")
    fake.set_channel_permissions(quiet["id"], deny=1 << 11)  # Send Messages
    fake.set_channel_permissions(hidden["id"], deny=1 << 10)  # View Channel
    await fake.wait_until(lambda: all(bot.get_channel(int(c["id"])) and bot.get_channel(int(c["id"])).overwrites
                                      for c in (quiet, hidden)), what="the overwrites in the bot's cache")

    for channel, code in ((quiet, 50013), (hidden, 50001)):
        with pytest.raises(discord.Forbidden) as refused:
            await bot.get_channel(int(channel["id"])).send("hello")
        assert refused.value.status == 403 and refused.value.code == code
    assert not bot.get_channel(int(quiet["id"])).permissions_for(bot.get_guild(fake.guild_id).me).send_messages

    inter = await fake.send_interaction("ask", {"question": "q"}, channel_id=quiet["id"])
    assert int(inter.payload["app_permissions"]) & (1 << 11) == 0
    await fake.wait_for_response(inter, "followup")  # interaction replies do not need Send Messages


async def test_commands_are_only_sent_where_discord_shows_them(desk):
    fake, bot = await desk()

    with pytest.raises(CommandNotVisible):
        await fake.send_interaction("manage", user="alice")  # no Manage Server
    with pytest.raises(CommandNotVisible):
        await fake.send_interaction("manage", user="owner", guild=False)  # guild_only: not in DMs
    inter = await fake.send_interaction("manage", user="owner")
    assert (await fake.wait_for_response(inter, "callback")).json["data"]["content"] == "managed"


async def test_an_interaction_token_expires_after_fifteen_minutes(desk):
    fake, bot = await desk()

    inter = await fake.send_interaction("later")
    await fake.wait_for_response(inter, "callback")
    fake.advance(15 * 60 + 1)
    bot.release.set()
    edit = await fake.wait_for_response(inter, "edit", ok_only=False)
    assert edit.status == 401 and edit.response["code"] == 50027


async def test_per_route_rate_limit_answers_429_and_every_message_still_arrives(desk):
    fake, bot = await desk(rate_limits={"POST /channels/{id}/messages": (2, 0.3)})

    sent = [await fake.send_message(f"m{i}", author="bob") for i in range(6)]
    for msg in sent:
        await fake.wait_for_message(fake.channel_id, predicate=lambda m, mid=msg["id"]: m.get(
            "message_reference", {}).get("message_id") == mid, timeout=10)
    posts = fake.find_requests("POST", f"/channels/{fake.channel_id}/messages")
    assert len([p for p in posts if p.ok]) == 6
    assert all(p.status in (200, 429) for p in posts)
    assert any(p.response_headers.get("X-RateLimit-Remaining") == "0" for p in posts if p.ok)
    # discord.py holds the bucket until its window resets before the handler returns
    await fake.wait_until(lambda: not [t for t in asyncio.all_tasks() if t.get_name() == "discord.py: on_message"
                                       and not t.done()], what="the replies' handlers to finish")


async def test_role_mentions_and_replies_to_interaction_messages(desk):
    fake, bot = await desk(message_content=False)

    by_role = await fake.send_message("who holds the most?", author="alice", role_mentions=[fake.bot_role])
    assert by_role["content"] == f"<@&{fake.bot_role_id}> who holds the most?"
    assert by_role["mentions"] == [] and by_role["mention_roles"] == [str(fake.bot_role_id)]
    reply = await fake.wait_for_message(fake.channel_id, predicate=lambda m: m.get(
        "message_reference", {}).get("message_id") == by_role["id"])
    assert reply["content"] == f"pong: <@&{fake.bot_role_id}> who holds the most?"

    inter = await fake.send_interaction("ask", {"question": "q"})
    answer = (await fake.wait_for_response(inter, "followup")).response
    to_answer = await fake.send_message("and in March?", author="alice", reference_message_id=answer["id"])
    assert to_answer["mentions"] == []  # a reply to an interaction's message pings nobody
    reply = await fake.wait_for_message(fake.channel_id, predicate=lambda m: m.get(
        "message_reference", {}).get("message_id") == to_answer["id"])
    assert reply["content"] == "pong: "  # so without the intent its text never arrives
