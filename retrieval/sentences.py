"""Splitting prose into sentences: one splitter for ingest (windows), answers and the digest."""

from __future__ import annotations

import re
from functools import lru_cache

from retrieval.calendar import MONTH_ABBREVIATIONS

# A sentence ends at . ! or ? after a lower-case word, a figure or a quote; "U.S." does not end one.
# The closing quote or bracket after the stop stays with its sentence.
SENTENCE_END = re.compile(r"(?<=[a-z0-9%\"”')][.!?])[\"”')\]]*(?=\s+[A-Z0-9\"“'(])")
# A full stop after these does not end a sentence ("Feb. 2025", "No. 2", "Mr. Kato").
ABBREVIATION_END = re.compile(
    r"\b(?:" + "|".join(MONTH_ABBREVIATIONS) + r"|No|Nos|Mr|Mrs|Ms|Dr|St|vs|"
    r"Inc|Corp|Co|Ltd|approx|est|e\.g|i\.e)\.$",
    re.I,
)
MIN_SENTENCE_CHARS = 20  # shorter pieces are labels or fragments, not statements
# A quotation of several sentences is one statement: "“We act. This will not change,” Suzuki
# said." is quoted whole, with who said it. A quote never closed joins no more than this.
MAX_QUOTE_CHARS = 400


def _opens_quote(text: str) -> bool:
    """Whether the text leaves a quotation open (curly quotes, or an odd number of straight ones)."""
    return text.count("“") > text.count("”") or text.count('"') % 2 == 1


def split_sentences(text: str) -> list[str]:
    """Sentences of a paragraph (or of text whose lines are paragraphs), fragments dropped."""
    out: list[str] = []
    for paragraph in text.split("\n"):
        flat = " ".join(paragraph.split())
        pieces: list[str] = []
        ends = [m.end() for m in SENTENCE_END.finditer(flat)]
        for piece in (flat[a:b].strip() for a, b in zip([0, *ends], [*ends, len(flat)])):
            last = pieces[-1] if pieces else ""
            joined = f"{last} {piece}"
            if pieces and (ABBREVIATION_END.search(last) or (_opens_quote(last) and len(joined) <= MAX_QUOTE_CHARS)):
                pieces[-1] = joined
            else:
                pieces.append(piece)
        out.extend(s.strip() for s in pieces if len(s.strip()) > MIN_SENTENCE_CHARS)
    return out


@lru_cache(maxsize=20_000)
def cached_sentences(text: str) -> tuple[str, ...]:
    return tuple(split_sentences(text))


# Capitalised words in a row, with the small words a name keeps inside it: "Bank of Japan",
# "Council on Foreign Relations", "People's Bank of China".
NAME_RUN = re.compile(r"\b[A-Z][\w’'.-]*(?:\s+(?:(?:of|the|and|for|on|de)\s+)*[A-Z][\w’'.-]*)+")
MAX_INITIALS = 5  # words a shortened name stands for


def initialisms(text: str) -> set[str]:
    """What the names in a text may be shortened to, from every run of two or more of their
    words: "HKMA" for "Hong Kong Monetary Authority", "MOF" and "MF" for "Ministry of Finance",
    "NY" for the "New York" of "New York Fed"."""
    found: set[str] = set()
    runs = (run for sentence in SENTENCE_END.split(text) for run in NAME_RUN.findall(sentence))
    for run in runs:
        words = run.split()
        for i, first in enumerate(words):
            if not first[0].isupper():
                continue
            for j in range(i + 2, min(len(words), i + MAX_INITIALS) + 1):
                part = words[i:j]
                if part[-1][0].isupper():
                    found.add("".join(w[0] for w in part).upper())
                    found.add("".join(w[0] for w in part if w[0].isupper()))
    return {f for f in found if len(f) >= 2}
