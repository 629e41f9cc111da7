"""What a digest holds, as plain data. It lives apart from retrieval.digest, which reads the store
and searches it, so that rendering a digest (bot/render/digest.py) imports neither numpy nor the
search, the store or the settings."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlparse

if TYPE_CHECKING:  # retrieval.holdings pulls in the store
    from retrieval.holdings import Change, Figure


@dataclass
class Report:
    """One outlet's document in a story: what an item cites."""

    doc_id: str
    title: str
    source: str
    url: str
    published: str

    @property
    def outlet(self) -> str:
        """The outlet as a reader names it: "Reuters (via cryptoopia.com)" -> "Reuters"."""
        name = re.sub(r"\s*\(.*?\)\s*", " ", self.source).strip() or self.source.strip()
        if name:
            return name
        host = urlparse(self.url).hostname or ""
        return host.removeprefix("www.") or self.doc_id


@dataclass
class Story:
    """One event, as one or more outlets reported it."""

    title: str
    lead: str
    reports: list[Report]
    published: str = ""  # the newest report's date ("" when none is dated)
    holders: list[str] = field(default_factory=list)
    top_holder: bool = False  # concerns one of the latest month's top-10 holders
    latest_month: bool = False  # concerns the tables' latest month

    @property
    def outlets(self) -> list[str]:
        return list(dict.fromkeys(r.outlet for r in self.reports))


@dataclass
class Explanation:
    """A move of the latest month and the article sentence that says why."""

    change: Change
    sentence: str
    report: Report


@dataclass
class Digest:
    since: str
    stories: list[Story] = field(default_factory=list)  # the ones shown, most important first
    more_stories: int = 0
    new_documents: int = 0
    month: str = ""
    top: list[Figure] = field(default_factory=list)
    movers: list[Change] = field(default_factory=list)
    explanations: dict[str, Explanation] = field(default_factory=dict)  # series -> why it moved
    new_month: bool = False
    summary: str = ""  # the LLM's paragraph; its [n] are story numbers, [T] the table

    @property
    def empty(self) -> bool:
        return not self.stories and not self.new_month
