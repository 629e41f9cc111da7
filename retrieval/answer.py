"""A question in, a short answer with numbered citations out.

Table questions are answered from the exact lookups (retrieval.holdings); other questions
from hybrid search over articles and table documents; mixed questions get both. Without an
LLM the answer is composed from the sources' own sentences; with one, its reply is kept only
where its [n] markers point at sources it was given.
"""

from __future__ import annotations

import datetime
import logging
import re
import time
from dataclasses import asdict, dataclass, field
from functools import lru_cache

from retrieval import countries
from retrieval.errors import NotFound
from retrieval.holdings import Change, Figure, HoldingsBook, format_billions, month_label, previous_month, shift_month
from retrieval.keyword import tokenize
from retrieval.question import Question, parse_question
from retrieval.search import Retriever, SearchFilter
from retrieval.store import Hit, KnowledgeBase

log = logging.getLogger(__name__)

MAX_PROSE = 600
# Evidence: a passage (title + chunk) must carry most of what the question asks about (its
# telling words, weighted by how rare they are in the corpus), the sentence quoted must carry
# a good part of it, and the passage must be reasonably close in meaning (dense cosine).
MIN_SIMILARITY = 0.30
MIN_COVERAGE = 0.50
MIN_SENTENCE_COVERAGE = 0.25
MIN_KEYWORD_ONLY_COVERAGE = 0.70  # a passage only the keyword ranking found must match more
MIN_RESIDUAL_COVERAGE = 0.50  # mixed: the sentence must carry what the table cannot answer
# A word no stored passage uses is most often a paraphrase ("slap", "bucket"), not the topic:
# it counts, but less than a rare word the corpus does use. Unknown names are handled apart.
UNSEEN_SHARE = 0.3
GENERIC_WORDS = set(tokenize("hold holds held holding holdings holder holders treasury treasurys treasuries "
                             "securities us u.s. ust usts many much say said says data tic table tables report "
                             "reports release releases"))
# Ways of naming a holder's figure: "the UK number" is what a story calls "the UK figure".
FIGURE_WORDS = frozenset(tokenize("number figure amount total sum tally"))
# Function words and chat fillers beyond the BM25 stop list: they say nothing about the topic.
FILLER_WORDS = set(tokenize(
    "during under around across through until while within without above below again once just very really "
    "actually exactly ever still even get gets got go goes going went happen happened happens thing things "
    "kind sort lot lots part way tell know think mean means meant refer refers referred exactly quite please "
    "since per via onto upon off out up down any some each other another such own same t don doesn didn isn might must "
    "aren wasn weren won hasn haven re ve ll d m me my give show single recent one two three four five six seven "
    "eight nine ten right"))
# A table question drags in an article only when it asks something more than a figure.
MIN_RESIDUAL_WORDS = 2
ORDINALS = {1: "largest", 2: "second-largest", 3: "third-largest", 4: "fourth-largest", 5: "fifth-largest"}
NUMBER_WORDS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine", 10: "ten"}
# Words that only say "this is about the holdings tables"; what is left of a question after
# removing them (and countries and dates) is what an article would have to explain.
TABLE_WORDS = set(tokenize(
    "hold holds held holding holdings holder holders treasury treasurys treasuries ust usts securities bond bonds "
    "note notes bill bills debt us u.s. american foreign country countries largest biggest most top second third "
    "rank ranked ranking much many billion billions trillion dollars figure figures total change changed rise rose "
    "fall fell fallen drop dropped increase decrease grow grew shrink shrank end latest now currently current month "
    "months year years data table tables number numbers compare compared versus vs more less than between since "
    "from during peak highest lowest record level levels owner owners owns own pile stack value worth amount "
    "amounts official private investors position positions stake share exposure tic latest report reported show "
    "shows according big bigger large larger small smaller size far all time ever high low top out went go "
    "did do does what when which who how whose were was"))
OFFICIAL_WORDS = set(tokenize("central bank banks government governments sovereign reserve reserves institution "
                               "institutions monetary authority authorities"))
MONTH_WORDS = set(tokenize("january february march april may june july august september october november december "
                           "jan feb mar apr jun jul aug sep sept oct nov dec end late early mid"))
# Capitalised words that are not names of anything the tables or articles would have to list.
NOT_NAMES = {"treasury", "treasurys", "treasuries", "ust", "usts", "us", "u.s", "tic", "t", "i", "what", "when",
             "where", "who", "whom", "whose", "which", "why", "how", "did", "does", "do", "is", "was", "were",
             "are", "has", "have", "had", "can", "could", "would", "will", "should", "and", "or", "but", "the",
             "a", "an", "in", "on", "of", "for", "to", "by", "as", "at", "give", "tell", "show", "list", "compare",
             "please", "so", "if", "since", "between", "from", "about", "q1", "q2", "q3", "q4", "h1", "h2", "ok",
             "okay", "thanks", "hi", "hey", "bills", "bonds", "notes", "t-bills", "grand", "total", "foreign",
             "official", "all", "other", "major", "holders", "table", "table5", "slt", "mfh", "mfhhis01",
             "dollar", "dollars", "billion", "trillion"}
NAME_SPAN = re.compile(r"(?<![\w'’])([A-Z][\w’'.-]*(?:\s+(?:of|the|de|du|da|and)\s+[A-Z][\w’'.-]*|\s+[A-Z][\w’'.-]*)*)")
# "how much X" / "how many X": X is what the answer must be about ("how much gold").
ASKED_THING = re.compile(r"\bhow (?:much|many)\s+([a-z][a-z-]+)", re.I)
AUXILIARIES = {"do", "does", "did", "is", "was", "were", "are", "has", "have", "had", "will", "would", "can",
               "could", "should", "of", "more", "less", "higher", "lower", "bigger", "smaller", "money", "in",
               "on", "at", "for", "the", "a", "an", "to", "by", "per", "each", "every", "this", "that", "it"}
OVERTAKE = re.compile(r"\b(?:overt(?:ake|akes|aking|aken|ook)|surpass\w*|outrank\w*|over-?took|pass(?:ed|es)?|"
                      r"(?:moved?|moving|edged?|edging|got|pulled|climbed|went) (?:ahead of|past|above))\b", re.I)
BECAME = re.compile(r"\b(?:become|became|becoming|been|turned into|took over as|take over as|taken over as)\b", re.I)
ASKS_WHEN = re.compile(r"\b(?:when|since when|which month|what month|in which month|which year|what year)\b", re.I)
ASKS_NUMBER = re.compile(r"\b(?:how (?:much|many|long|far|big|large|high)|what (?:\w+ )?(?:rate|percentage|share|level|"
                         r"tariff|duty|levy|figure|amount|size|number)|by how much)\b", re.I)
ASKS_WHO = re.compile(r"^\W*who\b|\bwho (?:was|is|were|are)\b", re.I)
# "Did Kato threaten to sell?": a yes-or-no question, best answered by a sentence that says which.
ASKS_YES_NO = re.compile(r"^\W*(?:did|does|do|is|are|was|were|has|have|had|will|would|can|could|should)\b", re.I)
POLARITY = re.compile(r"\b(?:not|no|never|neither|nor|none|denied|denies|ruled out)\b|n't\b", re.I)
ASKS_WHY = re.compile(r"\b(?:why|what(?:'s| is| was)? behind|what explains|how come|reason)\b", re.I)
CAUSAL = re.compile(r"\b(?:because|as a result|reflect\w*|due to|driven by|explanation\w*|reasons?|"
                    r"not \w+ by|comes? from|came from|is home to|inflated|belong\w*|owing to|thanks to)\b", re.I)
PRESENT = re.compile(r"\b(?:today|right now|currently|at the moment|at present|these days|this week)\b", re.I)
RECENT_DAYS = 45  # "today" can be answered by a story at most this much older than the newest one
REVISION = re.compile(r"\b(?:first (?:reported|published|released)|originally|initially|revis\w*|restat\w*)\b", re.I)
DATE_IN_TEXT = re.compile(r"\b(?:January|February|March|April|May|June|July|August|September|October|November|"
                          r"December)\b|\b(?:19|20)\d\d\b")
NUMBER_IN_TEXT = re.compile(r"\d")


@dataclass
class Citation:
    n: int
    title: str
    source: str
    url: str
    published: str
    kind: str  # "article" | "table"
    ref: str
    snippet: str


@dataclass
class Answer:
    text: str
    citations: list[Citation] = field(default_factory=list)
    refused: bool = False
    route: str = "none"  # "table" | "articles" | "mixed" | "none"
    timings_ms: dict[str, float] = field(default_factory=dict)
    question: Question | None = field(default=None, repr=False, compare=False)
    data_month: str = ""  # the table month a table answer is about

    def to_dict(self) -> dict:
        return {
            "text": self.text,
            "citations": [asdict(c) for c in self.citations],
            "refused": self.refused,
            "route": self.route,
            "timings_ms": self.timings_ms,
        }


class _Sources:
    """Numbers sources in the order the answer first uses them."""

    def __init__(self):
        self.citations: list[Citation] = []
        self._index: dict[tuple, int] = {}

    def table(self, figure: Figure) -> str:
        c = figure.citation
        key = ("table", c.doc_id, figure.month)
        snippet = f"{figure.series}, {month_label(figure.month)}: {format_billions(figure.value)} billion dollars"
        return self._add(key, Citation(0, c.title, "U.S. Treasury, TIC" if "csv" not in c.doc_id else "team table",
                                       c.url, c.release, "table", c.ref, snippet))

    def article(self, hit: Hit, snippet: str) -> str:
        m = hit.meta
        key = ("doc", hit.doc_id)
        # A PDF's chunks carry their page: the title says it, so every renderer shows "p. 4".
        title = f"{m.get('title', '')}, p. {m['page']}" if m.get("page") else m.get("title", "")
        return self._add(key, Citation(0, title, m.get("source", ""), m.get("url", ""),
                                       m.get("published", "") or m.get("published_raw", ""), m.get("kind", "article"),
                                       m.get("ref", ""), snippet))

    def _add(self, key: tuple, citation: Citation) -> str:
        if key not in self._index:
            citation.n = len(self.citations) + 1
            self.citations.append(citation)
            self._index[key] = citation.n
        return f"[{self._index[key]}]"


def money(value: float) -> str:
    return f"${format_billions(value)} billion"


def display(series: str) -> str:
    return {"Grand Total": "foreign holders in total", "Foreign Official": "foreign official holders"}.get(series, series)


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


class AnswerEngine:
    def __init__(self, kb: KnowledgeBase, llm=None):
        self.kb = kb
        self.book = HoldingsBook(kb)
        self.retriever = Retriever(kb)
        self.llm = llm

    # -- entry point ---------------------------------------------------------------------------

    def ask(self, text: str, previous: Question | None = None) -> Answer:
        started = time.perf_counter()
        timings: dict[str, float] = {}
        months = self._months()
        question = parse_question(text, available_months=months or None)
        if previous is not None:
            question = question.with_context(previous)
        timings["understand"] = _ms(started)

        table_answer = None
        wants_table = self._is_table_question(question)
        if wants_table and months:
            step = time.perf_counter()
            table_answer = self._answer_table(question)
            timings["table"] = _ms(step)

        residual = self._residual_words(question)
        answer: Answer
        if table_answer is not None and not table_answer.refused:
            if len(residual) >= MIN_RESIDUAL_WORDS:
                # The question asks more than a figure ("... and why?"): the keyword ranking is
                # enough to find an article that explains it, and costs no embedding.
                step = time.perf_counter()
                hits = self.retriever.keyword_search(question.text, k=8, flt=SearchFilter(kinds=("article",)), per_doc=2)
                timings["search"] = _ms(step)
                step = time.perf_counter()
                answer = self._answer_articles(question, hits, table_answer, residual)
                timings["compose"] = _ms(step)
            else:
                answer = table_answer
        elif table_answer is not None and table_answer.route == "none" and self._unknown_names(question):
            answer = table_answer  # "How much does Argentina hold?": no article can list it either
        else:
            step = time.perf_counter()
            hits = self._search(question)
            timings["search"] = _ms(step)
            step = time.perf_counter()
            answer = self._answer_articles(question, hits, table_answer, residual)
            timings["compose"] = _ms(step)
        answer.question = question
        timings["total"] = _ms(started)
        answer.timings_ms = {k: round(v, 1) for k, v in timings.items()}
        return answer

    def _months(self) -> list[str]:
        try:
            return self.book.months()
        except NotFound:
            return []

    @staticmethod
    def _is_table_question(q: Question) -> bool:
        if q.intent is not None:
            return True
        return q.about_holdings and bool(q.countries or q.aggregate) and bool(q.months or q.latest or q.month_range)

    def _residual_words(self, q: Question) -> set[str]:
        country_words = set()
        for name in q.countries + ([q.aggregate] if q.aggregate else []):
            country_words |= set(tokenize(name))
        words = set(tokenize(q.text)) - TABLE_WORDS - MONTH_WORDS - FILLER_WORDS - country_words
        if q.aggregate and q.aggregate.startswith(countries.FOREIGN_OFFICIAL):
            words -= OFFICIAL_WORDS  # "central banks" is how people name the official holders
        for name in q.countries:  # aliases as typed: "Caymans", "British", "Irish"
            words -= {w for w in words if countries.canonical(w) == name}
        return {w for w in words if not re.fullmatch(r"[\d.]+", w)}

    def _unknown_names(self, q: Question) -> list[str]:
        """Names in the question that are neither countries nor words of the domain ("Argentina")."""
        names = []
        for span in NAME_SPAN.findall(q.text):
            words = [w for w in re.split(r"\s+", span.strip(".'’-")) if w]
            while words and re.sub(r"['’]s$", "", words[0].lower()) in NOT_NAMES:
                words.pop(0)  # "What", "How", "Does" open a question, they name nothing
            if not words:
                continue
            name = " ".join(words)
            plain = re.sub(r"['’]s$", "", name)
            if plain.lower() in NOT_NAMES or _month_word(plain) or countries.canonical(plain):
                continue
            if countries.find_in_text(plain):
                continue
            names.append(plain)
        return names

    # -- table answers -------------------------------------------------------------------------

    def _answer_table(self, q: Question) -> Answer:
        sources = _Sources()
        if not q.countries and not q.aggregate and q.intent != "top" and not (q.intent == "rank" and q.rank):
            # A holder the tables do not know must not be answered with the top holders instead.
            unknown = self._unknown_names(q)
            if unknown:
                return self._coverage_refusal(q, f"The holdings tables do not list {unknown[0]}: they list foreign "
                                                 f"countries and territories, the foreign total and foreign "
                                                 f"official holders.")
        try:
            text, month = self._table_text(q, sources)
        except NotFound as exc:
            return self._coverage_refusal(q, str(exc))
        return Answer(text=text, citations=sources.citations, route="table", data_month=month)

    def _subject(self, q: Question) -> str | None:
        if q.countries:
            return q.countries[0]
        return q.aggregate

    def _month(self, q: Question, series: str | None = None) -> str:
        if q.months:
            return q.months[-1]
        if q.month_range:
            return q.month_range[1] if q.month_range[1] <= self.book.latest_month(series) else self.book.latest_month(series)
        return self.book.latest_month(series)

    def _table_text(self, q: Question, src: _Sources) -> tuple[str, str]:
        subject = self._subject(q)
        intent = q.intent or "value"
        if intent == "change" and len(q.months) == 1 and not q.month_range and REVISION.search(q.text):
            intent = "value"  # "first reported ... and now": the vintages of one month, not a monthly change
        if intent == "compare" and len(q.countries) + (1 if q.aggregate else 0) < 2:
            intent = "change" if len(q.months) >= 2 else "value"
        if intent in ("value", "rank") and subject is None:
            intent = "top"
        if intent in ("series", "max", "min", "change") and subject is None:
            subject = "Grand Total"

        subjects = q.countries + ([q.aggregate] if q.aggregate else [])
        if ASKS_WHEN.search(q.text) and len(q.countries) >= 2 and OVERTAKE.search(q.text):
            return self._overtake_text(q, q.countries[0], q.countries[1], src)
        if ASKS_WHEN.search(q.text) and len(q.countries) == 1 and intent == "rank" and (
                BECAME.search(q.text) or OVERTAKE.search(q.text)):
            return self._rank_entry_text(q, q.countries[0], q.rank or 1, src)
        if len(subjects) >= 3 and intent in ("compare", "value"):
            return self._values_text(q, subjects, src)

        if intent == "top":
            month = self._month(q)
            if q.top_n and q.top_n > 1:
                figures = self.book.top(q.top_n, month)
                marker = src.table(figures[0])
                listed = "; ".join(f"{i}. {f.series} {format_billions(f.value)}" for i, f in enumerate(figures, 1))
                count = NUMBER_WORDS.get(len(figures), str(len(figures)))
                return (f"The {count} largest foreign holders of Treasury securities at the end of "
                        f"{month_label(month)}, in billions of dollars: {listed} {marker}.", month)
            position = q.rank or 1
            ranking = self.book.ranking(month)
            if position > len(ranking):
                raise NotFound(f"The table for {month_label(month)} ranks only {len(ranking)} countries.")
            figure = ranking[position - 1]
            marker = src.table(figure)
            text = (f"{figure.series} was the {ORDINALS.get(position, f'No. {position}')} foreign holder of Treasury "
                    f"securities at the end of {month_label(month)}, with {money(figure.value)} {marker}.")
            if position == 1 and len(ranking) > 1:
                runner = ranking[1]
                text += f" Next came {runner.series} with {money(runner.value)} {marker}."
            elif position > 1:
                above = ranking[position - 2]
                text += f" Ahead of it was {above.series} with {money(above.value)} {marker}."
            return text, month

        if intent == "rank":
            month = self._month(q, subject)
            if q.rank and not q.countries:
                figure = self.book.ranking(month)[q.rank - 1]
                return (f"{figure.series} was the {ORDINALS.get(q.rank, f'No. {q.rank}')} foreign holder at the end of "
                        f"{month_label(month)}, with {money(figure.value)} {src.table(figure)}.", month)
            position, total, figure = self.book.rank(subject, month)
            return (f"{figure.series} ranked {_ordinal(position)} of the {total} holders listed at the end of "
                    f"{month_label(month)}, with {money(figure.value)} {src.table(figure)}.", month)

        if intent == "compare":
            names = (q.countries + ([q.aggregate] if q.aggregate else []))[:2]
            month = self._month(q, names[0])
            a, b = (self.book.value(n, month) for n in names)
            high, low = (a, b) if a.value >= b.value else (b, a)
            ma, mb = src.table(a), src.table(b)
            return (f"At the end of {month_label(month)}, {a.series} held {money(a.value)} {ma} and {b.series} "
                    f"{money(b.value)} {mb}: {high.series} held {money(round(high.value - low.value, 1))} more.", month)

        if intent == "change":
            start, end = self._change_months(q, subject)
            change = self.book.change(subject, start, end)
            return self._change_text(change, src), end

        if intent in ("max", "min") and subject and len(q.months) == 1:
            # "hit their lowest since 2008 in April 2026": the month's figure, and since when it is the extreme.
            return self._extreme_since_text(subject, q.months[0], intent, src), q.months[0]

        if intent in ("max", "min"):
            start, end = q.month_range or (None, None)
            if q.months and not q.month_range:
                year = q.months[0][:4]
                start, end = f"{year}-01", f"{year}-12"
            high, low = self.book.extremes(subject, start, end)
            figure = high if intent == "max" else low
            word = "highest" if intent == "max" else "lowest"
            span = f" between {month_label(start)} and {month_label(end)}" if start else " in the tables"
            first, last = self.book.coverage(self.book.resolve(subject))
            if not start:
                span = f" from {month_label(first)} to {month_label(last)}"
            text = (f"{_capitalise(display(figure.series))}'s {word} month-end holdings{span} were "
                    f"{money(figure.value)}, at the end of {month_label(figure.month)} {src.table(figure)}.")
            if intent == "max" and q.direction == "fall" and not end:
                # "How far have they fallen from the peak?": the latest figure and the distance.
                latest = self.book.value(figure.series)
                if latest.month != figure.month:
                    text += (f" At the end of {month_label(latest.month)} they were {money(latest.value)} "
                             f"{src.table(latest)}, {money(round(figure.value - latest.value, 1))} below that peak.")
                    return text, latest.month
            return text, figure.month

        if intent == "series":
            start, end = q.month_range or (None, None)
            if not start:
                end = self.book.latest_month(self.book.resolve(subject))
                start = shift_month(end, -11)
            figures = self.book.series(subject, start, end)
            if len(figures) > 13:
                step = max(1, len(figures) // 12)
                figures = figures[::-step][::-1]
            marker = src.table(figures[-1])
            listed = "; ".join(f"{month_label(f.month)} {format_billions(f.value)}" for f in figures)
            change = round(figures[-1].value - figures[0].value, 1)
            return (f"{_capitalise(display(figures[0].series))}, month-end holdings in billions of dollars: {listed} "
                    f"{marker}. Change over the period: {change:+,.1f} billion.", figures[-1].month)

        # value
        month = self._month(q, subject)
        figure = self.book.value(subject, month)
        return self._value_text(figure, src), month

    def _window(self, q: Question) -> tuple[str | None, str | None]:
        if q.month_range:
            return q.month_range
        if q.months:
            return min(q.months), max(q.months)
        return None, None

    def _overtake_text(self, q: Question, first: str, second: str, src: _Sources) -> tuple[str, str]:
        """When one series moved above another: the month it went from at-or-below to above."""
        a_name, b_name = self.book.resolve(first), self.book.resolve(second)
        a = {f.month: f for f in self.book.series(a_name)}
        b = {f.month: f for f in self.book.series(b_name)}
        common = sorted(set(a) & set(b))
        if not common:
            raise NotFound(f"The tables hold no month with both {a_name} and {b_name}.")
        crossings = [(before, m) for before, m in zip(common, common[1:])
                     if a[m].value > b[m].value and a[before].value <= b[before].value]
        start, end = self._window(q)
        inside = [c for c in crossings if (not start or c[1] >= start) and (not end or c[1] <= end)]
        if not inside:
            last = max(m for m in common if not end or m <= end) if any(not end or m <= end for m in common) else common[-1]
            span = f"between {month_label(start)} and {month_label(end)}" if start else "in the tables"
            return (f"{a_name} did not move ahead of {b_name} {span}: at the end of {month_label(last)} {a_name} held "
                    f"{money(a[last].value)} {src.table(a[last])} and {b_name} {money(b[last].value)} "
                    f"{src.table(b[last])}.", last)
        before, month = inside[0] if start else inside[-1]
        return (f"{a_name} moved ahead of {b_name} at the end of {month_label(month)}, with {money(a[month].value)} "
                f"against {money(b[month].value)} {src.table(a[month])}; a month earlier, at the end of "
                f"{month_label(before)}, it had {money(a[before].value)} against {money(b[before].value)} "
                f"{src.table(a[before])}.", month)

    def _rank_entry_text(self, q: Question, name: str, position: int, src: _Sources) -> tuple[str, str]:
        """When a country reached a place in the ranking ("since when has Japan been the largest?")."""
        series = self.book.resolve(name)
        months = [f.month for f in self.book.series(series)]
        ranks = {}
        for m in months:
            try:
                ranks[m] = self.book.rank(series, m)[0]
            except NotFound:
                continue
        ordered = sorted(ranks)
        entries = [(before, m) for before, m in zip(ordered, ordered[1:])
                   if ranks[m] <= position < ranks[before]]
        start, end = self._window(q)
        inside = [e for e in entries if (not start or e[1] >= start) and (not end or e[1] <= end)]
        place = ORDINALS.get(position, f"No. {position}")
        if not inside:
            figure = self.book.value(series, ordered[-1])
            return (f"The tables show no month in which {series} moved up to {place} foreign holder"
                    f"{'' if not start else f' between {month_label(start)} and {month_label(end)}'}; at the end "
                    f"of {month_label(figure.month)} it ranked {_ordinal(ranks[figure.month])} with "
                    f"{money(figure.value)} {src.table(figure)}.", figure.month)
        before, month = inside[0] if start else inside[-1]
        figure = self.book.value(series, month)
        text = f"{series} became the {place} foreign holder at the end of {month_label(month)}, with {money(figure.value)} {src.table(figure)}"
        previous = self.book.ranking(before)[position - 1]
        if previous.series != series:
            try:
                passed = self.book.value(previous.series, month)
                text += f", passing {passed.series} ({money(passed.value)})"
            except NotFound:
                pass
        later = [m for m in ordered if m > month]
        if later and all(ranks[m] <= position for m in later):
            text += f"; it has held that place through {month_label(later[-1])}"
        return text + ".", month

    def _extreme_since_text(self, subject: str, month: str, intent: str, src: _Sources) -> str:
        figure = self.book.value(subject, month)
        earlier = [f for f in self.book.series(figure.series) if f.month < month]
        beyond = (lambda f: f.value <= figure.value) if intent == "min" else (lambda f: f.value >= figure.value)
        text = f"{_capitalise(display(figure.series))} held {money(figure.value)} at the end of {month_label(month)} {src.table(figure)}"
        previous = [f for f in earlier if beyond(f)]
        word = "lowest" if intent == "min" else "highest"
        if not earlier:
            return text + "."
        if not previous:
            return text + f", the {word} in the tables, which start in {month_label(earlier[0].month)}."
        last = previous[-1]
        return text + (f", the {word} since {month_label(last.month)}, when it was {money(last.value)} "
                       f"{src.table(last)}.")

    def _values_text(self, q: Question, names: list[str], src: _Sources) -> tuple[str, str]:
        month = self._month(q, self.book.resolve(names[0]))
        figures = [self.book.value(n, month) for n in names]
        listed = [f"{f.series} {money(f.value)} {src.table(f)}" for f in figures]
        together = round(sum(f.value for f in figures), 1)
        return (f"At the end of {month_label(month)}: {', '.join(listed[:-1])} and {listed[-1]}; "
                f"{money(together)} together.", month)

    def _value_text(self, figure: Figure, src: _Sources) -> str:
        marker = src.table(figure)
        who = display(figure.series)
        text = f"{_capitalise(who)} held {money(figure.value)} of U.S. Treasury securities at the end of {month_label(figure.month)} {marker}."
        if not countries.is_aggregate(figure.series):
            try:
                position, total, _ = self.book.rank(figure.series, figure.month)
                text = text[:-len(f" {marker}.")] + f", ranking {_ordinal(position)} among foreign holders {marker}."
            except NotFound:
                pass
        if figure.earlier:
            first_value, first_citation = figure.earlier[0]
            old = Figure(figure.series, figure.month, first_value, first_citation)
            text += (f" It was first published as {money(first_value)} {src.table(old)} and has since been revised "
                     f"to {money(figure.value)} {marker}.")
        return text

    def _change_months(self, q: Question, subject: str) -> tuple[str, str]:
        series = self.book.resolve(subject)
        if len(q.months) >= 2:
            return tuple(sorted(q.months[-2:]))
        if q.month_range:
            start, end = q.month_range
            last = self.book.latest_month(series)
            return start, min(end, last)
        if len(q.months) == 1:
            month = q.months[0]
            latest = self.book.latest_month(series)
            if "since" in q.text.lower() and month < latest:
                return month, latest
            return previous_month(month), month
        latest = self.book.latest_month(series)
        return previous_month(latest), latest

    def _change_text(self, change: Change, src: _Sources) -> str:
        a, b = src.table(change.start), src.table(change.end)
        markers = a if a == b else f"{a}{b}"
        verb = "rose" if change.absolute > 0 else "fell" if change.absolute < 0 else "were unchanged"
        who = _capitalise(display(change.series)) + ("'" if change.series.endswith("s") else "'s")
        pct = f" ({abs(change.percent):.1f}%)" if change.percent is not None and change.absolute else ""
        amount = f" by {money(abs(change.absolute))}{pct}" if change.absolute else ""
        return (f"{who} holdings {verb}{amount}, from {money(change.start.value)} at the end of "
                f"{month_label(change.start.month)} to {money(change.end.value)} at the end of "
                f"{month_label(change.end.month)} {markers}.")

    def _coverage_refusal(self, q: Question, reason: str) -> Answer:
        """The tables do not hold what was asked: say what they hold, cite the closest tables."""
        sources = _Sources()
        subject = self._subject(q)
        try:
            series = self.book.resolve(subject) if subject else None
            figure = self.book.value(series) if series else self.book.top(1)[0]
            sources.table(figure)
        except NotFound:
            pass
        return Answer(text=f"I can't answer that from my sources. {reason}", citations=sources.citations,
                      refused=True, route="none")

    # -- article answers -----------------------------------------------------------------------

    def _search(self, q: Question) -> list[Hit]:
        # Table figures come from the exact lookups; the search looks for what articles say.
        return self.retriever.search(q.text, k=8, flt=SearchFilter(kinds=("article",)), per_doc=2)

    def _weights(self, words: set[str]) -> dict[str, float]:
        # idf() of a word no chunk uses is the largest idf there is; a share of it keeps the
        # weight in scale with the corpus (tiny corpora have tiny idfs).
        return {w: self.retriever.idf(w) * (1.0 if self.retriever.known(w) else UNSEEN_SHARE) for w in words}

    def _need(self, q: Question, residual: set[str] | None) -> "_Need":
        q_tokens = set(tokenize(q.text))
        content = (q_tokens - GENERIC_WORDS - FILLER_WORDS) or q_tokens
        words = residual if residual else content
        names = self._unknown_names(q)
        unseen = [n for n in names if any(not self.retriever.known_stem(t) for t in tokenize(n))]
        asked = None
        m = ASKED_THING.search(q.text)
        if m and m.group(1).lower() not in AUXILIARIES:
            token = (tokenize(m.group(1)) or [""])[0]
            if token and token not in GENERIC_WORDS and token not in TABLE_WORDS:
                asked = token
        kind = ("why" if ASKS_WHY.search(q.text) else "when" if ASKS_WHEN.search(q.text)
                else "who" if ASKS_WHO.search(q.text) else "number" if ASKS_NUMBER.search(q.text)
                else "yes/no" if ASKS_YES_NO.search(q.text) else None)
        weights = self._weights(words)
        country_tokens = {}
        for name in q.countries:
            for token in set(tokenize(name)) | {t for t in weights if countries.canonical(t) == name}:
                if token in weights:
                    country_tokens[token] = name
        others = [w for t, w in weights.items() if t not in country_tokens]
        # The tables make country names look common; in an article question they are the subject,
        # as telling as the question's average word.
        floor = sum(others) / len(others) if others else 0.0
        for token in country_tokens:
            known = self.retriever.idf(token) if self.retriever.known(token) else 0.0
            weights[token] = max(known, floor)
        years = set()
        if not residual:  # in a mixed answer the table speaks for the period
            years = set(re.findall(r"\b(?:19|20)\d\d\b", q.text))  # as written: "April 9" has no year
        current = not residual and bool(PRESENT.search(q.text))
        return _Need(weights, list(q.countries), unseen, asked, kind, mixed=bool(residual), years=years,
                     current=current, country_tokens=country_tokens)

    def _candidates(self, need: "_Need", hits: list[Hit]) -> list[tuple[float, int, Hit, str]]:
        """(score, position, hit, sentence) for every sentence of a document that is evidence."""
        passing: dict[str, float] = {}  # doc_id -> best passage coverage among its chunks that pass
        for hit in hits:
            title = hit.meta.get("title", "")
            passage = f"{title} {hit.text}"
            named = _named(passage)
            tokens = need.tokens(passage, named)
            if need.asked and need.asked not in tokens:
                continue  # "how much gold ...": a passage without gold does not answer it
            if need.countries and not all(c in named for c in need.countries):
                continue  # a China story does not answer a question about Russia
            if need.years and not (need.years & tokens or str(hit.meta.get("published", ""))[:4] in need.years):
                continue  # "Japan's holdings in 1995": a 2025 story does not say
            if need.current and not _recent(hit.meta.get("published_day"), self.retriever.newest_day):
                continue  # "the yield today": a story from a year ago cannot say
            cov_p = _covered(need.weights, tokens)
            if need.mixed:
                ok = cov_p >= MIN_COVERAGE
            elif hit.ranks.get("dense"):
                ok = hit.similarity >= MIN_SIMILARITY and cov_p >= MIN_COVERAGE
            else:
                ok = cov_p >= MIN_KEYWORD_ONLY_COVERAGE
            if ok:
                passing[hit.doc_id] = max(cov_p, passing.get(hit.doc_id, 0.0))

        found = []
        floor = MIN_RESIDUAL_COVERAGE if need.mixed else MIN_SENTENCE_COVERAGE
        for hit in hits:
            if hit.doc_id not in passing:
                continue
            # Once a document qualifies, its other retrieved chunks may hold the answer sentence.
            cov_p = passing[hit.doc_id]
            title = hit.meta.get("title", "")
            title_names = _named(title)
            for position, sentence in enumerate(_sentences(hit.text)):
                if INSTRUCTIONS.search(sentence):
                    continue  # text addressed to a model is not evidence of anything
                named = _named(sentence)
                if need.countries and not (title_names | named) & set(need.countries):
                    continue  # "the rest belongs to private investors" says nothing about Japan
                cov_s = _covered(need.weights, need.tokens(sentence, named))
                if cov_s < floor:
                    continue
                score = cov_s + 0.3 * cov_p + 0.3 * hit.similarity + _type_bonus(need.kind, sentence) - 0.005 * position
                found.append((score, position, hit, sentence))
        found.sort(key=lambda c: -c[0])
        return found

    def _answer_articles(self, q: Question, hits: list[Hit], table_answer: Answer | None, residual: set[str]) -> Answer:
        have_table = table_answer is not None and not table_answer.refused
        need = self._need(q, residual if have_table else None)
        candidates = [] if (need.unseen and not have_table) else self._candidates(need, hits)
        if not candidates:
            if table_answer is not None:
                return table_answer  # the figure alone, or the tables' own "what they hold" message
            return self._refusal(hits)

        chosen = _choose(candidates, need, hits)
        sources = _Sources()
        parts: list[str] = []
        route = "articles"
        if have_table:
            parts.append(_renumber(table_answer, sources))  # the table's markers in this answer's numbering
            route = "mixed"
        budget = MAX_PROSE - sum(len(p) + 1 for p in parts)
        for hit, sentence in chosen:
            if budget < 80:
                break
            if _repeats(sentence, parts):
                continue  # checked before numbering, so no source is cited that the text does not use
            marker = sources.article(hit, sentence)
            line = _trim(sentence, budget - len(marker) - 1) + f" {marker}"
            parts.append(line)
            budget -= len(line) + 1
        composed = Answer(text=" ".join(parts), citations=sources.citations, route=route,
                          data_month=table_answer.data_month if have_table else "")
        if self.llm is not None:
            evidence = []
            for _, _, hit, _ in candidates:
                if all(hit.id != h.id for h in evidence):
                    evidence.append(hit)
            llm_answer = self._llm_answer(q, evidence[:4], table_answer if have_table else None, route)
            if llm_answer is not None:
                return llm_answer
        return composed

    def _refusal(self, hits: list[Hit]) -> Answer:
        sources = _Sources()
        for hit in hits[:3]:
            sources.article(hit, _trim(" ".join(hit.text.split()), 160))
        closest = "; ".join(f"[{c.n}] {c.title}" for c in sources.citations)
        text = "I don't know from my sources: none of them answers that."
        if closest:
            text += f" The closest are {closest}."
        return Answer(text=text, citations=sources.citations, refused=True, route="none")

    # -- LLM -----------------------------------------------------------------------------------

    def _llm_answer(self, q: Question, evidence: list[Hit], table_answer: Answer | None, route: str) -> Answer | None:
        """The LLM's reply, kept only with its markers checked; None means use the composed answer."""
        from prompts import load

        sources = _Sources()
        blocks = []
        if table_answer is not None:
            _renumber(table_answer, sources)
            blocks += [f"[{c.n}] Treasury table ({c.title}): {c.snippet}" for c in sources.citations]
        for hit in evidence:
            text = " ".join(hit.text.split())
            marker = sources.article(hit, _trim(text, 200))
            blocks.append(f"{marker} {hit.meta.get('title', '')} ({hit.meta.get('published', '')}):\n"
                          f"<<<SOURCE\n{text}\nSOURCE>>>")
        try:
            reply = self.llm.invoke([
                ("system", load("answer_system")),
                ("human", load("answer_user").format(sources="\n\n".join(blocks), question=q.text)),
            ])
        except Exception as exc:  # a server that is down or slow must not cost the user an answer
            log.warning("LLM call failed (%s); answering from the sources", type(exc).__name__)
            return None
        text = str(getattr(reply, "content", reply) or "")
        valid = {c.n for c in sources.citations}
        # Markers must point at sources the model was given; "[9]" out of five is invented.
        cleaned = re.sub(r"\s*\[(\d+)\]", lambda m: m.group(0) if int(m.group(1)) in valid else "", text)
        cleaned = re.sub(r"\s+", " ", cleaned).strip()
        used = sorted({int(n) for n in re.findall(r"\[(\d+)\]", cleaned)})
        if not used or "NOT IN SOURCES" in cleaned.upper():
            log.info("LLM reply had no valid citation; using the composed answer")
            return None
        # Renumber the kept sources 1..k in order of first use, as composed answers do.
        order = []
        for n in re.findall(r"\[(\d+)\]", cleaned):
            if int(n) not in order:
                order.append(int(n))
        mapping = {old: new for new, old in enumerate(order, start=1)}
        cleaned = re.sub(r"\[(\d+)\]", lambda m: f"[{mapping[int(m.group(1))]}]", cleaned)
        citations = []
        for old in order:
            c = sources.citations[old - 1]
            citations.append(Citation(mapping[old], c.title, c.source, c.url, c.published, c.kind, c.ref, c.snippet))
        return Answer(text=_trim(cleaned, MAX_PROSE + 100), citations=citations, route=route,
                      data_month=table_answer.data_month if table_answer else "")


# -- helpers -----------------------------------------------------------------------------------

# A sentence ends at . ! or ? after a lower-case word, a figure or a quote; "U.S." does not end one.
SENTENCE_END = re.compile(r"(?<=[a-z0-9%\"”')][.!?])[\"”')\]]*\s+(?=[A-Z0-9\"“'(])")


# A full stop after these does not end a sentence ("Feb. 2025", "No. 2", "Mr. Kato").
ABBREVIATION_END = re.compile(r"\b(?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec|No|Nos|Mr|Mrs|Ms|Dr|St|vs|"
                              r"Inc|Corp|Co|Ltd|approx|est|e\.g|i\.e)\.$", re.I)


@lru_cache(maxsize=20_000)
def _sentences(text: str) -> tuple[str, ...]:
    return tuple(split_sentences(text))


def split_sentences(text: str) -> list[str]:
    flat = " ".join(text.split())
    pieces: list[str] = []
    for piece in SENTENCE_END.split(flat):
        if pieces and ABBREVIATION_END.search(pieces[-1]):
            pieces[-1] = f"{pieces[-1]} {piece}"
        else:
            pieces.append(piece)
    return [s.strip() for s in pieces if len(s.strip()) > 20]


@dataclass
class _Need:
    """What a passage must carry to answer the question."""
    weights: dict[str, float]  # telling words -> rarity weight
    countries: list[str]  # canonical countries the passage must name
    unseen: list[str]  # names the corpus never mentions ("Argentina"): nothing can answer
    asked: str | None  # the thing a "how much X" asks for
    kind: str | None  # "when" | "why" | "who" | "number"
    mixed: bool = False  # weights are what the table cannot answer
    years: set[str] = field(default_factory=set)  # a passage must mention one (or be published then)
    current: bool = False  # asks about the present ("today", "right now")
    country_tokens: dict[str, str] = field(default_factory=dict)  # "norwegian" -> "Norway"

    def tokens(self, text: str, named: set[str] | None = None) -> set[str]:
        """The text's words, with the question's way of naming a country wherever the text names it."""
        found = set(_words(text))
        if found & FIGURE_WORDS:
            found |= FIGURE_WORDS
        if self.country_tokens:
            named = _named(text) if named is None else named
            found |= {t for t, name in self.country_tokens.items() if name in named}
        return found


# Text that addresses a model rather than a reader.
INSTRUCTIONS = re.compile(r"\b(?:ignore|disregard|forget)\b.{0,30}\b(?:previous|prior|above|earlier|all)\b.{0,20}"
                          r"\b(?:instructions?|prompts?|rules)\b|\bsystem prompt\b|\byou are now\b|"
                          r"\bas an ai\b|\bnew instructions?\b", re.I)


def _recent(day, newest: int) -> bool:
    try:
        then = datetime.datetime.strptime(str(int(day)), "%Y%m%d")
        latest = datetime.datetime.strptime(str(newest), "%Y%m%d")
    except (TypeError, ValueError):
        return False
    return (latest - then).days <= RECENT_DAYS


@lru_cache(maxsize=50_000)
def _words(text: str) -> frozenset[str]:
    # Passages and their sentences come back question after question: tokenize each once.
    return frozenset(tokenize(text))


@lru_cache(maxsize=50_000)
def _named(text: str) -> frozenset[str]:
    return frozenset(countries.find_in_text(text))


def _covered(weights: dict[str, float], tokens: set[str]) -> float:
    total = sum(weights.values())
    return sum(w for t, w in weights.items() if t in tokens) / total if total else 0.0


def _type_bonus(kind: str | None, sentence: str) -> float:
    """A sentence of the kind the question asks for: a date for "when", a figure for "how much"."""
    if kind == "when":
        return 0.15 if DATE_IN_TEXT.search(sentence) else 0.0
    if kind == "number":
        return 0.15 if NUMBER_IN_TEXT.search(sentence) else 0.0
    if kind == "who":
        return 0.1 if re.search(r"(?<!^)(?<![.!?] )\b[A-Z][a-z]+ [A-Z][a-z]+", sentence) else 0.0
    if kind == "why":
        return 0.2 if CAUSAL.search(sentence) else 0.0
    return 0.0


def _choose(candidates: list[tuple[float, int, Hit, str]], need: _Need, hits: list[Hit]) -> list[tuple[Hit, str]]:
    """The best sentence, then up to two more that score nearly as well. A "why" question also
    gets its best document's first sentence that gives a reason, and the one after it, where
    explanations continue."""
    best_score, best_pos, best_hit, best_sentence = candidates[0]
    chosen = [(best_hit, best_sentence)]
    if need.kind == "why" and CAUSAL.search(best_sentence):
        following = [x for x in split_sentences(best_hit.text) if not INSTRUCTIONS.search(x)]
        if best_sentence in following and following.index(best_sentence) + 1 < len(following):
            chosen.append((best_hit, following[following.index(best_sentence) + 1]))  # the reasons themselves
    elif need.kind == "why":
        same_doc = sorted((h for h in hits if h.doc_id == best_hit.doc_id), key=lambda h: h.id)
        reasons = []  # (coverage, order, hit, sentences, index): the reason most about the question
        for order, hit in enumerate(same_doc):
            sentences = [x for x in split_sentences(hit.text) if not INSTRUCTIONS.search(x)]
            for i, x in enumerate(sentences):
                if CAUSAL.search(x) and x != best_sentence:
                    reasons.append((_covered(need.weights, need.tokens(x)), -order, -i, hit, sentences, i))
        if reasons:
            *_, hit, sentences, i = max(reasons, key=lambda r: r[:3])
            chosen += [(hit, x) for x in sentences[i:i + 2]]
    for score, _, hit, sentence in candidates[1:]:
        if len(chosen) >= 3 or score < 0.8 * best_score:
            break
        if all(sentence != s for _, s in chosen):
            chosen.append((hit, sentence))
    if need.kind == "yes/no" and not any(POLARITY.search(s) for _, s in chosen):
        # The best document's own "he had not meant to..." answers the question; the best
        # sentence may only circle it ("stopped well short of threatening a sale").
        stated = [(hit, s) for _, _, hit, s in candidates if hit.doc_id == best_hit.doc_id and POLARITY.search(s)]
        if stated:
            chosen.append(stated[0])
    return _with_continuations(chosen)


SHORT_SENTENCE = 80  # "The swings are not new." introduces what follows; it does not say it


def _with_continuations(chosen: list[tuple[Hit, str]]) -> list[tuple[Hit, str]]:
    """A short lead-in chosen alone is followed by the next sentence of its passage."""
    if len(chosen) != 1:
        return chosen
    out: list[tuple[Hit, str]] = []
    for hit, sentence in chosen:
        out.append((hit, sentence))
        if len(sentence) >= SHORT_SENTENCE:
            continue
        following = [x for x in split_sentences(hit.text) if not INSTRUCTIONS.search(x)]
        if sentence in following and following.index(sentence) + 1 < len(following):
            nxt = following[following.index(sentence) + 1]
            if all(nxt != s for _, s in chosen):
                out.append((hit, nxt))
    return out


def _renumber(answer: Answer, sources: _Sources) -> str:
    mapping = {}
    for c in answer.citations:
        key = ("table", c.ref, c.snippet) if c.kind == "table" else ("doc", c.ref, c.title)
        mapping[c.n] = sources._add(key, Citation(0, c.title, c.source, c.url, c.published, c.kind, c.ref, c.snippet))
    return re.sub(r"\[(\d+)\]", lambda m: mapping.get(int(m.group(1)), m.group(0)), answer.text)


def _trim(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: max(0, limit - 1)].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


def _month_word(word: str) -> bool:
    return word.lower().rstrip(".") in MONTH_WORDS or word.lower() in ("january", "february", "march", "april",
                                                                        "may", "june", "july", "august", "september",
                                                                        "october", "november", "december")


REPEAT_SHARE = 0.5  # a sentence whose words are mostly in an earlier one adds little


def _repeats(sentence: str, parts: list[str]) -> bool:
    words = set(tokenize(sentence))
    if not words:
        return True
    return any(len(words & set(tokenize(re.sub(r"\[\d+\]", "", part)))) / len(words) >= REPEAT_SHARE
               for part in parts)


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000
