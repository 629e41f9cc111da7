"""Answers from the holdings tables: exact cells, each with its month and its table cited.

A table answer is only given to a question about a holder's month-end holdings that the tables
hold (the engine decides); a holder or month the tables lack gets a refusal that says what they
do hold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from retrieval import countries
from retrieval.answer.evidence import asks_yes_or_no
from retrieval.answer.types import Answer, Route, Sources
from retrieval.answer.understanding import (
    COMBINED,
    OVERTAKE,
    Intent,
    Question,
    holders_in,
    months_counted,
)
from retrieval.calendar import MONTH_FORMS, month_label, previous_month, shift_month
from retrieval.errors import NotFound
from retrieval.formatting import format_billions, money, ordinal, percent, share, signed
from retrieval.holdings import Change, Figure, HoldingsBook, movers

PLACES = {1: "largest", 2: "second-largest", 3: "third-largest", 4: "fourth-largest", 5: "fifth-largest"}
NUMBER_WORDS = {
    1: "one",
    2: "two",
    3: "three",
    4: "four",
    5: "five",
    6: "six",
    7: "seven",
    8: "eight",
    9: "nine",
    10: "ten",
}
PAST_LINE_LISTED = 12  # holders named past a line ("over $100 billion"), to stay a short answer
MOVERS_LISTED = 3  # "who sold the most": the top seller and the two after it
MAX_COMPARED_MONTHS = 3  # months of a side-by-side comparison, to stay a short answer
# How a yes-or-no comparison puts its first holder against its second.
MORE = re.compile(
    r"\b(?:ahead of|above|more than|bigger than|larger than|greater than|overt\w*|surpass\w*|outrank\w*)\b", re.I
)
LESS = re.compile(r"\b(?:behind|below|less than|smaller than|fewer than)\b", re.I)
BECAME = re.compile(r"\b(?:become|became|becoming|been|turned into|took over as|take over as|taken over as)\b", re.I)
YEAR_NAMED = re.compile(r"\b(?:year\w*|annual\w*|yoy|y/y|20\d\d)\b", re.I)
BARE_WHEN = re.compile(r"\W*(?:since when|when|from when)\W*", re.I)
ASKS_WHEN = re.compile(r"\b(?:when|since when|which month|what month|in which month|which year|what year)\b", re.I)
REVISION = re.compile(r"\b(?:first (?:reported|published|released)|originally|initially|revis\w*|restat\w*)\b", re.I)
# How a person names the aggregates and Treasury's "Name, Qualifier" labels in a sentence.
SPOKEN = {
    countries.GRAND_TOTAL: "all foreign holders together",
    countries.FOREIGN_OFFICIAL: "foreign official holders",
    countries.FOREIGN_OFFICIAL_BILLS: "foreign official holders",
    countries.FOREIGN_OFFICIAL_BONDS: "foreign official holders",
}
# What a series holds, when it is not all of a holder's Treasury securities.
INSTRUMENTS = {
    countries.FOREIGN_OFFICIAL_BILLS: "Treasury bills",
    countries.FOREIGN_OFFICIAL_BONDS: "Treasury bonds and notes",
}
SPOKEN_POSSESSIVE = {
    countries.GRAND_TOTAL: "total foreign",
    countries.FOREIGN_OFFICIAL: "foreign official",
    countries.FOREIGN_OFFICIAL_BILLS: "foreign official Treasury bill",
    countries.FOREIGN_OFFICIAL_BONDS: "foreign official Treasury bond and note",
}


def display(series: str) -> str:
    """ "China, Mainland" -> "mainland China"; "Korea, South" -> "South Korea"."""
    if series in SPOKEN:
        return SPOKEN[series]
    if ", " in series:
        name, qualifier = series.split(", ", 1)
        return f"{qualifier.lower() if qualifier == 'Mainland' else qualifier} {name}"
    # "the United Kingdom", "the Cayman Islands": names a sentence gives an article.
    if series.startswith("United ") or series.endswith(("Islands", "Netherlands", "Philippines", "Bahamas")):
        return f"the {series}"
    return series


def possessive(series: str) -> str:
    """ "total foreign" / "mainland China's" / "Japan's", before "holdings"."""
    if series in SPOKEN_POSSESSIVE:
        return SPOKEN_POSSESSIVE[series]
    name = display(series)
    return name + ("'" if name.endswith("s") else "'s")


def place(position: int) -> str:
    """ "largest", "second-largest", ..., "12th-largest"."""
    return PLACES.get(position, f"{ordinal(position)}-largest")


def capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def _passing(text: str) -> re.Match[str] | None:
    """ "the UK passed China", "China fell behind the UK": a word of passing with a holder after
    it ("Congress passed the bill" passes no one)."""
    return next((m for m in OVERTAKE.finditer(text) if holders_in(_rest_of_clause(text, m.end()))), None)


def _rest_of_clause(text: str, start: int) -> str:
    return re.split(r"[,;?.!]|\s+and\s+", text[start:], maxsplit=1)[0]


def _change_markers(change: Change, src: Sources) -> str:
    """The cells a change is read from: "[1]" when one release holds both months, else "[1][2]"."""
    first, last = src.table(change.start), src.table(change.end)
    return last if first == last else f"{first}{last}"


def _yes_no(q: Question, holds: bool, text: str) -> str:
    """A yes-or-no question gets its yes or no first, then the figures that say so."""
    return f"{'Yes' if holds else 'No'}. {text}" if asks_yes_or_no(q.text) else text


@dataclass(frozen=True)
class _Run:
    sign: int  # 1: rose, -1: fell
    first: int  # index of the month-end the run starts from
    last: int  # index of its last month-end

    @property
    def months(self) -> int:
        return self.last - self.first


def _runs(figures: list[Figure]) -> list[_Run]:
    """The runs of monthly moves one way, oldest first; a month with no change or a month missing
    from the tables ends a run."""
    runs: list[_Run] = []
    for i in range(1, len(figures)):
        before, now = figures[i - 1], figures[i]
        sign = (now.value > before.value) - (now.value < before.value)
        if not sign or shift_month(before.month, 1) != now.month:
            continue
        if runs and runs[-1].sign == sign and runs[-1].last == i - 1:
            runs[-1] = _Run(sign, runs[-1].first, i)
        else:
            runs.append(_Run(sign, i - 1, i))
    return runs


def asks_movers(q: Question) -> bool:
    """ "Who sold the most in April?", "top 5 buyers": a ranking by change, of no one holder."""
    named = q.countries or q.aggregate
    return bool(q.direction) and not named and (q.intent == Intent.TOP or (q.intent == Intent.CHANGE and q.rank == 1))


class TableAnswers:
    def __init__(self, book: HoldingsBook):
        self.book = book

    def answer(self, q: Question) -> Answer:
        sources = Sources()
        try:
            text, month = self._table_text(q, sources)
        except NotFound as exc:
            return self.coverage_refusal(q, str(exc))
        return Answer(text=text, citations=sources.citations, route=Route.TABLE, data_month=month)

    def newest(self) -> Answer:
        """ "How recent is the data?": the newest table, its release and its last month."""
        sources = Sources()
        figure = self.book.ranking()[0]
        c = figure.citation
        released = f", released {c.release}{' (estimated)' if c.release_estimated else ''}" if c.release else ""
        text = (
            f"The newest holdings table here is {c.title}{released}, with figures to the end of "
            f"{month_label(figure.month)} {sources.table(figure)}."
        )
        return Answer(text=text, citations=sources.citations, route=Route.TABLE, data_month=figure.month)

    def coverage_refusal(self, q: Question, reason: str) -> Answer:
        """The tables do not hold what was asked: say what they hold, cite the closest tables."""
        sources = Sources()
        subject = self._subject(q)
        try:
            series = self.book.resolve(subject) if subject else None
            figure = self.book.value(series) if series else self.book.top(1)[0]
            sources.table(figure)
        except NotFound:
            pass
        return Answer(
            text=f"I can't answer that from my sources. {reason}",
            citations=sources.citations,
            refused=True,
            route=Route.NONE,
        )

    def _subject(self, q: Question) -> str | None:
        if q.countries:
            return q.countries[0]
        return q.aggregate

    def _month(self, q: Question, series: str | None = None) -> str:
        if q.months:
            return q.months[-1]
        if q.month_range:
            return (
                q.month_range[1]
                if q.month_range[1] <= self.book.latest_month(series)
                else self.book.latest_month(series)
            )
        return self.book.latest_month(series)

    def _table_text(self, q: Question, src: Sources) -> tuple[str, str]:
        subject = self._subject(q)
        intent = q.intent or Intent.VALUE
        if intent == Intent.CHANGE and len(q.months) == 1 and not q.month_range and REVISION.search(q.text):
            intent = Intent.VALUE  # "first reported ... and now": the vintages of one month, not a monthly change
        if intent == Intent.COMPARE and len(q.countries) + (1 if q.aggregate else 0) < 2:
            # "UK holdings 5 years ago vs now": one holder at two times is a change
            intent = Intent.CHANGE if len(q.months) >= 2 or q.month_range else Intent.VALUE
        if intent in (Intent.VALUE, Intent.RANK) and subject is None:
            intent = Intent.TOP
        if intent in (Intent.SERIES, Intent.MAX, Intent.MIN, Intent.CHANGE, Intent.STREAK) and subject is None:
            subject = countries.GRAND_TOTAL

        subjects = q.countries + ([q.aggregate] if q.aggregate else [])
        # "Is the UK ahead of China? ... since when?": a bare "when" asks when of the question before.
        overtake = _passing(q.text) or (_passing(q.context) if BARE_WHEN.fullmatch(q.text) else None)
        if ASKS_WHEN.search(q.text) and len(q.countries) >= 2 and overtake:
            first, second = q.countries[:2]
            if overtake.group(0).lower() == "behind":  # "when did China fall behind the UK?"
                first, second = second, first
            return self._overtake_text(q, first, second, src)
        # "Since when has Japan been the largest?", "Is Japan still the biggest? ... since when?"
        reached = BECAME.search(q.text) or overtake or BARE_WHEN.fullmatch(q.text)
        if ASKS_WHEN.search(q.text) and len(q.countries) == 1 and intent == Intent.RANK and reached:
            return self._rank_entry_text(q, q.countries[0], q.rank or 1, src)
        if intent in (Intent.COMPARE, Intent.VALUE) and (
            len(subjects) >= 3 or (len(subjects) == 2 and COMBINED.search(q.text))
        ):
            return self._values_text(q, subjects, src)

        if asks_movers(q):
            return self._movers_text(q, src)
        if intent == Intent.TOP:
            month = self._month(q)
            if q.threshold:
                return self._past_line_text(q.threshold, month, src), month
            if q.top_n and q.top_n > 1:
                figures = self.book.top(q.top_n, month)
                marker = src.table(figures[0])
                listed = "; ".join(
                    f"{i}. {display(f.series).removeprefix('the ')} {format_billions(f.value)}"
                    for i, f in enumerate(figures, 1)
                )
                count = NUMBER_WORDS.get(len(figures), str(len(figures)))
                return (
                    f"The {count} largest foreign holders of Treasury securities at the end of "
                    f"{month_label(month)}, in billions of dollars: {listed} {marker}.",
                    month,
                )
            position = q.rank or 1
            ranking = self.book.ranking(month)
            if position > len(ranking):
                raise NotFound(f"The table for {month_label(month)} ranks only {len(ranking)} countries.")
            figure = ranking[position - 1]
            marker = src.table(figure)
            text = (
                f"{capitalise(display(figure.series))} was the {place(position)} foreign holder of Treasury "
                f"securities at the end of {month_label(month)}, with {money(figure.value)} {marker}."
            )
            if position == 1 and len(ranking) > 1:
                runner = ranking[1]
                text += f" Next came {display(runner.series)} with {money(runner.value)} {marker}."
            elif position > 1:
                above = ranking[position - 2]
                text += f" Ahead of it was {display(above.series)} with {money(above.value)} {marker}."
            return text, month

        # value and rank without a subject became top above; series, max, min and change fall back to
        # the Grand Total; compare needs two series, so a country.
        assert subject is not None
        if intent == Intent.RANK:
            month = self._month(q, subject)
            if q.rank and not q.countries:
                figure = self.book.ranking(month)[q.rank - 1]
                return (
                    f"{capitalise(display(figure.series))} was the {place(q.rank)} foreign holder at the end of "
                    f"{month_label(month)}, with {money(figure.value)} {src.table(figure)}.",
                    month,
                )
            position, total, figure = self.book.rank(subject, month)
            text = (
                f"{capitalise(display(figure.series))} ranked {ordinal(position)} of the {total} holders listed at the end of "
                f"{month_label(month)}, with {money(figure.value)} {src.table(figure)}."
            )
            if q.top_n or q.rank:  # "Is Japan still the biggest holder?", "Is India in the top 10?"
                text = _yes_no(q, position <= q.top_n if q.top_n else position == q.rank, text)
            return text, month

        if intent == Intent.COMPARE:
            names = (q.countries + ([q.aggregate] if q.aggregate else []))[:2]
            # "in January 2025 and January 2026": the two holders side by side at each month asked.
            months = sorted(set(q.months))[-MAX_COMPARED_MONTHS:] if len(q.months) >= 2 else [self._month(q, names[0])]
            text = " ".join(self._compare_text(names, month, src) for month in months)
            # "Is the UK ahead of China?": the relation named first; "by more than $200 billion"
            # (a line the parser read) asks about the gap, which the figures answer without a yes or no.
            more, less = MORE.search(q.text), LESS.search(q.text)
            named = min((m for m in (more, less) if m), key=lambda m: m.start(), default=None)
            if len(months) == 1 and named and q.threshold is None:
                a, b = (self.book.value(n, months[0]).value for n in names)
                text = _yes_no(q, (a > b) == (named is more), text)
            return text, months[-1]

        if intent == Intent.CHANGE:
            # "How much did India and Brazil trim?": each holder's change, in the order asked.
            changes = []
            for name in subjects or [subject]:
                start_month, end_month = self._change_months(q, name)
                changes.append(self.book.change(name, start_month, end_month))
            text = " ".join(self._change_text(change, src) for change in changes)
            if len(changes) == 1 and self._asks_share(q, changes[0].series):  # "How has China's share changed?"
                text += self._shares_text([changes[0].start, changes[0].end], src)
            if len(changes) == 1 and q.direction and q.rank:  # "Was Ireland the biggest seller in April?"
                text = self._mover_place_text(q, changes[0], text, src)
            elif len(changes) == 1 and q.direction:  # "Did Japan sell in 2025?"
                went = "rise" if changes[0].absolute > 0 else "fall" if changes[0].absolute < 0 else None
                text = _yes_no(q, went == q.direction, text)
            return text, end_month

        if intent == Intent.STREAK:
            return self._streak_text(q, subject, src)

        if intent in (Intent.MAX, Intent.MIN) and subject and len(q.months) == 1:
            # "hit their lowest since 2008 in April 2026": the month's figure, and since when it is the extreme.
            return self._extreme_since_text(subject, q.months[0], intent, src), q.months[0]

        if intent in (Intent.MAX, Intent.MIN):
            start, end = q.month_range or (None, None)
            if q.months and not q.month_range:
                year = q.months[0][:4]
                start, end = f"{year}-01", f"{year}-12"
            high, low = self.book.extremes(subject, start, end)
            figure = high if intent == Intent.MAX else low
            word = "highest" if intent == Intent.MAX else "lowest"
            first, last = (start, end) if start and end else self.book.coverage(self.book.resolve(subject))
            text = (
                f"Of the month-ends from {month_label(first)} to {month_label(last)}, {possessive(figure.series)} "
                f"holdings were {word} at the end of {month_label(figure.month)}, at {money(figure.value)} "
                f"{src.table(figure)}."
            )
            if intent == Intent.MAX and q.direction == "fall" and not end:
                # "How far have they fallen from the peak?": the latest figure and the distance.
                latest = self.book.value(figure.series)
                if latest.month != figure.month:
                    text += (
                        f" At the end of {month_label(latest.month)} they were {money(latest.value)} "
                        f"{src.table(latest)}, {money(round(figure.value - latest.value, 1))} below that peak."
                    )
                    return text, latest.month
            return text, figure.month

        if intent == Intent.SERIES:
            start, end = q.month_range or (None, None)
            if not start:
                end = self.book.latest_month(self.book.resolve(subject))
                start = shift_month(end, -11)
            figures = self.book.series(subject, start, end)
            if len(figures) > 13:
                step = max(1, len(figures) // 12)
                figures = figures[::-step][::-1]
            marker = src.table(figures[-1])
            listed = "; ".join(f"{month_label(f.month)} {format_billions(f.value)}" for f in figures)
            change = round(figures[-1].value - figures[0].value, 1)
            return (
                f"{capitalise(display(figures[0].series))}, month-end holdings in billions of dollars: {listed} "
                f"{marker}. Change over the period: {signed(change)} billion.",
                figures[-1].month,
            )

        if len(q.months) >= 2:  # "Hong Kong in February and March 2026": the figure at each month
            figures = [self.book.value(subject, m) for m in sorted(set(q.months))[-MAX_COMPARED_MONTHS:]]
            listed = "; ".join(f"{month_label(f.month)} {money(f.value)} {src.table(f)}" for f in figures)
            text = f"{capitalise(display(figures[0].series))} at the end of each month: {listed}."
            if self._asks_share(q, subject):
                text += self._shares_text(figures, src)
            return text, figures[-1].month

        # value
        month = self._month(q, subject)
        figure = self.book.value(subject, month)
        text = self._value_text(figure, src)
        if q.threshold:  # "Do foreign official holders hold more than $3 trillion?"
            op, line = q.threshold
            text = _yes_no(q, (figure.value > line) == (op == ">"), text)
        if not (q.months or q.month_range) and month < self.book.latest_month():
            # "How much does Russia hold?": its last listed month, said to be one.
            text += f" The tables list {display(figure.series)} no later than {month_label(month)}."
        if self._asks_share(q, subject):
            text += self._share_text(figure, src)
        return text, month

    def _share_text(self, figure: Figure, src: Sources) -> str:
        """ "What is Japan's share of foreign holdings?": the figure over the foreign total."""
        foreign = self._foreign_total(figure)
        if foreign is None:
            return ""
        return (
            f" That is {share(figure.value, foreign.value)} of the {money(foreign.value)} "
            f"all foreign holders held {src.table(foreign)}."
        )

    def _shares_text(self, figures: list[Figure], src: Sources) -> str:
        """ "China's share in 2024 and 2025", "how has its share changed": the share at each month."""
        totals = [self._foreign_total(f) for f in figures]
        if any(t is None for t in totals):
            return ""
        listed = "; ".join(
            f"{month_label(f.month)} {share(f.value, t.value)} {src.table(t)}" for f, t in zip(figures, totals) if t
        )
        return f" Share of all foreign holdings: {listed}."

    def _foreign_total(self, figure: Figure) -> Figure | None:
        try:
            return self.book.value(countries.GRAND_TOTAL, figure.month)
        except NotFound:
            return None  # a team's own table may list a few countries and no total

    def _asks_share(self, q: Question, series: str) -> bool:
        return q.share and self.book.resolve(series) != countries.GRAND_TOTAL

    def _window(self, q: Question) -> tuple[str | None, str | None]:
        if q.month_range:
            return q.month_range
        if q.months:
            return min(q.months), max(q.months)
        return None, None

    def _overtake_text(self, q: Question, first: str, second: str, src: Sources) -> tuple[str, str]:
        """When one series moved above another: the month it went from at-or-below to above."""
        a_name, b_name = self.book.resolve(first), self.book.resolve(second)
        a = {f.month: f for f in self.book.series(a_name)}
        b = {f.month: f for f in self.book.series(b_name)}
        common = sorted(set(a) & set(b))
        if not common:
            raise NotFound(f"The tables hold no month with both {a_name} and {b_name}.")
        crossings = [
            (before, m)
            for before, m in zip(common, common[1:])
            if a[m].value > b[m].value and a[before].value <= b[before].value
        ]
        start, end = self._window(q)
        inside = [c for c in crossings if (not start or c[1] >= start) and (not end or c[1] <= end)]
        if not inside:
            shown = [m for m in common if (not start or m >= start) and (not end or m <= end)]
            if not shown:
                raise NotFound(
                    f"The tables hold {display(a_name)} and {display(b_name)} together from "
                    f"{month_label(common[0])} to {month_label(common[-1])}."
                )
            last = shown[-1]
            held = (
                f"at the end of {month_label(last)} {display(a_name)} held {money(a[last].value)} {src.table(a[last])} "
                f"and {display(b_name)} {money(b[last].value)} {src.table(b[last])}."
            )
            if a[last].value > b[last].value:  # ahead at the end and never moving ahead: ahead all along
                return (
                    f"{capitalise(display(a_name))} was ahead of {display(b_name)} in every month the tables hold from "
                    f"{month_label(shown[0])} to {month_label(last)}: {held}",
                    last,
                )
            span = f"between {month_label(start)} and {month_label(end)}" if start and end else "in the tables"
            return f"{capitalise(display(a_name))} did not move ahead of {display(b_name)} {span}: {held}", last
        before, month = inside[0] if start else inside[-1]
        return (
            f"{capitalise(display(a_name))} moved ahead of {display(b_name)} at the end of {month_label(month)}, with "
            f"{money(a[month].value)} against {money(b[month].value)} {src.table(a[month])}; a month earlier, at the end of "
            f"{month_label(before)}, it had {money(a[before].value)} against {money(b[before].value)} "
            f"{src.table(a[before])}.",
            month,
        )

    def _rank_entry_text(self, q: Question, name: str, position: int, src: Sources) -> tuple[str, str]:
        """When a country reached a place in the ranking ("since when has Japan been the largest?")."""
        series = self.book.resolve(name)
        months = [f.month for f in self.book.series(series)]
        ranks = {}
        for m in months:
            try:
                ranks[m] = self.book.rank(series, m)[0]
            except NotFound:
                continue
        ordered = sorted(ranks)
        entries = [(before, m) for before, m in zip(ordered, ordered[1:]) if ranks[m] <= position < ranks[before]]
        start, end = self._window(q)
        inside = [e for e in entries if (not start or e[1] >= start) and (not end or e[1] <= end)]
        place_name = place(position)
        shown = [m for m in ordered if (not start or m >= start) and (not end or m <= end)]
        if not inside and shown and all(ranks[m] <= position for m in shown):
            figure = self.book.value(series, shown[-1])
            higher = " or higher" if position > 1 else ""
            return (
                f"{capitalise(display(series))} was the {place_name} foreign holder{higher} in every month the tables "
                f"hold from {month_label(shown[0])} to {month_label(shown[-1])}; at the end of "
                f"{month_label(figure.month)} it had {money(figure.value)} {src.table(figure)}.",
                figure.month,
            )
        if not inside:
            figure = self.book.value(series, ordered[-1])
            return (
                f"The tables show no month in which {display(series)} moved up to {place_name} foreign holder"
                f"{'' if not (start and end) else f' between {month_label(start)} and {month_label(end)}'}; at the end "
                f"of {month_label(figure.month)} it ranked {ordinal(ranks[figure.month])} with "
                f"{money(figure.value)} {src.table(figure)}.",
                figure.month,
            )
        before, month = inside[0] if start else inside[-1]
        figure = self.book.value(series, month)
        text = f"{capitalise(display(series))} became the {place_name} foreign holder at the end of {month_label(month)}, with {money(figure.value)} {src.table(figure)}"
        previous = self.book.ranking(before)[position - 1]
        if previous.series != series:
            try:
                passed = self.book.value(previous.series, month)
                text += f", passing {display(passed.series)} ({money(passed.value)})"
            except NotFound:
                pass
        later = [m for m in ordered if m > month]
        lost = next((m for m in later if ranks[m] > position), None)
        if later and lost is None:
            text += f"; it has held that place through {month_label(later[-1])}"
        elif lost is not None:  # "Is China the second largest? ... since when?": it no longer is
            text += f"; it fell to {ordinal(ranks[lost])} at the end of {month_label(lost)}"
        return text + ".", month

    def _extreme_since_text(self, subject: str, month: str, intent: Intent, src: Sources) -> str:
        figure = self.book.value(subject, month)
        earlier = [f for f in self.book.series(figure.series) if f.month < month]
        beyond = (lambda f: f.value <= figure.value) if intent == Intent.MIN else (lambda f: f.value >= figure.value)
        text = f"{capitalise(display(figure.series))} held {money(figure.value)} at the end of {month_label(month)} {src.table(figure)}"
        previous = [f for f in earlier if beyond(f)]
        word = "lowest" if intent == Intent.MIN else "highest"
        if not earlier:
            return text + "."
        if not previous:
            return text + f", the {word} in the tables, which start in {month_label(earlier[0].month)}."
        last = previous[-1]
        return text + (
            f", the {word} since {month_label(last.month)}, when it was {money(last.value)} {src.table(last)}."
        )

    def _movers_text(self, q: Question, src: Sources) -> tuple[str, str]:
        """ "Who sold the most in April?", "... over the past year?", "who sold more than $10
        billion?": the holders whose holdings moved most that way in the month or the period."""
        since, month = self._change_months(q, None) if q.month_range else (None, self._month(q))
        if since is not None:
            since = max(since, min(self.book.months()))  # "since 1990": from the tables' first month
        falling = q.direction == "fall"
        moved = self._moved(month, since, falling)
        verb = "fell" if falling else "rose"
        start = since or previous_month(month)
        one_month = start == previous_month(month)
        period = (
            f"in {month_label(month)}"
            if one_month
            else f"from the end of {month_label(start)} to the end of {month_label(month)}"
        )
        span = f"{period}, by the change in their holdings" + (
            f" from the end of {month_label(start)}" if one_month else ""
        )
        if q.threshold:
            op, line = q.threshold
            moved = [c for c in moved if (abs(c.absolute) > line) == (op == ">")][:PAST_LINE_LISTED]
            lead = f"The holders whose holdings {verb} by {'more' if op == '>' else 'less'} than ${line:,g} billion"
        else:
            moved = moved[: q.top_n or MOVERS_LISTED]
            lead = f"The biggest {'sellers' if falling else 'buyers'} of Treasury securities"
        if not moved:
            raise NotFound(f"No listed holder's holdings {verb} {period}.")
        marker = _change_markers(moved[0], src)
        listed = "; ".join(
            f"{i}. {display(c.series).removeprefix('the ')} {signed(c.absolute)}" for i, c in enumerate(moved, 1)
        )
        return f"{lead} {span}, in billions of dollars: {listed} {marker}.", month

    def _moved(self, month: str, since: str | None, falling: bool) -> list[Change]:
        """The listed holders whose holdings fell (or rose) to `month`, biggest change first."""
        ranked = movers(self.book, month, n=len(self.book.ranking(month)), since=since)
        return [c for c in ranked if c.absolute and (c.absolute < 0) == falling]

    def _mover_place_text(self, q: Question, change: Change, text: str, src: Sources) -> str:
        """Whether a holder was the biggest (or N-th) seller or buyer over the change's months."""
        falling = q.direction == "fall"
        moved = self._moved(change.end.month, change.start.month, falling)
        position = next((i for i, c in enumerate(moved, 1) if c.series == change.series), None)
        text = _yes_no(q, position == q.rank, text)
        if moved and position != 1 and q.rank == 1:
            top = moved[0]
            verb = "fell" if falling else "rose"
            text += (
                f" {capitalise(possessive(top.series))} holdings {verb} the most, by {money(abs(top.absolute))} "
                f"{src.table(top.end)}."
            )
        return text

    def _past_line_text(self, threshold: tuple[str, float], month: str, src: Sources) -> str:
        """ "Which countries hold more than $300 billion?": every listed holder past the line."""
        op, line = threshold
        ranking = self.book.ranking(month)
        past = [f for f in ranking if (f.value > line if op == ">" else f.value < line)]
        marker = src.table(ranking[0])
        word = "more" if op == ">" else "less"
        count = NUMBER_WORDS.get(len(past), str(len(past))) if past else "none"
        text = (
            f"{capitalise(count)} of the {len(ranking)} holders listed held {word} than ${line:,g} billion of Treasury "
            f"securities at the end of {month_label(month)}"
        )
        if not past:
            return f"{text} {marker}."
        listed = "; ".join(
            f"{display(f.series).removeprefix('the ')} {format_billions(f.value)}" for f in past[:PAST_LINE_LISTED]
        )
        rest = f"; and {len(past) - PAST_LINE_LISTED} more" if len(past) > PAST_LINE_LISTED else ""
        return f"{text}, in billions of dollars: {listed}{rest} {marker}."

    def _compare_text(self, names: list[str], month: str, src: Sources) -> str:
        a, b = (self.book.value(n, month) for n in names)
        high, low = (a, b) if a.value >= b.value else (b, a)
        ma, mb = src.table(a), src.table(b)
        return (
            f"At the end of {month_label(month)}, {display(a.series)} held {money(a.value)} {ma} and {display(b.series)} "
            f"{money(b.value)} {mb}: {display(high.series)} held {money(round(high.value - low.value, 1))} more."
        )

    def _values_text(self, q: Question, names: list[str], src: Sources) -> tuple[str, str]:
        month = self._month(q, self.book.resolve(names[0]))
        figures = [self.book.value(n, month) for n in names]
        listed = [f"{display(f.series)} {money(f.value)} {src.table(f)}" for f in figures]
        together = round(sum(f.value for f in figures), 1)
        return (
            f"At the end of {month_label(month)}: {', '.join(listed[:-1])} and {listed[-1]}; "
            f"{money(together)} together.",
            month,
        )

    def _value_text(self, figure: Figure, src: Sources) -> str:
        marker = src.table(figure)
        who = display(figure.series)
        what = INSTRUMENTS.get(figure.series, "U.S. Treasury securities")
        text = f"{capitalise(who)} held {money(figure.value)} of {what} at the end of {month_label(figure.month)} {marker}."
        if not countries.is_aggregate(figure.series):
            try:
                position, total, _ = self.book.rank(figure.series, figure.month)
                text = text[: -len(f" {marker}.")] + f", ranking {ordinal(position)} among foreign holders {marker}."
            except NotFound:
                pass
        if figure.earlier:
            first_value, first_citation = figure.earlier[0]
            old = Figure(figure.series, figure.month, first_value, first_citation)
            text += (
                f" It was first published as {money(first_value)} {src.table(old)} and has since been revised "
                f"to {money(figure.value)} {marker}."
            )
        return text

    def _change_months(self, q: Question, subject: str | None) -> tuple[str, str]:
        """The two months a change runs between; with no subject, the tables' newest month bounds it."""
        series = self.book.resolve(subject) if subject else None
        if len(q.months) >= 2:
            first, second = sorted(q.months[-2:])
            return first, second
        if q.month_range:
            start, end = q.month_range
            if start >= end:  # "2025 change, dec to dec": a year's change when a year is named, else a month's
                start = shift_month(end, -12 if YEAR_NAMED.search(q.text) else -1)
            last = self.book.latest_month(series)
            names_month = bool(set(re.findall(r"[a-z]+", q.text.lower())) & MONTH_FORMS.keys())
            listed_before = series is None or previous_month(start) >= self.book.coverage(series)[0]
            if (
                start.endswith("-01")
                and not names_month
                and previous_month(start) in self.book.months()
                and listed_before
            ):
                start = previous_month(start)  # "in 2025" is during the year: from the end of 2024 (when listed then)
            return start, min(end, last)
        if len(q.months) == 1:
            month = q.months[0]
            latest = self.book.latest_month(series)
            if "since" in q.text.lower() and month < latest:
                return month, latest
            return previous_month(month), month
        latest = self.book.latest_month(series)
        return previous_month(latest), latest

    def _streak_text(self, q: Question, subject: str, src: Sources) -> tuple[str, str]:
        """ "How many months in a row did China sell?": the last run of monthly moves that way up
        to the month asked (the newest by default); "the longest streak": the longest run."""
        start = q.month_range[0] if q.month_range else None
        end = q.months[-1] if q.months else q.month_range[1] if q.month_range else None
        figures = self.book.series(subject, start, end)
        runs = _runs(figures)
        asked = [r for r in runs if q.direction is None or r.sign == (1 if q.direction == "rise" else -1)]
        verb = {1: "rose", -1: "fell"}
        if not asked:
            went = {"rise": "rose", "fall": "fell"}.get(q.direction or "", "moved")
            return (
                f"{capitalise(possessive(figures[0].series))} holdings never {went} from one month-end to the next "
                f"between {month_label(figures[0].month)} and {month_label(figures[-1].month)} {src.table(figures[-1])}.",
                figures[-1].month,
            )
        run = max(reversed(asked), key=lambda r: r.months) if q.longest else asked[-1]
        first, last = figures[run.first], figures[run.last]
        markers = _change_markers(Change(first.series, first, last), src)
        months = f"{run.months} months in a row" if run.months > 1 else "for one month only"
        moved = (
            f"from {money(first.value)} at the end of {month_label(first.month)} to {money(last.value)} at the end of "
            f"{month_label(last.month)}"
        )
        if q.longest:
            moves = {1: "rises", -1: "falls"}[run.sign]
            text = (
                f"{capitalise(possessive(first.series))} longest run of monthly {moves} from "
                f"{month_label(figures[0].month)} to {month_label(figures[-1].month)} was "
                f"{'one month' if run.months == 1 else f'{run.months} months'}, "
                f"{moved} {markers}."
            )
        else:
            text = f"{capitalise(possessive(first.series))} holdings {verb[run.sign]} {months}, {moved} {markers}."
            # "Has the UK been buying for three straight months?": yes while such a run goes on.
            if q.direction:
                going_on = run.last == len(figures) - 1
                text = _yes_no(q, going_on and run.months >= (months_counted(q.text) or 2), text)
        if run.last + 1 < len(figures):
            after = figures[run.last + 1]
            text += f" At the end of {month_label(after.month)} they were {money(after.value)} {src.table(after)}."
        return text, figures[-1].month

    def _change_text(self, change: Change, src: Sources) -> str:
        markers = _change_markers(change, src)
        verb = "rose" if change.absolute > 0 else "fell" if change.absolute < 0 else "were unchanged"
        who = capitalise(possessive(change.series))
        # "(0.02%)", not "(0.0%)", for a tiny move
        pct = f" ({percent(abs(change.percent)).lstrip('+')})" if change.percent is not None and change.absolute else ""
        amount = f" by {money(abs(change.absolute))}{pct}" if change.absolute else ""
        return (
            f"{who} holdings {verb}{amount}, from {money(change.start.value)} at the end of "
            f"{month_label(change.start.month)} to {money(change.end.value)} at the end of "
            f"{month_label(change.end.month)} {markers}."
        )
