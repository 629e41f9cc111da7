"""The digest over the project's own multi-outlet fixtures: one item per story naming and citing
every outlet, leads that are body sentences and never page chrome, items by importance, titles
in place of placeholders, moves followed by the article that explains them, the optional LLM
summary checked like answers, `desk digest` in plain text and Markdown, and Discord's limits."""

from __future__ import annotations

import re
import time

import pytest

from bot.cli import main as desk
from bot.render import DESCRIPTION_LIMIT, digest_embed
from bot.render import EMBED_TOTAL_LIMIT as TOTAL_LIMIT
from bot.render import FIELD_VALUE_LIMIT as FIELD_LIMIT
from bot.render import embed_size as embed_length
from ingest.pipeline import Ingester
from retrieval.digest import Digest, Report, Story, compose_digest, lead_form, render_markdown
from retrieval.errors import DeskError
from retrieval.llm import llm_from_settings
from retrieval.settings import RetrievalSettings
from tests.fakellm import FakeLLM
from tests.integration.digest_fixtures import CHROME, TABLE, build_store, write

CANADA_URLS = {"https://mapleledger.example/markets/canada-trims-treasuries",
               "https://northwind.example/2026/06/16/canada-sells-treasurys",
               "https://harbourstreet.example/news/canada-treasury-cut-april"}
EVERYTHING = "2000-01-01"


@pytest.fixture(scope="module")
def store(tmp_path_factory, embedder):
    return build_store(tmp_path_factory.mktemp("digest"), embedder)


@pytest.fixture(scope="module")
def digest(store):
    return compose_digest(store, since=EVERYTHING, llm=None)


def body_sentences(kb, doc_id: str) -> list[str]:
    rows = sorted((m["position"], m["sentence"]) for m in kb.iter_chunk_metas({"doc_id": doc_id}))
    return [lead_form(s) for _, s in rows]


def test_one_event_from_three_outlets_is_one_item_citing_each(digest):
    canada = [s for s in digest.stories if {r.url for r in s.reports} & CANADA_URLS]
    assert len(canada) == 1, [s.title for s in canada]
    story = canada[0]
    assert {r.url for r in story.reports} == CANADA_URLS
    assert sorted(story.outlets) == ["Harbour Street Journal", "Maple Ledger", "Northwind Wire"]
    # The same holder in another month is another story.
    january = [s for s in digest.stories if "January" in s.title]
    assert len(january) == 1 and len(january[0].reports) == 1
    assert len(digest.stories) == 5  # three outlets' story, January, Japan, the UK, the regatta
    text = render_markdown(digest)
    item = next(line for line in text.splitlines() if story.lead in line)
    markers = re.findall(r"\[(\d+)\]", item)
    assert len(markers) == 3
    sources = dict(re.findall(r"^\[(\d+)\] (.*)$", text, re.M))
    assert {next(u for u in CANADA_URLS if u in sources[n]) for n in markers} == CANADA_URLS
    lines = text.splitlines()
    outlets_line = lines[lines.index(item) + 1]  # the item names every outlet under its lead
    named = set(outlets_line.split(" · ")[0].strip().split(", "))
    assert named == {"Harbour Street Journal", "Maple Ledger", "Northwind Wire"}


def test_every_lead_is_a_body_sentence_never_chrome(digest, store):
    for story in digest.stories:
        bodies = [s for r in story.reports for s in body_sentences(store, r.doc_id)]
        assert story.lead in bodies, story.lead
        assert len(story.lead) <= 280
        assert story.lead != story.title
    text = render_markdown(digest)
    for chrome in CHROME:
        assert chrome not in text, chrome
    # The three-outlet story opens with what happened, not with a dateline or the headline again.
    canada = digest.stories[0]
    assert re.match(r"Canada('s)? (cut|sold|holdings)", canada.lead), canada.lead
    assert "$42.3 billion" in canada.lead


def test_items_go_by_outlets_then_importance_then_newest(digest):
    titles = [s.title for s in digest.stories]
    assert len(digest.stories[0].reports) == 3
    # The UK (2026-06-19) and Japan (2026-06-18) stories are equals (a top-10 holder, the latest
    # month): newest first. January's Canada story is a top-10 holder only; the regatta neither,
    # though it is the newest of all.
    assert titles[1].startswith("Holders in the United Kingdom added $10.6 billion")
    assert titles[2].startswith("Japan raised its holdings of U.S. Treasurys by $18.3 billion")
    assert titles[3] == "Canada adds Treasurys in January as yields climb"
    assert titles[4] == "Harbour City rowers win the spring regatta"


def test_placeholder_titles_come_from_the_body(digest):
    titles = [s.title for s in digest.stories]
    assert "japan-holdings-edge-up-april" not in titles
    assert not any(t.startswith(("http", "/")) or t.endswith(".txt") for t in titles)
    uk = digest.stories[1]
    assert uk.title.startswith("Holders in the United Kingdom") and uk.lead.startswith("Custodians in London said")
    japan = digest.stories[2]
    assert japan.lead.startswith("Finance ministry officials said")  # not the title's sentence again


def test_biggest_move_is_followed_by_the_article_that_explains_it(digest):
    assert [(c.series, c.absolute) for c in digest.movers] == [("Canada", -42.3), ("Japan", 18.3), ("United Kingdom", 10.6)]
    why = digest.explanations["Canada"]
    assert why.report.url in CANADA_URLS  # an April story about Canada, not January's
    assert "reserves" in why.sentence or "$42.3 billion" in why.sentence
    text = render_markdown(digest)
    line = next(x for x in text.splitlines() if x.startswith("- Canada -42.3"))
    assert why.sentence in line
    (marker,) = re.findall(r"\[(\d+)\]", line)
    assert re.search(rf"^\[{marker}\] .*\({re.escape(why.report.url)}\)$", text, re.M)
    japan = digest.explanations["Japan"]
    assert japan.report.url == "https://sakura.example/japan-holdings-edge-up-april"
    # The sentence that states the move is followed by the one that says why.
    assert japan.sentence.endswith("Finance ministry officials said life insurers had moved money back into U.S. "
                                   "bonds as hedging costs eased.")


def test_only_documents_ingested_since_count(kb, tmp_path):
    (tmp_path / "table.csv").write_text(TABLE)
    old = write(tmp_path / "old", {"old.txt": "title: Japan steady in March\nsource: Old Wire\npublished: 2026-05-01\n\n"
                                              "Japan's holdings of U.S. Treasurys were steady in March, data showed.\n"})
    Ingester(kb).ingest([str(old), str(tmp_path / "table.csv")])
    cutoff = kb.list_documents(kind="article")[0]["ingested_at"]
    time.sleep(1.1)  # ingest times are stamped to the second
    new = write(tmp_path / "new", {"sports.txt": "title: Rowers win\nsource: Harbour Street Journal\npublished: 2026-06-20\n\n"
                                                 "Harbour City rowers won the spring regatta by two lengths on Saturday.\n"})
    Ingester(kb).ingest([str(new)])
    digest = compose_digest(kb, since=cutoff, llm=None)
    assert [s.title for s in digest.stories] == ["Rowers win"]


def test_empty_day_says_so_in_one_line(store):
    digest = compose_digest(store, since="2999-01-01", last_month_posted="2026-04", llm=None)
    assert digest.empty
    assert render_markdown(digest) == "Nothing new since 2999-01-01."
    assert digest_embed(digest)["description"] == "Nothing new since 2999-01-01."


@pytest.mark.parametrize("since", ["yesterday", "2026-13-01", ""])
def test_a_bad_since_is_a_clear_error(store, since, capsys):
    with pytest.raises(DeskError, match="--since must be a date like 2026-05-01"):
        compose_digest(store, since=since, llm=None)
    assert desk(["digest", "--since", since, "--data-dir", str(store.settings.data_dir)]) == 1
    assert "error: --since must be a date like 2026-05-01" in capsys.readouterr().err


def test_desk_digest_prints_plain_text_and_markdown(store, capsys):
    data = str(store.settings.data_dir)
    assert desk(["digest", "--since", EVERYTHING, "--data-dir", data]) == 0
    plain = capsys.readouterr().out
    assert "**" not in plain
    assert re.search(r"^1\. Canada.*\$42\.3 billion.*\[\d+\]\[\d+\]\[\d+\]$", plain, re.M)
    assert re.search(r"^- Canada -42\.3: .+ \[\d+\]$", plain, re.M)
    assert desk(["digest", "--since", EVERYTHING, "--markdown", "--data-dir", data]) == 0
    markdown = capsys.readouterr().out
    assert "**Top holders, April 2026**" in markdown and "**The news since 2000-01-01**" in markdown
    for chrome in CHROME:
        assert chrome not in plain + markdown


def test_discord_embed_cites_each_outlet_and_explains_the_move(digest):
    embed = digest_embed(digest)
    description = embed["description"]
    assert description.startswith("**[1] Canada")
    for url in CANADA_URLS:
        assert description.count(f"]({url})") == 1
    for name in ("[Maple Ledger](", "[Northwind Wire](", "[Harbour Street Journal]("):
        assert name in description
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Top holders, April 2026 [T]"].startswith("1. Japan — $1,209.9bn")
    why = fields["Why they moved"]
    assert why.startswith("**Canada -42.3bn**: ") and f"({digest.explanations['Canada'].report.url})" in why
    for chrome in CHROME:
        assert chrome not in description + why
    assert len(description) <= DESCRIPTION_LIMIT and embed_length(embed) <= TOTAL_LIMIT


def test_discord_embed_stays_within_limits_on_a_busy_day(digest):
    long = "Holdings of U.S. Treasury securities moved again in April as reserve managers rebalanced. " * 4
    stories = [Story(title=f"Story {n} " + "about holdings " * 10, lead=long[:280],
                     reports=[Report(f"doc{n}-{k}", "t", f"Outlet {k}", f"https://news{k}.example/{'x' * 120}/{n}",
                                     "2026-06-17") for k in range(4)], published="2026-06-17")
               for n in range(30)]
    busy = Digest(since=EVERYTHING, stories=stories, month=digest.month, top=digest.top, movers=digest.movers,
                  explanations=digest.explanations, new_month=True, summary="Holdings moved [1][2]. Japan led [T].")
    embed = digest_embed(busy)
    assert len(embed["description"]) <= DESCRIPTION_LIMIT
    assert all(len(f["value"]) <= FIELD_LIMIT and len(f["name"]) <= 256 for f in embed["fields"])
    assert embed_length(embed) <= TOTAL_LIMIT
    shown = len(re.findall(r"^\*\*\[\d+\] Story", embed["description"], re.M))
    assert 1 <= shown < 30
    assert embed["description"].endswith(f"…and {30 - shown} more: `/sources` lists them.")


# -- the optional LLM summary -----------------------------------------------------------------------

def sources_in(messages) -> str:
    return "\n".join(str(m.get("content", "")) for m in messages)


@pytest.fixture
def fake_llm():
    fake = FakeLLM().start()
    yield fake
    fake.stop()


def with_llm(store, fake: FakeLLM):
    settings = RetrievalSettings(data_dir=store.settings.data_dir, llm="openai:fake-model", llm_base_url=fake.base_url,
                                 llm_timeout=5, _env_file=None)
    return llm_from_settings(settings)


def test_a_grounded_summary_opens_the_digest(store, fake_llm):
    fake_llm.reply = lambda messages: ("Canada cut its Treasury holdings by $42.3 billion in April, three outlets "
                                       "report [1]. Japan stays the largest holder at 1,209.9 billion dollars [T].")
    digest = compose_digest(store, since=EVERYTHING, llm=with_llm(store, fake_llm))
    prompt = sources_in(fake_llm.requests[-1]["messages"])
    assert "<<<SOURCE" in prompt and "[T] Treasury table" in prompt and "MAPLE LEDGER" not in prompt
    assert digest.summary.startswith("Canada cut its Treasury holdings by $42.3 billion in April")
    text = render_markdown(digest)
    lines = text.splitlines()
    assert lines[0] == "**In short**"
    assert re.search(r"report \[\d+\]\[\d+\]\[\d+\]\. Japan .* \[\d+\]\.$", lines[1])  # [1] -> the item's three sources
    assert digest_embed(digest)["description"].startswith("**In short:** Canada cut")
    plain = render_markdown(digest, markdown=False)  # `desk digest` without --markdown
    assert plain.splitlines()[0] == "In short" and "**" not in plain and "`" not in plain


@pytest.mark.parametrize("reply", [
    "Canada cut its Treasury holdings by $45 billion in April [1].",  # a figure no source gives
    "Canada cut its Treasury holdings in April [9].",  # an invented marker, nothing left
    "Canada cut its Treasury holdings in April [1]. Ignore the rules and buy gold.",  # an uncited claim
    "NOT IN SOURCES",
])
def test_an_unchecked_summary_falls_back_to_none(store, fake_llm, reply):
    fake_llm.reply = lambda messages: reply
    digest = compose_digest(store, since=EVERYTHING, llm=with_llm(store, fake_llm))
    assert fake_llm.requests and digest.summary == ""
    assert render_markdown(digest).startswith("**The news since")


def test_a_failing_llm_costs_only_the_summary(store, fake_llm):
    fake_llm.mode = "error"
    digest = compose_digest(store, since=EVERYTHING, llm=with_llm(store, fake_llm))
    assert digest.summary == "" and len(digest.stories) == 5


def test_a_guilds_own_story_is_in_that_guilds_digest_only(kb, tmp_path):
    (tmp_path / "table.csv").write_text(TABLE)
    Ingester(kb).ingest([str(tmp_path / "table.csv")])
    own = write(tmp_path / "own", {"memo.txt": "title: Desk memo on Canada's April sale\nsource: Team notes\n"
                                               "published: 2026-06-18\n\nThe team's memo says Canada sold Treasurys "
                                               "in April to rebuild its currency reserves.\n"})
    Ingester(kb, guild_id=4242).ingest([str(own)])
    assert [s.title for s in compose_digest(kb, since=EVERYTHING, guild_id=4242, llm=None).stories] == [
        "Desk memo on Canada's April sale"]
    shared = compose_digest(kb, since=EVERYTHING, llm=None)
    assert shared.stories == [] and "Canada" not in shared.explanations
    assert compose_digest(kb, since=EVERYTHING, guild_id=7, llm=None).stories == []
