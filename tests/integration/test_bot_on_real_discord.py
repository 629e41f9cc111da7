"""The bot against the fake Discord where it is as strict as the real service (issue 15): each
test here failed on the bot before it, for a reason a user would have seen on Discord."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from bot.cogs.ask import UNREADABLE_REPLY
from retrieval.answer import Answer, Citation
from tests.fakediscord import ADMIN_PERMISSIONS
from tests.integration.conftest import TOKEN

EPHEMERAL = 64
CREATE_PUBLIC_THREADS, EMBED_LINKS = 1 << 35, 1 << 14

PELICAN = b"""title: The pelican review of custody accounts
source: Team brief
published: 2026-05-02
url: https://example.com/team/pelican-review

The pelican review is the team's monthly reconciliation of custody accounts against Treasury's holdings table. The pelican review found a gap of 4 billion dollars in March.
"""


def is_reply_to(message: dict):
    return lambda m: m.get("message_reference", {}).get("message_id") == message["id"]


def embeds_text(request) -> str:
    return json.dumps(request.json.get("embeds") or [])


async def test_a_mention_of_the_bots_role_is_answered(desk):
    fake, bot = await desk()

    msg = await fake.send_message("Who holds the most Treasurys?", author="bob", role_mentions=[fake.bot_role])
    thread = await fake.wait_until(lambda: next((t for t in fake.threads if t["id"] == msg["id"]), None), timeout=20)
    answer = await fake.wait_for_message(thread["id"], predicate=lambda m: m.get("embeds"), timeout=20)
    assert "Japan" in answer["embeds"][0]["description"]
    assert answer["embeds"][0]["title"] == "Who holds the most Treasurys?"  # the role mention is not part of it


async def test_allowed_channels_hold_for_every_command(desk):
    fake, bot = await desk(allowed_channels=[424242])

    for name, options in (("holdings", {"country": "Japan"}), ("top", {}), ("compare", {"country1": "Japan",
                          "country2": "China"}), ("chart", {"country": "Japan"}), ("sources", {}), ("digest", {})):
        inter = await fake.send_interaction(name, options)
        refused = (await fake.wait_for_response(inter, "callback")).json
        assert refused["type"] == 4 and refused["data"]["flags"] == EPHEMERAL, name
        assert refused["data"]["content"] == "I don't answer in this channel.", name
    assert not fake.find_requests("POST", "/webhooks/")


async def test_with_message_content_only_the_bots_own_threads_are_read(desk):
    fake, bot = await desk(message_content=True)
    asked: list[str] = []
    answer = bot.answer

    async def spy(question, previous=None, guild_id=None):
        asked.append(question)
        return await answer(question, previous, guild_id)

    bot.answer = spy
    lunch_thread = fake.add_thread("lunch plans", owner="alice")
    await fake.wait_until(lambda: bot.get_channel(int(lunch_thread["id"])))
    inter = await fake.send_interaction("ask", {"question": "Who holds the most Treasurys?"}, channel_id=lunch_thread["id"])
    await fake.wait_for_response(inter, "followup", timeout=20)

    lunch = await fake.send_message("lol ok, lunch at noon?", author="bob", channel_id=lunch_thread["id"])
    sentinel = await fake.send_message("How much does China hold?", author="bob", channel_id=lunch_thread["id"],
                                       mentions=[fake.bot_user])
    await fake.wait_for_message(lunch_thread["id"], predicate=is_reply_to(sentinel), timeout=20)
    assert "lol ok, lunch at noon?" not in asked
    assert not [m for m in fake.messages_in(lunch_thread["id"], from_bot=True) if is_reply_to(lunch)(m)]

    # in a thread the bot opened, a message without a mention is a follow-up
    _, _, first = await ask_in(fake, "Who holds the most Treasurys?")
    thread = await fake.wait_until(lambda: next((t for t in fake.threads if t["id"] == first.response["id"]), None))
    follow = await fake.send_message("and in March?", author="bob", channel_id=thread["id"])
    reply = await fake.wait_for_message(thread["id"], predicate=is_reply_to(follow), timeout=20)
    assert "March 2026" in reply["embeds"][0]["description"]


async def ask_in(fake, question, **kwargs):
    inter = await fake.send_interaction("ask", {"question": question}, **kwargs)
    callback = await fake.wait_for_response(inter, "callback")
    return inter, callback, await fake.wait_for_response(inter, "followup", timeout=20)


async def test_an_error_quoting_a_long_option_still_reaches_the_user(desk):
    fake, bot = await desk()

    inter = await fake.send_interaction("holdings", {"country": "Atlantis " * 240})  # 2,160 characters
    error = await fake.wait_for_response(inter, "followup")
    assert error.ok and len(error.json["content"]) <= 2000 and error.json["flags"] & EPHEMERAL
    assert error.json["content"].startswith("No country called 'Atlantis Atlantis")


async def test_a_reply_to_an_answer_without_the_intent_gets_advice_that_works_there(desk):
    fake, bot = await desk()
    _, _, answer = await ask_in(fake, "Who holds the most Treasurys?")

    reply = await fake.send_message("and in March?", author="bob", reference_message_id=answer.response["id"])
    assert reply["mentions"] == []  # Discord does not ping the bot for a reply to an interaction's message
    advice = await fake.wait_for_message(fake.channel_id, predicate=is_reply_to(reply), timeout=20)
    assert advice["content"] == UNREADABLE_REPLY and "keep the @mention" not in advice["content"]
    # the advice followed: the bot picked in the reply's text
    again = await fake.send_message("and in March?", author="bob", reference_message_id=answer.response["id"],
                                    mentions=[fake.bot_user])
    answered = await fake.wait_for_message(predicate=lambda m: is_reply_to(again)(m) or m.get("embeds") and
                                           "March 2026" in m["embeds"][0].get("description", ""), timeout=20)
    assert "March 2026" in answered["embeds"][0]["description"]


async def test_a_partial_failure_keeps_the_first_part_of_the_answer(desk, engine):
    paragraph = "Japan held more Treasurys than anyone else in the table [1]. " * 12
    long_text = "\n\n".join([paragraph] * 16)  # ~12,000 characters: several messages
    citations = [Citation(1, "Source", "Outlet", "https://example.com/s", "2026-04-01", "article", "ref", "snippet")]

    class LongEngine:
        book = engine.book

        def ask(self, text, previous=None, *, guild_id=None):
            return Answer(text=long_text, citations=citations, route="articles")

    fake, bot = await desk(engine_=LongEngine(), threads=False)
    inter = await fake.send_interaction("ask", {"question": "Tell me everything"})
    await fake.wait_for_response(inter, "callback")
    fault = fake.fail_next("POST", f"/webhooks/{fake.application_id}/{inter.token}", status=400, code=50035, skip=1)
    first = await fake.wait_for_response(inter, "followup", index=0)
    error = await fake.wait_for_response(inter, "followup", index=1, timeout=20)
    assert fault.served and first.response["id"] == str(inter.original_message_id)
    assert not fake.find_requests("DELETE", f"/webhooks/{fake.application_id}/{inter.token}")
    assert fake.get_message(inter.original_message_id)["embeds"]  # part 1 is still there for everyone
    assert error.json["flags"] & EPHEMERAL


async def test_answers_keep_no_view_each_and_a_vote_counts_once_per_person(desk, tmp_path):
    fake, bot = await desk()
    store = bot._connection._view_store
    for question in ("Who holds the most Treasurys?", "How much does China hold?", "Who are the top 5 holders?"):
        _, _, answer = await ask_in(fake, question, user="bob")
    assert len(store._synced_message_views) == 0  # the persistent view answers every click

    message = answer.response
    for _ in range(2):
        click = await fake.send_component("desk:feedback:up", message=message, user="alice")
        thanks = await fake.wait_for_response(click, "followup")
    assert thanks.json["content"] == "You already voted that way on this answer."
    click = await fake.send_component("desk:feedback:down", message=message, user="alice")
    assert (await fake.wait_for_response(click, "followup")).json["content"] == "Vote changed — thanks."
    latest = bot.feedback.latest()
    assert [(e["user_id"], e["vote"]) for e in latest] == [(fake.users["alice"]["id"], "down")]
    assert len(bot.feedback.entries()) == 2


async def test_a_servers_ingested_file_is_its_own(desk, sample_kb):
    fake, bot = await desk()
    inter = await fake.send_interaction("ingest file", {"file": ("pelican.md", PELICAN)}, user="owner",
                                        permissions=ADMIN_PERMISSIONS)
    done = await fake.wait_until(lambda: next((e for e in inter.edits if "added" in (e.json.get("content") or "")),
                                              None), timeout=30)
    assert done.json["content"].startswith("File pelican.md: 1 added")
    doc_id = next(d["id"] for d in sample_kb.list_documents() if d.get("title") == "The pelican review of custody accounts")
    try:
        assert doc_id.startswith(f"g{fake.guild_id}:")
        _, _, own = await ask_in(fake, "What did the pelican review find?")
        assert "pelican-review" in embeds_text(own) and "4 billion" in embeds_text(own)
        _, _, dm = await ask_in(fake, "What did the pelican review find?", guild=False)  # a DM: shared only
        assert "pelican-review" not in embeds_text(dm) and "4 billion" not in embeds_text(dm)

        listed = await fake.send_interaction("sources", {"query": "pelican"})
        assert "pelican" in embeds_text(await fake.wait_for_response(listed, "followup")).lower()
        listed = await fake.send_interaction("sources", {"query": "pelican"}, guild=False)
        assert "pelican review" not in embeds_text(await fake.wait_for_response(listed, "followup")).lower()

        shared = next(d["id"] for d in sample_kb.list_documents() if not d["id"].startswith("g"))
        forget = await fake.send_interaction("forget", {"id": shared}, user="owner", permissions=ADMIN_PERMISSIONS)
        refused = await fake.wait_for_response(forget, "followup")
        assert "shared by every server" in refused.json["content"]
        assert sample_kb.get_document(shared) is not None

        table = await fake.send_interaction("ingest file", {"file": ("team.csv", b"country,month,value\nJapan,2026-04,1.0\n")},
                                            user="owner", permissions=ADMIN_PERMISSIONS)
        failed = await fake.wait_until(lambda: next((e for e in table.edits if "failed" in (e.json.get("content") or "")),
                                                    None), timeout=30)
        assert "tables are shared by every server" in failed.json["content"]
    finally:
        sample_kb.forget(doc_id)


async def test_an_attachment_over_the_size_limit_is_refused_before_it_is_downloaded(desk, monkeypatch):
    monkeypatch.setenv("DESK_MAX_FILE_MB", "0.01")  # 10,000 bytes
    fake, bot = await desk()
    inter = await fake.send_interaction("ingest file", {"file": ("big.md", b"x" * 50_000)}, user="owner",
                                        permissions=ADMIN_PERMISSIONS)
    reply = await fake.wait_for_response(inter, "callback")
    assert reply.json["data"]["flags"] & 64  # only the one who asked sees it
    assert "big.md: is 0.1 MB, over the 0.01 MB limit" in reply.json["data"]["content"]


async def test_the_bot_says_in_one_line_which_permission_it_lacks(desk):
    def no_threads_no_embeds(fake):
        fake.set_channel_permissions(fake.channel_id, deny=CREATE_PUBLIC_THREADS)
        fake.quiet = fake.add_channel("no-embeds")
        fake.set_channel_permissions(fake.quiet["id"], deny=EMBED_LINKS)

    fake, bot = await desk(prepare=no_threads_no_embeds)
    inter, _, answer = await ask_in(fake, "Who holds the most Treasurys?")
    assert "Japan" in embeds_text(answer)  # the answer itself needs no channel permission
    note = await fake.wait_for_response(inter, "followup", index=1)
    assert note.json["flags"] & EPHEMERAL
    assert note.json["content"] == "No thread for follow-ups: I lack the Create Public Threads permission here."
    assert not fake.find_requests("POST", f"/channels/{fake.channel_id}/messages/")  # no thread attempted, no 403

    msg = await fake.send_message("Who holds the most?", channel_id=fake.quiet["id"], mentions=[fake.bot_user])
    line = await fake.wait_for_message(fake.quiet["id"], timeout=20)
    assert line["content"] == "I can't post in this channel: I lack the Embed Links permission here."
    assert all(r.status != 403 for r in fake.requests)
    assert msg


async def test_guild_allow_list_leaves_other_servers_and_ignores_strangers_dms(desk):
    fake, bot = await desk(guild_ids=[424242])  # the fake's guild is not on the list
    await fake.wait_until(lambda: fake.left_guilds == [fake.guild_id], what="the bot leaving the guild")

    fake2, bot2 = await desk(sync_to_fake_guild=True)
    stranger = fake2.add_user("stranger", member=False)
    ignored = await fake2.send_message("Who holds the most Treasurys?", author=stranger, dm=True)
    asked = await fake2.send_message("Who holds the most Treasurys?", author="bob", dm=True)
    reply = await fake2.wait_for_message(asked["channel_id"], timeout=20)
    assert "Japan" in reply["embeds"][0]["description"]
    assert fake2.messages_in(ignored["channel_id"], from_bot=True) == []
    assert fake2.left_guilds == []


async def test_info_logs_tell_the_story_without_the_token(desk, caplog):
    caplog.set_level(logging.INFO)
    fake, bot = await desk()
    await fake.wait_until(lambda: "logged in as" in caplog.text, what="the logged-in line")
    text = caplog.text
    assert "synced 10 global commands" in text and "connected to the gateway" in text
    assert f"in 1 guild(s): {fake.guild_name} ({fake.guild_id})" in text
    await fake.close_gateway(4000)
    await fake.wait_until(lambda: "gateway session resumed" in caplog.text, what="the resume line")
    assert TOKEN not in caplog.text


async def test_switching_to_guild_commands_clears_the_global_ones(desk):
    def earlier_global_run(fake):
        fake.global_commands.append({"id": "1", "name": "ask", "type": 1, "description": "old", "options": []})
        fake.global_commands.append({"id": "2", "name": "renamed-away", "type": 1, "description": "old", "options": []})

    fake, bot = await desk(sync_to_fake_guild=True, prepare=earlier_global_run)
    assert fake.global_commands == []  # or every command would be listed twice
    assert {c["name"] for c in fake.guild_commands()} >= {"ask", "digest", "digest-schedule"}


async def test_switching_back_to_global_commands_clears_the_guild_ones(desk):
    def earlier_guild_run(fake):
        old = fake._guild_commands.setdefault(fake.guild_id, [])
        old.append(fake._store_command({"name": "ask", "type": 1, "description": "old"}, str(fake.guild_id), old))

    fake, bot = await desk(prepare=earlier_guild_run)
    await fake.wait_until(lambda: fake.guild_commands() == [], what="the stale guild commands cleared")
    assert "ask" in {c["name"] for c in fake.global_commands}
