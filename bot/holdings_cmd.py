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
from collections.abc import Callable
from typing import TypeVar

from retrieval.errors import DeskError
from retrieval.lookup import look_up_country, look_up_series, look_up_top, parse_count, parse_month

T = TypeVar("T")


def _option(parse: Callable[[str], T]) -> Callable[[str], T]:
    """An argparse type from a lookup's parser: its DeskError becomes argparse's error, which names the option."""

    def convert(text: str) -> T:
        try:
            return parse(text)
        except DeskError as exc:
            raise ArgumentTypeError(str(exc)) from None

    return convert


month_arg = _option(parse_month)
count_arg = _option(parse_count)


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

    view = look_up(HoldingsBook(KnowledgeBase(args.settings)), args)
    if args.json:
        print(json.dumps(view.to_dict(), indent=2, ensure_ascii=False))
        return 0
    from rich.console import Console

    from bot.render.terminal import render_text

    # Rich drops colours and styles by itself when stdout is not a terminal.
    render_text(view, Console(file=sys.stdout, highlight=False))
    return 0
