"""`desk holdings`: exact figures from the stored holdings tables, as tables or JSON.

    desk holdings Japan                      latest value, rank, change, last 6 months
    desk holdings UK --month 2023-01         one month (with earlier vintages that differ)
    desk holdings China --from 2024-12 --to 2026-04   the series, with its highest and lowest
    desk holdings --top 5 [--month 2025-03]  the largest holders in a month
    ... --json                               one JSON object for scripts

The lookups and their views are retrieval.lookup's; this module holds the options, the
usage rules between them, and the printing.
"""

from __future__ import annotations

import json
import sys
from argparse import ArgumentTypeError

from retrieval.errors import DeskError
from retrieval.formatting import ordinal, percent, signed
from retrieval.lookup import (
    CountryView,
    SeriesView,
    look_up_country,
    look_up_series,
    look_up_top,
    parse_count,
    parse_month,
)


def month_arg(text: str) -> str:
    """argparse type: a month, or argparse's own error (which names the option)."""
    try:
        return parse_month(text)
    except DeskError as exc:
        raise ArgumentTypeError(str(exc)) from None


def count_arg(text: str) -> int:
    try:
        return parse_count(text)
    except DeskError as exc:
        raise ArgumentTypeError(str(exc)) from None


def add_arguments(parser) -> None:
    parser.description = "Exact figures from Treasury's holdings tables (billions of dollars, end of month)."
    # nargs="*" so that `desk holdings South Korea` works without quotes.
    parser.add_argument(
        "country",
        nargs="*",
        metavar="COUNTRY",
        help="a country or series (aliases work: UK, Britain, mainland China, Grand Total)",
    )
    parser.add_argument("--month", type=month_arg, metavar="YYYY-MM", help="the month (default: the latest)")
    parser.add_argument("--from", dest="start", type=month_arg, metavar="YYYY-MM", help="first month of a series")
    parser.add_argument("--to", dest="end", type=month_arg, metavar="YYYY-MM", help="last month of a series")
    parser.add_argument("--top", type=count_arg, metavar="N", help="the N largest holders in the month")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")


# ---------------------------------------------------------------- text


def _change_text(change) -> str:
    share = change.percent
    return signed(change.absolute) + ("" if share is None else f" ({percent(share)})")


def _where(citation) -> str:
    return citation.url or citation.ref


def _sources(figures) -> list[str]:
    """One line per release used, with the months it answered (releases differ in revisions)."""
    from retrieval.calendar import month_label

    by_release: dict[str, list] = {}
    for figure in figures:
        by_release.setdefault(figure.citation.doc_id, []).append(figure)
    lines = []
    for group in by_release.values():
        cite = group[0].citation
        released = f"released about {cite.release}" if cite.release_estimated else f"released {cite.release}"
        first, last = month_label(group[0].month), month_label(group[-1].month)
        span = first if first == last else f"{first} to {last}"
        lines.append(f"{cite.title} ({released}): {span} - {_where(cite)}")
    return lines


def _earlier_text(figure) -> str:
    from retrieval.formatting import format_billions

    parts = []
    for i, (value, cite) in enumerate(figure.earlier):
        label = "first published" if i == 0 else "then"
        parts.append(f"{label} {format_billions(value)} ({cite.title}, released {cite.release})")
    return "; ".join(parts)


def _history_table(figures):
    from rich.table import Table

    from retrieval.calendar import month_label
    from retrieval.formatting import format_billions

    revised = any(f.earlier for f in figures)
    table = Table(box=None, pad_edge=False, show_edge=False)
    table.add_column("Month")
    table.add_column("Billions", justify="right")
    table.add_column("Change", justify="right")
    if revised:
        table.add_column("First published", justify="right")
    previous = None
    for figure in figures:
        change = "" if previous is None else signed(round(figure.value - previous, 1))
        row = [month_label(figure.month), format_billions(figure.value), change]
        if revised:
            row.append(format_billions(figure.first_published) if figure.earlier else "")
        table.add_row(*row)
        previous = figure.value
    return table


def _print_table(console, table) -> None:
    if console.is_terminal:
        console.print(table)
        return
    # Piped: the same aligned text without the padding rich leaves after the last column.
    with console.capture() as captured:
        console.print(table)
    for text in captured.get().splitlines():
        console.out(text.rstrip(), highlight=False)


def render_text(view, console) -> None:
    from rich.table import Table
    from rich.text import Text

    from retrieval.calendar import month_label
    from retrieval.formatting import format_billions

    def line(text: str, style: str = "") -> None:
        console.print(Text(text, style=style), soft_wrap=True)  # no markup: names are data

    if isinstance(view, CountryView):
        figure = view.figure
        line(
            f"{figure.series}: ${format_billions(figure.value)} billion at the end of {month_label(figure.month)}",
            "bold",
        )
        # Label and text on one line each, never hard-wrapped: piped output stays greppable.
        details = []
        if view.rank:
            details.append(("Rank", f"{ordinal(view.rank[0])} of {view.rank[1]} countries listed"))
        if view.change:
            details.append(("Change", f"{_change_text(view.change)} from {month_label(view.previous)}"))
        else:
            details.append(("Change", f"the tables hold no figure for {month_label(view.previous)}"))
        details.append(("Source", f"{figure.citation.describe()} - {_where(figure.citation)}"))
        if figure.earlier:
            details.append(("Earlier", _earlier_text(figure)))
        if view.note:
            details.append(("Note", view.note))
        for label, text in details:
            line(f"{label:<8} {text}")
        if len(view.history) > 1:
            line("")
            line(f"Last {len(view.history)} months (billions of dollars)", "bold")
            _print_table(console, _history_table(view.history))
            sources = _sources(view.history)
            if len(sources) > 1:  # one source is the one named above
                for text in ["Sources:", *sources]:
                    line(text, "dim")
        return

    if isinstance(view, SeriesView):
        first, last = month_label(view.figures[0].month), month_label(view.figures[-1].month)
        line(f"{view.series}, holdings at end of month, {first} to {last} (billions of dollars)", "bold")
        _print_table(console, _history_table(view.figures))
        line(f"Highest: {format_billions(view.highest.value)} in {month_label(view.highest.month)}")
        line(f"Lowest:  {format_billions(view.lowest.value)} in {month_label(view.lowest.month)}")
        for text in ["Sources:", *_sources(view.figures)]:
            line(text, "dim")
        return

    line(
        f"Top {len(view.figures)} foreign holders of U.S. Treasury securities, end of {month_label(view.month)} "
        "(billions of dollars)",
        "bold",
    )
    table = Table(box=None, pad_edge=False, show_edge=False)
    table.add_column("Rank", justify="right")
    table.add_column("Country")
    table.add_column("Billions", justify="right")
    table.add_column("Change", justify="right")
    if view.total:
        table.add_column("Share", justify="right")
    for rank, figure in enumerate(view.figures, start=1):
        change = view.changes.get(figure.series)
        row = [str(rank), figure.series, format_billions(figure.value), signed(change.absolute) if change else ""]
        if view.total:
            row.append(f"{figure.value / view.total.value * 100:.1f}%" if view.total.value else "")
        table.add_row(*row)
    _print_table(console, table)
    if view.total:
        line(f"Grand Total: {format_billions(view.total.value)}")
    line(f"Source: {view.figures[0].citation.describe()} - {_where(view.figures[0].citation)}", "dim")


# ---------------------------------------------------------------- the command


def _validate(args) -> tuple[str, str | None]:
    """The mode ("country", "series", "top") and the country typed, or a DeskError."""
    name = " ".join(args.country).strip() or None
    ranged = args.start or args.end
    if args.top is not None:
        if name:
            raise DeskError("give a country or --top N, not both")
        if ranged:
            raise DeskError("--top ranks one month: use --month, not --from/--to")
        return "top", None
    if not name:
        raise DeskError("give a country (e.g. `desk holdings Japan`) or --top N")
    if ranged:
        if args.month:
            raise DeskError("give either --month or --from/--to, not both")
        if args.start and args.end and args.start > args.end:
            raise DeskError(f"--from {args.start} is after --to {args.end}")
        return "series", name
    return "country", name


def look_up(book, args):
    mode, name = _validate(args)
    if mode == "top":
        return look_up_top(book, args.top, args.month)
    if mode == "series":
        return look_up_series(book, name, args.start, args.end)
    return look_up_country(book, name, args.month)


def cmd_holdings(args) -> int:
    _validate(args)  # a usage mistake is reported before Chroma is opened
    from retrieval.holdings import HoldingsBook
    from retrieval.store import KnowledgeBase

    view = look_up(HoldingsBook(KnowledgeBase()), args)
    if args.json:
        print(json.dumps(view.to_dict(), indent=2, ensure_ascii=False))
        return 0
    from rich.console import Console

    # Rich drops colours and styles by itself when stdout is not a terminal.
    render_text(view, Console(file=sys.stdout, highlight=False))
    return 0
