"""The answer engine over pages shaped like real ones: the sample Table 5 and articles written
here with their page chrome (datelines, bylines, share prompts, teasers), ingested with the real
model into real Chroma. Each test asserts what the user reads: the route, the figure, the
sentence quoted, the refusal."""

from __future__ import annotations

import re

import pytest

from ingest.pipeline import Ingester
from retrieval.answer import AnswerEngine
from retrieval.settings import RetrievalSettings
from retrieval.store import KnowledgeBase
from tests.conftest import SAMPLE_DIR
from tests.fakellm import FakeLLM

# Invented stories (names, outlets and figures are not real), with the chrome real pages carry.
PAGES = {
    "lumen-bank.txt": """title: Lumen Bank trims its Treasury book for a third month
source: Example Wire
published: 2026-04-20
url: https://example.com/test/lumen-bank

examplewire.logo
Markets
Lumen Bank trims its Treasury book for a third month
By Ada Morrow
April 20, 2026 7:15 AM
2 min read
Share this article
ZURICH, April 20 (Example Wire) - Lumen Bank, a Swiss private bank, cut its holdings of U.S. Treasuries for a third straight month in March, selling $2.4 billion of notes.
The bank said it sold the notes because it expects the Swiss franc to keep rising against the dollar, which erodes the value of its dollar assets.
"We are comfortable with the duration we hold now," chief investment officer Pia Lund told reporters in Zurich.
Subscribe to our newsletter
Related Articles
Gold hits another record as central banks buy
""",
    "japan-yen.txt": """title: Japan spends record sum defending the yen
source: Example Times
published: 2026-02-02
url: https://example.com/test/japan-yen

Japan spends record sum defending the yen
Posted on February 2, 2026
Japan's finance ministry said in Tokyo that it spent 9.8 trillion yen on currency intervention in January, a record for a single month.
Finance minister Aiko Mori said the ministry acted because speculators had pushed the yen to 162 per dollar, its weakest since 1986.
Mori said Japan would not sell Treasuries to fund the intervention and would use its deposits instead.
Analysts at Example Securities said the sales of dollars were drawn from deposits held at foreign central banks.
Photo: The finance ministry in Tokyo
""",
    "bills-flows.txt": """title: Foreign investors pile into Treasury bills in March
source: Example Markets Daily
published: 2026-05-18
url: https://example.com/test/bills-flows

Foreign investors pile into Treasury bills in March
Foreign residents increased their holdings of U.S. Treasury bills by $31.4 billion in March, according to the monthly capital flows report.
Net foreign purchases of long-term U.S. securities were $88.2 billion in March, of which foreign official institutions sold a net $12.5 billion.
The report showed net TIC inflows of $140.6 billion for the month.
Read more on example.com
""",
    "canada-swing.txt": """title: Why Canada's Treasury holdings fell in April
source: Example Gazette
published: 2026-06-17
url: https://example.com/test/canada-swing

Canada's holdings of Treasuries fell by $42.3 billion in April, the biggest monthly drop among major holders.
That took Canada's holdings to their lowest level since March 2025, a fall of 9.6% in a single month.
Dealers said the fall reflected Canadian pension funds unwinding hedged positions after the Bank of Canada cut rates.
Canada's swings are often large because its banks move collateral between New York and Toronto.
""",
    "gold-home.txt": """title: A central bank brings its gold home
source: Example Post
published: 2026-03-09
url: https://example.com/test/gold-home

Brazil's central bank has cut its holdings of U.S. Treasuries for a fourth month, officials said on Monday.
The bank's reserve managers now keep more of the reserves in euros and in yuan than they did a year ago.
Traders in Sao Paulo expect the shift to go on through the year as interest rates fall.
The central bank has also shipped 42 tonnes of gold back from vaults in London since January.
""",
    "auction.txt": """title: Twenty-year auction draws solid demand
source: Example Markets Daily
published: 2026-05-21
url: https://example.com/test/auction

The Treasury sold $16 billion of 20-year bonds on Wednesday at a high yield of 5.05%.
The bid-to-cover ratio at the sale was 2.46, below the average of the last six auctions.
Indirect bidders, a gauge of foreign demand, took 69% of the bonds on offer.
""",
    "custody-column.txt": """title: Custody holdings swing as reserve managers return
source: Kestrelwire Market Service
published: 2026-03-20
url: https://example.com/test/custody-column

Treasuries held at the New York Fed for foreign central banks dropped by $31 billion in January as reserve managers sold to defend their currencies.
In February, those custody holdings rose by $12 billion, the first gain since the autumn, as the same managers bought again.
By our estimate Japan's holdings fell by about $45.0 billion in March, a smaller drop than traders had feared.
Mara Quill, a fellow at the Council on Foreign Relations, said the January selling looked tactical rather than a retreat.
The Swedish pension fund Norrvik said it had sold its Treasuries, without saying how many.
""",
}


@pytest.fixture(scope="module")
def engine(tmp_path_factory, embedder):
    root = tmp_path_factory.mktemp("engine")
    corpus = root / "corpus"
    corpus.mkdir()
    for name, text in PAGES.items():
        (corpus / name).write_text(text, encoding="utf-8")
    kb = KnowledgeBase(RetrievalSettings(data_dir=root / "data", llm="", _env_file=None), embedder=embedder)
    report = Ingester(kb).ingest([str(corpus), str(SAMPLE_DIR / "holdings")])
    assert report.failed == 0, report.errors
    return AnswerEngine(kb)


def cited_refs(answer) -> set[str]:
    return {c.ref.rsplit("/", 1)[-1] for c in answer.citations}


@pytest.mark.parametrize("question", [
    "Who holds the most Treasurys?",
    "Which country is the largest foreign holder of US Treasuries?",
    "who's the biggest owner of treasuries right now",
    "top holder of USTs?",
    "Who is the number one foreign holder of Treasury securities?",
    "What country holds the largest stake in US Treasuries these days?",
    "biggest foreign creditor of the US?",
    "which nation owns the most U.S. government debt",
    "largest holder of US Treasuries?",
    "who owns the most treasuries",
])
def test_who_holds_the_most_in_ten_phrasings_is_a_table_answer(engine, question):
    answer = engine.ask(question)
    assert answer.route == "table", answer.text
    assert answer.text.startswith("Japan was the largest foreign holder of Treasury securities at the end of April 2026")
    assert "$1,209.9 billion" in answer.text and cited_refs(answer) == {"table5_sample.txt"}


@pytest.mark.parametrize("question, figure", [
    ("How much did foreign investors add to their Treasury bill holdings in March 2026?", "$31.4 billion"),
    ("What were net TIC inflows in March 2026?", "$140.6 billion"),
    ("How much did foreign official institutions sell of long-term US securities in March 2026?", "$12.5 billion"),
    ("How much did Lumen Bank sell in Treasuries in March?", "$2.4 billion"),
])
def test_flows_instruments_and_other_holders_are_answered_from_articles_not_the_table(engine, question, figure):
    answer = engine.ask(question)
    assert answer.route == "articles", answer.text
    assert figure in answer.text and not answer.refused
    assert all(c.kind == "article" for c in answer.citations)


def test_what_a_holder_spent_is_no_holdings_figure(engine):
    answer = engine.ask("How much did Japan spend on intervention in January 2026?")
    assert answer.route == "articles", answer.text
    assert "9.8 trillion yen" in answer.text and "$1,225.3 billion" not in answer.text
    assert cited_refs(answer) == {"japan-yen.txt"}


@pytest.mark.parametrize("question", ["Japan January 2026?", "japan in january 2026", "Japan, Jan 2026"])
def test_a_holder_and_a_month_alone_ask_for_the_table_figure(engine, question):
    answer = engine.ask(question)
    assert answer.route == "table", answer.text
    assert "$1,225.3 billion" in answer.text and "January 2026" in answer.text


def test_a_holder_and_a_span_alone_ask_for_the_change(engine):
    answer = engine.ask("How has Canada changed over the last month?")
    assert answer.route == "table", answer.text
    assert "fell by $42.3 billion" in answer.text and "April 2026" in answer.text


@pytest.mark.parametrize("question, first", [
    ("Did Canada sell Treasuries in April 2026?", "Yes. Canada's holdings fell by $42.3 billion"),
    ("Did Canada add to its Treasury holdings in April 2026?", "No. Canada's holdings fell by $42.3 billion"),
    ("Did Canada sell Treasuries in April 2026, and why?", "Yes. Canada's holdings fell by $42.3 billion"),
])
def test_a_yes_or_no_question_is_answered_yes_or_no_first(engine, question, first):
    answer = engine.ask(question)
    assert answer.text.startswith(first), answer.text


def test_two_holders_at_two_months_are_compared_at_each(engine):
    answer = engine.ask("What did Japan and Canada hold in March 2026 and April 2026?")
    assert answer.route == "table", answer.text
    march, april = answer.text.split("At the end of April 2026")
    assert march.startswith("At the end of March 2026") and "Canada $439.4 billion" in march
    assert "Canada $397.1 billion" in april


def test_the_biggest_movers_over_a_period_are_ranked_by_its_change(engine):
    answer = engine.ask("Which countries increased their holdings the most since January 2026?")
    assert answer.route == "table", answer.text
    assert answer.text.startswith(
        "The biggest buyers of Treasury securities from the end of January 2026 to the end of April 2026, by the "
        "change in their holdings, in billions of dollars: 1. "
    ), answer.text


@pytest.mark.parametrize("question, text", [
    # who sold or bought the most, ranked by the change
    ("Who sold the most Treasuries in April 2026?", "The biggest sellers of Treasury securities in April 2026, by the change in their "
     "holdings from the end of March 2026, in billions of dollars: 1. Canada -42.3; 2. mainland China -1.2; "
     "3. Luxembourg -0.9 [1][2]."),
    ("Which country bought the most in April 2026?", "The biggest buyers of Treasury securities in April 2026, by the change in their "
     "holdings from the end of March 2026, in billions of dollars: 1. Japan +18.3; 2. Cayman Islands +12.2; "
     "3. United Kingdom +10.6 [1][2]."),
    ("who sold the most in april 2026", "The biggest sellers of Treasury securities in April 2026, by the change in their "
     "holdings from the end of March 2026, in billions of dollars: 1. Canada -42.3; 2. mainland China -1.2; "
     "3. Luxembourg -0.9 [1][2]."),
    ("top 2 sellers in April 2026", "The biggest sellers of Treasury securities in April 2026, by the change in their holdings "
     "from the end of March 2026, in billions of dollars: 1. Canada -42.3; 2. mainland China -1.2 [1][2]."),
    # holders past a line, counted and listed
    ("Which countries hold more than $400 billion?", "Six of the 8 holders listed held more than $400 billion of "
     "Treasury securities at the end of April 2026, in billions of dollars: Japan 1,209.9; United Kingdom 937.5; "
     "mainland China 651.1; Cayman Islands 471.6; Belgium 459.9; Luxembourg 431.1 [1]."),
    ("how many countries hold over 1 trillion", "One of the 8 holders listed held more than $1,000 billion of "
     "Treasury securities at the end of April 2026, in billions of dollars: Japan 1,209.9 [1]."),
    ("Which countries hold more than $2 trillion?", "None of the 8 holders listed held more than $2,000 billion"),
    # a yes-or-no comparison or place: yes or no first
    ("Is the UK ahead of China?", "Yes. At the end of April 2026, the United Kingdom held $937.5 billion"),
    ("Does China hold more than Japan?", "No. At the end of April 2026, mainland China held $651.1 billion"),
    ("Is Japan still the biggest holder?", "Yes. Japan ranked 1st"),
    ("Is China the second-largest holder?", "No. Mainland China ranked 3rd"),
    # the words that ask for a place or a history do not send the question to the articles
    ("Who is third?", "Mainland China was the third-largest foreign holder"),
    ("Which holder ranks 7th?", "Canada was the 7th-largest foreign holder"),
    ("Rank of Canada among foreign holders?", "Canada ranked 7th of the 8 holders listed"),
    ("How far behind Japan is the UK?", "At the end of April 2026, Japan held $1,209.9 billion"),
    ("Show me China's holdings history", "Mainland China, month-end holdings in billions of dollars:"),
    ("What's the gap between Japan and China?", "At the end of April 2026, Japan held $1,209.9 billion"),
    ("Japan and Canada combined?", "At the end of April 2026: Japan $1,209.9 billion [1] and Canada $397.1 billion [1]; "
     "$1,607.0 billion together."),
    ("Canada?", "Canada held $397.1 billion of U.S. Treasury securities at the end of April 2026"),
    # a gap asked about an amount gets the figures, not a yes or no about who is ahead
    ("Is the gap between Japan and China more than $600 billion?", "At the end of April 2026, Japan held "
     "$1,209.9 billion [1] and mainland China $651.1 billion [1]: Japan held $558.8 billion more."),
    # "the biggest seller": yes or no against the month's movers
    ("Was Canada the biggest seller in April 2026?", "Yes. Canada's holdings fell by $42.3 billion"),
    ("Was the UK the biggest buyer in April 2026?", "No. The United Kingdom's holdings rose by $10.6 billion (1.1%), "
     "from $926.9 billion at the end of March 2026 to $937.5 billion at the end of April 2026 [1][2]. Japan's holdings "
     "rose the most, by $18.3 billion [2]."),
    # a line: of a change, and of one aggregate
    ("Which countries cut their holdings by more than $10 billion in April 2026?", "The holders whose holdings fell by "
     "more than $10 billion in April 2026, by the change in their holdings from the end of March 2026, in billions of "
     "dollars: 1. Canada -42.3 [1][2]."),
    ("Do foreign official holders hold more than $3 trillion?", "Yes. Foreign official holders held $3,906.5 billion"),
    # "pass" passes a holder, not a bill
    ("When did Congress pass the budget, and how much did Japan and Canada hold?", "At the end of April 2026, Japan "
     "held $1,209.9 billion [1] and Canada $397.1 billion [1]"),
    ("Top five?", "The five largest foreign holders of Treasury securities at the end of April 2026"),
    # chat spellings and lower case
    ("who holds the most UST rn?", "Japan was the largest foreign holder of Treasury securities at the end of April 2026, "
     "with $1,209.9 billion [1]. Next came the United Kingdom with $937.5 billion [1]."),
    ("canada Feb 26 vs Mar 26 chg?", "Canada's holdings fell by $6.9 billion"),
    ("biggest buyer apr 2026?", "The biggest buyers of Treasury securities in April 2026"),
    ("canada feb 2026 and mar 2026", "Canada at the end of each month: February 2026 $446.3 billion [1]; March 2026 "
     "$439.4 billion [2]."),
    ("canada change, apr to apr", "Canada's holdings fell by $42.3 billion"),  # never "unchanged, from X to X"
    # the official holders' bills and bonds are in the tables; a share of the grand total too
    ("How much of foreign official holdings is T-bills?", "Foreign official holders held $457.3 billion of Treasury "
     "bills at the end of April 2026 [1]."),
    ("foreign official bills change mom", "Foreign official Treasury bill holdings rose by $16.3 billion (3.7%)"),
    ("foreign official share of grand total", "Foreign official holders held $3,906.5 billion of U.S. Treasury "
     "securities at the end of April 2026 [1]. That is 41.8% of the $9,352.6 billion"),
    ("japan uk gap", "At the end of April 2026, Japan held $1,209.9 billion [1] and the United Kingdom $937.5 billion"),
    ("foreign official change mom", "Foreign official holdings rose by $4.3 billion (0.1%)"),
    # periods written short and the tables named as the source are no topic for the articles
    ("Canada's holdings MoM change", "Canada's holdings fell by $42.3 billion (9.6%), from $439.4 billion at the end "
     "of March 2026 to $397.1 billion at the end of April 2026"),
    ("According to Treasury data, how much does Canada hold?", "Canada held $397.1 billion of U.S. Treasury "
     "securities at the end of April 2026"),
    # an extreme reads as a person writes it
    ("When did Japan's holdings peak?", "Of the month-ends from January 2026 to April 2026, Japan's holdings were "
     "highest at the end of February 2026, at $1,239.3 billion [1]."),
])
def test_movers_lines_places_comparisons_and_histories_are_table_answers(engine, question, text):
    answer = engine.ask(question)
    assert answer.route == "table", answer.text
    assert answer.text.startswith(text), answer.text
    assert cited_refs(answer) == {"table5_sample.txt"}


@pytest.mark.parametrize(
    "question, text",
    [
        (
            "How many months in a row did China sell?",
            "Mainland China's holdings fell 3 months in a row, from $694.4 billion at the end of January 2026 "
            "to $651.1 billion at the end of April 2026 [1][2].",
        ),
        (
            "Has the UK been buying for four straight months?",
            "No. The United Kingdom's holdings rose 3 months in a row, from $879.7 billion at the end of "
            "January 2026 to $937.5 billion at the end of April 2026 [1][2].",
        ),
        (
            "longest buying streak for Canada",
            "Canada's longest run of monthly rises from January 2026 to April 2026 was one month, from $395.8 "
            "billion at the end of January 2026 to $446.3 billion at the end of February 2026 [1][2]. At the end "
            "of March 2026 they were $439.4 billion [3].",
        ),
    ],
)
def test_a_run_of_months_one_way_is_counted_from_the_table(engine, question, text):
    answer = engine.ask(question)
    assert answer.route == "table" and answer.text == text, answer.text


def test_a_share_is_the_figure_over_the_foreign_total(engine):
    answer = engine.ask("What is Canada's share of foreign holdings?")
    assert answer.route == "table", answer.text
    assert answer.text.endswith("That is 4.2% of the $9,352.6 billion all foreign holders held [1].")


@pytest.mark.parametrize(
    "question", ["China's share of all foreign holdings in January and April 2026", "How has China's share changed since January?"]
)
def test_a_share_at_two_months_is_given_at_each(engine, question):
    # 694.4 / 9,289.4 and 651.1 / 9,352.6
    answer = engine.ask(question)
    assert answer.route == "table", answer.text
    assert answer.text.endswith("Share of all foreign holdings: January 2026 7.5% [1]; April 2026 7.0% [2]."), answer.text


def test_what_a_person_said_is_quoted_from_the_article(engine):
    answer = engine.ask("What did finance minister Mori say about selling Treasuries?")
    assert answer.route == "articles"
    assert "would not sell Treasuries to fund the intervention" in answer.text
    assert cited_refs(answer) == {"japan-yen.txt"}


def test_a_why_question_gets_the_sentence_that_gives_the_reason(engine):
    answer = engine.ask("Why did Lumen Bank cut its Treasuries?")
    assert "because it expects the Swiss franc to keep rising" in answer.text
    assert "[1]" in answer.text and cited_refs(answer) == {"lumen-bank.txt"}


def test_a_reason_asked_of_a_holder_is_not_answered_with_its_figure(engine):
    # Canada names a holder and April 2026 a month the table has, but the question asks why
    # its currency moved: the table's figure for Canada is no answer to it.
    answer = engine.ask("Why did Canada's dollar jump in April 2026?")
    assert "$397.1 billion" not in answer.text
    assert "table5_sample.txt" not in cited_refs(answer)


def test_table_figure_and_its_reason_together(engine):
    answer = engine.ask("What did Canada hold in April 2026, and why did its holdings fall?")
    assert answer.route == "mixed"
    assert "$397.1 billion" in answer.text and "April 2026" in answer.text
    assert "pension funds unwinding hedged positions" in answer.text
    assert cited_refs(answer) == {"table5_sample.txt", "canada-swing.txt"}
    assert len(answer.text) <= 600


def test_a_why_beside_the_figure_does_not_lose_the_figure(engine):
    answer = engine.ask("What are Canada's holdings and why are they falling?")
    assert answer.route == "mixed", answer.text
    assert "$397.1 billion" in answer.text and "pension funds unwinding hedged positions" in answer.text


def test_how_much_and_whats_behind_it_gets_the_figure_and_the_reason(engine):
    # The table gives the figure, so the article sentence must give the reason: not another
    # figure, and not a "since" that only dates something.
    answer = engine.ask("How much did Canada's holdings drop in April 2026, and what's behind the fall?")
    assert answer.route == "mixed"
    assert "fell by $42.3 billion" in answer.text  # "behind" asks a reason here, not a ranking
    assert "pension funds unwinding hedged positions" in answer.text


def test_the_figure_asked_beside_a_why_is_the_one_its_own_clause_asks_for(engine):
    # "selling" is in the "why" clause: the figure asked for is the holding, not a change.
    answer = engine.ask("How much does Canada hold, and why has it been selling?")
    assert answer.route == "mixed", answer.text
    assert answer.text.startswith("Canada held $397.1 billion of U.S. Treasury securities at the end of April 2026")
    assert "pension funds unwinding hedged positions" in answer.text
    top = engine.ask("Who holds the most Treasurys, and why?")
    assert top.text.startswith("Japan was the largest foreign holder of Treasury securities at the end of April 2026")


def test_what_is_going_on_beside_a_figure_gets_the_story_even_in_other_words(engine):
    # The second part shares no word with the story; the table's figure fixes the subject, so the
    # best sentence about Canada answers it rather than nothing.
    answer = engine.ask("Canada's number in the latest TIC table, and what's going on there?")
    assert answer.route == "mixed", answer.text
    assert "$397.1 billion" in answer.text and "pension funds unwinding hedged positions" in answer.text
    assert cited_refs(answer) == {"table5_sample.txt", "canada-swing.txt"}


def test_a_month_named_by_an_event_is_read_from_the_article(engine):
    # The story (published February 2026) says the record intervention came "in January".
    answer = engine.ask("How much did Japan hold in the month of its record yen intervention?")
    assert "$1,225.3 billion" in answer.text and "January 2026" in answer.text
    assert "table5_sample.txt" in cited_refs(answer)


def test_a_sentence_naming_no_one_is_about_its_story_s_subject(engine):
    # "The central bank" two sentences after a lead about Brazil is Brazil's, though neither the
    # sentence, the one before it nor the title names Brazil.
    answer = engine.ask("How much gold has Brazil's central bank brought home?")
    assert not answer.refused, answer.text
    assert "42 tonnes of gold" in answer.text and cited_refs(answer) == {"gold-home.txt"}


def test_a_possessive_ends_a_name(engine):
    # "Lumen Bank's CIO Pia Lund" names a bank and a person; read as one name, no page carried it.
    answer = engine.ask("What did Lumen Bank's CIO Pia Lund say about the duration it holds?")
    assert "comfortable with the duration we hold now" in answer.text
    assert cited_refs(answer) == {"lumen-bank.txt"}


def test_people_and_places_are_not_unknown_holders(engine):
    answer = engine.ask("Why did Tokyo spend so much defending the yen in January?")
    assert not answer.refused
    assert "do not list" not in answer.text
    assert "speculators had pushed the yen to 162 per dollar" in answer.text


def test_a_capital_stands_for_its_holder(engine):
    # No page says "Ottawa": the question is about Canada, its figure and the reason it fell.
    answer = engine.ask("Why was Ottawa selling Treasuries in April?")
    assert not answer.refused and "do not list" not in answer.text, answer.text
    assert "$397.1 billion" in answer.text and "pension funds unwinding hedged positions" in answer.text


def test_a_holder_typed_with_a_slip_is_read_as_the_holder_and_the_reply_says_so(engine):
    answer = engine.ask("jpan and Canda holdings in March 2026?")
    assert answer.route == "table", answer.text
    assert answer.text.startswith("Reading “jpan” as Japan and “Canda” as Canada. At the end of March 2026")
    assert "Japan held $" in answer.text and "Canada $" in answer.text


def test_a_dictionary_word_near_a_holder_is_no_slip(engine):
    # "spin" is one letter from "Spain", and a word of its own.
    answer = engine.ask("What is the spin on Treasury demand?")
    assert "Reading" not in answer.text and "Spain" not in answer.text, answer.text


def test_a_sentence_about_another_month_is_no_answer_about_the_month_asked(engine):
    answer = engine.ask("How did custody holdings at the New York Fed move in February?")
    assert "rose by $12 billion" in answer.text, answer.text
    assert "dropped by $31 billion in January" not in answer.text


def test_a_figure_according_to_a_named_outlet_is_quoted_from_it(engine):
    # "Example Gazette" is a name: its story's outlet carries it, not the sentence.
    answer = engine.ask("According to Example Gazette, how much did Canada's holdings fall in April?")
    assert answer.route == "articles", answer.text
    assert "fell by $42.3 billion in April" in answer.text


def test_what_a_holder_has_been_doing_asks_about_the_holder(engine):
    answer = engine.ask("What has Lumen Bank been doing?")
    assert not answer.refused, answer.text
    assert "cut its holdings of U.S. Treasuries for a third straight month" in answer.text


@pytest.mark.parametrize(
    "carried, said, not_carried",
    [
        # a passage about another maturity is no answer about the one asked
        ("What was the bid-to-cover at the 20-year auction?", "2.46", "What was the bid-to-cover at the 30-year auction?"),
        # "how much" is not answered by a sentence that holds no figure
        ("What did Norrvik do with its Treasuries?", "had sold its Treasuries", "How much did Norrvik sell?"),
    ],
)
def test_a_question_the_passage_does_not_carry_is_refused(engine, carried, said, not_carried):
    answer = engine.ask(carried)
    assert said in answer.text, answer.text
    answer = engine.ask(not_carried)
    assert answer.refused, answer.text


def test_an_outlet_named_by_its_initials_is_the_outlet(engine):
    # "kms": Kestrelwire Market Service, as a chat types it; its estimate, not the table's $47.7 billion.
    answer = engine.ask("kms: how much did Japan's holdings fall in March?")
    assert answer.route == "articles", answer.text
    assert "about $45.0 billion in March" in answer.text and cited_refs(answer) == {"custody-column.txt"}


def test_a_name_shortened_word_by_word_is_the_name_in_full(engine):
    # The page writes "New York Fed"; "NY Fed" is the same name.
    answer = engine.ask("What did NY Fed custody holdings do in January?")
    assert not answer.refused, answer.text
    assert "dropped by $31 billion in January" in answer.text


def test_an_initialism_stands_for_the_name_a_page_spells_out(engine):
    # No page writes "CFR"; one names the Council on Foreign Relations.
    answer = engine.ask("What did the CFR fellow say about the January selling?")
    assert not answer.refused, answer.text
    assert "looked tactical rather than a retreat" in answer.text


def test_a_figure_asked_of_an_outlet_is_what_the_outlet_wrote(engine):
    # The sample table says Japan fell $47.7 billion in March 2026; the outlet estimated $45.0 billion.
    answer = engine.ask("How much did Japan's holdings fall in March per kestrelwire?")
    assert answer.route == "articles", answer.text
    assert "about $45.0 billion in March" in answer.text and "$47.7 billion" not in answer.text
    assert cited_refs(answer) == {"custody-column.txt"}


@pytest.mark.parametrize(
    "question", ["@here what's the UK at", "<@&123456789> @everyone what's the UK at", "<@42> UK holdings?"]
)
def test_a_ping_in_a_question_does_not_change_its_answer(engine, question):
    answer = engine.ask(question)
    assert answer.route == "table", answer.text
    assert answer.text.startswith("The United Kingdom held $937.5 billion"), answer.text


def test_an_unknown_name_is_refused_by_its_name_not_the_question_s_first_words(engine):
    answer = engine.ask("Did the LBZ sell notes in March?")
    assert answer.refused and "do not list LBZ:" in answer.text, answer.text


@pytest.mark.parametrize("question, name", [
    ("What did Jerome Powell say about foreign buyers of Treasuries?", "Jerome Powell"),
    ("How much did Saudi Arabia's PIF put into Treasuries in March 2026?", "PIF"),
])
def test_a_name_no_source_uses_is_refused_by_its_name(engine, question, name):
    # A sentence about Saudi Arabia is no answer about its PIF.
    answer = engine.ask(question)
    assert answer.refused, answer.text
    assert answer.text.startswith(f"I don't know from my sources: none of them mentions {name}.")


@pytest.mark.parametrize("question", ["hi", "Hello!", "thanks", "what can you do?", "help"])
def test_a_greeting_or_a_call_for_help_gets_what_to_ask_not_a_quote(engine, question):
    answer = engine.ask(question)
    assert answer.text.startswith("Ask me about foreign holdings of U.S. Treasury securities")
    assert answer.refused and not answer.citations  # nothing from the sources is claimed


@pytest.mark.parametrize("question", ["When was the data last updated?", "What is the latest month in the tables?"])
def test_how_recent_the_data_is_answered_from_the_newest_table(engine, question):
    answer = engine.ask(question)
    assert answer.route == "table", answer.text
    assert answer.text.endswith("with figures to the end of April 2026 [1].")
    assert cited_refs(answer) == {"table5_sample.txt"}


def test_page_chrome_is_never_quoted(engine):
    for question in ("What happened at Lumen Bank?", "What did Lumen Bank do with its Treasuries in March?"):
        answer = engine.ask(question)
        for chrome in ("2 min read", "Share this article", "Subscribe", "Related Articles", "By Ada Morrow",
                       "ZURICH, April 20", "examplewire.logo", "7:15 AM"):
            assert chrome not in answer.text, (question, answer.text)


@pytest.mark.parametrize("question", [
    "How much did Argentina hold in Treasuries in March 2026?",  # a holder no table lists
    "How much did Japan hold in short-term Treasury bills in March 2026?",  # an instrument no source splits
    "What will Japan hold at the end of 2027?",  # a forecast
    "What did Pia Lund say about the yen intervention?",  # a person, on something she did not speak about
    "How much gold does the Bank of Canada hold?",  # a thing no source gives
])
def test_unanswerable_questions_are_refused_with_what_the_sources_hold(engine, question):
    answer = engine.ask(question)
    assert answer.refused, answer.text
    assert re.search(r"can't answer|don't know", answer.text)


def test_follow_ups_keep_subject_period_and_intent_across_routes(engine):
    first = engine.ask("Who holds the most Treasurys?")
    second = engine.ask("and in February 2026?", previous=first.question)
    assert second.route == "table"
    assert second.text.startswith("Japan was the largest foreign holder of Treasury securities at the end of February 2026")
    third = engine.ask("what about Canada?", previous=second.question)
    assert third.route == "table" and "Canada" in third.text and "February 2026" in third.text
    fourth = engine.ask("and in April?", previous=third.question)
    assert "April 2026" in fourth.text and "$397.1 billion" in fourth.text
    fifth = engine.ask("why?", previous=fourth.question)
    assert "pension funds unwinding hedged positions" in fifth.text
    assert "canada-swing.txt" in cited_refs(fifth)


def test_follow_ups_keep_a_line_and_ask_when_of_a_comparison(engine):
    first = engine.ask("Which countries hold more than $400 billion?")
    second = engine.ask("and in February 2026?", previous=first.question)
    assert second.route == "table"
    assert re.match(r"\w+ of the 8 holders listed held more than \$400 billion of Treasury securities at the end of "
                    r"February 2026", second.text), second.text
    third = engine.ask("Is the UK ahead of China?")
    assert third.text.startswith("Yes.")
    fourth = engine.ask("since when?", previous=third.question)
    assert fourth.route == "table"
    assert fourth.text.startswith("The United Kingdom was ahead of mainland China in every month the tables hold from "), \
        fourth.text


def test_the_month_of_a_why_clause_dates_the_figure_beside_it(engine):
    answer = engine.ask("How much did Canada hold, and why did it fall in March 2026?")
    assert answer.text.startswith("Canada held $439.4 billion of U.S. Treasury securities at the end of March 2026")


def test_a_follow_up_naming_an_aggregate_asks_its_figure_not_the_line_before(engine):
    first = engine.ask("Which countries hold more than $400 billion?")
    second = engine.ask("What about foreign official holders?", previous=first.question)
    assert second.text.startswith("Foreign official holders held $3,906.5 billion"), second.text
    when = engine.ask("When did they sell the most?", previous=engine.ask("Is the UK ahead of China?").question)
    assert "moved ahead" not in when.text and "was ahead of" not in when.text  # only a bare "since when?" asks that


def test_since_when_after_a_place_says_how_long_it_has_held_it(engine):
    first = engine.ask("Is Japan still the biggest holder?")
    since = engine.ask("since when?", previous=first.question)
    assert since.text.startswith(
        "Japan was the largest foreign holder in every month the tables hold from January 2026 to April 2026"
    ), since.text


def test_what_was_going_on_after_a_figure_gets_the_story_of_that_holder_and_month(engine):
    first = engine.ask("How much did Canada hold in April 2026?")
    assert first.route == "table"
    story = engine.ask("what was going on?", previous=first.question)
    assert story.route == "articles", story.text
    assert cited_refs(story) == {"canada-swing.txt"}
    # with no month asked, the holder alone fixes what the story is about
    undated = engine.ask("what was going on?", previous=engine.ask("Canada?").question)
    assert undated.route == "articles", undated.text
    assert cited_refs(undated) == {"canada-swing.txt"}


def test_follow_ups_to_a_ranking_ask_about_the_holder_it_named_or_the_next_place(engine):
    top = engine.ask("Who holds the most Treasurys?")
    why = engine.ask("why?", previous=top.question)
    assert why.question.countries == ["Japan"]  # the ranking's first is the subject of "why?"
    second = engine.ask("and the second?", previous=why.question)
    assert second.text.startswith("The United Kingdom was the second-largest foreign holder"), second.text
    sixth = engine.ask("and #6?", previous=engine.ask("Top 5").question)
    assert sixth.text.startswith("Luxembourg was the 6th-largest foreign holder"), sixth.text
    still = engine.ask("is it still second?", previous=engine.ask("How much does China hold?").question)
    assert still.text.startswith("No. Mainland China ranked 3rd"), still.text


def test_the_shortest_follow_ups_keep_the_holder_and_the_month(engine):
    turns = [
        ("canada holdings", "Canada held $397.1 billion"),
        ("peak?", "Of the month-ends from January 2026 to April 2026, Canada's holdings were highest"),
        ("mom?", "Canada's holdings fell by $42.3 billion (9.6%), from $439.4 billion at the end of March 2026"),
        ("rank?", "Canada ranked 7th of the 8 holders listed"),
    ]
    previous = None
    for question, start in turns:
        answer = engine.ask(question, previous=previous)
        assert answer.text.startswith(start), (question, answer.text)
        previous = answer.question
    january = engine.ask("japan at the end of jan 2026")
    same = engine.ask("uk same month?", previous=january.question)
    assert same.text.startswith("The United Kingdom held $879.7 billion of U.S. Treasury securities at the end of "
                                "January 2026"), same.text
    exactly = engine.ask("how much exactly", previous=engine.ask("who holds the most?").question)
    assert exactly.text.startswith("Japan held $1,209.9 billion"), exactly.text


def test_a_holder_named_after_a_why_is_asked_what_the_tables_were_asked_before_it(engine):
    first = engine.ask("How much did Canada sell in April 2026?")
    why = engine.ask("why?", previous=first.question)
    japan = engine.ask("and Japan?", previous=why.question)
    assert japan.text.startswith("Japan's holdings rose by $18.3 billion"), japan.text


def test_follow_up_after_an_article_answer(engine):
    first = engine.ask("What did finance minister Mori say about the intervention?")
    assert cited_refs(first) == {"japan-yen.txt"}
    second = engine.ask("why?", previous=first.question)
    assert not second.refused and "speculators" in second.text


def test_table_answers_read_as_a_person_writes(engine):
    china = engine.ask("What were China's holdings in March 2026?")
    assert china.text.startswith("Mainland China held $652.3 billion")
    total = engine.ask("How did total foreign holdings change in April 2026?")
    assert total.text.startswith("Total foreign holdings rose by $3.9 billion")


@pytest.fixture
def fake_llm():
    fake = FakeLLM().start()
    yield fake
    fake.stop()


def test_llm_reply_that_invents_a_figure_falls_back_to_the_composed_answer(engine, fake_llm):
    from retrieval.llm import llm_from_settings

    question = "Why did Lumen Bank cut its Treasuries?"
    composed = engine.ask(question)
    settings = RetrievalSettings(data_dir=engine.kb.settings.data_dir, llm="openai:fake-model",
                                 llm_base_url=fake_llm.base_url, llm_timeout=5.0, _env_file=None)
    phrased = AnswerEngine(engine.kb, llm=llm_from_settings(settings))

    fake_llm.reply = lambda messages: "Lumen Bank sold $7.9 billion of notes because of the franc [1]."
    invented = phrased.ask(question)
    assert invented.text == composed.text  # $7.9 billion is in no source

    fake_llm.reply = lambda messages: "Lumen Bank sold $2.4 billion of notes, expecting the franc to rise [1]."
    grounded = phrased.ask(question)
    assert grounded.text == "Lumen Bank sold $2.4 billion of notes, expecting the franc to rise [1]."
    assert cited_refs(grounded) == {"lumen-bank.txt"}


def test_llm_figure_in_another_unit_counts_as_grounded(engine, fake_llm):
    from retrieval.llm import llm_from_settings

    settings = RetrievalSettings(data_dir=engine.kb.settings.data_dir, llm="openai:fake-model",
                                 llm_base_url=fake_llm.base_url, llm_timeout=5.0, _env_file=None)
    phrased = AnswerEngine(engine.kb, llm=llm_from_settings(settings))
    fake_llm.reply = lambda messages: "Japan spent a record 9.8 trillion yen on intervention in January [1]."
    answer = phrased.ask("What record did the finance ministry set with its currency intervention?")
    assert answer.text.startswith("Japan spent a record 9.8 trillion yen")


def test_sources_show_prints_the_body_and_the_boilerplate_removed(engine, capsys):
    from bot.cli import main

    doc_id = next(d["id"] for d in engine.kb.list_documents() if d.get("title", "").startswith("Lumen Bank"))
    assert main(["sources", "--show", doc_id, "--data-dir", str(engine.kb.settings.data_dir)]) == 0
    out = capsys.readouterr().out
    body, removed = out.split("boilerplate removed")
    assert "Lumen Bank, a Swiss private bank, cut its holdings" in body
    assert "2 min read" not in body and "Share this article" not in body
    for chrome in ("2 min read", "Share this article", "By Ada Morrow", "Subscribe to our newsletter", "examplewire.logo"):
        assert f"- {chrome}" in removed
