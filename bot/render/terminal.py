"""The terminal's renderer: answers as plain text with their sources, lookups (retrieval.lookup's
views) as aligned tables through rich. Names and titles are data, never markup."""

from __future__ import annotations

from functools import singledispatch

from rich.console import Console, JustifyMethod
from rich.table import Table
from rich.text import Text

from retrieval.calendar import month_label
from retrieval.formatting import format_billions, money, ordinal, percent, share, signed
from retrieval.lookup import CountryView, SeriesView, TopView


def answer_text(answer) -> str:
    """An Answer as terminal text: the prose, then its numbered sources."""
    lines = [answer.text, ""]
    for c in answer.citations:
        where = c.url or c.ref
        date = f", {c.published}" if c.published else ""
        outlet = f" — {c.source}" if c.source else ""
        lines.append(f"[{c.n}] {c.title}{outlet}{date} ({where})")
    return "\n".join(lines).rstrip()


# ---------------------------------------------------------------- lookups


def _change_text(change) -> str:
    part = change.percent
    return signed(change.absolute) + ("" if part is None else f" ({percent(part)})")


def _where(citation) -> str:
    return citation.url or citation.ref


def _sources(figures) -> list[str]:
    """One line per release used, with the months it answered (releases differ in revisions)."""
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
    parts = []
    for i, (value, cite) in enumerate(figure.earlier):
        label = "first published" if i == 0 else "then"
        parts.append(f"{label} {format_billions(value)} ({cite.title}, released {cite.release})")
    return "; ".join(parts)


def _table(*columns: tuple[str, JustifyMethod]) -> Table:
    table = Table(box=None, pad_edge=False, show_edge=False)
    for name, justify in columns:
        table.add_column(name, justify=justify)
    return table


def _history_table(figures) -> Table:
    revised = any(f.earlier for f in figures)
    table = _table(("Month", "left"), ("Billions", "right"), ("Change", "right"))
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


def _print_table(console: Console, table: Table) -> None:
    if console.is_terminal:
        console.print(table)
        return
    # Piped: the same aligned text without the padding rich leaves after the last column.
    with console.capture() as captured:
        console.print(table)
    for text in captured.get().splitlines():
        console.out(text.rstrip(), highlight=False)


def _line(console: Console, text: str, style: str = "") -> None:
    console.print(Text(text, style=style), soft_wrap=True)  # no markup: names are data


@singledispatch
def render_text(view, console: Console) -> None:
    """A lookup's view printed on `console`; one function per view below."""
    raise TypeError(f"no terminal rendering for {type(view).__name__}")


@render_text.register
def _(view: CountryView, console: Console) -> None:
    figure = view.figure
    _line(console, f"{figure.series}: {money(figure.value)} at the end of {month_label(figure.month)}", "bold")
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
        _line(console, f"{label:<8} {text}")
    if len(view.history) > 1:
        _line(console, "")
        _line(console, f"Last {len(view.history)} months (billions of dollars)", "bold")
        _print_table(console, _history_table(view.history))
        sources = _sources(view.history)
        if len(sources) > 1:  # one source is the one named above
            for text in ["Sources:", *sources]:
                _line(console, text, "dim")


@render_text.register
def _(view: SeriesView, console: Console) -> None:
    first, last = month_label(view.figures[0].month), month_label(view.figures[-1].month)
    _line(console, f"{view.series}, holdings at end of month, {first} to {last} (billions of dollars)", "bold")
    _print_table(console, _history_table(view.figures))
    _line(console, f"Highest: {format_billions(view.highest.value)} in {month_label(view.highest.month)}")
    _line(console, f"Lowest:  {format_billions(view.lowest.value)} in {month_label(view.lowest.month)}")
    for text in ["Sources:", *_sources(view.figures)]:
        _line(console, text, "dim")


@render_text.register
def _(view: TopView, console: Console) -> None:
    _line(
        console,
        f"Top {len(view.figures)} foreign holders of U.S. Treasury securities, end of {month_label(view.month)} "
        "(billions of dollars)",
        "bold",
    )
    table = _table(("Rank", "right"), ("Country", "left"), ("Billions", "right"), ("Change", "right"))
    total = view.total.value if view.total else None
    if total is not None:
        table.add_column("Share", justify="right")
    for rank, figure in enumerate(view.figures, start=1):
        change = view.changes.get(figure.series)
        row = [str(rank), figure.series, format_billions(figure.value), signed(change.absolute) if change else ""]
        if total is not None:
            row.append(share(figure.value, total) if total else "")
        table.add_row(*row)
    _print_table(console, table)
    if total is not None:
        _line(console, f"Grand Total: {format_billions(total)}")
    _line(console, f"Source: {view.figures[0].citation.describe()} - {_where(view.figures[0].citation)}", "dim")
