"""The route of a question: the tables, the articles, or both, decided by what each can show.

The tables answer a holder's month-end holdings (a country or an aggregate, a month or a
period). Anything else a question asks (flows, purchases, instruments, what someone said, a
reason, an event, a forecast) must be carried by an article sentence. A question asking both
gets the table's figure and the article's sentence; a question neither can carry is refused
with what the sources do hold.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import re
import time
from dataclasses import dataclass

from retrieval import countries
from retrieval.answer import llm as llm_phrasing
from retrieval.answer.compose import MAX_PROSE, choose, compose
from retrieval.answer.evidence import (
    FIGURE,
    NAME_SPAN,
    QUESTION_WORDS,
    Asks,
    Evidence,
    Need,
    asks_of,
    compounds,
    find_evidence,
    matched,
    name_as_written,
    need_of,
    terms_of,
)
from retrieval.answer.tables import TableAnswers, asks_movers, display
from retrieval.answer.types import Answer, Route, Sources, renumber
from retrieval.answer.understanding import Intent, Question, asks_story, cue_words, normalized, parse_question
from retrieval.calendar import (
    MONTH_FORMS,
    MONTH_NAME,
    YEAR,
    format_month,
    month_label,
    most_recent,
    parse_month,
)
from retrieval.embedder import dictionary
from retrieval.errors import NotFound
from retrieval.formatting import truncate
from retrieval.holdings import HoldingsBook
from retrieval.keyword import tokenize
from retrieval.search import Retriever, SearchFilter
from retrieval.sentences import initialisms
from retrieval.store import KnowledgeBase, visible_to

log = logging.getLogger(__name__)

# Evidence an article answer needs (calibrated on the dev set's tuning half): the best sentence's
# score, and the share of the question's topic that it, with its window and title, carries.
MIN_SCORE = 0.4
MIN_CONTEXT_COVERAGE = 0.2
MIN_TOPIC_COVERAGE = 0.1  # of the question's topic beyond the names in it, carried by the passage
QUALIFIER_BONUS = 0.1
MIN_SIMILARITY_ALONE = 0.6  # a passage this close in meaning may share few words with the question
# Words that only say "this is about a holder's holdings in the tables": what is left of a
# question after removing them, the holders and the months is what only an article can answer.
TABLE_WORDS = frozenset(
    tokenize(
        "hold holds held holding holdings holder holders treasury treasurys treasuries ust usts securities debt us u.s. "
        "american foreign overseas international abroad nonresident country countries nation nations creditor "
        "creditors government largest biggest most top second third rank ranked ranking much many billion "
        "billions trillion dollars figure figures total change changed rise rose fall fell fallen drop dropped increase "
        "decrease grow grew shrink shrank end latest now currently current month months year years data table tables "
        "number numbers compare compared versus vs more less than between since from during peak highest lowest record "
        "seller sellers buyer buyers share percent percentage proportion portion "
        "level levels owner owners owns own pile stack value worth amount amounts official investors position positions "
        "stake exposure tic report reported show shows big bigger large larger small smaller size far all time ever high "
        "low out went go did do does what when which who how whose were was is are the a an of in on at by for to and or "
        "much sell sold selling buy bought buying cut trim trimmed add added still now today so far there their its it "
        "shed move moved moves sit sitting overtake overtook pass passed spot place places historical series other grown "
        "foreigner foreigners increased increasing decreased decreasing reduce reduced grand "
        "others pare pared dump dumped offload stash stockpile hoard"
    )
)
# Words that make a "why" about the holdings themselves, which the figure helps to answer.
HOLDING_WORDS = frozenset(
    tokenize("hold holds held holding holdings holder holders pile stake position treasury treasuries securities debt")
)
# What the holdings tables do not measure: instruments, flows, custody, markets. A question
# whose holder is qualified by one of these is answered from the articles or refused.
UNTABLED = frozenset(
    tokenize(
        "bill bills tbills note notes longterm shortterm maturity maturities duration split mix flow "
        "flows inflow inflows outflow outflows purchase purchases transaction transactions custody custodial yield yields "
        "auction auctions bidder bidders agency agencies mortgage corporate equities stocks gold reserves allocation "
        "insurer insurers pension fund funds hedge private bank banks"
    )
)
MIN_THINGS_CARRIED = 0.5  # share of those words the answering sentence must carry
# A figure attributed to someone is what that someone said, not a table cell.
ATTRIBUTED = frozenset(tokenize("say says said saying told according stated claimed"))
TABLE_SOURCES = frozenset(tokenize("tic table tables treasury"))  # "according to TIC / Treasury": the tables speaking
OFFICIAL_WORDS = frozenset(
    tokenize(
        "central bank banks government governments sovereign reserve reserves institution "
        "institutions monetary authority authorities"
    )
)
OFFICIAL_SPLIT = frozenset(tokenize("bill bills tbills note notes bond bonds"))
MONTH_WORDS = frozenset(
    tokenize(" ".join(MONTH_FORMS) + " end late early mid start beginning q1 q2 q3 q4 last past previous ago")
)
# A period named by an event rather than a date: "in the month of the selloff", "during the crisis".
EVENT_TIME = re.compile(
    r"\b(?:in|during|around|over) the (?:month|week|weeks|days?|time) (?:of|after|before|when|that)\b|"
    r"\bduring\b|\bat the time of\b|\bin the wake of\b",
    re.I,
)
EVENT_SENTENCES = 5  # the best sentences read for the event's month
# Discord mentions typed into a question: users, roles, channels, @everyone and @here.
MENTION = re.compile(r"<[@#][!&]?\d+>|@(?:everyone|here)\b")
TYPED_WORD = re.compile(rf"(?<![\w'’.-])[A-Za-z]{{{countries.MIN_MISSPELT},}}(?![\w'’-])")
TOKEN_SPAN = re.compile(r"[\w'’-]+")
# "Today", "right now": only a recent story can say what is true now.
PRESENT = re.compile(r"\b(?:today|right now|currently|at the moment|at present|these days|this week)\b", re.I)
RECENT_DAYS = 45  # how much older than the newest story "now" may be
SHORT_FOLLOW_UP = 3  # words: a follow-up this short is searched with the question it follows
# Greetings and "what can you do?": no source answers them, so the reply says what to ask.
SMALL_TALK = re.compile(
    r"^\W*(?:hi|hello|hey|hiya|yo|good (?:morning|afternoon|evening)|thanks?(?: you)?(?: a lot| very much)?|ty|cheers"
    r"|help|what can you do|what do you do|who are you|what are you|how do (?:i|you) use (?:you|this|it)"
    r"|what (?:can|should) i ask(?: you)?)\W*$",
    re.I,
)
HOW_TO_ASK = (
    'Ask me about foreign holdings of U.S. Treasury securities: a holder\'s figure ("How much does Japan hold?"), '
    'a ranking ("Who holds the most?", "Top 5 in March 2025"), a change ("How did China\'s holdings change over '
    'the past year?") or what the news says ("Why did China cut its holdings?"). Every answer cites its sources.'
)
# "How recent is the data?": the newest table says.
DATA_DATE = re.compile(
    r"\b(?:latest|newest|last|most recent)\s+(?:month|data|figures?|table|tables|release|update)\b"
    r"|\b(?:data|tables?|figures)\s+(?:last\s+)?(?:updated|released|published)\b|\bhow (?:recent|current|up to date)\b",
    re.I,
)


@dataclass
class _Stored:
    """A stored document, as far as names go."""

    doc: dict
    outlet: set[str]  # its outlet's words: {"south", "china", "morning", "post"}
    outlet_initials: set[str]  # {"scmp"}
    initialisms: set[str]  # what its names shorten to: {"MOF", "CFR"}

    @classmethod
    def of(cls, doc: dict) -> _Stored:
        source = str(doc.get("source") or "")
        return cls(
            doc,
            set(tokenize(source)),
            {i.lower() for i in initialisms(source)},
            set(str(doc.get("initialisms") or "").split()),
        )

    @property
    def outlet_names(self) -> set[str]:
        return self.outlet | self.outlet_initials


class AnswerEngine:
    def __init__(self, kb: KnowledgeBase, llm=None):
        self.kb = kb
        self.book = HoldingsBook(kb)
        self.tables = TableAnswers(self.book)
        self.retriever = Retriever(kb)
        self.llm = llm
        self._documents_read: tuple[int | None, list[_Stored]] = (None, [])  # (generation, documents)
        self._names_seen: dict[tuple[int | None, int | None, str], set[str]] = {}  # see _visible

    def ask(self, text: str, previous: Question | None = None, *, guild_id: int | None = None) -> Answer:
        """`guild_id`: the Discord server asking; it sees shared documents and its own (None: shared only)."""
        started = time.perf_counter()
        timings: dict[str, float] = {}
        text = MENTION.sub(" ", text or "")  # "@here what's the UK at": a ping asks nothing
        if SMALL_TALK.match(text):
            return Answer(text=HOW_TO_ASK, refused=True, route=Route.NONE)
        text, read_as = self._respelt(text, guild_id)
        months = self._months()
        question = parse_question(text, available_months=months or None)
        subject = question.countries or question.aggregate
        if months and question.intent is None and not subject and DATA_DATE.search(text):
            answer = self.tables.newest()  # "When was the data last updated?"
            answer.question = question
            return answer
        if question.intent is None and _only_holder(question):
            # "Mexico?", "Japan March 2025?", "How has the UK changed over the last year?":
            # nothing asked but the holder, perhaps in a period, which is what the tables hold.
            question = parse_question(text, available_months=months or None, assume_about=True)
        if question.intent is None or _asked_beyond_figure(text) == Asks.WHY:
            question = _with_figure_part(question, months)
        if previous is not None:
            question = question.with_context(previous)
            if question.intent is None and not (question.countries or question.aggregate):
                # "Who holds the most? ... why?": the holder the ranking named is the subject.
                question = self._about_ranked_holder(question, previous)
        if months and _table_shaped(question) and not (question.months or question.month_range):
            question = self._dated_by_event(question, months, guild_id)
        timings["understand"] = _ms(started)
        answer = self._answer(question, months, timings, guild_id)
        answer.question = question
        if read_as:
            answer.text = f"{read_as} {answer.text}"
        timings["total"] = _ms(started)
        answer.timings_ms = {k: round(v, 1) for k, v in timings.items()}
        return answer

    def _respelt(self, text: str, guild_id: int | None) -> tuple[str, str]:
        """A question with a holder's name typed with a slip ("jpan holdings"), read with the
        holder's name, and the note that tells the user so. A word of the dictionary or of the
        sources is a word of its own ("spin", "franc"), never a slip."""
        read_as: list[str] = []

        def respell(m: re.Match[str]) -> str:
            word = m.group(0)
            if word.lower() in dictionary() or any(self.retriever.visible_word(t, guild_id) for t in tokenize(word)):
                return word
            name = countries.misspelt(word)
            if name is None:
                return word
            read_as.append(f"“{word}” as {display(name)}")
            return display(name)

        respelt = TYPED_WORD.sub(respell, text)
        return respelt, f"Reading {' and '.join(read_as)}." if read_as else ""

    def _about_ranked_holder(self, q: Question, previous: Question) -> Question:
        if previous.intent not in (Intent.TOP, Intent.RANK) or previous.countries or previous.threshold:
            return q
        try:
            month = previous.months[-1] if previous.months else None
            ranked = self.book.ranking(month)[(previous.rank or 1) - 1]
        except (NotFound, IndexError):
            return q
        # "Who holds the most? ... how much exactly?": nothing asked but the figure, so its figure.
        figure_only = asks_of(q.text) == Asks.NUMBER and not self._residual_words(q)
        return dataclasses.replace(q, countries=[ranked.series], intent=Intent.VALUE if figure_only else q.intent)

    def _months(self) -> list[str]:
        try:
            return self.book.months()
        except NotFound:
            return []

    def _dated_by_event(self, q: Question, months: list[str], guild_id: int | None) -> Question:
        """ "in the month of the Liberation Day selloff": the month an article names beside the
        event's words dates the table figure asked for."""
        anchor = EVENT_TIME.search(q.text)
        if anchor is None:
            return q
        event = terms_of(q.text[anchor.end() :]) - TABLE_WORDS - MONTH_WORDS - QUESTION_WORDS
        if not event:
            return q
        need = need_of(q.text, self.retriever, q.countries, [], TABLE_WORDS)
        flt = SearchFilter(kinds=("article",), guild_id=guild_id)
        for e in find_evidence(self.retriever, q.text, need, flt)[:EVENT_SENTENCES]:
            if len(matched(event, e.terms)) * 2 < len(event):
                continue
            month = _month_beside(e.sentence, event, str(e.hit.meta.get("published", "")))
            if month in months:
                return dataclasses.replace(q, months=[month], latest=False)
        return q

    # -- routing -------------------------------------------------------------------------------

    def _answer(self, q: Question, months: list[str], timings: dict[str, float], guild_id: int | None) -> Answer:
        residual = self._residual_words(q)
        outlets = self._outlets_named(q.text, guild_id)
        if Asks.WHY in (asks_of(q.text), _asked_beyond_figure(q.text)):
            residual.add("why")  # a reason is never in a table, however few other words ask for it
        qualifier: set[str] = set()
        untabled = False  # the question asks for something the tables do not measure at all
        table_answer = None
        if months and _table_shaped(q):
            unknown = self._unknown_holders(q, guild_id)
            if unknown:
                return self.tables.coverage_refusal(
                    q,
                    f"The holdings tables do not list {unknown[0]}: they list foreign countries and territories, "
                    f"the foreign total and foreign official holders.",
                )
            # "Israel's bill holdings", "Japan's purchases", "what Kato said": words beside the
            # holder that the tables cannot answer make their figure the wrong answer.
            figure_clause = _figure_clause(q, residual)
            clause = set(tokenize(figure_clause)) | compounds(figure_clause)
            qualifier = residual & clause
            attributed = (bool(clause & ATTRIBUTED) or bool(outlets)) and not clause & TABLE_SOURCES
            # "Euroclear": a name no source uses; what the question asks of it is in none of them.
            unheard = any(
                not self.retriever.visible_word(t, guild_id)
                for w in NAME_SPAN.findall(figure_clause)
                for t in tokenize(w)
                if t in qualifier
            )
            # "Why did the Taiwan dollar spike in May?": a reason asked of a holder is no figure.
            why_only = asks_of(figure_clause) == Asks.WHY and not clause & HOLDING_WORDS
            # "How much did Japan spend on intervention?": a question that asks something of a
            # holder and never names its holdings asks for no holdings figure.
            off_holdings = bool(qualifier) and not set(tokenize(q.text)) & HOLDING_WORDS
            untabled = attributed or unheard or bool(qualifier & UNTABLED)
            if (q.countries or q.aggregate or q.intent in (Intent.TOP, Intent.RANK) or asks_movers(q)) and not (
                untabled or why_only or off_holdings
            ):
                step = time.perf_counter()
                table_answer = self.tables.answer(q)
                timings["table"] = _ms(step)
                if not residual:
                    return table_answer  # a figure and nothing more: no article search, no embedding

        step = time.perf_counter()
        text = _search_text(q)
        need = need_of(text, self.retriever, q.countries, q.months, TABLE_WORDS)
        figure = table_answer if table_answer is not None and not table_answer.refused else None
        if figure is not None:
            need.asks = _asked_beyond_figure(q.text) or need.asks  # the table gives the figure
        evidence = find_evidence(self.retriever, text, need, SearchFilter(kinds=("article",), guild_id=guild_id))
        timings["search"] = _ms(step)
        unnamed = self._unheard_names(need, guild_id)
        if unnamed:  # "What did the PIF buy?": no source names the PIF, so none can say
            return figure or self._refusal(evidence, f"none of them mentions {unnamed[0]}")
        # Only sentences about the holders and people the question names can answer it; a word
        # that qualified the figure ("bill holdings") must be carried too.
        closest, evidence = evidence, [e for e in evidence if e.on_subject]
        if outlets:  # "per whizbuddy": only what that outlet (or the writer it names) wrote
            evidence = [e for e in evidence if outlets <= e.context | _Stored.of(e.hit.meta).outlet_names]
            qualifier -= outlets
        if PRESENT.search(q.text):
            evidence = [e for e in evidence if _recent(e.hit.meta.get("published_day", 0), self.retriever.newest_day)]
        # What the tables do not measure ("gold", "yields") must be in the answering sentence.
        # A name is matched as a name (its story's title or outlet may carry it): "Bank" of "Swiss
        # National Bank", "Frontrunner" of "according to AI Frontrunner".
        name_words = {t for name in need.names for t in name}
        qualifier -= name_words
        things = residual & UNTABLED - name_words
        wanted = qualifier | things
        if wanted:
            for e in evidence:
                if matched(wanted, _said(e)):
                    e.score += QUALIFIER_BONUS
            evidence.sort(key=lambda e: -e.score)
        # Beside a figure, or asked for the story of what was just said ("what was going on?"),
        # the subject is fixed and the rest needs a good sentence about it.
        # ... or named by its outlet ("the scmp piece").
        subject_fixed = figure is not None or (bool(q.context) and asks_story(q.text)) or bool(outlets)
        supported = _supported(evidence, qualifier if untabled else set(), subject_fixed)
        if supported and things and len(matched(things, _said(evidence[0]))) < MIN_THINGS_CARRIED * len(things):
            supported = False  # "gold" asked, no sentence about gold: one about the holder is not enough

        if supported and figure is None and need.asks == Asks.NUMBER:
            # "How much did Alecta sell?": sentences holding no figure say it sold, not how much.
            supported = any(FIGURE.search(e.sentence) for e in choose(evidence, need))
        if figure is not None:
            if not supported:
                return figure
            return self._composed(q, evidence, need, figure, Route.MIXED)
        if not supported:
            if table_answer is not None:
                return table_answer  # the tables' own "what they hold" refusal
            return self._refusal(closest)
        return self._composed(q, evidence, need, None, Route.ARTICLES)

    @staticmethod
    def _residual_words(q: Question) -> set[str]:
        """The question's words that no table figure answers ("why", "yen", "custody", "bills")."""
        named = set()
        for name in q.countries + ([q.aggregate] if q.aggregate else []):
            named |= set(tokenize(name))
        for written, name in countries.mentions(q.text):
            named |= set(tokenize(written)) if name in q.countries else set()  # "Beijing" for China
        cues = set(tokenize(cue_words(q.text))) - UNTABLED  # "ranks 10th", "history", "ahead of"
        text = normalized(q.text)  # "a yr earlier" as "a year earlier"
        words = (set(tokenize(text)) | compounds(text)) - TABLE_WORDS - MONTH_WORDS - QUESTION_WORDS - named - cues
        if q.aggregate and q.aggregate.startswith(countries.FOREIGN_OFFICIAL):
            # "central banks" is how people name the official holders, whose bills and bonds the tables split
            words -= OFFICIAL_WORDS | OFFICIAL_SPLIT
        words = {w for w in words if countries.canonical(w) not in q.countries}  # "Caymans", "British"
        return {w for w in words if not re.fullmatch(r"[\d.,]+(?:st|nd|rd|th)?", w)}  # figures and ordinals

    def _unknown_holders(self, q: Question, guild_id: int | None) -> list[str]:
        """Names a holdings question asks about that neither the tables nor any article know ("Qatar")."""
        if q.countries or q.aggregate or q.intent == Intent.TOP or (q.intent == Intent.RANK and q.rank):
            return []
        names = []
        for span in NAME_SPAN.findall(q.text):
            name = name_as_written(span, QUESTION_WORDS | TABLE_WORDS)
            terms = [t for t in tokenize(name) if t not in TABLE_WORDS and t not in MONTH_WORDS]
            if not terms or countries.find_in_text(span):
                continue
            heard = any(self.retriever.visible_word(t, guild_id, stem=True) for t in terms)
            if not heard and not set(terms) & self._source_names(guild_id) and name not in self._spelled_out(guild_id):
                names.append(name)
        return names

    def _unheard_names(self, need: Need, guild_id: int | None) -> list[str]:
        """Names the question uses (people, funds, outlets) that no stored passage or outlet
        uses, in any of their words or as an acronym ("per IPE" names an outlet)."""
        return [
            written
            for terms, acronyms, written in zip(need.names, need.acronyms, need.written)
            if not any(self.retriever.visible_word(t, guild_id) for t in terms | {a.lower() for a in acronyms})
            and not terms & self._source_names(guild_id)
            and not acronyms & self._spelled_out(guild_id)  # "MOF": a page says "Ministry of Finance"
        ]

    def _outlets_named(self, text: str, guild_id: int | None) -> set[str]:
        """ "per whizbuddy", "the scmp piece", "FT": the outlets a question names by a word of
        their own or their initials, either one no dictionary holds or, initials, written in
        capitals ("Reuters" is read as attributed by "according to"; "per" is no outlet's initials
        but a word: "per month"). What the question asks is what that outlet wrote."""
        words = set(tokenize(text)) - TABLE_SOURCES
        own = {w for w in words & self._visible(guild_id, "outlet") if w not in dictionary()}
        initials = {
            w
            for w in words & self._visible(guild_id, "outlet_initials")
            if w not in dictionary() or re.search(rf"\b{w.upper()}\b", text)
        }
        return own | initials

    def _source_names(self, guild_id: int | None) -> set[str]:
        """Words and initials of the outlets ("IPE", "Reuters", "scmp") of the documents this guild may see."""
        return self._visible(guild_id, "outlet") | self._visible(guild_id, "outlet_initials")

    def _spelled_out(self, guild_id: int | None) -> set[str]:
        """What the names of the documents this guild may see shorten to ("MOF", "CFR")."""
        return self._visible(guild_id, "initialisms")

    def _visible(self, guild_id: int | None, names: str) -> set[str]:
        """One kind of name (a field of _Stored) over the documents this guild may see, gathered
        once per store generation: a question asks for them several times."""
        documents = self._documents()
        key = (self._documents_read[0], guild_id, names)
        if key not in self._names_seen:
            self._names_seen = {k: v for k, v in self._names_seen.items() if k[0] == key[0]}
            self._names_seen[key] = {
                n for stored in documents if visible_to(stored.doc, guild_id) for n in getattr(stored, names)
            }
        return self._names_seen[key]

    def _documents(self) -> list[_Stored]:
        """Each stored document with its outlet's words and initials and its names' initialisms,
        read again only when the store has changed."""
        self.retriever.refresh()  # checks the store's write generation at most every 0.5 s
        generation = self.retriever.generation
        if self._documents_read[0] != generation:
            self._documents_read = (generation, [_Stored.of(d) for d in self.kb.list_documents()])
        return self._documents_read[1]

    # -- answers -------------------------------------------------------------------------------

    def _composed(
        self, q: Question, evidence: list[Evidence], need: Need, table_answer: Answer | None, route: Route
    ) -> Answer:
        chosen = choose(evidence, need)
        sources = Sources()
        parts = [renumber(table_answer, sources)] if table_answer is not None else []
        budget = MAX_PROSE - sum(len(p) + 1 for p in parts)
        parts += compose(chosen, sources, budget)
        composed = Answer(
            text=" ".join(parts),
            citations=sources.citations,
            route=route,
            data_month=table_answer.data_month if table_answer else "",
        )
        if self.llm is not None and table_answer is None:  # table figures are never rephrased
            phrased = llm_phrasing.phrase(self.llm, q.text, evidence[:4])
            if phrased is not None:
                return phrased
        return composed

    @staticmethod
    def _refusal(evidence: list[Evidence], why: str = "none of them answers that") -> Answer:
        sources = Sources()
        for e in evidence:
            if len(sources.citations) >= 3:
                break
            sources.article(e.hit, truncate(e.sentence, 160))
        closest = "; ".join(f"[{c.n}] {c.title}" for c in sources.citations)
        text = f"I don't know from my sources: {why}."
        if closest:
            text += f" The closest are {closest}."
        return Answer(text=text, citations=sources.citations, refused=True, route=Route.NONE)


# Where one part of a question ends and the next begins: "...in May 2024, and why ...?"
CLAUSE_BREAK = re.compile(
    r"[?;]|(?<=[a-z0-9])\.\s+|\s+[-–—]+\s+|,?\s+(?:and|but)\s+(?=(?:why|what|how|when|who|whom|"
    r"where|which|is|are|was|were|did|does|do|has|have|had)\b)|,\s+(?:and|but)\s+",
    re.I,
)


def _figure_clause(q: Question, residual: set[str]) -> str:
    """The part of the question that asks for the holder's figure: of the parts naming the
    holder, the one with the fewest words the tables cannot answer."""
    clauses = [c for c in CLAUSE_BREAK.split(q.text) if c and c.strip()]
    names = {n.lower() for n in q.countries + ([q.aggregate] if q.aggregate else [])}
    naming = [c for c in clauses if names & {f.lower() for f in countries.find_in_text(c)}]
    if not naming:
        return clauses[0] if clauses else q.text
    return min(naming, key=lambda c: len(residual & set(tokenize(c))))


def _month_beside(sentence: str, event: set[str], published: str) -> str | None:
    """The month named nearest the event's words in a sentence, in the year the sentence names
    or else the story's year (a month after the story's own is the year before)."""
    named = list(MONTH_NAME.finditer(sentence))
    spots = [m.start() for m in TOKEN_SPAN.finditer(sentence) if terms_of(m.group(0)) & event]
    if not named or not spots:
        return None
    nearest = min(named, key=lambda m: min(abs(m.start() - spot) for spot in spots))
    number = MONTH_FORMS[nearest.group(1).lower()]
    years = YEAR.findall(sentence)
    if years:
        return format_month(int(years[0]), number)
    story = parse_month(published[:7])
    if story is None:
        return None
    return format_month(*most_recent(number, *story))


def _asked_beyond_figure(text: str) -> Asks | None:
    """A reason, a date or a name that a part of the question asks for beside a figure:
    "How much ..., and why?" asks the articles for the reason."""
    asked = (asks_of(clause) for clause in CLAUSE_BREAK.split(text) if clause and clause.strip())
    return next((kind for kind in asked if kind in (Asks.WHY, Asks.WHEN, Asks.WHO)), None)


def _search_text(q: Question) -> str:
    """The question with what a follow-up left out ("why?" after Japan in May 2024)."""
    named = set(countries.find_in_text(q.text))
    extra = [display(c) for c in q.countries if c not in named]
    extra += [month_label(m) for m in q.months if month_label(m).split()[0].lower() not in q.text.lower()]
    if q.context and len(tokenize(q.text)) <= SHORT_FOLLOW_UP:
        extra.append(q.context)  # "why?" alone says nothing to search for
    return " ".join([q.text, *extra])


def _with_figure_part(q: Question, months: list[str]) -> Question:
    """ "What are Japan's and China's holdings, and why are they falling?": a "why" makes the
    whole read as no table question, or as the wrong one ("how much does China hold, and why
    has it been selling?" is no change); the part that asks for the figures says which, and the
    "why" still goes to the articles."""
    for clause in CLAUSE_BREAK.split(q.text):
        if not clause or not clause.strip() or asks_of(clause) == Asks.WHY:
            continue
        part = parse_question(clause, available_months=months or None)
        if part.intent is not None and (part.countries or part.aggregate or part.intent == Intent.TOP):
            if not (part.months or part.month_range or part.latest):
                # "How much did China hold, and why did it fall in April 2025?": the month is the question's.
                part = dataclasses.replace(part, months=q.months, month_range=q.month_range, latest=q.latest)
            return dataclasses.replace(part, text=q.text)
    return q


def _only_holder(q: Question) -> bool:
    """ "Mexico?", "Japan March 2025?": a holder, perhaps a period, and nothing else asked."""
    return bool(q.countries or q.aggregate) and asks_of(q.text) != Asks.WHY and not AnswerEngine._residual_words(q)


def _table_shaped(q: Question) -> bool:
    if q.intent is not None:
        return True
    return q.about_holdings and bool(q.countries or q.aggregate) and bool(q.months or q.latest or q.month_range)


def _supported(evidence: list[Evidence], qualifier: set[str], subject_fixed: bool = False) -> bool:
    """Whether the best sentence answers what the tables cannot. `subject_fixed`: a table figure
    or the conversation already fixes the subject (the sentences left are about that holder), so
    the rest needs a good sentence, not one that repeats the question's words."""
    if not evidence:
        return False
    best = evidence[0]
    if qualifier and not matched(qualifier, _said(best)):
        return False
    if subject_fixed:
        return best.score >= MIN_SCORE
    close = best.context_coverage >= MIN_CONTEXT_COVERAGE or best.hit.similarity >= MIN_SIMILARITY_ALONE
    # Naming the right person is not enough: the passage must be about what was asked of them.
    return best.score >= MIN_SCORE and close and best.topic_coverage >= MIN_TOPIC_COVERAGE


def _recent(day: int, newest: int) -> bool:
    try:
        when = datetime.date(day // 10000, day // 100 % 100 or 1, day % 100 or 1)
        latest = datetime.date(newest // 10000, newest // 100 % 100 or 1, newest % 100 or 1)
    except ValueError:
        return False
    return (latest - when).days <= RECENT_DAYS


def _said(e: Evidence) -> set[str]:
    return e.terms | terms_of(e.hit.meta.get("title", ""))


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000
