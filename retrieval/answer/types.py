"""What the engine returns: an answer, its numbered citations, and the numbering itself."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any

from retrieval.calendar import month_label
from retrieval.formatting import format_billions
from retrieval.holdings import Figure, table_source
from retrieval.store import Hit


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
    # The source it stands for, one number per key (Sources.add): a document, or a table's month.
    key: tuple = field(default=(), repr=False, compare=False)


class Route(StrEnum):
    """Where an answer came from."""

    TABLE = "table"  # the holdings tables
    ARTICLES = "articles"  # article sentences
    MIXED = "mixed"  # a table figure and article sentences
    NONE = "none"  # refused


@dataclass
class Answer:
    text: str
    citations: list[Citation] = field(default_factory=list)
    refused: bool = False
    route: Route = Route.NONE
    timings_ms: dict[str, float] = field(default_factory=dict)
    question: Any = field(default=None, repr=False, compare=False)  # the understood Question, for follow-ups
    data_month: str = ""  # the table month a table answer is about

    def to_dict(self) -> dict:
        return {
            "text": self.text,
            "citations": [{k: v for k, v in asdict(c).items() if k != "key"} for c in self.citations],
            "refused": self.refused,
            "route": self.route,
            "timings_ms": self.timings_ms,
        }


class Sources:
    """Numbers sources in the order the answer first uses them."""

    def __init__(self):
        self.citations: list[Citation] = []
        self._index: dict[tuple, int] = {}

    def table(self, figure: Figure) -> str:
        c = figure.citation
        snippet = f"{figure.series}, {month_label(figure.month)}: {format_billions(figure.value)} billion dollars"
        return self.add(
            Citation(
                0,
                c.title,
                table_source(c.layout),
                c.url,
                c.release,
                "table",
                c.ref,
                snippet,
                key=("table", c.doc_id, figure.month),
            )
        )

    def article(self, hit: Hit, snippet: str) -> str:
        m = hit.meta
        # A PDF's chunks carry their page: the title says it, so every renderer shows "p. 4".
        title = f"{m.get('title', '')}, p. {m['page']}" if m.get("page") else m.get("title", "")
        return self.add(
            Citation(
                0,
                title,
                m.get("source", ""),
                m.get("url", ""),
                m.get("published", "") or m.get("published_raw", ""),
                m.get("kind", "article"),
                m.get("ref", ""),
                snippet,
                key=("doc", hit.doc_id),
            )
        )

    def add(self, citation: Citation) -> str:
        """The citation's marker: a new number, or the one its source (its key) already has."""
        if citation.key not in self._index:
            citation.n = len(self.citations) + 1
            self.citations.append(citation)
            self._index[citation.key] = citation.n
        return f"[{self._index[citation.key]}]"


def renumber(answer: Answer, sources: Sources) -> str:
    """An answer's text with its markers in another answer's numbering."""
    mapping = {c.n: sources.add(replace(c, n=0)) for c in answer.citations}
    return re.sub(r"\[(\d+)\]", lambda m: mapping.get(int(m.group(1)), m.group(0)), answer.text)
