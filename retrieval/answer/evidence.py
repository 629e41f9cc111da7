"""Evidence from the articles: the sentences that can answer a question, best first.

Articles are stored as sentence windows (ingest.pipeline): a window is found by meaning (the
bundled MiniLM) and by words (BM25), fused by rank; the sentence in its middle is scored by how
much of the question it carries itself, how close its window is in meaning, and whether it
holds the kind of thing asked for (a figure, a date, a reason, a name).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from retrieval import countries
from retrieval.answer.understanding import is_period
from retrieval.calendar import (
    MONTH_ABBREVIATIONS,
    MONTH_FORMS,
    MONTH_NAMES,
    YEAR,
    YEAR_PATTERN,
    month_name,
    month_number,
)
from retrieval.keyword import tokenize
from retrieval.search import Retriever, SearchFilter
from retrieval.sentences import cached_sentences, initialisms
from retrieval.store import Hit

# How a sentence is scored: its own share of the question's topic, its window's, and how close
# its window is in meaning (tuned on the dev set's tuning half).
W_SENTENCE = 0.3
W_CONTEXT = 0.2
W_MEANING = 0.6
NOT_PROSE_PENALTY = 0.3
WRONG_YEAR_PENALTY = 0.15
W_ENTITIES = 0.1
ENTITY_PENALTY = 0.15
MONTH_BONUS = 0.05
OTHER_MONTH_PENALTY = 0.4  # a sentence about another month than the one asked (set on the tuning sets)
WINDOWS = 40  # windows read per question: the answer is rarely below the 20th
# Words that make a question but say nothing about its topic.
QUESTION_WORDS = frozenset(
    tokenize(
        "what which who whom whose when where why how much many did does do is are was were will would could should "
        "can has have had tell me give show explain say said says according per roughly about around exactly actually "
        "really still also just any some latest current currently recent recently get got go went make made take took "
        "thing things way kind sort lot right now today these days this that one ones please know think mean every "
        "ever yet again once quite very single two three four five six seven eight nine ten t s don doesn didn isn "
        "aren wasn weren won hasn haven no not they them their theirs he she him his her hers we our ours my your "
        "list among same several few doing done happen happens happened piece column blog writeup even"
    )
)


class Asks(StrEnum):
    """The kind of thing a question asks for."""

    NUMBER = "number"  # "how much", "what share"
    WHEN = "when"
    WHY = "why"
    WHO = "who"
    YES_NO = "yes_no"  # "did", "is", "will" ...


# The kind of thing a question asks for, read from its opening words.
ASKS = [
    (
        Asks.NUMBER,
        re.compile(
            r"\bhow (?:much|many|large|big|far|high|low|weak|strong|long)\b|\bby how much\b|"
            r"\bwhat (?:[\w-]+ ){0,3}?(?:share|level|rate|percentage|amount|size|number|figure|total|yield|value)\b|"
            r"\bwhere did .* end up\b",
            re.I,
        ),
    ),
    (Asks.WHEN, re.compile(r"\bwhen\b|\bwhat (?:date|day|month|year)\b", re.I)),
    (
        Asks.WHY,
        re.compile(
            r"\bwhy\b|\bwhat(?: is| was|'s|’s) behind\b|\bwhat explains\b|\bhow come\b|\breasons?\b|"
            # "what's been making the yen weaker?", "what drove the selloff?": a cause asked for
            r"\bwhat(?:'s|’s| is| was| has| had)?(?: been)? (?:making|driving|drove|causing|caused|pushing|pushed"
            r"|prompt(?:ed|ing)|fuel(?:l?ed|l?ing)|sparked|triggered)\b",
            re.I,
        ),
    ),
    (Asks.WHO, re.compile(r"^\W*who\b|\bwho (?:was|is|were|are|said)\b", re.I)),
    (Asks.YES_NO, re.compile(r"^\W*(?:did|does|do|is|are|was|were|has|have|had|will|would|can|could|should)\b", re.I)),
]
# Text addressed to a model ("ignore previous instructions ...") is an attack, not a statement:
# never quoted, never given to an LLM.
INSTRUCTIONS = re.compile(
    r"\b(?:ignore|disregard|forget)\b.{0,30}\b(?:previous|prior|above|earlier|all)\b.{0,20}"
    r"\b(?:instructions?|prompts?|rules)\b|\bsystem prompt\b|\byou are now\b|"
    r"\bas an ai\b|\bnew instructions?\b",
    re.I,
)
FIGURE = re.compile(r"\d")
DATE = re.compile(r"\b(?:" + "|".join(MONTH_NAMES + MONTH_ABBREVIATIONS) + rf")\b\.?\s*\d|\b{YEAR_PATTERN}\b")
# "since" and "after" give a reason, not when a date follows ("since September 2008").
AFTER_DATE = (
    r"(?!\s+(?:(?:early|mid|late|the end of|the start of)[\s-]+)?(?:" + "|".join(MONTH_NAMES) + rf"|{YEAR_PATTERN})\b)"
)
CAUSE = re.compile(
    r"\b(?:because|as a result|result of|due to|driven by|amid|(?:after|since)"
    + AFTER_DATE
    + r"|reflect\w*|caus\w*|reasons?|"
    r"owing to|thanks to|so that|in order to|to (?:defend|support|prop|curb|stem|counter|fund|"
    r"pay|diversify|reduce|avoid)|aimed at|attribut\w*|explain\w*|sparked|triggered|led to|fears?|"
    r"concerns?|worr\w*|pressure|home to|role as|stems? from|comes? from|means|largely|mostly|partly|"
    r"exacerbat\w*|amplif\w*|fuell?ed by|spurred|on (?:expectations|hopes|bets))\b",
    re.I,
)
PERSON = re.compile(r"\b[A-Z][a-z]+ [A-Z][a-z]+\b|\bsaid\b|\bsays\b")
# Capitalised words and acronyms; the question's first word is capitalised for grammar only.
# Names as written: runs of capitalised words and acronyms ("Swiss National Bank", "HKMA").
# A possessive ends a name: "McGeever's NY Fed" is two.
NAME_SPAN = re.compile(
    r"(?<![\w'’])([A-Z][\w’'.-]*(?:(?<!['’]s)\s+(?:of|the|de|du|da|and)\s+[A-Z][\w’'.-]*|(?<!['’]s)\s+[A-Z][\w’'.-]*)*)"
)
SENTENCE_START = re.compile(r"(?:^|[.?!:;\-–—]\s*)\W*$")
ACRONYM = re.compile(r"[A-Z]{2,6}")
NUMERIC = re.compile(r"^[\d.,/%$()+-]+$")
# A month as a question or a story may write it ("Jan", "Sept", "January"), spelled out.
MONTH_TERMS = {form: MONTH_NAMES[number - 1].lower() for form, number in MONTH_FORMS.items()}
COMPOUND = re.compile(r"\b(long|short)[- ](term)\b", re.I)
MIN_STEM = 4  # shorter stems match only themselves
UNITS = frozenset({"billion", "million", "trillion"})  # "bill" is not "billion"


@dataclass
class Need:
    """What a sentence must carry to answer the question."""

    weights: dict[str, float]  # the question's topic terms -> rarity (idf)
    asks: Asks | None
    years: set[str] = field(default_factory=set)
    holders: list[str] = field(default_factory=list)  # canonical countries the question names
    names: list[set[str]] = field(default_factory=list)  # other names it uses (people, outlets, agencies)
    month_words: set[str] = field(default_factory=set)  # "april" for a question about 2024-04
    acronyms: list[frozenset[str]] = field(default_factory=list)  # each name's: {"SNB"}, {"HKMA"}
    holder_words: set[str] = field(default_factory=set)  # the holders' words, as named and as written
    written: list[str] = field(default_factory=list)  # each name as the question writes it: "PIF", "Jerome Powell"
    tenors: set[int] = field(default_factory=set)  # maturities asked about: {30} for "the 30yr auction"

    @property
    def total(self) -> float:
        return sum(self.weights.values()) or 1.0

    def topic_coverage(self, terms: set[str]) -> float:
        named = {t for name in self.names for t in name} | self.holder_words
        topic = {t: w for t, w in self.weights.items() if t not in named}
        if not topic:
            return 1.0
        return sum(w for t, w in topic.items() if matches(t, terms)) / sum(topic.values())

    def coverage(self, terms: set[str]) -> float:
        return sum(w for t, w in self.weights.items() if matches(t, terms)) / self.total


@dataclass
class Evidence:
    hit: Hit  # the window
    sentence: str  # the sentence the answer would quote
    score: float
    coverage: float  # share of the question's topic the sentence carries
    context_coverage: float  # the same for the window and its title
    terms: set[str]
    context: set[str] = field(default_factory=set)  # the window's and title's terms
    on_subject: bool = True  # names the holders or people the question names (if any), of the maturity asked
    topic_coverage: float = 0.0  # share of the question's topic, beyond its names, that the window carries


def _term(token: str) -> str:
    return MONTH_TERMS.get(token, token)  # "decline" is no December, "market" no March


def compounds(text: str) -> set[str]:
    """ "long-term", "short term": one idea, kept whole ("longterm") beside its two words."""
    return {f"{a.lower()}{b.lower()}" for a, b in COMPOUND.findall(text)}


def terms_of(text: str) -> set[str]:
    """Topic terms for matching a question to a sentence: stems, with months spelled out."""
    return {_term(t) for t in tokenize(text)} | compounds(text)


def matches(term: str, terms: set[str]) -> bool:
    """A term is carried when a text has it, or a word one of them begins ("weak" ~ "weaken")."""
    if term in terms:
        return True
    if len(term) < MIN_STEM:
        return False
    return any(len(t) >= MIN_STEM and t not in UNITS and (t.startswith(term) or term.startswith(t)) for t in terms)


def matched(terms: set[str], text_terms: set[str]) -> set[str]:
    return {t for t in terms if matches(t, text_terms)}


def is_prose(sentence: str) -> bool:
    """A statement, not a row of figures from a table pasted into the page."""
    words = sentence.split()
    return len(words) >= 5 and sum(bool(NUMERIC.match(w)) for w in words) <= 0.3 * len(words)


def asks_yes_or_no(text: str) -> bool:
    """ "Did Canada sell in April, and why?" is a yes-or-no question even though it also asks why."""
    return bool(dict(ASKS)[Asks.YES_NO].search(text))


def asks_of(text: str) -> Asks | None:
    for kind, pattern in ASKS:
        if pattern.search(text):
            return kind
    return None


def need_of(
    text: str,
    retriever: Retriever,
    holders: list[str] | None = None,
    months: list[str] | None = None,
    domain_words: frozenset[str] = frozenset(),
) -> Need:
    weights: dict[str, float] = {}
    why = dict(ASKS)[Asks.WHY].search(text)
    asking = set(tokenize(why.group(0))) if why else set()  # "making" of "what's making ...": no topic
    for t in dict.fromkeys(tokenize(text)):
        if t in QUESTION_WORDS or t in asking:
            continue
        # Rare words tell the topic; a word no passage uses still counts (a paraphrase or a
        # name the sources lack), as much as a fairly rare one.
        key = _term(t)
        weights[key] = max(weights.get(key, 0.0), max(0.5, retriever.idf(t)) if retriever.known(t) else 3.0)
    holders = list(holders or [])
    # A capital stands for its holder ("Beijing" for China): matched as the holder, not as a word
    # a passage must use.
    capitals = [alias for alias, name in countries.mentions(text) if name in holders and countries.is_capital(alias)]
    for t in {t for alias in capitals for t in terms_of(alias)}:
        weights.pop(t, None)
    holder_words = {w for h in holders + capitals for w in terms_of(h)}
    domain = {_term(t) for t in domain_words}  # "Treasury" is capitalised but names no one
    names: list[set[str]] = []
    acronyms: list[frozenset[str]] = []
    written: list[str] = []
    for match in NAME_SPAN.finditer(text):
        span = match.group(0)
        if " " not in span and not span.isupper() and SENTENCE_START.search(text[: match.start()]):
            continue  # "If", "Roughly": capitalised because a sentence starts there
        if countries.canonical(span) or (len(span.split()) == 1 and countries.find_in_text(span)):
            continue  # "British", "Caymans": holders, matched as holders ("Swiss National Bank" is a name)
        if is_period(span):
            continue  # "YoY", "H1": a time, read as one
        terms = {
            t for t in terms_of(span) if t not in domain and t not in QUESTION_WORDS and t not in MONTH_TERMS.values()
        }
        # "What", "Did": capitalised for grammar, no name. "Bank of Canada" keeps its holder: a
        # passage about Brazil's central bank is not about it.
        if terms - holder_words:
            names.append(terms)
            written.append(name_as_written(span))
            acronyms.append(acronyms_of(written[-1]))
    month_words = {_term(month_name(m).lower()) for m in months or []}
    return Need(
        weights,
        asks_of(text),
        set(YEAR.findall(text)),
        holders,
        names,
        month_words,
        acronyms,
        holder_words,
        written,
        tenors(text),
    )


def _center(hit: Hit) -> str:
    sentence = hit.meta.get("sentence")
    if sentence:
        return sentence
    found = cached_sentences(hit.text)  # a chunk from an older layout: its first sentence stands for it
    return found[0] if found else hit.text


def gives_what_is_asked(asks: Asks | None, sentence: str) -> bool:
    """Whether the sentence holds the kind of thing asked for: a figure, a date, a reason, a name."""
    return _kind_bonus(asks, sentence) > 0


def _kind_bonus(asks: Asks | None, sentence: str) -> float:
    if asks == Asks.NUMBER:
        return 0.15 if FIGURE.search(sentence) else -0.1
    if asks == Asks.WHEN:
        return 0.15 if DATE.search(sentence) else -0.1
    if asks == Asks.WHY:
        return 0.12 if CAUSE.search(sentence) else 0.0
    if asks == Asks.WHO:
        return 0.1 if PERSON.search(sentence) else 0.0
    return 0.0


# A month a sentence names: "March", or "Sep 2022", "Aug. 13" ("may" the verb is no month).
NAMED_MONTH = re.compile(
    r"\b(?:(" + "|".join(MONTH_NAMES) + r")\b|(" + "|".join(MONTH_ABBREVIATIONS) + r")\.?(?=\s+\d))"
)

# "since Japan last intervened in July 2024", "from $1,150.3 billion in April": a month measured from.
MEASURED_FROM = re.compile(r"\b(?:since|from|before|after|than|until|compared with)\b[^.;,:()—–]*$", re.I)


def months_named(sentence: str) -> set[str]:
    """The months a sentence speaks of, as lower-case full names; "since September 2022" is a
    month it measures from, not one it speaks of."""
    return {
        (m.group(1) or MONTH_NAMES[(month_number(m.group(2)) or 1) - 1]).lower()
        for m in NAMED_MONTH.finditer(sentence)
        if not MEASURED_FROM.search(sentence[max(0, m.start() - 40) : m.start()])
    }


# A maturity, written in the singular: "30-year", "10yr", "2y", "two-year futures" ("in 10 years",
# "a 15-year low" and "a year ago" are times).
TENOR_WORDS = {"two": 2, "three": 3, "five": 5, "seven": 7, "ten": 10, "twenty": 20, "thirty": 30}
TENOR = re.compile(
    rf"\b(\d{{1,2}}|{'|'.join(TENOR_WORDS)})[\s-]?(?:year|yr|y)\b"
    r"(?![\s-]*(?:low|high|old|ago|period|span|run|record|average|horizon|stretch))",
    re.I,
)


def tenors(text: str) -> set[int]:
    """The maturities a text speaks of: {30} for "the 30yr auction"."""
    return {TENOR_WORDS.get(n.lower()) or int(n) for n in TENOR.findall(text)}


def score_sentence(need: Need, hit: Hit, sentence: str) -> Evidence:
    terms = terms_of(sentence)
    context = terms | terms_of(hit.text) | terms_of(hit.meta.get("title", ""))
    coverage = need.coverage(terms)
    context_coverage = need.coverage(context)
    score = (
        W_SENTENCE * coverage
        + W_CONTEXT * context_coverage
        + W_MEANING * max(0.0, hit.similarity)
        + _kind_bonus(need.asks, sentence)
    )
    if not is_prose(sentence):
        score -= NOT_PROSE_PENALTY
    if need.years:
        dated = set(YEAR.findall(f"{hit.text} {hit.meta.get('title', '')}")) | {str(hit.meta.get("published", ""))[:4]}
        if not need.years & dated:
            score -= WRONG_YEAR_PENALTY  # a story of another year rarely answers "in 2024"
    if need.holders or need.names:
        # The holders and names the question is about must be the ones the passage is about.
        # The sentence, the one before it (what "it" and "the holdings" refer to) and the title;
        # not the one after, which may be about someone else.
        before = hit.text[: max(0, hit.text.find(sentence[:40]))]
        passage = f"{before} {sentence}"
        share = subject_share(need, f"{hit.meta.get('title', '')} {hit.meta.get('source', '')} {passage}")
        lead = hit.meta.get("lead", "")
        if not share and lead and (not need.holders or countries.mentioned(lead, need.holders)):
            # A sentence that names no holder is about its story's: "the central bank" of a
            # story that opens on India is India's. (Naming any holder is the slow test: last.)
            share = subject_share(need, f"{lead} {passage}")
            if share and countries.find_in_text(passage):
                share = 0.0
        score += W_ENTITIES * share if share else -ENTITY_PENALTY
        on_subject = share > 0
    else:
        on_subject = True
    if need.month_words & context:
        score += MONTH_BONUS  # the passage is about the month asked
    named = months_named(sentence)
    if need.month_words and named and not need.month_words & named and need.asks != Asks.WHEN:
        score -= OTHER_MONTH_PENALTY  # "net flows were $184.5 billion in February" is no answer about March
    if need.tenors:
        spoken = tenors(sentence) or tenors(f"{hit.meta.get('title', '')} {hit.text}")
        if spoken and not need.tenors & spoken:
            on_subject = False  # the 20-year auction's bid-to-cover is no answer about the 30-year's
    return Evidence(
        hit, sentence, score, coverage, context_coverage, terms, context, on_subject, need.topic_coverage(context)
    )


def name_as_written(span: str, grammar: frozenset[str] = QUESTION_WORDS) -> str:
    """A name without the capitalised words a question opens with ("Did the LBZ" -> "LBZ") and
    without its possessive."""
    words = [w for w in span.strip(".'’-?").split() if w]
    while words and set(tokenize(words[0])) <= grammar:  # "the", "did": no terms, or grammar's
        words = words[1:]
    return re.sub(r"['’]s$", "", " ".join(words))


def acronyms_of(span: str) -> frozenset[str]:
    """What a name may be abbreviated to, or what an acronym is: {"SNB"} for "Swiss National
    Bank", {"PBOC", "PBC"} for "People's Bank of China", {"HKMA"} for "HKMA"."""
    words = re.sub(r"['’]s$", "", span).split()
    words = words[1:] if len(words) > 1 and words[0].lower() == "the" else words
    if len(words) == 1:
        return frozenset(words) if ACRONYM.fullmatch(words[0]) else frozenset()
    return frozenset({"".join(w[0] for w in words).upper(), "".join(w[0] for w in words if w[0].isupper())})


def _acronym_in(acronyms: frozenset[str], text: str) -> bool:
    """Whether the text names what these acronyms stand for: an acronym itself, or a name whose
    initials spell one ("Hong Kong Monetary Authority" for "HKMA", "Bank of Japan" for "BOJ")."""
    acronyms = frozenset(a for a in acronyms if len(a) >= 2)
    if not acronyms:
        return False
    if any(re.search(rf"\b{a}\b", text) for a in acronyms):
        return True
    return bool(acronyms & initialisms(text))


def _shortened_in(written: str, text: str) -> bool:
    """Whether the text names what a name shortens word by word: "NY Fed" is the "New York
    Federal Reserve", "KC Fed" the "Kansas City Fed" (an initialism stands for capitalised words
    in a row, a capitalised word for one it begins)."""
    words = written.split()
    if len(words) < 2:
        return False
    initials = initialisms(text)
    capitalised = {w.lower() for w in re.findall(r"\b[A-Z][\w’'-]+", text)}
    return all((w.isupper() and w in initials) or any(c.startswith(w.lower()) for c in capitalised) for w in words)


def subject_share(need: Need, about: str) -> float:
    """The share of the question's holders and names (every word of "Federal Reserve") a text names."""
    found = countries.mentioned(about, need.holders)
    said = terms_of(about)
    named = sum(
        len(matched(name, said)) == len(name) or _acronym_in(acronym, about) or _shortened_in(written, about)
        for name, acronym, written in zip(need.names, need.acronyms, need.written)
    )
    return (sum(h in found for h in need.holders) + named) / (len(need.holders) + len(need.names))


def find_evidence(retriever: Retriever, text: str, need: Need, flt: SearchFilter | None = None) -> list[Evidence]:
    """Every candidate sentence, best first (one entry per sentence)."""
    flt = flt or SearchFilter(kinds=("article",))
    hits = retriever.search(text, k=WINDOWS, flt=flt, per_doc=WINDOWS)
    found: dict[tuple[str, str], Evidence] = {}
    for hit in hits:
        sentence = _center(hit)
        if INSTRUCTIONS.search(sentence):
            continue
        key = (hit.doc_id, sentence)
        evidence = score_sentence(need, hit, sentence)
        if key not in found or evidence.score > found[key].score:
            found[key] = evidence
    return sorted(found.values(), key=lambda e: -e.score)
