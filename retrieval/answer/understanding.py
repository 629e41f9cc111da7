"""Understanding a chat question about foreign holdings of U.S. Treasurys.

`parse_question` turns free text ("how much did China shed between end-2024 and end-2025?")
into a `Question`: which countries or aggregate series, which months or period, and what kind
of table answer is wanted (a value, a change, a ranking, ...). It is rule based and stdlib
only so that it imports in milliseconds (the bot calls it before anything heavy loads).

Decisions on ambiguous phrasings (tests/unit/test_question.py pins each of them):
- Months are end-of-month stocks, so a quarter means its last month ("Q1 2025" -> 2025-03),
  "end of 2024"/"late 2024" -> 2024-12, "start of 2025"/"early 2025" -> 2025-01, "mid-2025"
  -> 2025-06, "late February" -> February.
- A month without a year is the most recent such month at or before the reference month (the
  newest available month, else today's month). "last month"/"this month"/"now" set `latest`.
- `months` holds point references; the two ends of a period ("between March and June 2025",
  "since January") go to `month_range` only. Several periods collapse into the one range that
  covers them all.
- "past year"/"past 12 months"/"the last year" are trailing: (latest - 12 months, latest), so
  a change over them is a 12-month change. "last year" (no "the") is the calendar year before
  the latest. "this year"/"year to date" run from January of the latest year to the latest.
- "a year earlier"/"year-over-year" (and "from the previous month") add a range ending at the
  month asked about (or the latest); that month stays in `months`.
- Years are 2000-2030 when bare. A year written as a date ("March 1995", "in 1995",
  "end of 2035") is kept whatever its value, so the answer engine can say the tables do not
  hold it instead of silently answering for the latest month.
- Who/which-country questions with a superlative ("who holds the most") are `top` with
  rank 1; ordinals ("second-largest", "No. 2") are `rank`; a named country with a superlative
  or a ranking word ("is Japan still the biggest holder?") is `rank`. "Top five" with a named
  country ("is Saudi Arabia in the top 10?") is `rank` with `top_n`.
- Superlatives about changes ("who sold the most in March") are `change` with rank 1; "top 5
  sellers" is `top` with a direction, meaning rank by change.
- "peak"/"record"/"all-time"/"... ever" win over change words: "how far have China's holdings
  fallen from their peak" is `max` with direction "fall".
- Questions about what someone said, what a term means, why something happened, what may
  happen, or news topics (tariffs, leverage) get intent None unless they also ask for a figure
  ("how much", a month, "top 5"...). `about_holdings` can still be True: "What did Japan's
  finance minister say about using Treasurys as a card?" is about holdings, intent None.
- `about_holdings` needs a holdings word (holdings, holders, owns, USTs, Treasurys, debt...)
  that is not about yields, rates or gold; or a country/aggregate with a figure word ("how
  much", "$", "billion"), a ranking or a rise/fall; or two countries head to head ("Japan vs
  China in March"). A bare "Japan 2025-02" is not enough. Intent "value" with no country and
  no aggregate ("How many Treasurys does Argentina hold?") means a holder the tables do not
  name: the answer engine should say so, not answer for a total.
- Follow-ups (`with_context`): a question inherits only when it reads as one ("and ...",
  "what about ...", "it", "their", or a fragment naming only a subject or a time). It takes
  the previous subject when it names none (except `top`), the previous period when it names
  none, and the previous intent when it has none of its own; a yearless month stays in the
  year under discussion ("March 2025? ... and in April?" -> 2025-04). "Top five? ... What
  about the UK?" becomes `rank` for the UK.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from dataclasses import dataclass, field
from enum import StrEnum

from retrieval import countries as _countries
from retrieval.calendar import MONTH_FORMS, YEAR_PATTERN, format_month, most_recent, parse_month, read_month, shift

__all__ = [
    "COMBINED",
    "OVERTAKE",
    "Intent",
    "Question",
    "asks_story",
    "cue_words",
    "is_period",
    "normalized",
    "parse_question",
]

YM = tuple[int, int]  # (year, month)
FRAGMENT_WORDS = 3  # a follow-up this short names no subject of its own
_MAX_CHARS = 4000

_GRAND_TOTAL = _countries.GRAND_TOTAL
_OFFICIAL = _countries.FOREIGN_OFFICIAL
_OFFICIAL_BILLS = _countries.FOREIGN_OFFICIAL_BILLS
_OFFICIAL_BONDS = _countries.FOREIGN_OFFICIAL_BONDS
_OFFICIAL_FAMILY = (_OFFICIAL, _OFFICIAL_BILLS, _OFFICIAL_BONDS)
_BELGIUM_LUXEMBOURG = _countries.BELGIUM_LUXEMBOURG


class Intent(StrEnum):
    """What a holdings question asks of the tables."""

    VALUE = "value"  # a holder's figure in a month
    CHANGE = "change"  # how it moved between months
    TOP = "top"  # the largest holders
    RANK = "rank"  # where a holder stands
    COMPARE = "compare"  # two holders, or one at two times
    MAX = "max"  # its highest month
    MIN = "min"  # its lowest month
    SERIES = "series"  # its month-by-month history
    STREAK = "streak"  # how many months in a row it moved one way


@dataclass
class Question:
    text: str
    countries: list[str] = field(default_factory=list)
    aggregate: str | None = None
    months: list[str] = field(default_factory=list)
    month_range: tuple[str, str] | None = None
    latest: bool = False
    intent: Intent | None = None
    rank: int | None = None
    top_n: int | None = None
    direction: str | None = None
    threshold: tuple[str, float] | None = None  # (">" or "<", billions): "which countries hold over $300bn?"
    about_holdings: bool = False
    share: bool = False  # asks for the holder's share of all foreign holdings
    longest: bool = False  # of a streak: the longest run, not the last
    context: str = ""  # the question a follow-up follows ("why?" after "What did Mori say?")

    def with_context(self, previous: Question | None) -> Question:
        """Fill what a follow-up leaves out from the previous question.

        "and in March?" keeps the previous subject and intent; "what about the UK?" keeps the
        previous period and intent. A question that stands on its own comes back unchanged.
        """
        if previous is None or previous is self:
            return _copy(self)
        t = _normalize(self.text)
        cue = bool(_FOLLOW_UP.search(t))
        cur = self
        if not _SPEECH.search(t):
            # Read it again as a holdings question, without the fallback intent "value": in a
            # thread "and total?" or "how did it change?" are holdings questions even with no
            # holdings word, and "and the UK's holdings?" asks what the previous question asked.
            # The time fields stay ours (the probe knows no available months).
            probe = _parse(self.text, None, None, assume_about=previous.about_holdings, fallback=False)
            cur = dataclasses.replace(
                self,
                countries=probe.countries,
                aggregate=probe.aggregate,
                intent=probe.intent,
                rank=probe.rank,
                top_n=probe.top_n,
                direction=probe.direction,
                threshold=probe.threshold,
            )
        nontable = bool(_SPEECH.search(t)) or (
            cur.intent is None
            and bool(_WHY.search(t) or _TOPIC.search(t) or _SPECULATE.search(_POLITE.sub(" ", t)) or asks_story(t))
        )
        has_subject = bool(cur.countries) or cur.aggregate is not None
        has_time = bool(cur.months) or cur.month_range is not None or cur.latest
        # Follow-ups either say so ("and ...", "what about ...", "it", "their") or are fragments
        # that name only a subject or a time. A bare "How many Treasurys does Argentina hold?"
        # is not one: it must not inherit the previous country.
        # So are the shortest asks of the tables with no subject: "mom?", "rank?", "peak?".
        fragment = not has_subject and cur.intent is not None and len(t.split()) <= FRAGMENT_WORDS
        follow = cue or fragment or (cur.intent is None and not nontable and (has_subject or has_time))
        if not follow:
            return _copy(self)

        new = _copy(cur)
        new.context = previous.text
        # "and the second?" asks who is second, not where the last holder stands.
        if not has_subject and cur.intent != Intent.TOP and not _BARE_PLACE.search(t):
            new.countries = list(previous.countries)
            new.aggregate = previous.aggregate
        if not has_time:
            new.months = list(previous.months)
            new.month_range = previous.month_range
            new.latest = previous.latest
        elif cur.months and cur.month_range is None:
            # "How much in March 2025? ... and in April?": a month without a year stays in the
            # year the conversation is about.
            year = _context_year(previous)
            if year is not None:
                months = _yearless_months(t, year)
                if months is not None:
                    new.months = months
        bare_year = _BARE_YEAR.fullmatch(t)
        if bare_year and len(previous.months) == 1 and previous.month_range is None:
            # "Japan at the end of 2010? ... and 2015?": the same month of that year, asked the same way.
            new.months, new.month_range = [f"{bare_year.group(1)}-{previous.months[0][5:]}"], None
            cur = dataclasses.replace(cur, intent=None)
        if cur.intent == Intent.TOP and previous.countries and _RANK_WORD.search(t) and not _TOP_LIST.search(t):
            # "South Korea? ... rank?": where the holder just asked about stands.
            new.countries, new.aggregate, new.intent = list(previous.countries), previous.aggregate, Intent.RANK
        asked = previous
        if previous.intent is None and previous.context and not nontable:
            # "How much did China sell in March? ... why? ... and Japan?": what the tables were
            # last asked, before the "why?", is what the conversation asks of Japan.
            asked = dataclasses.replace(_parse(previous.context, None, None, fallback=False), threshold=None)
        if cur.intent is None and (nontable or asked.intent is None):
            new.intent, new.rank, new.top_n = self.intent, self.rank, self.top_n
        elif cur.intent is None and not nontable and asked.intent is not None:
            new.intent = asked.intent
            new.rank = cur.rank if cur.rank is not None else asked.rank
            new.top_n = cur.top_n if cur.top_n is not None else asked.top_n
            new.direction = cur.direction if cur.direction is not None else asked.direction
            new.share, new.longest = cur.share or asked.share, cur.longest or asked.longest
            if not has_subject:  # "What about foreign official holders?" asks no line of them
                new.threshold = cur.threshold or asked.threshold
            subject_swapped = has_subject and (
                cur.countries != previous.countries or cur.aggregate != previous.aggregate
            )
            entities = len(new.countries) + (1 if new.aggregate else 0)
            if new.intent == Intent.TOP and new.countries:
                # "Top five? ... What about the UK?": where the UK stands.
                new.intent, new.rank = Intent.RANK, None
            elif new.intent == Intent.TOP and new.aggregate and subject_swapped:
                new.intent = Intent.VALUE  # "... What about foreign official holders?": their figure
            elif new.intent == Intent.RANK and subject_swapped and not (previous.countries or previous.aggregate):
                new.rank = None  # "Who is second? ... and the UK?" asks the UK's place
            elif new.intent == Intent.COMPARE and entities < 2 and len(new.months) < 2:
                new.intent = Intent.VALUE
            if new.intent == Intent.SERIES and new.months and new.month_range is None:
                new.intent = Intent.VALUE
            elif new.intent == Intent.VALUE and new.month_range is not None and not new.months:
                new.intent = Intent.SERIES
        new.about_holdings = cur.about_holdings or previous.about_holdings
        return new


def _copy(q: Question) -> Question:
    return dataclasses.replace(q, countries=list(q.countries), months=list(q.months))


# --------------------------------------------------------------------------- text helpers

_TRANSLATE = str.maketrans(
    {
        "\u2019": "'",
        "\u2018": "'",
        "\u02bc": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u00a0": " ",
        "\u2009": " ",
    }
)


# How a chat spells what the rules read in full: "yoy chg rn", "a yr earlier", "hldgs".
_CHAT_SPELLINGS = {
    "rn": "right now",
    "yr": "year",
    "yrs": "years",
    "chg": "change",
    "hldgs": "holdings",
    "hldg": "holding",
}
_CHAT_SPELLING = re.compile(r"\b(" + "|".join(_CHAT_SPELLINGS) + r")\b")


def _normalize(text: str) -> str:
    t = text.translate(_TRANSLATE).lower()
    t = _CHAT_SPELLING.sub(lambda m: _CHAT_SPELLINGS[m.group(1)], t)
    t = re.sub(r"\bu\.\s?s\.(?:\s?a\.)?", "us ", t)  # "U.S." -> "us" so the dots don't end sentences
    t = re.sub(r"\bwhat(?:'s| is| was) behind\b", "why", t)  # asks a reason; no ranking ("behind Japan")
    return re.sub(r"\s+", " ", t).strip()


# countries.find_in_text only matches these in capitals ("china" could be porcelain), but a
# chat question typed in lower case means the country.
_CASE_FIX = {
    "china": "China",
    "uk": "UK",
    "hk": "HK",
    "prc": "PRC",
    "ksa": "KSA",
    "turkey": "Turkey",
    "chile": "Chile",
    "oman": "Oman",
}
_CASE_FIX_RE = re.compile(r"(?<![\w.])(" + "|".join(_CASE_FIX) + r")(?!\w)", re.IGNORECASE)

_NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
}
_ORDINAL_WORDS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "eleventh": 11,
    "twelfth": 12,
    "thirteenth": 13,
    "fourteenth": 14,
    "fifteenth": 15,
    "sixteenth": 16,
    "seventeenth": 17,
    "eighteenth": 18,
    "nineteenth": 19,
    "twentieth": 20,
}
_NUM = r"(?:\d{1,2}|" + "|".join(_NUMBER_WORDS) + r")"
_ORD = r"(?:\d{1,2}(?:st|nd|rd|th)|" + "|".join(_ORDINAL_WORDS) + r")"


def _num(word: str) -> int | None:
    word = word.strip().lower()
    if word.isdigit():
        return int(word)
    if word in _NUMBER_WORDS:
        return _NUMBER_WORDS[word]
    if word in _ORDINAL_WORDS:
        return _ORDINAL_WORDS[word]
    m = re.fullmatch(r"(\d{1,2})(?:st|nd|rd|th)", word)
    return int(m.group(1)) if m else None


# --------------------------------------------------------------------------- months

_MONTH_WORDS = MONTH_FORMS
_MONTH_ALT = "|".join(sorted(_MONTH_WORDS, key=len, reverse=True))
_YEAR = r"(?:20[0-2]\d|2030)"
_ANY_YEAR = YEAR_PATTERN  # accepted only where the text is unmistakably a date
# A number followed by a unit is money or a share, never a year ("2025 billion").
_NOT_MONEY = (
    r"(?!\d)(?![.,]\d)(?!\s*(?:billion|bn|trillion|tn|million|mn|%|percent|per cent|bps?|basis|dollars|usd)\b)(?!%)"
)


def _parse_ym(value: object) -> YM | None:
    month = read_month(value) if isinstance(value, str) else None
    return parse_month(month) if month else None


@dataclass
class _Span:
    start: int
    end: int
    kind: str  # month | year | range | latest | rel
    year: int | None = None
    month: int | None = None
    lo: YM | None = None
    hi: YM | None = None
    offset: int = 0  # rel: months relative to the anchor
    rel: str = ""  # rel: "from" (a range from anchor+offset to anchor) or "point"
    that_year: bool = False
    ago: bool = False
    text: str = ""


# Words that may sit between a time connector and the time itself ("since the end of March").
_QUALIFIERS = r"(?:the|late|early|mid|middle|end|start|beginning|close|of|in|at|around|about|month|year|-|,)"
_TAIL_QUALIFIERS = re.compile(rf"(?:(?:\b|(?<=-)){_QUALIFIERS}(?:\b|(?=\s))[\s,-]*)+$")


def _lead_word(t: str, pos: int) -> str:
    window = t[max(0, pos - 40) : pos]
    window = _TAIL_QUALIFIERS.sub("", window.rstrip())
    m = re.search(r"([a-z]+)[\s,.'\"()-]*$", window)  # a word right before, not across "2008"
    return m.group(1) if m else ""


# What may stand between two months of one list ("March and June 2025", "May vs February").
_LIST_GAPS = frozenset(
    {
        "and",
        "or",
        "vs",
        "vs.",
        "versus",
        "",
        "-",
        "to",
        "through",
        "thru",
        "until",
        "till",
        "compared with",
        "compared to",
        "against",
        "&",
    }
)


def _gap(t: str, a: _Span, b: _Span) -> str:
    gap = t[a.end : b.start]
    gap = re.sub(rf"\b{_QUALIFIERS}\b", " ", gap.replace(",", " "))
    gap = re.sub(r"\b(?:the|of|in|at|end|start|beginning)\b", " ", gap)
    return re.sub(r"\s+", " ", gap).strip()


_MAY_CONTEXT = {
    "in",
    "since",
    "from",
    "to",
    "through",
    "thru",
    "until",
    "till",
    "of",
    "end",
    "late",
    "early",
    "mid",
    "between",
    "and",
    "or",
    "by",
    "for",
    "during",
    "than",
    "vs",
    "versus",
    "about",
    "at",
    "last",
    "this",
    "as",
    "on",
    "before",
    "after",
    "start",
    "beginning",
    "over",
    "around",
    "with",
    "like",
}
_YEAR_CONTEXT = {
    "in",
    "since",
    "from",
    "during",
    "of",
    "before",
    "after",
    "until",
    "till",
    "through",
    "thru",
    "to",
    "between",
    "and",
    "or",
    "by",
    "for",
    "vs",
    "versus",
    "year",
    "end",
    "throughout",
}

_TIME_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    # 2/28/2025 (US order unless the first number cannot be a month)
    ("mdy", re.compile(rf"(?<![\d/.])(?P<a>\d{{1,2}})/(?P<b>\d{{1,2}})/(?P<y>{_ANY_YEAR})(?!\d)")),
    # 2025-02, 2025/02, 2025-02-28
    (
        "iso",
        re.compile(rf"(?<![\w$.,/-])(?P<y>{_ANY_YEAR})[-/.](?P<m>0[1-9]|1[0-2])(?:[-/.]\d{{1,2}})?(?![\d%])(?![.,]\d)"),
    ),
    # 02/2025, 2-2025
    ("my", re.compile(rf"(?<![\w$.,/-])(?P<m>0?[1-9]|1[0-2])[/-](?P<y>{_ANY_YEAR})(?!\d)")),
    # Q1 2025, 1Q25, Q1'25, 2025 Q1, first quarter (of 2025 | of this year)
    (
        "quarter",
        re.compile(
            rf"\b(?:q(?P<q1>[1-4])|(?P<q2>[1-4])q)(?:[\s-]*(?:of\s+)?(?P<y1>{_ANY_YEAR})(?!\d)|[-']?(?P<yy1>\d\d)(?!\d))?(?![a-z\d])"
            rf"|\b(?P<y2>{_ANY_YEAR})[\s-]*q(?P<q3>[1-4])\b"
            rf"|\b(?P<ord>first|second|third|fourth|final|1st|2nd|3rd|4th)[\s-]+quarter"
            rf"(?:\s+(?:of\s+)?(?:(?P<y4>{_ANY_YEAR})(?!\d)|(?P<rel>this|last|the\s+previous|the\s+same)\s+year))?"
        ),
    ),
    # first half of 2025, H1 2025
    (
        "half",
        re.compile(
            rf"\b(?:(?P<h>first|second|1st|2nd)[\s-]+half|h(?P<hn>[12]))"
            rf"(?:\s+(?:of\s+)?(?:(?P<y>{_ANY_YEAR})(?!\d)|(?P<rel>this|last)\s+year))?(?![a-z\d])"
        ),
    ),
    # end of 2024, end-2024, year-end 2024, 2024 year-end, start of the year, mid-2025, late 2024
    (
        "edge",
        re.compile(
            rf"\b(?:(?P<w>end|close|start|beginning|middle|mid|late|early)[\s-]+(?:of\s+)?(?:the\s+)?"
            rf"(?:(?P<y>{_ANY_YEAR}){_NOT_MONEY}|(?P<rel>this\s+year|last\s+year|the\s+year|year|previous\s+year|prior\s+year|that\s+year))"
            rf"|(?P<y2>{_ANY_YEAR})\s+year[\s-]*end\b"
            rf"|year[\s-]*end(?:\s+(?P<y3>{_ANY_YEAR})(?!\d))?)\b"
        ),
    ),
    # year-over-year / from a year earlier / from the previous month
    (
        "yoy",
        re.compile(
            r"\b(?:year[\s-]+(?:over|on)[\s-]+year|yoy|y/y|on the year|12[\s-]month change|annual change)\b"
            r"|\b(?:from|than|versus|vs\.?|compared (?:with|to)|against|over)\s+(?:a|one|the)\s+year\s+(?:earlier|before|prior|ago)\b"
            r"|\b(?:a|one)\s+year\s+(?:earlier|before|prior)\b"
            r"|\b(?:the\s+)?(?:same\s+(?:month|time)\s+(?:a\s+|last\s+)?year(?:\s+(?:earlier|before|ago))?)"
        ),
    ),
    (
        "mom",
        re.compile(
            r"\b(?:month[\s-]+(?:over|on)[\s-]+month|mom|m/m|on the month)\b"
            r"|\b(?:from|than|versus|vs\.?|compared (?:with|to)|against|over)\s+(?:the\s+)?(?:previous|prior|preceding)\s+month\b"
            r"|\b(?:from|than|versus|vs\.?|compared (?:with|to)|against|over)\s+(?:a|one|the)\s+month\s+(?:earlier|before|prior|ago)\b"
        ),
    ),
    (
        "next",
        re.compile(
            r"\b(?:the\s+)?(?:next|following|subsequent)\s+month\b|\b(?:a|one)\s+month\s+later\b"
            r"|\b(?:the\s+)?(?:previous|prior|preceding)\s+month\b|\bthe\s+month\s+(?:before|after|earlier)\b"
            r"|\b(?:a|one)\s+month\s+(?:earlier|before)\b"
        ),
    ),
    # past 12 months, last two years, over the past year, last year, last month, this year
    (
        "past",
        re.compile(
            rf"\b(?P<the>the\s+)?(?P<w>past|last|trailing|previous|prior)\s+"
            rf"(?:(?P<n>{_NUM}|few|couple(?:\s+of)?)\s+)?(?P<u>months?|years?|quarters?|decade)\b"
        ),
    ),
    (
        "ytd",
        re.compile(
            r"\b(?:so far )?this year\b|\byear[\s-]+to[\s-]+date\b|\bytd\b|\bso far in (?:the year|this year)\b"
        ),
    ),
    ("yearbefore", re.compile(r"\bthe year before last\b")),
    ("ago", re.compile(rf"\b(?P<n>{_NUM}|a|an)\s+(?P<u>months?|years?|quarters?)\s+ago\b")),
    ("decade", re.compile(r"(?<![\w$.,])(?P<y>(?:19|20)\d0)'?s\b")),
    # March, Mar., March 2025, March 28, 2025, Mar '25, Mar-25, March of that year
    (
        "month",
        re.compile(
            rf"(?<![a-z])(?P<mon>{_MONTH_ALT})(?![a-z])\.?"
            rf"(?:-(?P<yy2>\d\d)(?![\d/-])"
            rf"|(?:\s*(?P<day>[0-3]?\d)(?:st|nd|rd|th)?(?![\d%]))?"
            rf"(?:\s*,?\s*(?:of\s+)?(?P<year>{_ANY_YEAR})(?!\d)|\s*'(?P<yy>\d\d)(?!\d))?"
            rf"(?P<that>\s+(?:of\s+)?(?:that|the\s+same)\s+year)?)"
        ),
    ),
    # 2024-2025, 2024-25, 2024/25
    ("years", re.compile(rf"(?<![\w$.,/])(?P<y1>{_YEAR})\s*[-/]\s*(?P<y2>{_YEAR}|\d\d)(?![\d.,])")),
    ("year", re.compile(rf"(?<![\w$.,/-])(?<!\$ )(?P<y>{_ANY_YEAR}){_NOT_MONEY}")),
    (
        "latest",
        re.compile(
            r"\b(?:latest|newest|currently|current(?!\s+(?:series|table|tables|vintage|release|account|revised|historical))"
            r"|today'?s?|most\s+recent(?:ly)?|this\s+month|right\s+now|as\s+of\s+now|at\s+present|presently|these\s+days"
            r"|(?:to|until|through)\s+date|as\s+it\s+stands|now)\b"
        ),
    ),
]


def _overlaps(spans: list[_Span], start: int, end: int) -> bool:
    return any(start < s.end and s.start < end for s in spans)


def _make_span(kind: str, m: re.Match[str], t: str, ref: YM) -> _Span | None:
    s, e = m.start(), m.end()
    g = m.groupdict()
    if kind == "mdy":
        a, b, y = int(g["a"]), int(g["b"]), int(g["y"])
        month = a if 1 <= a <= 12 else (b if 1 <= b <= 12 and a <= 31 else None)
        return _Span(s, e, "month", year=y, month=month) if month else None
    if kind in ("iso", "my"):
        return _Span(s, e, "month", year=int(g["y"]), month=int(g["m"]))
    if kind == "quarter":
        q = g.get("q1") or g.get("q2") or g.get("q3")
        if g.get("ord"):
            q = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4, "final": 4}[
                g["ord"]
            ]
        assert q is not None  # the pattern's alternatives each capture q1, q2, q3 or ord
        year = g.get("y1") or g.get("y2") or g.get("y4")
        span = _Span(s, e, "month", month=int(q) * 3)
        if year:
            span.year = int(year)
        elif g.get("yy1"):
            span.year = 2000 + int(g["yy1"])
        elif g.get("rel"):
            rel = g["rel"]
            if rel == "this":
                span.year = ref[0]
            elif rel.endswith("same"):
                span.that_year = True
            else:
                span.year = ref[0] - 1
        return span
    if kind == "half":
        h = 1 if (g.get("h") in ("first", "1st") or g.get("hn") == "1") else 2
        if g.get("y"):
            year = int(g["y"])
        elif g.get("rel"):
            year = ref[0] if g["rel"] == "this" else ref[0] - 1
        else:  # the most recent half that has ended
            end_month = 6 if h == 1 else 12
            year = ref[0] if ref[1] >= end_month else ref[0] - 1
        lo = (year, 1 if h == 1 else 7)
        return _Span(s, e, "range", lo=lo, hi=(year, 6 if h == 1 else 12))
    if kind == "edge":
        word = g.get("w") or "end"
        month = {"end": 12, "close": 12, "late": 12, "start": 1, "beginning": 1, "early": 1, "middle": 6, "mid": 6}[
            word
        ]
        year_text = g.get("y") or g.get("y2") or g.get("y3")
        span = _Span(s, e, "month", month=month)
        if year_text:
            span.year = int(year_text)
        else:
            rel = re.sub(r"\s+", " ", g.get("rel") or "")
            if rel.startswith(("last", "previous", "prior")):
                span.year = ref[0] - 1
            elif rel == "that year":
                span.that_year = True
            elif rel in ("this year",) or month != 12:
                span.year = ref[0]
            else:  # "end of the year"/"year-end": the latest year-end the tables can hold
                span.year = ref[0] if ref[1] == 12 else ref[0] - 1
        return span
    if kind == "yoy":
        return _Span(s, e, "rel", offset=-12, rel="from")
    if kind == "mom":
        return _Span(s, e, "rel", offset=-1, rel="from")
    if kind == "next":
        text = m.group(0)
        forward = any(w in text for w in ("next", "following", "subsequent", "later", "after"))
        return _Span(s, e, "rel", offset=1 if forward else -1, rel="point")
    if kind == "past":
        unit = g["u"]
        n_text = g.get("n")
        word = g["w"]
        the = bool(g.get("the"))
        if n_text is None:
            if unit.startswith("month") and word == "last" and not the:
                return _Span(s, e, "latest", text=m.group(0))
            if unit.startswith("month") and word in ("previous", "prior"):
                return None
            if unit.startswith("year") and not the and word in ("last", "previous", "prior"):
                return _Span(s, e, "year", year=ref[0] - 1)
            if unit.startswith("year") and the and word in ("previous", "prior"):
                return _Span(s, e, "year", year=ref[0] - 1)
            if unit.startswith("quarter") and word == "last" and not the:
                q_end = (ref[1] // 3) * 3  # the latest quarter-end month at or before ref
                return _Span(s, e, "month", year=ref[0] if q_end else ref[0] - 1, month=q_end or 12)
        if n_text is None:
            n = 1
        elif n_text == "few":
            n = 3
        elif n_text.startswith("couple"):
            n = 2
        else:
            n = _num(n_text) or 1
        per = {"m": 1, "y": 12, "q": 3, "d": 120}[unit[0]]
        if unit[0] == "d":
            n = 1
        return _Span(s, e, "range", lo=shift(*ref, -n * per), hi=ref)
    if kind == "ytd":
        return _Span(s, e, "range", lo=(ref[0], 1), hi=ref)
    if kind == "yearbefore":
        return _Span(s, e, "year", year=ref[0] - 2)
    if kind == "ago":
        n = 1 if g["n"] in ("a", "an") else (_num(g["n"]) or 1)
        per = {"m": 1, "y": 12, "q": 3}[g["u"][0]]
        ym = shift(*ref, -n * per)
        return _Span(s, e, "month", year=ym[0], month=ym[1], ago=True)
    if kind == "decade":
        y = int(g["y"])
        return _Span(s, e, "range", lo=(y, 1), hi=(y + 9, 12))
    if kind == "month":
        word = g["mon"]
        month = _MONTH_WORDS[word]
        year = None
        if g.get("year"):
            year = int(g["year"])
        elif g.get("yy"):
            year = 2000 + int(g["yy"])
        elif g.get("yy2"):
            year = 2000 + int(g["yy2"])
        if word == "may" and year is None and not g.get("day"):
            # "China may sell" is the verb; the month needs a lead-in ("in May", "mid-May") or
            # to end the clause ("and May?").
            prev = re.search(r"([a-z]+)[^a-z]*$", t[max(0, s - 20) : s])
            lead_in = t[:s].endswith("-") or (prev is not None and prev.group(1) in _MAY_CONTEXT)
            tail = t[e:].lstrip()
            if not (lead_in or not tail or tail[0] in "?.!,;)"):
                return None
        return _Span(s, e, "month", year=year, month=month, that_year=bool(g.get("that")))
    if kind == "years":
        y1 = int(g["y1"])
        y2_text = g["y2"]
        y2 = int(y2_text) if len(y2_text) == 4 else (y1 // 100) * 100 + int(y2_text)
        if y2 <= y1:
            return None
        return _Span(s, e, "range", lo=(y1, 1), hi=(y2, 12))
    if kind == "year":
        y = int(g["y"])
        if not 2000 <= y <= 2030:
            prev = re.search(r"([a-z]+)\W*$", t[max(0, s - 20) : s])
            if not prev or prev.group(1) not in _YEAR_CONTEXT:
                return None
        return _Span(s, e, "year", year=y)
    if kind == "latest":
        if m.group(0) == "now" and not t[:s].strip(" \"'>*_") and t[e : e + 1] == ",":
            return None  # "Now, how much did Japan hold in March?" is a filler, not a time
        return _Span(s, e, "latest", text=m.group(0))
    return None


@dataclass
class _Time:
    months: list[YM]
    ranges: list[tuple[YM, YM]]
    latest: bool
    rel_from: list[int]  # pending "from a year earlier": offsets to anchor a range on
    agos: list[YM]  # point months that came from "N months ago"
    explicit: bool  # a month, year or period was written (not just "now")


def _resolve(span: _Span, ref: YM) -> YM:
    if span.year is not None:
        return (span.year, span.month or 12)
    return most_recent(span.month or ref[1], *ref)


def _span_start(span: _Span, ref: YM) -> YM:
    """The first month a month or year span covers."""
    if span.kind == "year":
        assert span.year is not None  # year spans always carry their year
        return (span.year, 1)
    return _resolve(span, ref)


def _span_end(span: _Span, ref: YM) -> YM:
    """The last month a month or year span covers."""
    if span.kind == "year":
        assert span.year is not None  # year spans always carry their year
        return (span.year, 12)
    return _resolve(span, ref)


def normalized(text: str) -> str:
    """The question as the rules read it: lower case, chat spellings written out ("yr" -> "year")."""
    return _normalize(text[:_MAX_CHARS])


def is_period(text: str) -> bool:
    """Whether a word or two name a time ("YoY", "H1", "Q3", "YTD"), not someone."""
    t = _normalize(text)
    return any(pattern.fullmatch(t) for _, pattern in _TIME_PATTERNS)


def _parse_time(t: str, ref: YM) -> _Time:
    spans: list[_Span] = []
    for kind, pattern in _TIME_PATTERNS:
        for m in pattern.finditer(t):
            if m.end() == m.start() or _overlaps(spans, m.start(), m.end()):
                continue
            span = _make_span(kind, m, t, ref)
            if span is not None:
                spans.append(span)
    spans.sort(key=lambda s: s.start)

    # "that year" / "the same year": the last year written before it.
    last_year: int | None = None
    for span in spans:
        if span.kind == "month" and span.that_year and span.year is None and last_year is not None:
            span.year = last_year
        if span.kind in ("month", "year") and not span.ago:
            last_year = span.year if span.year is not None else _resolve(span, ref)[0]

    # Lists of months share a trailing year: "March and June 2025", "end-May vs end-February 2025".
    b: _Span | None
    for i in range(len(spans) - 2, -1, -1):
        a, b = spans[i], spans[i + 1]
        if a.kind == "month" and b.kind == "month" and a.year is None and b.year is not None:
            if _gap(t, a, b) in _LIST_GAPS:
                assert a.month is not None and b.month is not None  # month spans always carry their month
                a.year = b.year - (1 if a.month > b.month else 0)
    for i in range(1, len(spans)):
        a, b = spans[i - 1], spans[i]
        if a.kind == "month" and b.kind == "month" and b.year is None and a.year is not None and not a.ago:
            if _gap(t, a, b) in _LIST_GAPS:
                assert a.month is not None and b.month is not None  # month spans always carry their month
                b.year = a.year + (1 if b.month < a.month else 0)

    # "In 2025, how did it change between March and June?": one bare year and months without
    # one -> the months are in that year, and the year is only their context.
    years = [s for s in spans if s.kind == "year"]
    yearless = [s for s in spans if s.kind == "month" and s.year is None and not s.ago]
    dated = [s for s in spans if s.kind == "month" and s.year is not None and not s.ago]
    if len(years) == 1 and yearless and not dated:
        for span in yearless:
            span.year = years[0].year
        spans.remove(years[0])

    months: list[YM] = []
    ranges: list[tuple[YM, YM]] = []
    agos: list[YM] = []
    rel_from: list[int] = []
    latest = False
    explicit = False
    range_gaps = {"to", "through", "thru", "until", "till", "-", "up to", "through to", "and up to"}
    i = 0
    while i < len(spans):
        a = spans[i]
        b = spans[i + 1] if i + 1 < len(spans) else None
        if a.kind in ("month", "year") and b is not None and b.kind in ("month", "year", "latest"):
            gap = _gap(t, a, b)
            lead = _lead_word(t, a.start)
            is_range = gap in range_gaps or (gap == "and" and lead == "between")
            if b.kind == "latest" and gap == "" and b.text.startswith(("to ", "until ", "through ")):
                is_range = True  # "from January to date"
            if is_range:
                if b.kind == "latest":
                    lo = _span_start(a, ref)
                    hi = max(lo, ref)
                else:
                    if a.kind == "month" and b.kind == "month":
                        if b.year is None and a.year is None:
                            hi = _resolve(b, ref)
                            assert a.month is not None  # month spans always carry their month
                            lo = (hi[0] - (1 if a.month > hi[1] else 0), a.month)
                        else:
                            lo, hi = _resolve(a, ref), _resolve(b, ref)
                    else:
                        lo, hi = _span_start(a, ref), _span_end(b, ref)
                if lo > hi:
                    lo, hi = hi, lo
                ranges.append((lo, hi))
                explicit = True
                i += 2
                continue
        if a.kind in ("month", "year"):
            explicit = True
            lead = _lead_word(t, a.start)
            if lead in ("since", "after") or re.match(r"\s*(?:on(?:ward)?s?|and (?:since|after))\b", t[a.end :]):
                lo = _span_start(a, ref)
                ranges.append((lo, max(lo, ref)))  # "since 2027": keep the year, the tables end earlier
            elif a.kind == "year":
                ranges.append((_span_start(a, ref), _span_end(a, ref)))
            else:
                ym = _resolve(a, ref)
                if a.ago:
                    agos.append(ym)
                months.append(ym)
        elif a.kind == "range":
            explicit = True
            assert a.lo is not None and a.hi is not None  # range spans always carry both ends
            ranges.append((a.lo, a.hi))
        elif a.kind == "latest":
            latest = True
        elif a.kind == "rel":
            if a.rel == "from":
                rel_from.append(a.offset)
            else:  # "the next month": relative to the last month named, else the latest
                anchor = months[-1] if months else ref
                months.append(shift(*anchor, a.offset))
                explicit = True
        i += 1
    return _Time(months, ranges, latest, rel_from, agos, explicit)


def _context_year(q: Question) -> int | None:
    if q.months:
        ym = _parse_ym(q.months[-1])
    elif q.month_range:
        ym = _parse_ym(q.month_range[1])
    else:
        ym = None
    return ym[0] if ym else None


def _yearless_months(t: str, year: int) -> list[str] | None:
    """The months of `t` read in `year`, or None when `t` writes any year or period itself."""
    probe = _parse_time(t, (year, 12))
    if probe.ranges or probe.rel_from or probe.agos or probe.latest:
        return None
    if re.search(rf"{_ANY_YEAR}|'\d\d\b|\bq[1-4]\b|\b[1-4]q\b|\byear|\bmonths?\b", t):
        return None
    out: list[str] = []
    for ym in probe.months:
        if format_month(*ym) not in out:
            out.append(format_month(*ym))
    return out or None


# --------------------------------------------------------------------------- cue words


_HOLD_STRONG = re.compile(
    r"\b(?:holdings?|hold(?:s|ing)?|held|holders?|own(?:s|ed|ing|ership|ers?)?|foreign[\s-]owned|creditors?"
    r"|stake|stockpiles?|pile|stash|usts?|exposure|sitting on|sits on|hoard\w*)\b"
)
_HOLD_WEAK = re.compile(
    r"\b(?:treasur(?:y|ys|ies|ie)|t-?bills?|t-?bonds?|t-?notes?|bonds?|bills|notes|debt|securities|tic|gov(?:ernmen)?t paper|sellers|buyers)\b"
)
_TREASURY_WORD = re.compile(
    r"\b(?:treasur\w*|usts?|t-?bills?|t-?bonds?|t-?notes?|bonds?|debt|securities|notes|bills)\b"
)
_MARKET = re.compile(
    r"\b(?:yields?|rates?|prices?|auctions?|coupons?|spreads?|curve|issuance|ceiling|deficit|inflation)\b"
)
_OTHER_ASSET = re.compile(r"\b(?:gold|stocks?|equit(?:y|ies)|oil|bitcoin|crypto|real estate|shares)\b")
_FIGURE = re.compile(
    r"\bhow (?:much|many|big|large|far)\b|\b(?:amount|figures?|numbers?|level|value|total|billions?|trillions?|bn|tn)\b|\$"
)
_VALUE_ASK = re.compile(
    r"\bhow (?:much|many)\b[^?.;]{0,50}?\b(?:hold|held|own|owned|have|had)\b|\bwhat did\b[^?.;]{0,40}?\bhold\b"
)
_STRONG_ASK = re.compile(
    r"\bhow (?:much|many|big|large|far)\b|\bwhat (?:was|were|is|are|'s) the (?:figure|number|amount|level|value|total)\b"
)
_SPEECH = re.compile(
    r"\b(?:say|says|said|saying|told|comment\w*|remark\w*|statement|interview|speech|announc\w*|claim\w*"
    r"|argu\w*|warn\w*|think|thinks|thought|believe\w*|opinion|according to|means?|meant|meaning"
    r"|refer(?:s|red|ring)? to|stands? for|defin\w*|counts? as|counted as|threat\w*|call(?:s|ed)? (?:it|them))\b"
)
_WHY = re.compile(
    r"\b(?:why|how come|explain\w*|reasons?|causes?|caused|because|drivers?|driven"
    r"|misleading|affect\w*|impact\w*|influenc\w*|whose)\b"
)
_SPECULATE = re.compile(
    r"\b(?:will|would|could|might|should|plans?|planning|intends?|going to|likely|expects?|expected"
    r"|forecast\w*|predict\w*|consider\w*|risk|possible|possibly|potentially|outlook|prospects?)\b"
)
_POLITE = re.compile(r"\b(?:could|would|can|will) you\b|\bwould like\b|\bi'?d like\b")
_TOPIC = re.compile(
    r"\b(?:card|leverage|bargaining|chip|tariffs?|trade (?:war|talks|deal|negotiations?)|negotiat\w*"
    r"|weapon\w*|retaliat\w*|sanction\w*|geopolitic\w*|election|trump|kato|bessent|yellen|akazawa"
    r"|liberation day|policy|diplomac\w*|custod\w*)\b"
)

_RISE = re.compile(
    r"\b(?:ris(?:e|es|en|ing)|rose|increas\w*|gain(?:s|ed|ing)?|grow(?:s|ing|n)?|grew|growth|climb\w*|jump\w*"
    r"|add(?:s|ed|ing)?|boost\w*|rais(?:e|ed|es|ing)|bought|buy(?:s|ing|ers?)?|purchas\w*|accumulat\w*"
    r"|(?:go|goes|went|gone|going|move[sd]?|moving|tick(?:ed|s)?|gone|edge[sd]?)\s+up|up\s+(?:by|from)"
    r"|higher|rebound\w*|recover\w*|inflows?|snap(?:ped)? up|load(?:ed|ing)? up|expand\w*|surg\w*|soar\w*)\b"
)
_FALL = re.compile(
    r"\b(?:fall(?:s|en|ing)?|fell|drop\w*|declin\w*|decreas\w*|shr[ai]nk\w*|shrunk|slid(?:e|es|ing)?|slump\w*"
    r"|plung\w*|tumbl\w*|sank|sink\w*|cut(?:s|ting)?|reduc\w*|sold|sell(?:s|ing|ers?)?|sell-?offs?"
    r"|dump\w*|offload\w*|unload\w*|trim\w*|shed(?:s|ding)?|pare[ds]?|paring|slash\w*|liquidat\w*|divest\w*"
    r"|lost|los(?:e|es|ing)|(?:go|goes|went|gone|going|move[sd]?|moving|tick(?:ed|s)?|edge[sd]?)\s+down"
    r"|down\s+(?:by|from)|lower|outflows?|retreat\w*|ditch\w*|pull(?:ed|ing)? back)\b"
)
_BOTH_WAYS = re.compile(
    r"\b(?:up or down|down or up|ris\w* or fall\w*|fall\w* or ris\w*|rose or fell|fell or rose|buy\w* or sell\w*|sell\w* or buy\w*|bought or sold|sold or bought|increas\w* or decreas\w*|gain\w* or los\w*)\b"
)
_CHANGE = re.compile(
    r"\b(?:chang\w*|by how much|mov(?:e|es|ed|ing)|shift\w*|swing|swung|difference|delta|what happened"
    r"|how did .{1,40}\bdo|what did .{1,60}\bdo|how (?:did|has|have) .{1,40}\b(?:fare|evolve)\w*|net\b)"
)
_COMPARE = re.compile(
    r"\b(?:vs\.?|versus|compar\w*|or|than|overt(?:ake|akes|aking|aken|ook)|surpass\w*|outrank\w*|ahead of"
    r"|behind|relative to|against|difference between|gap|which of|which one|more|less|bigger|larger|smaller|exceed\w*)\b"
)
# One holder moving past another ("the UK passed China", "China fell behind the UK"); read on
# normalised text here and on the question as typed by the tables, hence re.I.
OVERTAKE = re.compile(
    r"\b(?:overt(?:ake|akes|aking|aken|ook)|over-?took|surpass\w*|outrank\w*|pass(?:ed|es|ing)?|ahead of|behind"
    r"|(?:moved?|moving|edged?|edging|got|pulled|climbed|went) (?:past|above))\b",
    re.I,
)
# Several holders added up: "Belgium and Luxembourg combined".
COMBINED = re.compile(r"\b(?:combined|together|altogether|in total|sum)\b", re.I)
_HEAD_TO_HEAD = re.compile(
    r"\b(?:vs\.?|versus|compar\w*|(?:bigger|larger|smaller) than|difference between|gap)\b|" + OVERTAKE.pattern
)
_WHICH_COUNTRY = re.compile(r"\b(?:which|what) (?:country|countries|nation|nations)\b|^\W*who\b")
_EXPLICIT_COMPARE = re.compile(r"\b(?:vs\.?|versus|compar\w*|against)\b")
_SERIES = re.compile(
    r"\b(?:history|historical(?:ly)?|trend\w*|over time|time series|series|monthly|each month|every month"
    r"|month[\s-]by[\s-]month|chart|graph|plot|evolution|evolv\w*|trajectory|track\w*|path)\b"
)
# A run of monthly moves one way: "how many months in a row", "a sixth straight month", "streak".
STREAK = re.compile(
    r"\b(?:longest(?:\s+\w+){0,2}\s+(?:streak|run|stretch)s?|in a row|straight|consecutive(?:ly)?|back[\s-]to[\s-]back"
    r"|streaks?|successive|running|on the trot)\b",
    re.I,
)
_MONTHS_COUNTED = re.compile(rf"\b(?P<n>{_NUM})\s+(?:straight\s+|consecutive\s+|successive\s+)?months?\b")
_LONGEST = re.compile(r"\b(?:longest|long(?:est)?[\s-]running|record)\b")
# "What share", "what % of": a "%" after a figure ("25% tariffs") asks for no share.
_SHARE = re.compile(
    r"\b(?:share|percent(?:age)?|proportion|portion|fraction|how much of (?:the|all))\b|(?<![\d.\s])\s*%(?!\w)"
)
_MAX_STRONG = re.compile(
    r"\b(?:peak(?:ed|s|ing)?|record(?![\s-]+lows?)|all[\s-]time[\s-]+(?:high|peak)|top(?:ped|s)? out|high[\s-]water"
    r"|maximum|max|high point|zenith)\b"
)
_MIN_STRONG = re.compile(
    r"\b(?:record[\s-]+lows?|all[\s-]time[\s-]+low|trough|bottom(?:ed|s)?(?: out)?|minimum|min|low point|nadir)\b"
)
_EVER = re.compile(r"\b(?:ever|all[\s-]time|on record)\b")
_SUPER_HIGH = re.compile(r"\b(?:highest|most|largest|biggest|greatest|peak|high)\b")
_SUPER_LOW = re.compile(r"\b(?:lowest|least|smallest|fewest|low)\b")
_HIGHEST = re.compile(r"\bhighest\b")
_LOWEST = re.compile(r"\b(?:lowest|smallest|least|fewest)\b")

_TOP_N = [
    re.compile(rf"\btop[\s-]*(?P<n>{_NUM})\b(?![\s-]*(?:years?|yr|months?|percent|%|billion|bn|trillion))"),
    re.compile(
        rf"\b(?P<n>{_NUM})\s+(?:biggest|largest|top|leading|major|main|greatest|heaviest|largest|most important)\b"
    ),
]
_TOP_LIST = re.compile(
    r"\b(?:top|biggest|largest|leading|major|main|key|greatest|heaviest)\s+(?:[a-z.]+\s+){0,2}?"
    r"(?:holders|owners|creditors|investors|countries|nations|buyers|sellers|economies)\b"
    r"|\b(?:league table|leaderboard)\b|\bwho (?:are|were) the (?:top|biggest|largest|major|main|leading)\b"
    r"|\bwhich (?:countries|nations)\b|\brank(?:ing|ings)?\s+(?:of\s+)?(?:the\s+)?(?:foreign\s+)?(?:holders|countries)\b"
    r"|\brank the\b|\blist (?:of |all )?(?:the )?(?:foreign )?(?:holders|countries)\b"
)
# "and the second?", "what about #3?": a bare place, after a ranking
_BARE_PLACE = re.compile(
    rf"^\W*(?:(?:and|what about|how about)\s+)?(?:the\s+)?(?:no\.?\s*|#\s*)?(?P<o>{_ORD}|{_NUM})\W*$"
)
_RANK_ORDINAL = [
    re.compile(
        rf"\b(?P<o>{_ORD})[\s-]+(?:largest|biggest|greatest|highest|top|leading|most|place|position|spot|ranked|holder|creditor|foreign holder|largest foreign)\b"
    ),
    re.compile(rf"(?:\bno\.\s*|\bno\s+(?=\d)|\bnumber\s+|#\s*)(?P<o>{_NUM})\b(?!\s*(?:billion|bn|trillion|%|percent))"),
    re.compile(
        rf"\b(?:rank(?:s|ed)?|placed?|sits?|came|comes|is|was|been|be|remains?|stays?|still|now|slipped to|fell to|rose to|moved to|climbed to|dropped to)\s+(?:at\s+|in\s+)?(?:the\s+)?(?P<o>{_ORD})"
        r"(?=\s*(?:$|[?.!,;:)]|place|position|spot|largest|biggest|overall|behind|among|to\b|after\b|in the (?:ranking|list|table)))"
    ),
    re.compile(r"\brank(?:s|ed)?\s+(?:at\s+)?(?P<o>\d{1,2})\b"),
    _BARE_PLACE,
]
_RANK_ONE = re.compile(
    r"\b(?:largest|biggest|greatest|top|leading|no\.?\s*1|number one|#\s*1)\s+(?:single\s+)?(?:foreign\s+)?"
    r"(?:holder|owner|creditor|investor|country|nation|buyer|seller)(?!s)\b"
    r"|\b(?:holds?|held|owns?|owned|has|had|have|sits? on) the most\b|\bthe most (?:treasur\w*|us debt|debt|bonds|usts?|us government debt|us treasur\w*)\b"
    r"|\bthe (?:largest|biggest|greatest|highest) (?:holdings?|stake|pile|stockpile|share|amount)\b"
    r"|\b(?:is|was|still|remains?|stays?)\s+(?:the\s+)?(?:single\s+)?(?:largest|biggest|top|no\.?\s*1|number one)\b"
    r"|\bat the top\b|\bfirst place\b|\bon top\b"
)
# A line a holding must pass: "more than $300 billion", "under 100bn", "over $1 trillion". A bare
# number is no amount ("over 2025"), so a dollar sign or a unit is required.
_AMOUNT = r"(?P<v>\d[\d,]*(?:\.\d+)?)\s*(?P<u>billion|bn|b|trillion|tn|t)?"
_THRESHOLD = re.compile(
    r"\b(?:(?P<above>more than|over|above|at least|exceeding|in excess of|upwards of|greater than|north of)"
    r"|(?P<below>less than|under|below|fewer than|at most|south of))\s+(?:us)?(?P<dollar>\$)?\s*" + _AMOUNT + r"\b"
)
_RANK_WORD = re.compile(r"\b(?:rank(?:s|ed|ing|ings)?|position|place|standing|spot|pecking order)\b")
_CHANGE_SUPERLATIVE = re.compile(
    r"\b(?:largest|biggest|greatest|sharpest|steepest|heaviest|most)\s+(?:monthly\s+|annual\s+|net\s+)?"
    r"(?:increase|rise|gain|jump|drop|decline|fall|decrease|cut|reduction|selling|buying|purchases?|sales?|outflows?|inflows?|seller|buyer|change|move|swing)\b"
    r"|\b(?:sold|bought|sell|buy|added|cut|shed|dumped|reduced|increased|trimmed|offloaded|purchased|raised|lost|gained)"
    r"(?: [\w']+){0,3}? the most\b"  # "increased its holdings the most"
)

_GRAND_STRONG = re.compile(
    r"\bgrand total\b|\btotal (?:of )?foreign\b|\ball foreign\b|\bforeign (?:holdings|holders) in total\b"
    r"|\btotal holdings of foreign\b|\bforeigners as a whole\b|\ball (?:foreign )?countries combined\b"
)
_GRAND_WEAK = re.compile(
    r"\bforeign(?:ers|[\s-]held|[\s-]owned)?\b|\boverseas (?:holdings|holders|investors|owners)\b|\boverall\b"
    r"|\bin total\b|\btotal\b|\bcombined\b|\baltogether\b|\ball countries\b|\bthe rest of the world\b"
)
_OFFICIAL_RE = re.compile(
    r"\bforeign official\b|\bofficial (?:sector|holders?|holdings|institutions?|accounts?|investors?|buyers?|demand|foreign)\b"
    r"|\bforeign central banks?\b|\bcentral banks\b|\bforeign governments\b|\bsovereign (?:holders|investors)\b"
    r"|\bofficial (?:t-?bills?|bills|t-?bonds|bonds|notes)\b"
)
_CENTRAL_BANK = re.compile(r"\bcentral bank\b")
_BILLS = re.compile(r"\b(?:t-?bills?|treasury bills|bills|short[\s-]term)\b")
_BONDS = re.compile(
    r"\b(?:t-?bonds|bonds (?:and|&) notes|notes (?:and|&) bonds|notes|long[\s-]term|coupon (?:securities|issues))\b"
)

# The patterns whose words say what to look up in the tables ("ranks 10th", "history", "ahead
# of", "peak", "jump"): such words ask the tables, not the articles. ("purchases" and "inflows"
# are also flows the tables do not measure: the engine keeps those.)
_CUE_PATTERNS = (
    _RISE,
    _FALL,
    _SERIES,
    STREAK,
    _MAX_STRONG,
    _MIN_STRONG,
    _EVER,
    _SUPER_HIGH,
    _SUPER_LOW,
    _TOP_LIST,
    _RANK_ONE,
    _RANK_WORD,
    OVERTAKE,
    _HEAD_TO_HEAD,
    _BOTH_WAYS,
    _THRESHOLD,
    COMBINED,
    *_TOP_N,
    *_RANK_ORDINAL,
)


def months_counted(text: str) -> int | None:
    """The number of months a question counts ("three months in a row"), if it counts them."""
    return _first_int([_MONTHS_COUNTED], _normalize(text[:_MAX_CHARS]), 1, 600)


def cue_words(text: str) -> str:
    """The words of a question that tell the tables what to do or when ("YoY", "H1 2025"), as one text."""
    t = _normalize(text[:_MAX_CHARS])
    patterns = (*_CUE_PATTERNS, *(pattern for _, pattern in _TIME_PATTERNS))
    return " ".join(m.group(0) for pattern in patterns for m in pattern.finditer(t))


# An ask for the story around a figure, which only the articles tell.
_STORY = re.compile(
    r"\b(?:going on|happening|happened there|the story|the context|context|background|tell me more|more details?"
    r"|details|any news)\b"
)


def asks_story(text: str) -> bool:
    """ "What was going on?", "tell me more": an ask for the story around what was just said."""
    return bool(_STORY.search(_normalize(text)))


_BARE_YEAR = re.compile(r"\W*(?:(?:and|what about|how about)\s+)?(?:in\s+)?(?:the\s+end\s+of\s+)?(20\d\d)\W*")
_FOLLOW_UP = re.compile(
    "|".join(
        (
            r"^\W*(?:and|or|but|also|what about|how about|what of|same|then|plus)\b",
            r"\b(?:it|its|it's|they|their|them|theirs|that|those|these|same|instead|too|as well|again|then)\b",
            # A bare question word ("why?", "how come?", "since when?") asks about what was just said,
            r"^\W*(?:why|how come|since when|when|how|who|what for|really|source)\W*$",
            # and so do a bare place after a ranking ("the third?") and a bare ask for the story.
            _BARE_PLACE.pattern,
            rf"^\W*(?:(?:what(?:'s| is| was| were)?|anything)\s+)?{_STORY.pattern}\W*$",
        )
    )
)


# --------------------------------------------------------------------------- subjects


def _drop_plain_s(m: re.Match[str]) -> str:
    word = m.group(0)
    if _countries.canonical(word) is None and _countries.canonical(word[:-1].title()) is not None:
        return word[:-1] + "'s"
    return word


def _find_subjects(raw: str, t: str) -> tuple[list[str], list[str]]:
    # "japans holdings", "chinas": a possessive typed without its apostrophe.
    fixed = re.sub(r"\b[A-Za-z]{3,}s\b", _drop_plain_s, raw.translate(_TRANSLATE))
    fixed = _CASE_FIX_RE.sub(lambda m: _CASE_FIX[m.group(1).lower()], fixed)
    found = _countries.find_in_text(fixed)
    # countries.py reads "Belgium and Luxembourg" as the old combined series; in a chat question
    # it is two countries unless written as one name.
    if _BELGIUM_LUXEMBOURG in found and re.search(r"\bbelgium\s*(?:and|&)\s*luxemb", t):
        i = found.index(_BELGIUM_LUXEMBOURG)
        pair = [n for n in ("Belgium", "Luxembourg") if n not in found]
        found = found[:i] + pair + found[i + 1 :]
    names = [n for n in found if not _countries.is_aggregate(n)]
    aggregates = [n for n in found if _countries.is_aggregate(n)]
    return names, aggregates


def holders_in(text: str) -> list[str]:
    """The holders a text names as a chat types them ("uk", "chinas", "the Caymans")."""
    return _find_subjects(text, _normalize(text))[0]


def _official_split(t: str) -> str:
    bills, bonds = _BILLS.search(t), _BONDS.search(t)
    if bills and (not bonds or bills.start() <= bonds.start()):
        return _OFFICIAL_BILLS
    if bonds:
        return _OFFICIAL_BONDS
    return _OFFICIAL


# --------------------------------------------------------------------------- parsing


def _may_verb(t: str) -> bool:
    """True for "may" the verb ("China may sell"), which the month parser skips: a speculation."""
    for m in re.finditer(r"\bmay\s+(?!\d|'|of\b|and\b|or\b|to\b|vs\b|versus\b|through\b|until\b)[a-z]", t):
        prev = re.search(r"([a-z]+|-)\W*$", t[max(0, m.start() - 20) : m.start()])
        if not prev or prev.group(1) not in _MAY_CONTEXT:
            return True
    return False


def _threshold(t: str) -> tuple[str, float] | None:
    m = _THRESHOLD.search(t)
    if m is None or not (m.group("dollar") or m.group("u")):
        return None
    value = float(m.group("v").replace(",", ""))
    if (m.group("u") or "").startswith("t"):
        value *= 1000
    return (">" if m.group("above") else "<", value)


def _reference(available_months: list[str] | None, today: datetime.date | None) -> YM:
    parsed = [ym for ym in (_parse_ym(m) for m in (available_months or [])) if ym]
    if parsed:
        return max(parsed)
    day = today if isinstance(today, datetime.date) else datetime.date.today()
    return (day.year, day.month)


def _first_int(patterns: list[re.Pattern[str]], t: str, lo: int, hi: int) -> int | None:
    for pattern in patterns:
        for m in pattern.finditer(t):
            n = _num(m.group("n") if "n" in m.groupdict() else m.group("o"))
            if n is not None and lo <= n <= hi:
                return n
    return None


def parse_question(
    text: str,
    available_months: list[str] | None = None,
    today: datetime.date | None = None,
    assume_about: bool = False,
) -> Question:
    """Read a chat question; never raises on any string.

    `available_months` ("YYYY-MM", any order) fixes the latest month the tables hold; without
    it, `today` (default: the system date) stands in for it. `assume_about`: read it as a
    holdings question though it names no holdings word ("Japan March 2025?").
    """
    return _parse(text, available_months, today, assume_about=assume_about)


def _parse(
    text: str,
    available_months: list[str] | None,
    today: datetime.date | None,
    assume_about: bool = False,
    fallback: bool = True,
) -> Question:
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    raw = text
    # Discord caps a message at 4,000 characters; past that, only the start is read, which
    # bounds the time the country matcher can take on pathological input.
    head = text[:_MAX_CHARS]
    t = _normalize(head)
    ref = _reference(available_months, today)

    names, found_aggregates = _find_subjects(head, t)
    time = _parse_time(t, ref)

    # ---- what kind of question
    rise, fall = bool(_RISE.search(t)), bool(_FALL.search(t))
    if _BOTH_WAYS.search(t):
        rise = fall = True
    direction = "rise" if rise and not fall else "fall" if fall and not rise else None
    change_word = rise or fall or bool(_CHANGE.search(t)) or bool(time.rel_from)

    top_n = _first_int(_TOP_N, t, 1, 50)
    rank = _first_int(_RANK_ORDINAL, t, 1, 50)
    t_no_recent = re.sub(r"\bmost recent(?:ly)?\b", " ", t)
    rank_one = bool(_RANK_ONE.search(t_no_recent))
    change_super = bool(_CHANGE_SUPERLATIVE.search(t_no_recent))
    if rank is None and (rank_one or change_super):
        rank = 1
    threshold = _threshold(t)
    top_list = top_n is not None or bool(_TOP_LIST.search(t))
    rank_word = bool(_RANK_WORD.search(t))

    # ---- aggregate
    aggregate: str | None = None
    aggregate_weak = False
    official_found = [a for a in found_aggregates if a in _OFFICIAL_FAMILY]
    if _OFFICIAL_RE.search(t) or official_found or (_CENTRAL_BANK.search(t) and not names):
        aggregate = _official_split(t)
        if aggregate == _OFFICIAL and official_found and official_found[0] != _OFFICIAL:
            aggregate = official_found[0]
    elif found_aggregates:
        aggregate = found_aggregates[0]
    elif _GRAND_STRONG.search(t):
        aggregate = _GRAND_TOTAL
    elif not names and _GRAND_WEAK.search(t):
        aggregate, aggregate_weak = _GRAND_TOTAL, True

    # "Which countries hold more than $300 billion?" lists holders; "Do foreign official holders
    # hold more than $3 trillion?" asks about one.
    top_list = top_list or (threshold is not None and not names and (aggregate is None or aggregate_weak))

    # ---- about holdings at all
    strong_hold = bool(_HOLD_STRONG.search(t))
    weak_hold = bool(_HOLD_WEAK.search(t))
    market = bool(_MARKET.search(t))
    other_asset = bool(_OTHER_ASSET.search(t)) and not _TREASURY_WORD.search(t)
    subject = bool(names) or (aggregate is not None and not aggregate_weak)
    figure = bool(_FIGURE.search(t))
    topic = bool(_TOPIC.search(t))
    plain = not (topic or market or other_asset)  # nothing says it is about tariffs, yields, gold
    about = (
        (strong_hold and not other_asset)
        or (weak_hold and not market and not other_asset)
        or (aggregate is not None and not aggregate_weak)
        or (subject and figure and (time.explicit or time.latest or not topic) and not market and not other_asset)
        or (subject and (top_list or rank is not None or rank_word) and not topic)
        or (subject and (rise or fall) and not topic and not market)
        or (plain and len(names) >= 2 and bool(_HEAD_TO_HEAD.search(t)))
        or (
            plain
            and bool(_WHICH_COUNTRY.search(t))
            and (change_super or bool(OVERTAKE.search(t)) or (threshold is not None and (rise or fall)))
        )
        # "biggest buyer in April?": the month's movers, whoever they are.
        or (plain and not names and change_super)
        # "Top five?": a ranking asked for with nothing else is the tables' ranking.
        or (plain and top_n is not None and not names and (len(t.split()) <= 4 or time.explicit) and not topic)
        # "Who is third?": a place in a ranking is the tables' ranking.
        or (plain and not names and bool(_WHICH_COUNTRY.search(t)) and rank is not None)
        # "What was China's peak?": a holder's extreme is a month of its holdings.
        or (plain and bool(names) and bool(_MAX_STRONG.search(t) or _MIN_STRONG.search(t)))
        or (plain and aggregate_weak and figure and (time.explicit or time.latest))
    )
    about = about or assume_about
    if not about and aggregate_weak:
        aggregate = None

    # ---- intent
    entities = len(names) + (1 if aggregate else 0)
    points = len(time.months)
    strong_ask = bool(_STRONG_ASK.search(t)) or top_n is not None
    strong_cue = strong_ask or time.explicit or (rank is not None and not rank_one)
    t_spec = _POLITE.sub(" ", t)
    speech = bool(_SPEECH.search(t))
    doubt = bool(_WHY.search(t)) or bool(_SPECULATE.search(t_spec)) or _may_verb(t)
    # "How much did Canada hold in January, and why does it swing so much?": the figure asked
    # for is a level; a generic change word in another clause does not make it a change.
    value_ask = bool(_VALUE_ASK.search(t))
    any_cue = strong_cue or change_word or top_list or rank is not None or time.latest or figure

    intent: Intent | None = None
    if not about:
        intent = None
    elif speech and not strong_ask:
        intent = None
    elif doubt and not strong_cue:
        intent = None
    elif topic and not any_cue:
        intent = None
    else:
        ever = bool(_EVER.search(t))
        max_strong = bool(_MAX_STRONG.search(t)) or (ever and bool(_SUPER_HIGH.search(t)))
        min_strong = bool(_MIN_STRONG.search(t)) or (ever and bool(_SUPER_LOW.search(t)))
        compare_cue = bool(_COMPARE.search(t))
        if top_list and not names:
            intent = Intent.TOP
        elif top_list and names and (top_n is not None or rank_word or "among" in t or " in the top" in t):
            intent = Intent.RANK
        elif compare_cue and entities >= 2:
            intent = Intent.COMPARE
        elif (_EXPLICIT_COMPARE.search(t) or re.search(r"\bthan\b", t)) and (
            points + len(time.ranges) >= 2 or ((points or time.ranges) and time.latest)
        ):
            intent = Intent.COMPARE  # one series at two times: "more in March than in February?"
        elif STREAK.search(t) and (rise or fall or change_word) and entities <= 1:
            intent = Intent.STREAK  # "How many months in a row did China sell?"
        elif min_strong and (subject or not names):
            intent = Intent.MIN
        elif max_strong and (subject or not names):
            intent = Intent.MAX
        elif entities == 1 and names and OVERTAKE.search(t):
            intent = Intent.RANK  # "which country overtook China?"
        elif change_word and (rise or fall or change_super or not (rank_one or value_ask)):
            intent = Intent.CHANGE
        elif rank is not None or rank_word:
            if not names and (rank in (None, 1)) and (rank_one or _HIGHEST.search(t)):
                intent, rank = Intent.TOP, 1
            elif not names and rank is None:
                intent = Intent.TOP
            else:
                intent = Intent.RANK
        elif _HIGHEST.search(t) or _LOWEST.search(t):
            if subject:
                intent = Intent.MAX if _HIGHEST.search(t) else Intent.MIN
            elif _HIGHEST.search(t):
                intent, rank = Intent.TOP, 1
            else:
                intent = Intent.MIN
        elif top_list:
            intent = Intent.TOP
        elif _SERIES.search(t) and (time.ranges or not points):
            intent = Intent.SERIES
        elif time.ranges and not points:
            intent = Intent.SERIES
        elif len(names) >= 2:
            intent = Intent.COMPARE
        elif fallback and (subject or figure or strong_hold):
            intent = Intent.VALUE

    if intent in (Intent.TOP, Intent.RANK) and aggregate_weak:
        aggregate = None  # "the biggest foreign holders" names the population, not the total

    # ---- periods that need the intent: "from a year earlier", "N months ago" in a change
    month_range: tuple[YM, YM] | None = None
    ranges = list(time.ranges)
    months = list(time.months)
    if time.rel_from:
        anchor = months[-1] if months else ref
        for offset in time.rel_from:
            ranges.append((shift(*anchor, offset), anchor))
    if intent in (Intent.CHANGE, Intent.COMPARE) and time.agos and not ranges:
        for ym in time.agos:
            ranges.append((ym, ref))
            months.remove(ym)
    if ranges:
        month_range = (min(r[0] for r in ranges), max(r[1] for r in ranges))

    seen: list[str] = []
    for ym in months:
        s = format_month(*ym)
        if s not in seen:
            seen.append(s)

    return Question(
        text=raw,
        countries=names,
        aggregate=aggregate,
        months=seen,
        month_range=(format_month(*month_range[0]), format_month(*month_range[1])) if month_range else None,
        latest=time.latest,
        intent=intent,
        rank=rank,
        top_n=top_n,
        direction=direction,
        threshold=threshold,
        about_holdings=about,
        share=bool(_SHARE.search(t)),
        longest=intent == Intent.STREAK and bool(_LONGEST.search(t)),
    )
