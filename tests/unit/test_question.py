"""retrieval.question: chat questions -> Question fields.

Each case pins every field (unnamed fields must be empty/None/False, about_holdings defaults
to True), so a change in one rule shows up wherever it matters. The decisions behind the
ambiguous cases are listed in the module docstring of retrieval/question.py.
"""

from __future__ import annotations

import datetime
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from retrieval.answer.understanding import Question, parse_question

# What the shipped tables hold: mfhhis01 from 2000-03, Table 5 up to 2026-04.
AVAILABLE = [f"{y}-{m:02d}" for y in range(2000, 2027) for m in range(1, 13) if "2000-03" <= f"{y}-{m:02d}" <= "2026-04"]
TODAY = datetime.date(2026, 6, 20)  # two months of publication lag after the latest table

CN, UK, KR = "China, Mainland", "United Kingdom", "Korea, South"
GT, FO = "Grand Total", "Foreign Official"
FO_BILLS, FO_BONDS = "Foreign Official Treasury Bills", "Foreign Official T-Bonds & Notes"

EMPTY = dict(
    countries=[], aggregate=None, months=[], month_range=None, latest=False,
    intent=None, rank=None, top_n=None, direction=None, threshold=None, about_holdings=True, share=False,
    longest=False,
)


def fields(q: Question) -> dict:
    return {name: getattr(q, name) for name in EMPTY}


def expect(**given) -> dict:
    unknown = set(given) - set(EMPTY)
    assert not unknown, unknown
    return {**EMPTY, **given}


CASES: list[tuple[str, dict]] = [
    # ---- countries and aliases
    ("How much does Japan hold?", expect(countries=["Japan"], intent="value")),
    ("how much US debt does china own", expect(countries=[CN], intent="value")),
    ("What are Britain's Treasury holdings?", expect(countries=[UK], intent="value")),
    ("UK holdings in Feb 2025", expect(countries=[UK], months=["2025-02"], intent="value")),
    ("How many Treasurys do the Chinese hold now?", expect(countries=[CN], latest=True, intent="value")),
    ("mainland China UST holdings for Jan 2026?", expect(countries=[CN], months=["2026-01"], intent="value")),
    ("South Korea's Treasury holdings in Oct 2025?", expect(countries=[KR], months=["2025-10"], intent="value")),
    ("What do the Saudis hold in U.S. Treasuries as of 2025-12?",
     expect(countries=["Saudi Arabia"], months=["2025-12"], intent="value")),
    ("how much does hk hold?", expect(countries=["Hong Kong"], intent="value")),
    ("japans holdings feb 2025", expect(countries=["Japan"], months=["2025-02"], intent="value")),
    ("Treasury holdings of the UAE, 02/2025",
     expect(countries=["United Arab Emirates"], months=["2025-02"], intent="value")),
    ("HOW MUCH DOES JAPAN HOLD IN MARCH 2025???", expect(countries=["Japan"], months=["2025-03"], intent="value")),
    ("Belgium and Luxembourg holdings in April 2026",
     expect(countries=["Belgium", "Luxembourg"], months=["2026-04"], intent="compare")),
    # ---- months
    ("Japan's holdings at end-Feb 2025?", expect(countries=["Japan"], months=["2025-02"], intent="value")),
    ("Japan holdings Feb. 2025", expect(countries=["Japan"], months=["2025-02"], intent="value")),
    ("Japan, February 28, 2025: how much did it hold?", expect(countries=["Japan"], months=["2025-02"], intent="value")),
    ("Japan's holdings on 2/28/2025", expect(countries=["Japan"], months=["2025-02"], intent="value")),
    ("what did Britain hold in treasuries at the end of 2025", expect(countries=[UK], months=["2025-12"], intent="value")),
    ("UK holdings at the end of last year", expect(countries=[UK], months=["2025-12"], intent="value")),
    ("Cayman Islands holdings at the end of Q1 2025",
     expect(countries=["Cayman Islands"], months=["2025-03"], intent="value")),
    ("Japan's Treasury holdings in the first quarter", expect(countries=["Japan"], months=["2026-03"], intent="value")),
    ("Japan's holdings in 3Q25", expect(countries=["Japan"], months=["2025-09"], intent="value")),
    # a bare month is the most recent one the tables (latest 2026-04) can hold
    ("China's holdings in March", expect(countries=[CN], months=["2026-03"], intent="value")),
    ("China's holdings in May?", expect(countries=[CN], months=["2025-05"], intent="value")),
    ("Japan's holdings as of late February", expect(countries=["Japan"], months=["2026-02"], intent="value")),
    ("Japan's holdings in early March 2025", expect(countries=["Japan"], months=["2025-03"], intent="value")),
    ("Japan's holdings in mid-2025", expect(countries=["Japan"], months=["2025-06"], intent="value")),
    ("Japan held 1.13 trillion as of late February, what about end-May that year?",
     expect(countries=["Japan"], months=["2026-02", "2026-05"], intent="value")),
    # a month the tables do not hold is kept, not clamped
    ("What will China's Treasury holdings be at the end of 2027?", expect(countries=[CN], months=["2027-12"], intent="value")),
    ("What were Japan's Treasury holdings in 1995?",
     expect(countries=["Japan"], month_range=("1995-01", "1995-12"), intent="series")),
    # money is not a year
    ("Did Japan hold more than $1,125.9 billion in 2025?",
     expect(countries=["Japan"], month_range=("2025-01", "2025-12"), intent="series", threshold=(">", 1125.9))),
    ("Is China's stockpile below 2 trillion dollars?", expect(countries=[CN], intent="value", threshold=("<", 2000.0))),
    ("Japan holds $2025 billion?", expect(countries=["Japan"], intent="value")),
    # ---- periods
    ("How much did Japan hold in 2024?", expect(countries=["Japan"], month_range=("2024-01", "2024-12"), intent="series")),
    ("How much did Japan hold last year?", expect(countries=["Japan"], month_range=("2025-01", "2025-12"), intent="series")),
    ("How have Japan's holdings changed since January?",
     expect(countries=["Japan"], month_range=("2026-01", "2026-04"), intent="change")),
    ("Canada's holdings from March to June 2025",
     expect(countries=["Canada"], month_range=("2025-03", "2025-06"), intent="series")),
    ("How much did Canada's holdings move between March and April 2026?",
     expect(countries=["Canada"], month_range=("2026-03", "2026-04"), intent="change")),
    ("China's holdings from 2024 to 2025", expect(countries=[CN], month_range=("2024-01", "2025-12"), intent="series")),
    ("UK holdings 2024-25", expect(countries=[UK], month_range=("2024-01", "2025-12"), intent="series")),
    ("How did China's holdings change over the past 12 months?",
     expect(countries=[CN], month_range=("2025-04", "2026-04"), intent="change")),
    ("Japan's holdings over the past year", expect(countries=["Japan"], month_range=("2025-04", "2026-04"), intent="series")),
    ("Japan's holdings between November and February 2025",
     expect(countries=["Japan"], month_range=("2024-11", "2025-02"), intent="series")),
    ("Japan's holdings this year", expect(countries=["Japan"], month_range=("2026-01", "2026-04"), intent="series")),
    ("Japan's holdings in the first half of 2025",
     expect(countries=["Japan"], month_range=("2025-01", "2025-06"), intent="series")),
    ("In 2025, how did Japan's holdings change between March and June?",
     expect(countries=["Japan"], month_range=("2025-03", "2025-06"), intent="change")),
    ("Japan's holdings from January 2025 to now",
     expect(countries=["Japan"], month_range=("2025-01", "2026-04"), intent="series")),
    # ---- latest
    ("What's the latest figure for Japan?", expect(countries=["Japan"], latest=True, intent="value")),
    ("How much does China hold currently?", expect(countries=[CN], latest=True, intent="value")),
    ("Japan's holdings last month", expect(countries=["Japan"], latest=True, intent="value")),
    ("total foreign holdings of Treasuries in the most recent month?", expect(aggregate=GT, latest=True, intent="value")),
    ("Now, how much did Japan hold in March 2025?", expect(countries=["Japan"], months=["2025-03"], intent="value")),
    # ---- rankings and top N
    ("Who holds the most Treasurys?", expect(intent="top", rank=1)),
    ("who's the single biggest foreign holder of USTs in the latest data, and how much?",
     expect(latest=True, intent="top", rank=1)),
    ("Give me the top five foreign holders as of April 2026", expect(months=["2026-04"], intent="top", top_n=5)),
    ("top 10 holders of US debt", expect(intent="top", top_n=10)),
    ("What are the five biggest holders of Treasuries?", expect(intent="top", top_n=5)),
    ("Who are the biggest holders of US Treasuries?", expect(intent="top")),
    ("Which country is the second-largest holder of Treasurys?", expect(intent="rank", rank=2)),
    ("Which country was the #2 foreign holder of Treasurys in March 2025?",
     expect(months=["2025-03"], intent="rank", rank=2)),
    ("who's the number three holder?", expect(intent="rank", rank=3)),
    ("Where does the UK rank among foreign holders?", expect(countries=[UK], intent="rank")),
    ("Is Japan still the largest holder?", expect(countries=["Japan"], intent="rank", rank=1)),
    ("Is China still the No. 2 holder of Treasuries?", expect(countries=[CN], intent="rank", rank=2)),
    ("Is Saudi Arabia in the top 10?", expect(countries=["Saudi Arabia"], intent="rank", top_n=10)),
    ("Who was the third-biggest holder in Q4 2024?", expect(months=["2024-12"], intent="rank", rank=3)),
    # ---- changes
    ("How much did Japan's holdings rise in March 2025?",
     expect(countries=["Japan"], months=["2025-03"], intent="change", direction="rise")),
    ("Did China sell Treasurys in April 2025?", expect(countries=[CN], months=["2025-04"], intent="change", direction="fall")),
    ("By how much did the UK's holdings fall between February and March 2025?",
     expect(countries=[UK], month_range=("2025-02", "2025-03"), intent="change", direction="fall")),
    ("How did Canada's holdings change in April 2025?", expect(countries=["Canada"], months=["2025-04"], intent="change")),
    ("Did total foreign holdings go up or down in April 2025?", expect(aggregate=GT, months=["2025-04"], intent="change")),
    ("Which country sold the most Treasurys in April 2025?",
     expect(months=["2025-04"], intent="change", rank=1, direction="fall")),
    ("How much did Japan's holdings change from a year earlier in February 2025?",
     expect(countries=["Japan"], months=["2025-02"], month_range=("2024-02", "2025-02"), intent="change")),
    ("what's Japan's year-over-year change in holdings?",
     expect(countries=["Japan"], month_range=("2025-04", "2026-04"), intent="change")),
    ("how much did China shed between end-2024 and end-2025?",
     expect(countries=[CN], month_range=("2024-12", "2025-12"), intent="change", direction="fall")),
    ("How much did Canada hold in January 2026, and why does its Treasury line swing so much?",
     expect(countries=["Canada"], months=["2026-01"], intent="value")),
    ("China's holdings hit their lowest since 2008 in April 2026 - what was the figure?",
     expect(countries=[CN], months=["2026-04"], month_range=("2008-01", "2026-04"), intent="min")),
    ("Canada got hit with 25% tariffs in March 2025 - what did its Treasury holdings do the next month?",
     expect(countries=["Canada"], months=["2025-03", "2025-04"], intent="change")),
    ("Has China been dumping Treasurys since 2024?",
     expect(countries=[CN], month_range=("2024-01", "2026-04"), intent="change", direction="fall")),
    ("Which country had the biggest drop in April 2025?",
     expect(months=["2025-04"], intent="change", rank=1, direction="fall")),
    ("Which countries cut their holdings the most in 2025?",
     expect(month_range=("2025-01", "2025-12"), intent="top", rank=1, direction="fall")),
    ("Top 5 sellers of Treasurys in 2025", expect(month_range=("2025-01", "2025-12"), intent="top", top_n=5, direction="fall")),
    ("chinas treasury holdings", expect(countries=[CN], intent="value")),
    ("the Emirates treasury holdings", expect(countries=["United Arab Emirates"], intent="value")),
    ("What's the outlook for Chinese demand for Treasuries?", expect(countries=[CN])),  # a forecast, no figure
    # ---- a line the holdings must pass; a bare number is a year, not an amount
    ("Which countries hold more than $300 billion?", expect(intent="top", threshold=(">", 300.0))),
    ("how many countries hold over 1 trillion", expect(intent="top", threshold=(">", 1000.0))),
    ("which holders are under 100bn", expect(intent="top", threshold=("<", 100.0))),
    ("What did China hold over 2025?", expect(countries=[CN], month_range=("2025-01", "2025-12"), intent="series")),
    # ---- a place or an extreme with no holdings word
    ("Who is third?", expect(intent="rank", rank=3)),
    ("What was China's peak?", expect(countries=[CN], intent="max")),
    # ---- comparisons
    ("Who holds more, China or the UK?", expect(countries=[CN, UK], intent="compare")),
    ("Does the UK hold more Treasurys than China these days?", expect(countries=[UK, CN], latest=True, intent="compare")),
    ("Japan vs China holdings in 2025", expect(countries=["Japan", CN], month_range=("2025-01", "2025-12"), intent="compare")),
    ("Taiwan vs Hong Kong - which one holds more USTs as of April 2026?",
     expect(countries=["Taiwan", "Hong Kong"], months=["2026-04"], intent="compare")),
    ("Did Britain overtake China as a holder in March 2025?", expect(countries=[UK, CN], months=["2025-03"], intent="compare")),
    ("in which month of 2025 did Britain overtake China for the no. 2 spot?",
     expect(countries=[UK, CN], month_range=("2025-01", "2025-12"), intent="compare", rank=2)),
    ("Did Japan hold more in March than in February?",
     expect(countries=["Japan"], months=["2026-03", "2026-02"], intent="compare")),
    ("Which country overtook China in 2025?", expect(countries=[CN], month_range=("2025-01", "2025-12"), intent="rank")),
    ("How much do Japan and China hold?", expect(countries=["Japan", CN], intent="compare")),
    ("Compare Japan's holdings in January 2025 and January 2026",
     expect(countries=["Japan"], months=["2025-01", "2026-01"], intent="compare")),
    ("Japan vs China in March and June 2025",
     expect(countries=["Japan", CN], months=["2025-03", "2025-06"], intent="compare")),
    ("Is Britain bigger than China?", expect(countries=[UK, CN], intent="compare")),
    ("How does China compare with Japan?", expect(countries=[CN, "Japan"], intent="compare")),
    ("Compare total holdings in 2024 vs 2025",
     expect(aggregate=GT, month_range=("2024-01", "2025-12"), intent="compare")),
    ("uk vs. china holdings, q1 2025", expect(countries=[UK, CN], months=["2025-03"], intent="compare")),
    # ---- totals and foreign official
    ("What are total foreign holdings of Treasuries?", expect(aggregate=GT, intent="value")),
    ("How much do foreigners hold in total?", expect(aggregate=GT, intent="value")),
    ("grand total of foreign-held Treasurys at the end of 2024?", expect(aggregate=GT, months=["2024-12"], intent="value")),
    ("How much do foreign central banks hold?", expect(aggregate=FO, intent="value")),
    ("how much are foreign central banks and other official holders sitting on right now?",
     expect(aggregate=FO, latest=True, intent="value")),
    ("foreign official holdings, March 2025?", expect(aggregate=FO, months=["2025-03"], intent="value")),
    ("How many Treasury bills do foreign official holders have?", expect(aggregate=FO_BILLS, intent="value")),
    ("foreign official holdings of bonds and notes in 2025",
     expect(aggregate=FO_BONDS, month_range=("2025-01", "2025-12"), intent="series")),
    ("What's the record high for total foreign holdings of Treasurys, and which month was it?",
     expect(aggregate=GT, intent="max")),
    ("Who are the biggest foreign holders?", expect(intent="top")),
    ("What share of total foreign holdings does Japan have?",
     expect(countries=["Japan"], aggregate=GT, intent="value", share=True)),
    ("what's the total now?", expect(aggregate=GT, latest=True, intent="value")),
    ("How much do all other countries hold?", expect(aggregate="All Other", intent="value")),
    # ---- peaks and lows
    ("What's the most China has ever held in Treasurys, and when was that?", expect(countries=[CN], intent="max")),
    ("When did Japan's holdings peak?", expect(countries=["Japan"], intent="max")),
    ("When did Japan's holdings top out in 2025, and at what level?",
     expect(countries=["Japan"], month_range=("2025-01", "2025-12"), intent="max")),
    ("What was China's lowest level of holdings since 2010?",
     expect(countries=[CN], month_range=("2010-01", "2026-04"), intent="min")),
    ("How far have China's holdings fallen from their all-time peak, and what's behind the decline?",
     expect(countries=[CN], intent="max", direction="fall")),
    # ---- series
    ("Show me the trend in China's holdings over 2024", expect(countries=[CN], month_range=("2024-01", "2024-12"), intent="series")),
    ("Chart Japan's holdings since 2020", expect(countries=["Japan"], month_range=("2020-01", "2026-04"), intent="series")),
    ("Japan's monthly holdings history", expect(countries=["Japan"], intent="series")),
    # ---- runs of months one way
    ("how many months in a row did China decline", expect(countries=[CN], intent="streak", direction="fall")),
    ("longest buying streak for Japan", expect(countries=["Japan"], intent="streak", direction="rise", longest=True)),
    ("China sold for a sixth straight month in January 2025, why?",
     expect(countries=[CN], months=["2025-01"], intent="streak", direction="fall")),
    # ---- not table questions
    ("What did Japan's finance minister say about using Treasurys as a card?", expect(countries=["Japan"])),
    ("What did Kato say about tariffs?", expect(about_holdings=False)),
    ("Why did China's holdings fall?", expect(countries=[CN], direction="fall")),
    ("Could Japan use its Treasury holdings as leverage?", expect(countries=["Japan"])),
    ("Did Kato actually threaten to dump Japan's Treasurys?", expect(countries=["Japan"], direction="fall")),
    ("What's the 10-year Treasury yield today?", expect(latest=True, about_holdings=False)),
    ("Who counts as 'foreign official' in the TIC data?", expect(aggregate=FO)),
    ("How much gold does China's central bank hold?", expect(countries=[CN], about_holdings=False)),
    ("What tariffs did Washington slap on Canada in March 2025?",
     expect(countries=["Canada"], months=["2025-03"], about_holdings=False)),
    ("How does Treasury's annual survey affect the monthly holdings figures?", expect()),
    ("hello!", expect(about_holdings=False)),
    ("", expect(about_holdings=False)),
    # "may" the verb is not May
    ("China may sell its Treasurys", expect(countries=[CN], direction="fall")),
    ("China's holdings in May 2025 and June", expect(countries=[CN], months=["2025-05", "2025-06"], intent="value")),
]


@pytest.mark.parametrize("text, expected", CASES, ids=[c[0][:60] for c in CASES])
def test_parse_question(text, expected):
    q = parse_question(text, AVAILABLE, today=TODAY)
    assert q.text == text
    assert fields(q) == expected


def test_bare_month_uses_today_without_tables():
    # No tables: the most recent March at or before today (2026-02-10 -> March 2025).
    q = parse_question("China's holdings in March", today=datetime.date(2026, 2, 10))
    assert q.months == ["2025-03"]
    q = parse_question("Japan's holdings since January", today=datetime.date(2026, 2, 10))
    assert q.month_range == ("2026-01", "2026-02")


def test_available_months_order_does_not_matter():
    shuffled = list(reversed(AVAILABLE))
    assert parse_question("Japan's holdings last year", shuffled).month_range == ("2025-01", "2025-12")


# ---- follow-ups

def ctx(previous: str, current: str) -> Question:
    prev = parse_question(previous, AVAILABLE, today=TODAY)
    return parse_question(current, AVAILABLE, today=TODAY).with_context(prev)


FOLLOW_UPS: list[tuple[str, str, dict]] = [
    ("How much did Japan hold in March 2025?", "and in April?",
     expect(countries=["Japan"], months=["2025-04"], intent="value")),
    ("How much did Japan hold in March 2025?", "What about the UK?",
     expect(countries=[UK], months=["2025-03"], intent="value")),
    ("How much did Japan hold in March 2025?", "How did it change?",
     expect(countries=["Japan"], months=["2025-03"], intent="change")),
    ("Top five holders in March 2025", "and in April 2025?",
     expect(months=["2025-04"], intent="top", top_n=5)),
    ("Top five holders in March 2025", "What about the UK?",
     expect(countries=[UK], months=["2025-03"], intent="rank", top_n=5)),
    ("How did China's holdings change in 2024?", "And Japan?",
     expect(countries=["Japan"], month_range=("2024-01", "2024-12"), intent="change")),
    ("Japan vs China holdings in March 2025", "and now?",
     expect(countries=["Japan", CN], latest=True, intent="compare")),
    ("How much did Japan's holdings fall in 2025?", "and the UK's in March?",
     expect(countries=[UK], months=["2025-03"], intent="change", direction="fall")),
    ("Japan's holdings over 2024", "what about in March 2025?",
     expect(countries=["Japan"], months=["2025-03"], intent="value")),
    ("foreign official holdings, March 2025?", "and total?",
     expect(aggregate=GT, months=["2025-03"], intent="value")),
    # what is asked of the figure stays asked: a share, the longest run
    ("China's share of foreign holdings in Jan 2025 and Jan 2026", "and Japan?",
     expect(countries=["Japan"], months=["2025-01", "2026-01"], intent="value", share=True)),
    ("longest selling streak for China", "and Japan?",
     expect(countries=["Japan"], intent="streak", direction="fall", longest=True)),
    # a question that stands on its own keeps its own fields
    ("How much does Japan hold?", "Who holds the most?", expect(intent="top", rank=1)),
    ("How much did Japan hold in March 2025?", "What did Kato say about tariffs?", expect(about_holdings=False)),
    ("How much did Japan hold in March 2025?", "How much did China hold in 2024?",
     expect(countries=[CN], month_range=("2024-01", "2024-12"), intent="series")),
]


@pytest.mark.parametrize("previous, current, expected", FOLLOW_UPS, ids=[f"{p[:30]} > {c[:30]}" for p, c, _ in FOLLOW_UPS])
def test_with_context(previous, current, expected):
    q = ctx(previous, current)
    assert q.text == current
    assert fields(q) == expected


def test_with_context_returns_a_new_question():
    prev = parse_question("How much did Japan hold in March 2025?", AVAILABLE)
    cur = parse_question("and the UK?", AVAILABLE)
    before = fields(cur)
    merged = cur.with_context(prev)
    assert merged is not cur and fields(cur) == before
    merged.countries.append("X")
    assert prev.countries == ["Japan"] and cur.countries == [UK]
    assert cur.with_context(None) == cur


def test_import_is_light():
    # The bot parses questions before anything heavy loads: no torch, chromadb, langchain.
    code = (
        "import sys, retrieval.answer.understanding as q; "
        "bad = [m for m in ('torch', 'chromadb', 'langchain_core', 'sentence_transformers', 'discord', 'pydantic') if m in sys.modules]; "
        "print(','.join(bad))"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


# ---- fuzzing: any text, never an exception, always well-formed fields

VOCAB = [
    "Japan", "china", "UK", "Britain's", "mainland China", "South Korea", "Belgium and Luxembourg",
    "total", "foreign official", "bills", "central banks", "holdings", "Treasurys", "how much",
    "top", "five", "10", "second-largest", "No. 2", "#3", "rank", "most", "least", "peak", "record",
    "rise", "fell", "sold", "up or down", "vs", "or", "than", "compare", "since", "from", "to",
    "between", "and", "in", "March", "may", "Feb.", "2025", "1995", "2035", "2024-25", "2025-02",
    "02/2025", "2/28/2025", "Q1", "1Q25", "first quarter", "end of", "end-2024", "late", "mid-",
    "last year", "past 12 months", "this year", "a year earlier", "year-over-year", "next month",
    "3 months ago", "now", "latest", "$1,125.9 billion", "2 trillion", "?", ",", "-", "'", "that year",
    "why", "say", "could", "tariffs", "history", "what about", "it",
]


def _months_ok(q: Question) -> None:
    for m in q.months + list(q.month_range or ()):
        assert len(m) == 7 and m[4] == "-" and 1 <= int(m[5:]) <= 12, m
    if q.month_range:
        assert q.month_range[0] <= q.month_range[1]
    assert q.intent in (None, "top", "rank", "value", "change", "compare", "series", "max", "min")
    assert q.direction in (None, "rise", "fall")
    assert all(isinstance(c, str) for c in q.countries)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_never_raises_on_any_text(text):
    q = parse_question(text)
    _months_ok(q)
    assert q.text == text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sampled_from(VOCAB), max_size=14),
    st.lists(st.sampled_from(VOCAB), max_size=8),
    st.one_of(st.none(), st.lists(st.sampled_from(AVAILABLE + ["garbage", "2025-13", ""]), max_size=5)),
    st.dates(min_value=datetime.date(2000, 1, 1), max_value=datetime.date(2030, 12, 31)),
)
def test_never_raises_on_question_like_text(words, follow_words, available, today):
    q = parse_question(" ".join(words), available, today=today)
    _months_ok(q)
    follow = parse_question(" ".join(follow_words), available, today=today).with_context(q)
    _months_ok(follow)
