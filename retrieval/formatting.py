"""Figures and text as every front end shows them: money, signed changes, ordinals, truncation."""

from __future__ import annotations


def format_billions(value: float) -> str:
    return f"{value:,.1f}"


def money(value: float, unit: str = " billion") -> str:
    """A table value (billions of dollars) as a reader writes it: "$1,125.9 billion" (or "$1,125.9 bn")."""
    return f"${format_billions(value)}{unit}"


def signed(value: float, typeset: bool = False) -> str:
    """A change with its sign: "+3.2", "-3.2"; typeset: a true minus and ± for none ("−3.2", "±0.0")."""
    if not typeset:
        return f"{value:+,.1f}"
    return f"{'+' if value > 0 else '−' if value < 0 else '±'}{format_billions(abs(value))}"


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def truncate(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a word with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: max(0, limit - 1)].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:") + "…"


def percent(value: float) -> str:
    """A signed percentage; two decimals for tiny moves, so +3.9 on 9,348.7 does not read "+0.0%"."""
    return f"{value:+.1f}%" if abs(value) >= 0.1 or value == 0 else f"{value:+.2f}%"


def share(part: float, whole: float) -> str:
    """`part` as a percentage of `whole`: "12.9%"."""
    return f"{part / whole * 100:.1f}%"
