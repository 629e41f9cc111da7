"""Exact lookups over the holdings tables stored in the knowledge base.

The month chunks of every table release carry their cells; they are read once and kept in
memory until the store's write generation moves. When several releases hold the same
series and month, the newest release answers and the others remain as earlier vintages.
Rankings use one release per month (the newest that has it), because "All Other" and the
list of countries differ between tables.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from retrieval import countries
from retrieval.calendar import month_label, previous_month
from retrieval.errors import NotFound

NO_TABLES = "No holdings tables are stored yet. Ingest one with `desk ingest --tic` or a table file."
TREASURY_SOURCE = "U.S. Treasury, TIC"
TEAM_SOURCE = "team table"


def table_source(layout: str) -> str:
    """Who publishes a table, from its stored layout: a team's own CSV, or Treasury (every other)."""
    return TEAM_SOURCE if layout == "csv" else TREASURY_SOURCE


@dataclass(frozen=True)
class TableCitation:
    doc_id: str
    title: str
    release: str
    release_estimated: bool
    ref: str
    url: str
    month: str
    layout: str = ""  # the table's format as stored (ingest.tables.LAYOUTS)

    def describe(self) -> str:
        released = f"released about {self.release}" if self.release_estimated else f"released {self.release}"
        return f"{self.title}, {month_label(self.month)} ({released})"


@dataclass
class Figure:
    series: str
    month: str
    value: float
    citation: TableCitation
    earlier: list[tuple[float, TableCitation]] = field(default_factory=list)  # older vintages that differ

    @property
    def first_published(self) -> float | None:
        return self.earlier[0][0] if self.earlier else None


@dataclass
class Change:
    series: str
    start: Figure
    end: Figure

    @property
    def absolute(self) -> float:
        return round(self.end.value - self.start.value, 1)

    @property
    def percent(self) -> float | None:
        return None if not self.start.value else (self.end.value - self.start.value) / self.start.value * 100


@dataclass
class _Release:
    citation_base: dict
    order: tuple
    months: dict[str, dict[str, float]] = field(default_factory=dict)

    def cite(self, month: str) -> TableCitation:
        return TableCitation(month=month, **self.citation_base)


class HoldingsBook:
    """The lookups the answer engine, the CLI and the bot use."""

    def __init__(self, kb):
        self.kb = kb
        self._lock = threading.Lock()
        self._generation = -1
        self._checked_at = 0.0
        self._releases: list[_Release] = []  # newest first
        self._series_names: list[str] = []

    # -- loading ------------------------------------------------------------------------------

    def refresh(self, max_age: float = 0.5) -> None:
        if time.monotonic() - self._checked_at < max_age and self._generation >= 0:
            return
        with self._lock:
            generation = self.kb.generation()
            self._checked_at = time.monotonic()
            if generation == self._generation:
                return
            docs = {d["id"]: d for d in self.kb.list_documents(kind="table")}
            releases: dict[str, _Release] = {}
            for doc_id, doc in docs.items():
                releases[doc_id] = _Release(
                    citation_base={
                        "doc_id": doc_id,
                        "title": doc.get("title", doc_id),
                        "release": doc.get("release", ""),
                        "release_estimated": bool(doc.get("release_estimated")),
                        "ref": doc.get("ref", ""),
                        "url": doc.get("url", ""),
                        "layout": doc.get("layout", ""),
                    },
                    # Same release date: the fuller table wins (a sample or team extract lists fewer rows).
                    order=(
                        doc.get("release", ""),
                        doc.get("last_month", ""),
                        doc.get("series_count", 0),
                        doc.get("ingested_at", ""),
                    ),
                )
            for meta in self.kb.iter_chunk_metas({"table_doc": "month"}):
                release = releases.get(meta.get("doc_id"))
                if release is None or docs[meta["doc_id"]].get("content_hash") != meta.get("content_hash"):
                    continue  # an orphan of an interrupted ingest
                release.months[meta["month"]] = json.loads(meta["cells"])
            self._releases = sorted(releases.values(), key=lambda r: r.order, reverse=True)
            # Kept per generation: resolve() runs once per value(), and a long series() asks hundreds of times.
            self._series_names = sorted({s for r in self._releases for cells in r.months.values() for s in cells})
            self._generation = generation

    # -- what the tables hold -----------------------------------------------------------------

    def months(self) -> list[str]:
        self.refresh()
        return sorted({m for r in self._releases for m in r.months})

    def latest_month(self, series: str | None = None) -> str:
        self.refresh()
        months = [m for r in self._releases for m, cells in r.months.items() if series is None or series in cells]
        if not months:
            raise NotFound(NO_TABLES)
        return max(months)

    def series_names(self) -> list[str]:
        self.refresh()
        return list(self._series_names)

    def countries(self) -> list[str]:
        return [s for s in self.series_names() if not countries.is_aggregate(s)]

    def resolve(self, name: str) -> str:
        """A user's country name -> the canonical series, or NotFound with the closest names."""
        canonical = countries.canonical(name)
        known = self.series_names()
        if canonical in known:
            return canonical
        if not known:
            raise NotFound(NO_TABLES)
        suggestions = [c for c in countries.closest(name, n=5) if c in known][:3]
        hint = f" Did you mean {', '.join(suggestions)}?" if suggestions else ""
        if canonical:
            raise NotFound(
                f'The tables do not list {canonical} separately (it is inside "{countries.ALL_OTHER}").{hint}'
            )
        raise NotFound(f"No country called {name!r} in the holdings tables.{hint}")

    def _listing(self, series: str, month: str) -> Iterator[tuple[_Release, dict[str, float]]]:
        """The releases that list the series in that month, newest first, with the month's cells."""
        for release in self._releases:
            cells = release.months.get(month)
            if cells and series in cells:
                yield release, cells

    def coverage(self, series: str) -> tuple[str, str]:
        months = [m for r in self._releases for m, cells in r.months.items() if series in cells]
        return min(months), max(months)

    # -- lookups ------------------------------------------------------------------------------

    def value(self, name: str, month: str | None = None) -> Figure:
        series = self.resolve(name)
        month = month or self.latest_month(series)
        found = [(cells[series], release.cite(month)) for release, cells in self._listing(series, month)]
        if not found:
            first, last = self.coverage(series)
            raise NotFound(
                f"The tables hold {series} from {month_label(first)} to {month_label(last)}, not {month_label(month)}."
            )
        value, citation = found[0]
        earlier = [(v, c) for v, c in reversed(found[1:]) if v != value]  # oldest vintage first
        return Figure(series, month, value, citation, earlier)

    def ranking(self, month: str | None = None) -> list[Figure]:
        """Every country in one month, largest first. A country takes its value from the newest
        release listing it that month: Table 5 lists this year's top 20, so a holder that was in
        the top 20 then but is not now (Germany in October 2025) comes from the historical table."""
        self.refresh()  # with a month given, latest_month() (which refreshes) is not called
        month = month or self.latest_month()
        listed: dict[str, tuple[float, _Release]] = {}  # each country's value from the newest release listing it
        for release in self._releases:
            for series, value in (release.months.get(month) or {}).items():
                if not countries.is_aggregate(series):
                    listed.setdefault(series, (value, release))
        if listed:
            ranked = sorted(listed.items(), key=lambda item: (-item[1][0], item[0]))
            return [Figure(s, month, v, release.cite(month)) for s, (v, release) in ranked]
        months = self.months()
        if not months:
            raise NotFound(NO_TABLES)
        raise NotFound(
            f"The tables hold {month_label(months[0])} to {month_label(months[-1])}, not {month_label(month)}."
        )

    def top(self, n: int = 5, month: str | None = None) -> list[Figure]:
        return self.ranking(month)[: max(1, n)]

    def rank(self, name: str, month: str | None = None) -> tuple[int, int, Figure]:
        """(rank, number of countries ranked, figure), from the newest release listing the country."""
        series = self.resolve(name)
        if countries.is_aggregate(series):
            raise NotFound(f"{series} is an aggregate, not a country: it has no rank.")
        month = month or self.latest_month(series)
        figure = self.value(series, month)  # raises the coverage message
        ranked = [f.series for f in self.ranking(month)]
        return ranked.index(series) + 1, len(ranked), figure

    def change(self, name: str, start: str, end: str) -> Change:
        series = self.resolve(name)
        return Change(series, self.value(series, start), self.value(series, end))

    def series(self, name: str, start: str | None = None, end: str | None = None) -> list[Figure]:
        series = self.resolve(name)
        months = sorted({m for r in self._releases for m, cells in r.months.items() if series in cells})
        chosen = [m for m in months if (not start or m >= start) and (not end or m <= end)]
        if not chosen:
            first, last = months[0], months[-1]
            raise NotFound(
                f"The tables hold {series} from {month_label(first)} to {month_label(last)}; "
                f"nothing between {month_label(start or first)} and {month_label(end or last)}."
            )
        return [self.value(series, m) for m in chosen]

    def extremes(self, name: str, start: str | None = None, end: str | None = None) -> tuple[Figure, Figure]:
        """(highest, lowest) over the range; the earliest month wins a tie."""
        return highest_and_lowest(self.series(name, start, end))


def highest_and_lowest(figures: list[Figure]) -> tuple[Figure, Figure]:
    """(highest, lowest) of figures already read (not empty); the earliest month wins a tie.

    The one place the tie rule lives: HoldingsBook.extremes and a caller that already holds the
    series (retrieval.lookup.look_up_series) both use it, so the series is not read twice.
    """
    return max(figures, key=lambda f: (f.value, -int(f.month.replace("-", "")))), min(
        figures, key=lambda f: (f.value, int(f.month.replace("-", "")))
    )


def movers(book: HoldingsBook, month: str, n: int = 3, since: str | None = None) -> list[Change]:
    """The biggest changes against the month before (or since a month), among the month's ranked countries."""
    before = since or previous_month(month)
    changes = []
    for figure in book.ranking(month):
        try:
            changes.append(book.change(figure.series, before, month))
        except NotFound:
            continue
    return sorted(changes, key=lambda c: -abs(c.absolute))[:n]
