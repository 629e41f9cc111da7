"""The daily digest: what was ingested since the last one, and what the latest table says.

Composed from the sources themselves: each article's summary is its own lead sentences,
each figure carries its table citation. Used by `desk digest` and the bot's digest posts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from retrieval.calendar import month_label
from retrieval.errors import NotFound
from retrieval.formatting import format_billions
from retrieval.formatting import truncate as _trim
from retrieval.holdings import Change, Figure, HoldingsBook, movers
from retrieval.keyword import BM25Index
from retrieval.sentences import split_sentences
from retrieval.store import visible_to

TOPIC = "foreign holdings of U.S. Treasury securities Treasurys bonds yields tariffs central banks reserves"
MAX_ARTICLES = 5
SUMMARY_CHARS = 260


@dataclass
class DigestArticle:
    doc_id: str
    title: str
    url: str
    source: str
    published: str
    summary: str


@dataclass
class Digest:
    since: str
    articles: list[DigestArticle] = field(default_factory=list)
    more_articles: int = 0
    month: str = ""
    top: list[Figure] = field(default_factory=list)
    movers: list[Change] = field(default_factory=list)
    new_month: bool = False

    @property
    def empty(self) -> bool:
        return not self.articles and not self.new_month


def _summary(text: str) -> str:
    sentences = split_sentences(text)[:2]
    return _trim(" ".join(sentences), SUMMARY_CHARS) if sentences else _trim(" ".join(text.split()), SUMMARY_CHARS)


def compose_digest(
    kb, since: str, book: HoldingsBook | None = None, last_month_posted: str = "", guild_id: int | None = None
) -> Digest:
    """`since` is an ISO date or time: documents ingested after it are new. `guild_id`: shared
    documents and that guild's own (None: shared only)."""
    digest = Digest(since=since)
    new_docs = [
        d for d in kb.list_documents(kind="article") if (d.get("ingested_at") or "") > since and visible_to(d, guild_id)
    ]
    first_chunks = {}
    for _, text, meta in kb.iter_chunks({"$and": [{"kind": "article"}, {"chunk": 0}]}):
        first_chunks[meta["doc_id"]] = text
    new_docs = [d for d in new_docs if d["id"] in first_chunks]
    if new_docs:
        # Most relevant to the desk's subject first, then newest.
        index = BM25Index.from_texts(
            [d["id"] for d in new_docs], [f"{d.get('title', '')} {first_chunks[d['id']]}" for d in new_docs]
        )
        scores = index.scores(TOPIC)
        order = sorted(
            range(len(new_docs)),
            key=lambda i: (-round(float(scores[i]), 3), new_docs[i].get("published", "")),
            reverse=False,
        )
        chosen = [new_docs[i] for i in order]
        digest.articles = [
            DigestArticle(
                d["id"],
                d.get("title") or d["id"],
                d.get("url", ""),
                d.get("source", ""),
                d.get("published", ""),
                _summary(first_chunks[d["id"]]),
            )
            for d in chosen[:MAX_ARTICLES]
        ]
        digest.more_articles = max(0, len(chosen) - MAX_ARTICLES)
    book = book or HoldingsBook(kb)
    try:
        digest.month = book.latest_month()
        digest.top = book.top(5, digest.month)
        digest.movers = movers(book, digest.month, n=3)
        digest.new_month = digest.month != last_month_posted
    except NotFound:
        pass
    return digest


def render_markdown(digest: Digest) -> str:
    """The digest as Markdown with numbered sources, for the terminal or a pipe."""
    if digest.empty:
        return f"Nothing new since {digest.since}."
    lines: list[str] = []
    sources: list[str] = []

    def cite(title: str, where: str) -> str:
        sources.append(f"[{len(sources) + 1}] {title} ({where})")
        return f"[{len(sources)}]"

    if digest.articles:
        lines.append("**New in the news**")
        for a in digest.articles:
            marker = cite(f"{a.title} — {a.source}, {a.published}".rstrip(", —"), a.url or a.doc_id)
            lines.append(f"- **{a.title}**: {a.summary} {marker}")
        if digest.more_articles:
            lines.append(f"- and {digest.more_articles} more (`desk sources`)")
    if digest.top:
        citation = digest.top[0].citation
        marker = cite(f"{citation.title}, released {citation.release}", citation.url or citation.ref)
        lines.append("")
        lines.append(f"**Top holders, {month_label(digest.month)}** (billions of dollars) {marker}")
        lines += [f"{i}. {f.series} {format_billions(f.value)}" for i, f in enumerate(digest.top, 1)]
        if digest.movers:
            moves = "; ".join(f"{c.series} {c.absolute:+,.1f}" for c in digest.movers)
            lines.append(f"Biggest moves since {month_label(digest.movers[0].start.month)}: {moves} {marker}")
    lines.append("")
    lines.append("Sources:")
    lines += sources
    return "\n".join(lines)
