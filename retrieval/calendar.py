"""Months as the tables and the answers use them: "YYYY-MM" strings, their names and arithmetic.

The only list of month names in the project; every package reads, shifts and labels months here.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

MONTH_NAMES = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
MONTH_ABBREVIATIONS = [name[:3] for name in MONTH_NAMES if len(name) > 3] + ["Sept"]  # "May" is no abbreviation
# The first three letters every written form of a month starts with, for patterns: "Jan|Feb|...".
MONTH_PREFIXES = "|".join(name[:3] for name in MONTH_NAMES)
# Every way a page or a question writes a month, lower-cased: its full name, its abbreviations,
# and the two misspellings of February people type.
MONTH_FORMS = {
    form.lower(): number
    for number, name in enumerate(MONTH_NAMES, 1)
    for form in [name, *(short for short in MONTH_ABBREVIATIONS if short[:3] == name[:3])]
} | {"febuary": 2, "feburary": 2}
YEAR_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
YEAR_PATTERN = r"(?:19|20)\d\d"  # a year as prose writes it, for use inside other patterns
YEAR = re.compile(rf"\b{YEAR_PATTERN}\b")
# A month named in prose, capitalised as prose writes it ("in May", not the verb "may").
MONTH_NAME = re.compile(r"\b(" + "|".join(MONTH_NAMES) + r")\b")


def month_number(name: str) -> int | None:
    """1-12 for a month's name or abbreviation ("jan", "January", "Sept."), any case; else None."""
    return MONTH_FORMS.get(name.strip().rstrip(".").lower())


def most_recent(month: int, year: int, reference_month: int) -> tuple[int, int]:
    """(year, month) of the last `month` up to a reference month of `year`: "April", said in
    June 2025, is April 2025; said in February 2025, April 2024."""
    return (year if month <= reference_month else year - 1), month


def parse_month(text: str) -> tuple[int, int] | None:
    """(year, month) of a "YYYY-MM" string, or None when it is not one."""
    m = YEAR_MONTH.match(text.strip())
    if not m or not 1 <= int(m[2]) <= 12:
        return None
    return int(m[1]), int(m[2])


def format_month(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def month_label(month: str) -> str:
    """ "2025-03" -> "March 2025"."""
    return f"{month_name(month)} {month[:4]}"


def month_name(month: str) -> str:
    """ "2025-03" -> "March"."""
    return MONTH_NAMES[int(month[5:7]) - 1]


def month_abbreviation(month: str) -> str:
    """ "2025-03" -> "Mar"."""
    return month_name(month)[:3]


def shift(year: int, month: int, delta: int) -> tuple[int, int]:
    """(year, month) moved by `delta` months."""
    index = year * 12 + month - 1 + delta
    return index // 12, index % 12 + 1


def shift_month(month: str, delta: int) -> str:
    """ "YYYY-MM" moved by `delta` months."""
    year, number = map(int, month.split("-"))
    return format_month(*shift(year, number, delta))


def previous_month(month: str) -> str:
    return shift_month(month, -1)


def read_month(text: str) -> str | None:
    """ "YYYY-MM" as a person types it (a one-digit month is padded), or None when it is not one."""
    m = re.fullmatch(r"(\d{4})-(\d{1,2})", text.strip())
    if not m or not 1 <= int(m[2]) <= 12:
        return None
    return format_month(int(m[1]), int(m[2]))


def utc_stamp(moment: datetime) -> str:
    """A moment as the store stamps what it ingests, and the digest reads: "2026-04-01T06:00:00Z"."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
