"""bot.render: Discord's limits, splitting at boundaries, sources, mass mentions."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.render.limits import finish
from bot.render import (DESCRIPTION_LIMIT, EMBED_TOTAL_LIMIT, FIELD_VALUE_LIMIT, embed_size, neutralise, pack_embeds,
                        record_from_embeds, render_answer, sources_value, split_text, thread_name, truncate)


@dataclass
class Cite:
    n: int
    title: str
    source: str = "Outlet"
    url: str = ""
    published: str = "2026-04-01"
    kind: str = "article"
    ref: str = "ref"
    snippet: str = ""


@dataclass
class Ans:
    text: str
    citations: list = field(default_factory=list)
    refused: bool = False
    route: str = "articles"
    timings_ms: dict = field(default_factory=dict)
    data_month: str = ""


def words(text: str) -> list[str]:
    return text.split()


# ---------------------------------------------------------------- splitting


def test_short_text_is_one_piece():
    assert split_text("Japan holds the most.", 2000) == ["Japan holds the most."]


def test_splits_at_the_paragraph_first():
    first = "A" * 60 + " first paragraph ends here."
    second = "Second paragraph. " * 3
    pieces = split_text(first + "\n\n" + second.strip(), 100)
    assert pieces[0] == first
    assert pieces[1] == second.strip()


def test_splits_at_a_sentence_when_a_paragraph_is_too_long():
    text = "Japan held $1,209.9 billion. " * 10  # 290 characters, no paragraph break
    pieces = split_text(text, 100)
    assert all(len(p) <= 100 for p in pieces)
    assert all(p.endswith("billion.") for p in pieces)
    assert words(" ".join(pieces)) == words(text)


def test_never_cuts_a_word():
    text = " ".join(["supercalifragilistic"] * 50)
    pieces = split_text(text, 75)
    assert all(len(p) <= 75 for p in pieces)
    assert all(set(words(p)) == {"supercalifragilistic"} for p in pieces)


def test_never_cuts_inside_a_markdown_link():
    link = "[Treasury's table of major foreign holders](https://ticdata.treasury.gov/resource-center/data-chart-center/tic/Documents/slt_table5.html)"
    text = ("Some words before the link " * 3) + link + " and after it."
    for limit in range(len(link) + 5, len(text), 7):
        pieces = split_text(text, limit)
        assert sum(p.count(link) for p in pieces) == 1, limit
        assert all(len(p) <= limit for p in pieces)


def test_a_single_word_longer_than_the_limit_is_hard_cut():
    pieces = split_text("x" * 250, 100)
    assert [len(p) for p in pieces] == [100, 100, 50]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="abcdefghij .,!?\n", min_size=1, max_size=30), min_size=1, max_size=60),
       st.integers(min_value=20, max_value=300))
def test_pieces_fit_and_keep_every_word(parts, limit):
    text = " ".join(parts)
    pieces = split_text(text, limit)
    assert all(0 < len(p) <= limit for p in pieces)
    if all(len(w) <= limit for w in words(text)):
        assert words(" ".join(pieces)) == words(text)


def test_truncate_ends_at_a_word_with_an_ellipsis():
    cut = truncate("The quick brown fox jumps over the lazy dog", 20)
    assert len(cut) <= 20 and cut.endswith("…") and cut == "The quick brown fox…"
    assert truncate("short", 20) == "short"


# ---------------------------------------------------------------- answers


def test_answer_embed_has_text_sources_month_and_route():
    answer = Ans("Japan was the largest holder [1].", [Cite(1, "Table 5", "U.S. Treasury, TIC", "", "2026-06-15", "table")],
                 route="table", data_month="2026-04", timings_ms={"total": 3.2})
    (message,) = render_answer(answer, "Who holds the most?").messages
    (embed,) = message
    assert embed["title"] == "Who holds the most?"
    assert embed["description"] == "Japan was the largest holder [1]."
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields == {"Data month": "April 2026", "Sources": "`[1]` **Table 5** — U.S. Treasury, TIC, 2026-06-15"}
    assert embed["footer"]["text"] == "Answered from holdings tables · 3 ms"


def test_sources_are_links_at_most_five_and_the_rest_counted():
    cites = [Cite(n, f"Story [{n}]", url=f"https://example.com/{n}") for n in range(1, 9)]
    value = sources_value(cites)
    lines = value.splitlines()
    assert lines[0] == "`[1]` [Story (1)](https://example.com/1) — Outlet, 2026-04-01"  # brackets cannot break the link
    assert len(lines) == 6 and lines[-1] == "…and 3 more sources"


def test_sources_field_fits_1024_even_with_long_titles():
    cites = [Cite(n, "T" * 300, url="https://example.com/" + "p" * 400) for n in range(1, 6)]
    value = sources_value(cites)
    assert len(value) <= FIELD_VALUE_LIMIT
    assert value.splitlines()[-1].startswith("…and")


def test_a_huge_answer_becomes_several_messages_within_every_limit():
    text = "\n\n".join(["A sentence about holdings. " * 40] * 30)  # ~32,000 characters
    cites = [Cite(n, f"Title {n}", url=f"https://example.com/{n}") for n in range(1, 12)]
    rendered = render_answer(Ans(text, cites), "q" * 400)
    assert len(rendered.messages) >= 2
    for message in rendered.messages:
        assert len(message) <= 10
        assert sum(embed_size(e) for e in message) <= EMBED_TOTAL_LIMIT
        for e in message:
            assert len(e["description"]) <= DESCRIPTION_LIMIT and len(e.get("title", "")) <= 256
            assert len(e.get("fields", [])) <= 25
    assert len(rendered.messages[0][0]["title"]) <= 256
    last = rendered.messages[-1][-1]
    assert [f["name"] for f in last["fields"]] == ["Sources"] and "footer" in last
    assert words(" ".join(e["description"] for m in rendered.messages for e in m)) == words(text)


def test_pack_embeds_respects_ten_and_six_thousand():
    embeds = [{"description": "x" * 1000} for _ in range(25)]
    messages = pack_embeds(embeds)
    assert all(len(m) <= 10 and sum(embed_size(e) for e in m) <= 6000 for m in messages)
    assert sum(len(m) for m in messages) == 25


def test_mass_mentions_are_broken_everywhere():
    answer = Ans("@everyone look: @here", [Cite(1, "Ping @everyone", source="@here news")])
    (message,) = render_answer(answer, "@everyone?").messages
    blob = repr(message)
    assert "@everyone" not in blob.replace("@\\u200beveryone", "") and "@\u200beveryone" in message[0]["description"]
    assert not re.search(r"@(everyone|here)", message[0]["title"] + message[0]["description"]
                         + message[0]["fields"][0]["value"])
    assert neutralise("mail me@here.com") == "mail me@\u200bhere.com"  # harmless, and cannot ping



def test_user_and_role_mentions_are_broken_too():
    assert neutralise("ask <@123>, <@!45> or <@&678>") == "ask <\u200b@123>, <\u200b@!45> or <\u200b@&678>"
    assert neutralise("a <#9> channel link stays") == "a <#9> channel link stays"


def test_every_embed_text_leaves_neutralised_and_within_its_limit():
    embed = finish({"title": "@here " + "t" * 300, "description": "<@1> " + "d" * 5000, "footer": {"text": "@everyone"},
                    "fields": [{"name": "<@&2>", "value": "v " * 600}]})
    assert len(embed["title"]) <= 256 and len(embed["description"]) <= DESCRIPTION_LIMIT
    assert len(embed["fields"][0]["value"]) <= FIELD_VALUE_LIMIT
    texts = [embed["title"], embed["description"], embed["footer"]["text"], *embed["fields"][0].values()]
    assert not re.search(r"@(everyone|here)|<@", " ".join(str(t) for t in texts))


def test_feedback_record_can_be_read_back_from_the_embeds():
    answer = Ans("Japan leads [1] and the UK follows [2].",
                 [Cite(1, "Table 5", url=""), Cite(2, "UK story", url="https://example.com/uk")])
    (message,) = render_answer(answer, "Who leads?").messages
    record = record_from_embeds(message)
    assert record["question"] == "Who leads?" and record["answer"] == answer.text
    assert record["sources"] == [{"n": 1, "title": "Table 5", "url": ""},
                                 {"n": 2, "title": "UK story", "url": "https://example.com/uk"}]


def test_thread_names_fit_discord():
    assert len(thread_name("why " * 100)) <= 100
    assert thread_name("  ") == "Question"


def test_split_text_rejects_a_nonsense_limit():
    with pytest.raises(ValueError):
        split_text("x", 0)
