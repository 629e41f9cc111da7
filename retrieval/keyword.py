"""A BM25 keyword ranking kept beside Chroma, which has none of its own.

Built in memory from the committed chunks and rebuilt when the store's write generation
moves; scoring uses numpy over an inverted index so it stays fast at 100k chunks.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict

import numpy as np

TOKEN = re.compile(r"[a-z0-9]+(?:[.,][0-9]+)*")
STOPWORDS = frozenset(
    "a an and are as at be but by did do does for from had has have how i in is it its of on or so than that the "
    "their them there these this those to was were what when where which who whom why will with would you your "
    "about into over after before more most much many can could should than then also been being s".split()
)


# "U.S." would otherwise fall apart into "u" and "s"; "10yr" should meet "10-year".
_US = re.compile(r"\bu\.\s?s\.(?:\s?a\.)?")
_UNIT_GLUE = re.compile(r"\b(\d+)(yr|yrs|y|bn|pct|m|mo)\b")
# Closed compounds written three ways ("selloff", "sell-off", "sell off") meet as two words.
_COMPOUNDS = re.compile(r"\b(sell|buy|pull|roll|pay|take|run)(?:off|back|over|out)?-?(off|back|over|out)\b")
ABBREVIATIONS = {"yr": "year", "yrs": "year", "y": "year", "bn": "billion", "pct": "percent", "mo": "month",
                 "m": "month", "govt": "government", "usts": "ust", "treasuries": "treasury", "treasurys": "treasury"}


def tokenize(text: str) -> list[str]:
    tokens = []
    text = _UNIT_GLUE.sub(r"\1 \2", _US.sub("us ", text.lower()))
    text = _COMPOUNDS.sub(r"\1 \2", text)
    for token in TOKEN.findall(text):
        token = ABBREVIATIONS.get(token, token)
        token = token.replace(",", "")  # "1,125.9" and "1125.9" are the same figure
        if token in STOPWORDS:
            continue
        tokens.append(_stem(token))
    return tokens


def _stem(token: str) -> str:
    """A light plural/verb-ending fold: 'holdings'->'holding', 'tariffs'->'tariff'."""
    if token[0].isdigit() or len(token) <= 3:
        return token
    if token.endswith("ies") and len(token) > 5 and not token.endswith("eries"):
        return token[:-3] + "y"  # "economies" -> "economy", but "series" stays
    if token.endswith(("sses", "xes", "zes", "ches", "shes")):
        return token[:-2]  # "taxes" -> "tax"
    if token.endswith("s") and not token.endswith(("ss", "us", "is")):
        return token[:-1]  # "tables" -> "table"; "versus", "basis" stay
    for suffix in ("ing", "ed"):
        # "threatening"/"threatened" -> "threaten", "stopped" -> "stop"; short words ("during") stay
        if token.endswith(suffix) and len(token) - len(suffix) >= 4:
            stem = token[: -len(suffix)]
            if stem[-1] == stem[-2] and stem[-1] not in "lsz":
                stem = stem[:-1]
            return stem
    return token


class BM25Index:
    def __init__(self, ids: list[str], texts: list[str], k1: float = 1.4, b: float = 0.75):
        self.ids = ids
        self.k1, self.b = k1, b
        postings: dict[str, list[tuple[int, int]]] = defaultdict(list)
        lengths = np.zeros(len(texts), dtype=np.float32)
        for i, text in enumerate(texts):
            counts = Counter(tokenize(text))
            lengths[i] = sum(counts.values())
            for term, tf in counts.items():
                postings[term].append((i, tf))
        self.lengths = lengths
        self.avg_length = float(lengths.mean()) if len(texts) else 1.0
        n = len(texts)
        self.postings = {}
        for term, items in postings.items():
            docs = np.fromiter((d for d, _ in items), dtype=np.int32, count=len(items))
            tfs = np.fromiter((t for _, t in items), dtype=np.float32, count=len(items))
            idf = math.log(1 + (n - len(items) + 0.5) / (len(items) + 0.5))
            self.postings[term] = (docs, tfs, idf)

    def idf(self, term: str) -> float:
        """How telling a word is; a word the corpus never uses is the most telling of all."""
        posting = self.postings.get(term)
        return posting[2] if posting else math.log(1 + (len(self.ids) + 0.5) / 0.5)

    def __len__(self) -> int:
        return len(self.ids)

    def scores(self, query: str) -> np.ndarray:
        scores = np.zeros(len(self.ids), dtype=np.float32)
        norm = self.k1 * (1 - self.b + self.b * self.lengths / max(self.avg_length, 1e-6))
        for term in set(tokenize(query)):
            posting = self.postings.get(term)
            if posting is None:
                continue
            docs, tfs, idf = posting
            scores[docs] += idf * tfs * (self.k1 + 1) / (tfs + norm[docs])
        return scores

    def top(self, query: str, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        scores = self.scores(query)
        if allowed is not None:
            scores = np.where(allowed, scores, 0.0)
        if not len(scores):
            return []
        k = min(k, len(scores))
        best = np.argpartition(-scores, k - 1)[:k]
        best = best[np.argsort(-scores[best])]
        return [(int(i), float(scores[i])) for i in best if scores[i] > 0]
