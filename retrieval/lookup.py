"""Exact lookups in the holdings tables and the views they return; the CLI (`desk holdings`) and
the Discord cog (/holdings, /top, /compare, /chart) both call these and render the views their way.

Only Chroma metadata is read (retrieval.holdings): nothing here may import the embedding model,
so a lookup starts in about a second instead of ten.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from retrieval import countries
from retrieval.calendar import month_label, previous_month, read_month, shift_month
from retrieval.errors import DeskError, NotFound

if TYPE_CHECKING:  # retrieval.holdings is imported where used: it pulls in the store
    from retrieval.holdings import Change, Figure, HoldingsBook, TableCitation

HISTORY_MONTHS = 6


def parse_month(text: str) -> str:
    """A month option: YYYY-MM (a one-digit month is accepted and padded)."""
    month = read_month(text)
    if month is None:
        raise DeskError(f"{text!r} is not a month; write YYYY-MM, e.g. 2025-03")
    return month


def parse_count(text: str) -> int:
    """A count option: a positive whole number."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise DeskError(f"{text!r} is not a positive whole number")
    return value


# ---------------------------------------------------------------- JSON of the tables' values


def citation_json(citation: TableCitation) -> dict:
    return {
        "title": citation.title,
        "release": citation.release,
        "release_estimated": citation.release_estimated,
        "ref": citation.ref,
        "url": citation.url,
        "month": citation.month,
    }


def figure_json(figure: Figure) -> dict:
    return {
        "series": figure.series,
        "month": figure.month,
        "value": figure.value,
        "citation": citation_json(figure.citation),
        # Older releases that printed another figure for the same cell, oldest first.
        "earlier": [{"value": value, "citation": citation_json(cite)} for value, cite in figure.earlier],
        "first_published": figure.first_published,
    }


def change_json(change: Change | None) -> dict | None:
    if change is None:
        return None
    percent = change.percent
    return {
        "from": change.start.month,
        "to": change.end.month,
        "start": change.start.value,
        "end": change.end.value,
        "absolute": change.absolute,
        "percent": None if percent is None else round(percent, 2),
    }


# ---------------------------------------------------------------- the views


@dataclass
class CountryView:
    figure: Figure
    rank: tuple[int, int] | None  # (rank, countries ranked); None for aggregates
    previous: str  # the month before
    change: Change | None  # Change from the month before, None when the tables lack it
    history: list[Figure] = field(default_factory=list)  # oldest first, ending at the month
    note: str = ""  # what a reader could otherwise get wrong about this figure

    def to_dict(self) -> dict:
        return {
            "kind": "value",
            "series": self.figure.series,
            "month": self.figure.month,
            "value": self.figure.value,
            "figure": figure_json(self.figure),
            "rank": None if self.rank is None else {"rank": self.rank[0], "of": self.rank[1]},
            "change": change_json(self.change),
            "history": [figure_json(f) for f in self.history],
            "note": self.note or None,
        }


@dataclass
class SeriesView:
    series: str
    figures: list[Figure]
    highest: Figure
    lowest: Figure

    def to_dict(self) -> dict:
        return {
            "kind": "series",
            "series": self.series,
            "from": self.figures[0].month,
            "to": self.figures[-1].month,
            "figures": [figure_json(f) for f in self.figures],
            "max": figure_json(self.highest),
            "min": figure_json(self.lowest),
        }


@dataclass
class TopView:
    month: str
    figures: list[Figure]
    ranked: int  # how many countries the month's table ranks
    changes: dict[str, Change | None]  # series -> Change from the month before
    total: Figure | None  # Grand Total figure when the table has one

    def to_dict(self) -> dict:
        return {
            "kind": "top",
            "month": self.month,
            "ranked": self.ranked,
            "figures": [
                {"rank": i, **figure_json(f), "change": change_json(self.changes.get(f.series))}
                for i, f in enumerate(self.figures, start=1)
            ],
            "grand_total": None if self.total is None else figure_json(self.total),
        }


# ---------------------------------------------------------------- the lookups


def look_up_country(book: HoldingsBook, name: str, month: str | None = None) -> CountryView:
    figure = book.value(name, month)  # raises NotFound with names or the months covered
    try:
        position, ranked, _ = book.rank(figure.series, figure.month)
        rank: tuple[int, int] | None = (position, ranked)
    except NotFound:
        rank = None  # an aggregate (Grand Total, Foreign Official) has no rank
    before = previous_month(figure.month)
    try:
        change: Change | None = book.change(figure.series, before, figure.month)
    except NotFound:
        change = None  # the first month the tables hold
    history = book.series(figure.series, shift_month(figure.month, -(HISTORY_MONTHS - 1)), figure.month)
    note = ""
    latest = book.latest_month()
    if month is None and figure.month < latest:
        # "Latest" for a country Treasury stopped listing is not the latest month of the tables.
        note = (
            f"{figure.series} is not listed after {month_label(figure.month)}; the tables run to {month_label(latest)}."
        )
    elif figure.series == countries.ALL_OTHER:
        note = "All Other is everything outside the countries its table lists, so it differs between tables."
    return CountryView(figure, rank, before, change, history, note)


def look_up_pair(
    book: HoldingsBook, first: str, second: str, month: str | None = None
) -> tuple[CountryView, CountryView]:
    """Two holders in one month; by default the latest month both have, so they compare like for like."""
    if month is None:
        month = min(book.latest_month(book.resolve(first)), book.latest_month(book.resolve(second)))
    return look_up_country(book, first, month), look_up_country(book, second, month)


def look_up_series(book: HoldingsBook, name: str, start: str | None, end: str | None) -> SeriesView:
    from retrieval.holdings import highest_and_lowest

    figures = book.series(name, start, end)
    highest, lowest = highest_and_lowest(figures)  # from the figures read, not a second read of the series
    return SeriesView(figures[0].series, figures, highest, lowest)


def look_up_top(book: HoldingsBook, n: int, month: str | None = None) -> TopView:
    ranking = book.ranking(month)
    month = ranking[0].month
    before = previous_month(month)
    changes: dict[str, Change | None] = {}
    for figure in ranking[:n]:
        try:
            changes[figure.series] = book.change(figure.series, before, month)
        except NotFound:
            changes[figure.series] = None
    try:
        total: Figure | None = book.value(countries.GRAND_TOTAL, month)
    except NotFound:
        total = None  # a team's CSV may list a few countries only
    return TopView(month, ranking[:n], len(ranking), changes, total)
