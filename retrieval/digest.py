"""The daily digest: the stories ingested since the last one, and what the latest table says.

Stories, not documents: new articles about the same event (the same holders, close dates, close
in meaning by the stored chunk embeddings) are one item that names every outlet and cites each.
An item says what happened in one sentence of its own: the story's lead, chosen among the early
sentences of the cleaned body (never the page's chrome, which ingest already set apart). Items
are ordered by importance: how many outlets, whether the story concerns a top-10 holder or the
tables' latest month, then newest first.

The table part gives the latest month's top five and biggest moves; a move that an article
explains (same holder, same month) is followed by that article's sentence and its citation.
With an LLM configured, a one-paragraph summary opens the digest when every claim in it carries
a valid marker and every figure is in the sources it cites; otherwise there is none.

Used by `desk digest` and the bot's digest posts (bot/render/digest.py). What a digest holds is in
retrieval/digest_types.py.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import numpy as np

from retrieval import countries
from retrieval.answer.evidence import CAUSE, find_evidence, is_prose, need_of
from retrieval.answer.llm import REFUSAL, ask_model, grounded
from retrieval.calendar import MONTH_NAME, YEAR, format_month, month_label, month_name, shift_month, utc_stamp
from retrieval.digest_types import Digest, Explanation, Report, Story
from retrieval.errors import DeskError, NotFound
from retrieval.formatting import format_billions, signed, truncate
from retrieval.holdings import Change, HoldingsBook, movers
from retrieval.search import Retriever, SearchFilter
from retrieval.sentences import split_sentences
from retrieval.store import visible_to

log = logging.getLogger(__name__)

MAX_STORIES = 8  # items a digest shows; the rest are counted
LEAD_CHARS = 280  # an item's lead, at most
TITLE_CHARS = 110  # a title taken from the body
LEAD_CANDIDATES = 6  # the lead is one of the body's first sentences that qualify
EXPLANATION_CHARS = 280
INDEX_WAIT = 120  # seconds a digest waits for a keyword index built in the background
MOVERS = 3
TOP_HOLDERS = 10  # a story about one of these counts as important

# Two documents are one story when nothing tells them apart (the holders they name, the month
# their figures are about, their dates) and something ties them: closeness in meaning (cosine of
# their mean chunk embeddings) or a figure both report. Stories about the same holder in other
# months score up to 0.90 (China's holdings "lowest since 2008" told of several months), so
# meaning alone never joins two documents unless one is a copy of the other (docs/BENCHMARKS.md).
SAME_STORY = 0.68  # both dated within SAME_STORY_DAYS, same holders, same month
SAME_STORY_WITH_FIGURE = 0.55  # ... and a figure in common
SAME_STORY_UNDATED = 0.80  # a side undated: the same month and this close, or a figure in common
COPY = 0.93  # a syndicated copy: the same text under another outlet's name
SAME_STORY_DAYS = 7  # publication dates further apart are different events

# A finite verb: what makes a sentence say something happened rather than label it.
VERB = re.compile(
    r"\b(?:is|are|was|were|be|been|being|has|have|had|will|would|can|could|may|might|shall|should|must|do|does|"
    r"did|said|says|say|told|rose|fell|fall|falls|rise|rises|cut|cuts|sold|sells|sell|bought|buys|buy|held|holds|"
    r"hold|grew|grows|became|becomes|remain|remains|remained|hit|hits|set|sets|took|takes|made|makes|saw|sees|"
    r"showed|shows|gave|gives|kept|keeps|led|leads|spent|spends|slid|slides|sank|sinks|shed|sheds|topped|tops|"
    r"broke|breaks|began|begins|came|comes|went|goes|got|gets|found|finds|left|leaves|lost|loses|paid|pays|ran|"
    r"runs|sent|sends|stood|stands|struck|swung|thought|thinks|won|wins|wrote|writes|drew|draws|drove|knew|"
    r"knows|meant|means|met|put|puts|brought|brings|built|builds|caught|chose|dealt|deals|stays|plans|needs|"
    r"wants|looks|seems|owns|owes|trims|adds|ends|leans|warns|expects|\w{2,}ed|\w{3,}ing)\b",
    re.I,
)
DOLLARS = re.compile(
    r"(?:US\$|\$|USD ?)(\d[\d,]*(?:\.\d+)?) ?(trillion|billion|tn|bn)\b|"
    r"\b(\d[\d,]*(?:\.\d+)?) (trillion|billion) (?:U\.S\. |US )?dollars\b",
    re.I,
)
CITED = re.compile(r"\s*\[\d+\]")
SENTENCE_END = re.compile(r"[.!?…][\"”'’)\]]*$")
SUMMARY_MARKER = re.compile(r"\[(\d+|T)\]")
MARKER_RUN = re.compile(r"(?:\s*\[(?:\d+|T)\])+")
ATTRIBUTED = re.compile(r"\b(?:said|says|according to|told)\b")
MAX_SUMMARY = 700
FALL_WORDS = re.compile(
    r"\b(?:fell|fall|falls|falling|cut|cuts|cutting|sold|sell|sells|selling|reduc\w*|decreas\w*|"
    r"declin\w*|drop\w*|trim\w*|slash\w*|dump\w*|shed\w*|lower\w*|slid|slump\w*|offload\w*)\b",
    re.I,
)
RISE_WORDS = re.compile(
    r"\b(?:rose|rise|rises|rising|bought|buy|buys|buying|increas\w*|rais\w*|add\w*|grew|grow\w*|"
    r"gain\w*|climb\w*|jump\w*|boost\w*|snapped up|higher)\b",
    re.I,
)


# -- reading the new documents --------------------------------------------------------------------


@dataclass
class _Doc:
    record: dict[str, Any]
    sentences: list[str]  # the clean body, in order
    vector: np.ndarray  # mean of its chunk embeddings, normalised
    title: str = ""
    title_from_body: str = ""  # the sentence a placeholder title was replaced by
    lead: str = ""
    lead_vector: np.ndarray | None = None
    holders: list[str] = field(default_factory=list)
    month: str = ""  # the month its figures are about: the first its title names, else its opening
    figures: set[tuple[float, float]] = field(default_factory=set)  # amounts in billions or trillions, see amounts()

    @property
    def doc_id(self) -> str:
        return self.record["id"]

    @property
    def published(self) -> str:
        return self.record.get("published") or ""

    def report(self) -> Report:
        r = self.record
        return Report(self.doc_id, self.title, r.get("source") or "", r.get("url") or "", self.published)


def normalise_since(since: str) -> str:
    """An ISO date or time as the store stamps ingest times (UTC); a clear error otherwise."""
    text = (since or "").strip()
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise DeskError(
            f"--since must be a date like 2026-05-01 or a time like 2026-05-01T08:00:00Z, got {since!r}"
        ) from None
    return utc_stamp(when if when.tzinfo is not None else when.replace(tzinfo=UTC))  # as the store stamps


def _chunks_of(kb, docs: list[dict]) -> dict[str, list[tuple[int, str, list[float]]]]:
    """(position, sentence, embedding) of each document's committed chunks."""
    hashes = {d["id"]: d.get("content_hash") for d in docs}
    out: dict[str, list[tuple[int, str, list[float]]]] = {d: [] for d in hashes}
    for _, text, meta, vector in kb.iter_document_chunks(list(hashes), with_embeddings=True):
        doc_id = meta.get("doc_id")
        if doc_id not in hashes or meta.get("content_hash") != hashes[doc_id]:
            continue  # an orphan of an interrupted or replaced ingest
        sentence = meta.get("sentence")
        position = int(meta.get("position", meta.get("chunk", 0)))
        if not sentence:  # a chunk from an older layout: its sentences, in order
            for i, s in enumerate(split_sentences(text)):
                out[doc_id].append((position * 1000 + i, s, vector))
            continue
        out[doc_id].append((position, sentence, vector))
    return out


def _norm(vector) -> np.ndarray:
    v = np.asarray(vector, dtype=np.float32)
    n = float(np.linalg.norm(v))
    return v / n if n else v


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def placeholder_title(title: str, doc_id: str, url: str = "") -> bool:
    """A title that is no title: missing, the document's id, a URL, a file name or a URL slug."""
    t = (title or "").strip()
    if not t or t == doc_id or _key(t) == _key(doc_id):
        return True
    if re.match(r"^(?:https?://|www\.)", t, re.I) or re.search(r"\.(?:html?|php|aspx?|txt|md|json)$", t, re.I):
        return True
    # "hong-kong-central-bank-cuts-duration": the URL's slug (a title with spaces that the slug
    # was made from is a real title).
    return " " not in t and len(t) > 12 and bool(re.search(r"[-_/]", t))


def _months_named(text: str) -> set[str]:
    return set(MONTH_NAME.findall(text))


def lead_form(sentence: str) -> str:
    """A body sentence as an item shows it: without a source page's own citation markers ("[1][2]").
    Datelines, bylines and labels run into a sentence are removed at ingest (ingest/clean.py)."""
    return " ".join(CITED.sub("", sentence).split())


def _is_lead_candidate(sentence: str, title_key: str, boilerplate: set[str]) -> bool:
    s = sentence.strip()
    if len(s) < 40 or s.endswith("?") or not s[0].isupper() and not s[0].isdigit() and s[0] not in "\"“'‘$":
        return False
    if not is_prose(s) or not VERB.search(s):
        return False
    key = _key(s)
    if key in boilerplate or (title_key and (key == title_key or key.startswith(title_key))):
        return False  # chrome that slipped through, or the headline again
    return True


def _read_documents(kb, records: list[dict], embedder) -> list[_Doc]:
    chunks = _chunks_of(kb, records)
    docs: list[_Doc] = []
    for record in records:
        rows = sorted(chunks.get(record["id"]) or [], key=lambda r: r[0])
        if not rows:
            continue
        sentences = list(dict.fromkeys(s for _, s, _ in rows))
        vector = _norm(np.mean(np.asarray([v for _, _, v in rows], dtype=np.float32), axis=0))
        docs.append(_Doc(record, sentences, vector))
    if not docs:
        return docs
    # Titles: a placeholder is replaced by the body's first sentence.
    for doc in docs:
        title = (doc.record.get("title") or "").strip()
        if placeholder_title(title, doc.doc_id, doc.record.get("url") or ""):
            first = next((s for s in doc.sentences if is_prose(s)), doc.sentences[0])
            doc.title, doc.title_from_body = truncate(lead_form(first).rstrip("."), TITLE_CHARS), first
        else:
            doc.title = " ".join(title.split())
    # Leads: of the first sentences that qualify, the one closest to the headline and the whole story.
    candidates: list[tuple[_Doc, list[str]]] = []
    for doc in docs:
        boilerplate = {_key(x) for x in (doc.record.get("boilerplate") or "").split("\n") if x.strip()}
        title_key = "" if doc.title_from_body else _key(doc.title)
        found = [lead_form(s) for s in doc.sentences if s != doc.title_from_body]
        found = [s for s in dict.fromkeys(found) if _is_lead_candidate(s, title_key, boilerplate)]
        candidates.append((doc, found[:LEAD_CANDIDATES]))
    texts = [doc.title for doc in docs] + [s for _, found in candidates for s in found]
    vectors = np.asarray(embedder.embed_documents(texts), dtype=np.float32) if texts else np.zeros((0, 1))
    titles, rest = vectors[: len(docs)], vectors[len(docs) :]
    start = 0
    for (doc, found), title_vector in zip(candidates, titles):
        own = rest[start : start + len(found)]
        start += len(found)
        if not found:
            # Nothing qualifies: the first prose sentence (or the title's), cut to length.
            doc.lead = truncate(
                lead_form(doc.title_from_body or next((s for s in doc.sentences if is_prose(s)), doc.sentences[0])),
                LEAD_CHARS,
            )
            doc.lead_vector = doc.vector
        else:
            scores = []
            for i, (sentence, v) in enumerate(zip(found, own)):
                # News puts what happened first: a later sentence must be much closer to win.
                score = 0.5 * float(v @ title_vector) + 0.5 * float(v @ doc.vector) - 0.07 * i
                if len(sentence) > LEAD_CHARS:
                    score -= 0.1  # it will be cut
                if not SENTENCE_END.search(sentence):
                    score -= 0.15  # cut off, or a caption
                scores.append(score)
            best = int(np.argmax(scores))
            doc.lead, doc.lead_vector = truncate(found[best], LEAD_CHARS), _norm(own[best])
        opening = " ".join([doc.title, *doc.sentences[:5]])
        doc.holders = [h for h in countries.find_in_text(opening) if not countries.is_aggregate(h)]
        named = MONTH_NAME.findall(doc.title) or MONTH_NAME.findall(" ".join(doc.sentences[:3]))
        doc.month = named[0] if named else ""
        doc.figures = amounts(" ".join([doc.title, *doc.sentences]))
    return docs


# -- grouping into stories ------------------------------------------------------------------------


def _day(published: str) -> date | None:
    parts = (published or "").split("-")
    if len(parts) < 2:
        return None
    try:
        return date(int(parts[0]), int(parts[1]), int(parts[2]) if len(parts) > 2 else 15)
    except ValueError:
        return None


def amounts(text: str) -> set[tuple[float, float]]:
    """Dollar amounts a story reports: (dollars, the precision written), "$1.1283 trillion" ->
    (1.1283e12, 1e8). Amounts in other currencies ("5.53 trillion yen") are left out."""
    out = set()
    for m in DOLLARS.finditer(text):
        number = m.group(1) or m.group(3)
        unit = (m.group(2) or m.group(4)).lower()
        whole, _, fraction = number.replace(",", "").partition(".")
        scale = 1e12 if unit in ("trillion", "tn") else 1e9
        if fraction or int(whole) >= 10:  # "$1 trillion" says nothing about one event
            out.add((float(f"{whole}.{fraction or 0}") * scale, scale * 10 ** -len(fraction)))
    return out


def _shared_figure(a: _Doc, b: _Doc) -> bool:
    """A figure both report, at the coarser precision of the two ("$22 billion" = "$22.0 billion")."""
    return any(abs(x - y) <= 0.5 * max(px, py) for x, px in a.figures for y, py in b.figures)


def same_story(a: _Doc, b: _Doc) -> bool:
    """Same holders, the same month, close dates; then close in meaning or a figure in common."""
    similarity = float(a.vector @ b.vector)
    if set(a.holders) != set(b.holders) and not (set(a.holders) & set(b.holders)):
        return False  # other holders (or holders against none): another story
    if a.month and b.month and a.month != b.month:
        return False
    da, db = _day(a.published), _day(b.published)
    if da and db:
        precise = len(a.published) >= 10 and len(b.published) >= 10
        if abs((da - db).days) > (SAME_STORY_DAYS if precise else 31):
            return False
        return similarity >= SAME_STORY or (similarity >= SAME_STORY_WITH_FIGURE and _shared_figure(a, b))
    if not (a.month and b.month):
        return similarity >= COPY  # undated, and no month to tell which release: only a copy is sure
    return similarity >= SAME_STORY_UNDATED or (similarity >= SAME_STORY_WITH_FIGURE and _shared_figure(a, b))


def group_stories(docs: list[_Doc]) -> list[list[_Doc]]:
    """Each document joins the first group whose every member is the same story (complete link)."""
    groups: list[list[_Doc]] = []
    for doc in sorted(docs, key=lambda d: (d.published, d.doc_id), reverse=True):
        for group in groups:
            if all(same_story(doc, other) for other in group):
                group.append(doc)
                break
        else:
            groups.append([doc])
    return groups


def _date_fits(month: str, published: str, text: str) -> bool:
    """Whether a story's date fits a table month: published from that month to six months after
    it (Treasury publishes a month's figures about six weeks after it ends; stories follow), or,
    undated, its text names the month's year."""
    day = _day(published)
    if day is None:
        return month[:4] in YEAR.findall(text)
    return month <= format_month(day.year, day.month) <= shift_month(month, 6)


def _about_month(text: str, published: str, month: str) -> bool:
    """Whether a text is about a table month: it names the month, and its year or date fits."""
    name = month_name(month)
    if name not in _months_named(text):
        return False
    # Here naming the year is enough, whatever the date: the text says which month it means.
    return month[:4] in YEAR.findall(text) or _date_fits(month, published, text)


def explains_month(sentence: str, title: str, window: str, published: str, month: str) -> bool:
    """Whether a sentence speaks of a table month's move: it names the month (and not the month
    after it: "to $1,128.3 billion in May from $1,150.3 billion in April" is May's move), or names
    none in a story whose headline is about that month; and the story's date fits the month (a
    story published before the figures cannot explain them), or, undated, names its year."""
    name = month_name(month)
    following = month_name(shift_month(month, 1))
    named = _months_named(sentence)
    if named:
        if name not in named or following in named:
            return False
    else:
        in_title = MONTH_NAME.findall(title)
        if not in_title or in_title[0] != name:
            return False
    return _date_fits(month, published, f"{title} {window}")


def _story(group: list[_Doc], top: set[str], month: str) -> Story:
    centre = _norm(np.mean([d.vector for d in group], axis=0))
    # The lead that best says what every outlet reported: closest to the story's centre.
    best = max(
        group,
        key=lambda d: (float(d.lead_vector @ centre) if d.lead_vector is not None else 0.0, not d.title_from_body),
    )
    title_doc = best if not best.title_from_body else next((d for d in group if not d.title_from_body), best)
    reports = sorted((d.report() for d in group), key=lambda r: (r.published, r.outlet), reverse=True)
    holders = list(dict.fromkeys(h for d in group for h in d.holders))
    latest = bool(month) and any(_about_month(f"{d.title} {d.lead}", d.published, month) for d in group)
    return Story(
        title=title_doc.title,
        lead=best.lead,
        reports=reports,
        published=max((d.published for d in group), default=""),
        holders=holders,
        top_holder=bool(set(holders) & top),
        latest_month=latest,
    )


def importance(story: Story) -> tuple:
    """Outlets first, then a top-10 holder or the latest month, then the newest."""
    return (len(story.outlets), int(story.top_holder) + int(story.latest_month), story.published)


# -- the table part ---------------------------------------------------------------------------------


def explain(retriever, change: Change, month: str, guild_id: int | None = None) -> Explanation | None:
    """The article sentence that says why a holder's figure moved in a month, if one does."""
    series = change.series
    direction = "fall" if change.absolute < 0 else "rise"
    question = f"Why did {series}'s holdings of U.S. Treasury securities {direction} in {month_label(month)}?"
    need = need_of(question, retriever, holders=[series], months=[month])
    best = None
    for e in find_evidence(retriever, question, need, SearchFilter(kinds=("article",), guild_id=guild_id))[:40]:
        meta = e.hit.meta
        sentence = e.sentence
        if not e.on_subject or not is_prose(sentence) or not VERB.search(sentence):
            continue
        if not countries.mentioned(f"{meta.get('title', '')} {sentence}", [series]):
            continue
        if not explains_month(sentence, meta.get("title", ""), e.hit.text, meta.get("published", ""), month):
            continue
        against = RISE_WORDS if change.absolute < 0 else FALL_WORDS
        along = FALL_WORDS if change.absolute < 0 else RISE_WORDS
        if against.search(sentence) and not along.search(sentence):
            continue  # says the figure went the other way
        score = e.score + (0.1 if CAUSE.search(sentence) else 0.0) + (0.05 if along.search(sentence) else 0.0)
        if best is None or score > best[0]:
            best = (score, e)
    if best is None:
        return None
    e = best[1]
    m = e.hit.meta
    title = m.get("title") or e.hit.doc_id
    if placeholder_title(title, e.hit.doc_id, m.get("url", "")):
        title = truncate(e.sentence, TITLE_CHARS)
    report = Report(e.hit.doc_id, title, m.get("source", ""), m.get("url", ""), m.get("published", ""))
    return Explanation(change, truncate(_with_reason(e.sentence, e.hit.text), EXPLANATION_CHARS), report)


def _with_reason(sentence: str, window: str) -> str:
    """A sentence that only restates the move is followed by the next one when that one gives a
    reason or says who explained it ("... officials said life insurers had moved money back")."""
    if CAUSE.search(sentence):
        return sentence
    at = window.find(sentence)
    following = split_sentences(window[at + len(sentence) :]) if at >= 0 else []
    if not following:
        return sentence
    reason = lead_form(following[0])
    gives_reason = CAUSE.search(reason) or ATTRIBUTED.search(reason)
    if gives_reason and is_prose(reason) and len(sentence) + 1 + len(reason) <= EXPLANATION_CHARS:
        return f"{sentence} {reason}"
    return sentence


# -- the optional summary -----------------------------------------------------------------------


def table_facts(digest: Digest) -> str:
    if not digest.top:
        return ""
    top = "; ".join(f"{i}. {f.series} {format_billions(f.value)} billion" for i, f in enumerate(digest.top, 1))
    text = f"Top holders of Treasury securities, {month_label(digest.month)} (billions of dollars): {top}."
    if digest.movers:
        moves = "; ".join(f"{c.series} {signed(c.absolute)} billion" for c in digest.movers)
        text += f" Biggest moves since {month_label(digest.movers[0].start.month)}: {moves}."
    return text


def summarise(llm, digest: Digest) -> str:
    """One paragraph by the LLM, kept only when every claim cites and every figure is grounded."""
    held: dict[str, str] = {}
    blocks = []
    for n, story in enumerate(digest.stories, 1):
        held[str(n)] = f"{story.title} {story.lead} {story.published}"
        blocks.append(
            f"[{n}] {', '.join(story.outlets)} ({story.published or 'undated'}):\n"
            f"<<<SOURCE\n{story.title}\n{story.lead}\nSOURCE>>>"
        )
    facts = table_facts(digest)
    if facts:
        held["T"] = facts
        blocks.append(f"[T] Treasury table:\n<<<SOURCE\n{facts}\nSOURCE>>>")
    if not blocks:
        return ""
    text = ask_model(
        llm,
        "digest",
        {"sources": "\n\n".join(blocks)},
        markers=SUMMARY_MARKER,
        given=lambda n: n in held,
        if_failed="the digest goes out without one",
    )
    if text is None:
        return ""
    if not text or REFUSAL in text.upper() or len(text) > MAX_SUMMARY or not checked(text, held):
        log.info("LLM summary dropped: uncited claim, ungrounded figure or too long")
        return ""
    return text


def checked(text: str, held: dict[str, str]) -> bool:
    """Every stretch of the text ends in markers, and its figures are in the sources those cite."""
    end = 0
    runs = list(MARKER_RUN.finditer(text))
    if not runs:
        return False
    for run in runs:
        claim = text[end : run.start()]
        cited = " ".join(held[n] for n in SUMMARY_MARKER.findall(run.group(0)))
        if re.search(r"\w", claim) and not grounded(claim, cited):
            return False
        end = run.end()
    return not re.search(r"\w", text[end:])  # nothing said after the last marker


# -- the digest ----------------------------------------------------------------------------------

_UNSET: Any = object()


def compose_digest(
    kb,
    since: str,
    book: HoldingsBook | None = None,
    last_month_posted: str = "",
    guild_id: int | None = None,
    llm=_UNSET,
    retriever=None,
    max_stories: int | None = MAX_STORIES,
) -> Digest:
    """`since` is an ISO date or time: documents ingested after it are new. `guild_id`: shared
    documents and that guild's own (None: shared only), for the stories and the explanations.

    The LLM defaults to the one the knowledge base's settings configure (none when unset);
    `max_stories=None` keeps every story (the benchmark reads them all)."""
    since_key = normalise_since(since)
    digest = Digest(since=since)
    book = book or HoldingsBook(kb)
    try:
        digest.month = book.latest_month()
        digest.top = book.top(5, digest.month)
        digest.movers = movers(book, digest.month, n=MOVERS)
        digest.new_month = digest.month != last_month_posted
        top_ten = {f.series for f in book.top(TOP_HOLDERS, digest.month)}
    except NotFound:
        top_ten = set()
    records = [
        d
        for d in kb.list_documents(kind="article")
        if (d.get("ingested_at") or "") > since_key and visible_to(d, guild_id)
    ]
    digest.new_documents = len(records)
    docs = _read_documents(kb, records, kb.embedder) if records else []
    stories = [_story(group, top_ten, digest.month) for group in group_stories(docs)]
    stories.sort(key=importance, reverse=True)
    shown = stories if max_stories is None else stories[:max_stories]
    digest.stories, digest.more_stories = shown, len(stories) - len(shown)
    if digest.movers and (digest.new_month or digest.stories):
        if retriever is None:
            retriever = Retriever(kb)
            retriever.refresh()
            # A store without its keyword-index file builds it in the background; a digest can
            # wait for it (once a day) rather than explain moves by meaning alone.
            retriever.wait_for_index(timeout=INDEX_WAIT)
        for change in digest.movers:
            found = explain(retriever, change, digest.month, guild_id)
            if found:
                digest.explanations[change.series] = found
    if llm is _UNSET:
        from retrieval.llm import llm_from_settings

        llm = llm_from_settings(kb.settings)
    if llm is not None and not digest.empty:
        digest.summary = summarise(llm, digest)
    return digest


# -- Markdown -------------------------------------------------------------------------------------


def _date(published: str) -> str:
    return published or "undated"


def render_markdown(digest: Digest, markdown: bool = True) -> str:
    """The digest with numbered sources, for the terminal or a pipe: as Markdown, or as plain
    text with no emphasis or code marks."""

    def strong(text: str) -> str:
        return f"**{text}**" if markdown else text

    def code(text: str) -> str:
        return f"`{text}`" if markdown else text

    if digest.empty:
        return f"Nothing new since {digest.since}."
    lines: list[str] = []
    sources: list[str] = []
    numbers: dict[tuple, int] = {}

    def cite(key: tuple, line: str) -> str:
        if key not in numbers:
            sources.append(f"[{len(sources) + 1}] {line}")
            numbers[key] = len(sources)
        return f"[{numbers[key]}]"

    def cite_report(r: Report) -> str:
        where = r.url or r.doc_id
        return cite(("doc", r.doc_id), f"{r.title} — {r.outlet}, {_date(r.published)} ({where})")

    story_markers = [("".join(cite_report(r) for r in story.reports)) for story in digest.stories]
    table_marker = ""
    if digest.top:
        c = digest.top[0].citation
        table_marker = cite(("table", c.doc_id), f"{c.title}, released {c.release} ({c.url or c.ref})")
    if digest.summary:

        def marker(m: re.Match) -> str:
            if m.group(1) == "T":
                return table_marker
            return story_markers[int(m.group(1)) - 1]

        lines += [strong("In short"), SUMMARY_MARKER.sub(marker, digest.summary), ""]
    if digest.stories:
        lines.append(strong(f"The news since {digest.since}"))
        for n, (story, markers) in enumerate(zip(digest.stories, story_markers), 1):
            outlets = ", ".join(story.outlets)
            lines.append(f"{n}. {strong(story.title)} — {story.lead} {markers}")
            lines.append(f"   {outlets} · {_date(story.published)}")
        if digest.more_stories:
            lines.append(f"…and {digest.more_stories} more ({code('desk sources')})")
    elif digest.new_month:
        lines.append(f"No new articles since {digest.since}.")
    if digest.top:
        lines.append("")
        lines.append(f"{strong(f'Top holders, {month_label(digest.month)}')} (billions of dollars) {table_marker}")
        lines += [f"{i}. {f.series} {format_billions(f.value)}" for i, f in enumerate(digest.top, 1)]
        if digest.movers:
            lines.append("")
            lines.append(f"{strong(f'Biggest moves since {month_label(digest.movers[0].start.month)}')} {table_marker}")
            for change in digest.movers:
                line = f"- {change.series} {signed(change.absolute)}"
                why = digest.explanations.get(change.series)
                if why:
                    line += f": {why.sentence} {cite_report(why.report)}"
                lines.append(line)
    lines.append("")
    lines.append("Sources:")
    lines += sources
    return "\n".join(lines)
