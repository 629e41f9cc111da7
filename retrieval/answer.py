"""A question in, a short answer with numbered citations out.

Table questions are answered from the exact lookups (retrieval.holdings); other questions
from hybrid search over articles and table documents; mixed questions get both. Without an
LLM the answer is composed from the sources' own sentences; with one, its reply is kept only
where its [n] markers point at sources it was given.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import asdict, dataclass, field

from retrieval import countries
from retrieval.errors import NotFound
from retrieval.holdings import Change, Figure, HoldingsBook, format_billions, month_label, previous_month
from retrieval.keyword import tokenize
from retrieval.question import Question, parse_question
from retrieval.search import Retriever, SearchFilter
from retrieval.store import Hit, KnowledgeBase

log = logging.getLogger(__name__)

MAX_PROSE = 600
# A passage is evidence when it is close to the question and carries most of what the
# question asks about (its telling words, weighted by how rare they are in the corpus).
MIN_SIMILARITY = 0.30
MIN_COVERAGE = 0.55
GENERIC_WORDS = set(tokenize("hold holds held holding holdings holder holders treasury treasurys treasuries "
                             "securities us u.s. many much say said says"))
ORDINALS = {1: "largest", 2: "second-largest", 3: "third-largest", 4: "fourth-largest", 5: "fifth-largest"}
NUMBER_WORDS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine", 10: "ten"}
# Words that only say "this is about the holdings tables"; what is left of a question after
# removing them (and countries and dates) is what an article would have to explain.
TABLE_WORDS = set(tokenize(
    "hold holds held holding holdings holder holders treasury treasurys treasuries ust usts securities bond bonds "
    "note notes bill bills debt us u.s. american foreign country countries largest biggest most top second third "
    "rank ranked ranking much many billion billions trillion dollars figure figures total change changed rise rose "
    "fall fell drop dropped increase decrease grow grew shrink shrank end latest now currently current month months "
    "year years data table tables number compare compared versus vs more less than between since from during "
    "peak highest lowest record level levels owner owners owns own pile stack value worth amount amounts official "
    "private investors position positions stake share exposure tic latest report reported show shows according"))
MONTH_WORDS = set(tokenize("january february march april may june july august september october november december "
                           "jan feb mar apr jun jul aug sep sept oct nov dec end late early mid"))


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
        return self._add(key, Citation(0, m.get("title", ""), m.get("source", ""), m.get("url", ""),
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
        if table_answer is not None and not table_answer.refused and len(residual) < 2:
            answer = table_answer
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
        words = set(tokenize(q.text)) - TABLE_WORDS - MONTH_WORDS - country_words
        words -= set(tokenize("china chinese japan japanese uk britain british mainland korea south korean"))
        return {w for w in words if not w.isdigit() and not re.fullmatch(r"[\d.]+", w)}

    # -- table answers -------------------------------------------------------------------------

    def _answer_table(self, q: Question) -> Answer:
        sources = _Sources()
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
        if intent == "compare" and len(q.countries) + (1 if q.aggregate else 0) < 2:
            intent = "change" if len(q.months) >= 2 else "value"
        if intent in ("value", "rank") and subject is None:
            intent = "top"
        if intent in ("series", "max", "min", "change") and subject is None:
            subject = "Grand Total"

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
            return (f"{_capitalise(display(figure.series))}'s {word} month-end holdings{span} were "
                    f"{money(figure.value)}, at the end of {month_label(figure.month)} {src.table(figure)}.", figure.month)

        if intent == "series":
            start, end = q.month_range or (None, None)
            if not start:
                end = self.book.latest_month(self.book.resolve(subject))
                start = _shift(end, -11)
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
        return self.retriever.search(q.text, k=6, flt=SearchFilter(kinds=("article",)))

    def coverage(self, words: set[str], text: str) -> float:
        """Share of the question's telling words (weighted by rarity) that a passage contains."""
        if not words:
            return 0.0
        present = set(tokenize(text))
        total = sum(self.retriever.idf(w) for w in words)
        return sum(self.retriever.idf(w) for w in words & present) / total if total else 0.0

    def _answer_articles(self, q: Question, hits: list[Hit], table_answer: Answer | None, residual: set[str]) -> Answer:
        q_tokens = set(tokenize(q.text))
        content = (q_tokens - GENERIC_WORDS) or q_tokens
        # In a mixed question the article must explain what the table cannot.
        wanted = residual if table_answer is not None and not table_answer.refused and residual else content
        evidence = []
        for hit in hits:
            sentence_hits = best_sentences(hit.text, content, q_tokens)
            if not sentence_hits:
                continue
            passage = f"{hit.meta.get('title', '')} {hit.text}"
            if hit.similarity >= MIN_SIMILARITY and self.coverage(wanted, passage) >= MIN_COVERAGE:
                evidence.append((hit, sentence_hits))
        have_table = table_answer is not None and not table_answer.refused
        if not evidence and not have_table:
            if table_answer is not None:
                return table_answer  # the tables' own "what they hold" message
            return self._refusal(hits)
        if not evidence:
            return table_answer

        sources = _Sources()
        parts: list[str] = []
        route = "articles"
        if have_table:
            # Renumber the table answer's markers into this answer's numbering.
            parts.append(_renumber(table_answer, sources))
            route = "mixed"
        if self.llm is not None:
            llm_text = self._llm_answer(q, evidence, table_answer if have_table else None)
            if llm_text is not None:
                return self._finish_llm(llm_text, q, evidence, table_answer if have_table else None, route)
        budget = MAX_PROSE - sum(len(p) for p in parts)
        for hit, sentence_hits in evidence[:3]:
            for _, sentence in sentence_hits[:2]:
                if budget < 80:
                    break
                marker = sources.article(hit, sentence)
                line = _trim(sentence, budget - len(marker) - 1) + f" {marker}"
                if any(_same(line, p) for p in parts):
                    continue
                parts.append(line)
                budget -= len(line) + 1
            if len(parts) >= 3:
                break
        return Answer(text=" ".join(parts), citations=sources.citations, route=route,
                      data_month=table_answer.data_month if have_table else "")

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

    def _llm_answer(self, q: Question, evidence, table_answer: Answer | None) -> str | None:
        from prompts import load

        blocks, self._llm_sources = [], _Sources()
        if table_answer is not None:
            _renumber(table_answer, self._llm_sources)
            blocks += [f"[{c.n}] (Treasury table: {c.title}) {c.snippet}" for c in self._llm_sources.citations]
        for hit, _ in evidence[:4]:
            marker = self._llm_sources.article(hit, _trim(" ".join(hit.text.split()), 200))
            title = hit.meta.get("title", "")
            blocks.append(f"{marker} {title} ({hit.meta.get('published', '')}): {' '.join(hit.text.split())}")
        try:
            reply = self.llm.invoke([
                ("system", load("answer_system")),
                ("human", load("answer_user").format(sources="\n\n".join(blocks), question=q.text)),
            ])
        except Exception as exc:  # a server that is down or slow must not cost the user an answer
            log.warning("LLM call failed, answering from the sources: %s", type(exc).__name__)
            return None
        return str(getattr(reply, "content", reply) or "")

    def _finish_llm(self, text: str, q, evidence, table_answer, route: str) -> Answer | None:
        valid = {c.n for c in self._llm_sources.citations}
        cleaned = re.sub(r"\[(\d+)\]", lambda m: m.group(0) if int(m.group(1)) in valid else "", text).strip()
        used = {int(n) for n in re.findall(r"\[(\d+)\]", cleaned)}
        if "NOT IN SOURCES" in cleaned.upper() or not used:
            log.info("LLM reply had no valid citation; using the composed answer")
            llm, self.llm = self.llm, None
            try:
                return self._answer_articles(q, [h for h, _ in evidence], table_answer, set())
            finally:
                self.llm = llm
        cleaned = re.sub(r"\s+", " ", cleaned)
        citations = [c for c in self._llm_sources.citations if c.n in used]
        return Answer(text=_trim(cleaned, MAX_PROSE + 100), citations=citations, route=route,
                      data_month=table_answer.data_month if table_answer else "")


# -- helpers -----------------------------------------------------------------------------------

# A sentence ends at . ! or ? after a lower-case word, a figure or a quote; "U.S." does not end one.
SENTENCE_END = re.compile(r"(?<=[a-z0-9%\"”')][.!?])[\"”')\]]*\s+(?=[A-Z0-9\"“'(])")


def split_sentences(text: str) -> list[str]:
    flat = " ".join(text.split())
    return [s.strip() for s in SENTENCE_END.split(flat) if len(s.strip()) > 20]


def best_sentences(text: str, content: set[str], q_tokens: set[str]) -> list[tuple[float, str]]:
    """The passage's sentences that share the question's words, best first."""
    scored = []
    for position, sentence in enumerate(split_sentences(text)):
        words = set(tokenize(sentence))
        overlap = len(words & content) + 0.25 * len(words & (q_tokens - content))
        if overlap > 0:
            scored.append((overlap - 0.01 * position, sentence))
    return sorted(scored, key=lambda s: -s[0])


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


def _same(a: str, b: str) -> bool:
    return re.sub(r"\[\d+\]", "", a).strip()[:60] == re.sub(r"\[\d+\]", "", b).strip()[:60]


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _shift(month: str, delta: int) -> str:
    year, number = map(int, month.split("-"))
    index = year * 12 + number - 1 + delta
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000
