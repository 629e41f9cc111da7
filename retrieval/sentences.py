"""Splitting prose into sentences: one splitter for ingest (windows), answers and the digest."""

from __future__ import annotations

import re
from functools import lru_cache

from retrieval.calendar import MONTH_ABBREVIATIONS

# A sentence ends at . ! or ? after a lower-case word, a figure or a quote; "U.S." does not end one.
SENTENCE_END = re.compile(r"(?<=[a-z0-9%\"”')][.!?])[\"”')\]]*\s+(?=[A-Z0-9\"“'(])")
# A full stop after these does not end a sentence ("Feb. 2025", "No. 2", "Mr. Kato").
ABBREVIATION_END = re.compile(
    r"\b(?:" + "|".join(MONTH_ABBREVIATIONS) + r"|No|Nos|Mr|Mrs|Ms|Dr|St|vs|"
    r"Inc|Corp|Co|Ltd|approx|est|e\.g|i\.e)\.$",
    re.I,
)
MIN_SENTENCE_CHARS = 20  # shorter pieces are labels or fragments, not statements


def split_sentences(text: str) -> list[str]:
    """Sentences of a paragraph (or of text whose lines are paragraphs), fragments dropped."""
    out: list[str] = []
    for paragraph in text.split("\n"):
        flat = " ".join(paragraph.split())
        pieces: list[str] = []
        for piece in SENTENCE_END.split(flat):
            if pieces and ABBREVIATION_END.search(pieces[-1]):
                pieces[-1] = f"{pieces[-1]} {piece}"
            else:
                pieces.append(piece)
        out.extend(s.strip() for s in pieces if len(s.strip()) > MIN_SENTENCE_CHARS)
    return out


@lru_cache(maxsize=20_000)
def cached_sentences(text: str) -> tuple[str, ...]:
    return tuple(split_sentences(text))
