"""A BM25 keyword ranking kept beside Chroma, which has none of its own.

Built from the committed chunks, updated document by document when the store's write
generation moves, and saved beside the store so a new process does not re-read every chunk;
scoring uses numpy over an inverted index so it stays fast at 100k chunks.
"""

from __future__ import annotations

import copy
import ctypes
import logging
import math
import os
import re
import threading
import zipfile
from array import array
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

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
ABBREVIATIONS = {
    "yr": "year",
    "yrs": "year",
    "y": "year",
    "bn": "billion",
    "pct": "percent",
    "mo": "month",
    "m": "month",
    "govt": "government",
    "usts": "ust",
    "treasuries": "treasury",
    "treasurys": "treasury",
}


def tokenize(text: str) -> list[str]:
    text = _UNIT_GLUE.sub(r"\1 \2", _US.sub("us ", text.lower()))
    text = _COMPOUNDS.sub(r"\1 \2", text)
    terms = []
    for token in TOKEN.findall(text):
        term = _TERMS.get(token)  # cached terms are str, never None
        if term is None:
            term = _term(token)
            if len(_TERMS) > 500_000:  # figures make the vocabulary open-ended: keep the cache bounded
                _TERMS.clear()
            _TERMS[token] = term
        if term:
            terms.append(term)
    return terms


# Folding a token costs more than looking it up: indexing 100k chunks spent half its time in _stem.
_TERMS: dict[str, str] = {}


def _term(token: str) -> str:
    """The index term of a token, or "" for a stopword."""
    token = ABBREVIATIONS.get(token, token)
    token = token.replace(",", "")  # "1,125.9" and "1125.9" are the same figure
    return "" if token in STOPWORDS else _stem(token)


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


@dataclass
class Row:
    """One chunk as the index sees it."""

    id: str
    text: str
    doc_id: str = ""
    kind: str = ""
    day: int = 0  # YYYYMMDD of publication, 0 when unknown


class BM25Index:
    """BM25 over compact arrays: postings in CSR form (a term's rows and term frequencies are
    one slice), so 100k chunks cost tens of MB instead of millions of Python objects.

    Updated by document (`updated`): rows of changed documents are dropped and their new rows
    appended, with no re-tokenizing of the rest; `save`/`load` keep it between processes."""

    FORMAT = 1
    K1, B = 1.4, 0.75

    def __init__(self):
        self.vocab: dict[str, int] = {}
        self.ids: list[str] = []
        self.row_docs: list[str] = []
        self.docs: dict[str, str] = {}  # doc_id -> the content hash its rows were read at
        self.kinds = np.zeros(0, dtype="<U16")
        self.days = np.zeros(0, dtype=np.int32)
        self.lengths = np.zeros(0, dtype=np.float32)
        self.indptr = np.zeros(1, dtype=np.int64)
        self.rows = np.zeros(0, dtype=np.int32)
        self.tfs = np.zeros(0, dtype=np.uint16)
        self._norm = np.zeros(0, dtype=np.float32)
        self.generation = -1  # the store's write generation when the file was saved (-1: unknown)

    @classmethod
    def from_texts(cls, ids: list[str], texts: list[str]) -> BM25Index:
        return cls().updated((), [Row(i, t) for i, t in zip(ids, texts)])

    def __len__(self) -> int:
        return len(self.ids)

    # -- building ---------------------------------------------------------------------------------

    def updated(self, doc_ids, rows: list[Row], docs: dict[str, str] | None = None) -> BM25Index:
        """A new index without the rows of `doc_ids` and with `rows` appended; `docs` records the
        hashes now indexed. This one is left as it was, for searches still running on it."""
        new = copy.copy(self)
        new.vocab, new.docs = dict(self.vocab), dict(self.docs)
        new._replace(set(doc_ids), rows, docs or {})
        return new

    def _replace(self, gone: set[str], rows: list[Row], docs: dict[str, str]) -> None:
        keep = np.fromiter((d not in gone for d in self.row_docs), dtype=bool, count=len(self.row_docs))
        terms, row_numbers, tfs, lengths = array("i"), array("i"), array("H"), array("f")
        base = int(keep.sum())
        for n, row in enumerate(rows):
            counts = Counter(tokenize(row.text))
            lengths.append(sum(counts.values()))
            for term, tf in counts.items():
                terms.append(self.vocab.setdefault(term, len(self.vocab)))
                row_numbers.append(base + n)
                tfs.append(min(tf, 65535))
        # The kept postings, renumbered, then the new ones after them: a stable sort by term
        # keeps each term's rows in order.
        old_terms = np.repeat(np.arange(len(self.indptr) - 1, dtype=np.int32), np.diff(self.indptr))
        live = keep[self.rows] if len(self.rows) else np.zeros(0, dtype=bool)
        renumber = np.cumsum(keep, dtype=np.int64) - 1
        all_terms = np.concatenate([old_terms[live], np.frombuffer(terms, dtype=np.int32)])
        order = np.argsort(all_terms, kind="stable")
        self.rows = np.concatenate(
            [renumber[self.rows[live]].astype(np.int32), np.frombuffer(row_numbers, dtype=np.int32)]
        )[order]
        self.tfs = np.concatenate([self.tfs[live], np.frombuffer(tfs, dtype=np.uint16)])[order]
        self.indptr = np.concatenate([[0], np.cumsum(np.bincount(all_terms, minlength=len(self.vocab)))]).astype(
            np.int64
        )
        self.ids = [i for i, k in zip(self.ids, keep) if k] + [r.id for r in rows]
        self.row_docs = [d for d, k in zip(self.row_docs, keep) if k] + [r.doc_id for r in rows]
        self.kinds = np.concatenate([self.kinds[keep], np.array([r.kind for r in rows], dtype="<U16")])
        self.days = np.concatenate([self.days[keep], np.array([r.day for r in rows], dtype=np.int32)])
        self.lengths = np.concatenate([self.lengths[keep], np.frombuffer(lengths, dtype=np.float32)])
        for doc_id in gone:
            self.docs.pop(doc_id, None)
        self.docs.update(docs)
        self._prepare()

    def _prepare(self) -> None:
        avg = float(self.lengths.mean()) if len(self.lengths) else 1.0
        self._norm = (self.K1 * (1 - self.B + self.B * self.lengths / max(avg, 1e-6))).astype(np.float32)

    # -- keeping ----------------------------------------------------------------------------------

    def save(self, path: Path, key: str, generation: int = -1) -> None:
        """Write atomically: a reader never sees half a file, whichever process wrote it.

        `generation` is the store's write generation the index describes: a reader that finds
        the store still at it knows the index's documents are the committed ones, and need not
        list them (about a second at 100k chunks)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        with open(tmp, "wb") as handle:
            np.savez(
                handle,
                format=np.array([self.FORMAT]),
                key=_pack([key]),
                generation=np.array([generation], dtype=np.int64),
                vocab=_pack(list(self.vocab)),
                ids=_pack(self.ids),
                row_docs=_pack(self.row_docs),
                doc_ids=_pack(list(self.docs)),
                doc_hashes=_pack(list(self.docs.values())),
                kinds=self.kinds,
                days=self.days,
                lengths=self.lengths,
                indptr=self.indptr,
                rows=self.rows,
                tfs=self.tfs,
            )
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path, key: str) -> BM25Index | None:
        """The saved index for this store, or None when absent, unreadable or another store's."""
        try:
            with np.load(path, allow_pickle=False) as saved:
                if int(saved["format"][0]) != cls.FORMAT or _unpack(saved["key"]) != [key]:
                    return None
                index = cls()
                index.vocab = {term: n for n, term in enumerate(_unpack(saved["vocab"]))}
                index.ids = _unpack(saved["ids"])
                index.row_docs = _unpack(saved["row_docs"])
                index.docs = dict(zip(_unpack(saved["doc_ids"]), _unpack(saved["doc_hashes"])))
                for name in ("kinds", "days", "lengths", "indptr", "rows", "tfs"):
                    setattr(index, name, saved[name])
                # Files written before the generation was kept: unknown, so the documents are listed.
                index.generation = int(saved["generation"][0]) if "generation" in saved.files else -1
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            if not isinstance(exc, FileNotFoundError):
                log.warning("keyword index %s unreadable (%s): rebuilding it", path, exc)
            return None
        if not (
            len(index.ids) == len(index.row_docs) == len(index.lengths) == len(index.kinds)
            and len(index.indptr) == len(index.vocab) + 1
            and int(index.indptr[-1]) == len(index.rows)
        ):
            log.warning("keyword index %s is inconsistent: rebuilding it", path)
            return None
        index._prepare()
        return index

    # -- asking -----------------------------------------------------------------------------------

    def _posting(self, term: str) -> tuple[int, int]:
        n = self.vocab.get(term)
        return (0, 0) if n is None else (int(self.indptr[n]), int(self.indptr[n + 1]))

    def known(self, term: str, visible: Callable[[str], bool] | None = None) -> bool:
        """Whether a row uses the term; with `visible`, a row of a document it lets through."""
        start, end = self._posting(term)
        if visible is None:
            return end > start
        return any(visible(self.row_docs[row]) for row in self.rows[start:end])

    def terms(self):
        """Every term some row still uses."""
        used = np.diff(self.indptr) > 0
        return (term for term, n in self.vocab.items() if used[n])

    def idf(self, term: str) -> float:
        """How telling a word is; a word the corpus never uses is the most telling of all."""
        start, end = self._posting(term)
        return math.log(1 + (len(self.ids) - (end - start) + 0.5) / ((end - start) + 0.5))

    def scores(self, query: str) -> np.ndarray:
        scores = np.zeros(len(self.ids), dtype=np.float32)
        for term in set(tokenize(query)):
            start, end = self._posting(term)
            if end == start:
                continue
            rows, tfs = self.rows[start:end], self.tfs[start:end].astype(np.float32)
            scores[rows] += self.idf(term) * tfs * (self.K1 + 1) / (tfs + self._norm[rows])
        return scores

    @property
    def columns(self) -> dict[str, np.ndarray]:
        """The rows' metadata a search filter reads (retrieval.search.SearchFilter.mask)."""
        return {"kind": self.kinds, "published_day": self.days}

    def newest_day(self, kind: str) -> int:
        days = self.days[self.kinds == kind]
        return int(days.max()) if len(days) else 0

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


def _pack(strings: list[str]) -> np.ndarray:
    # NUL-separated UTF-8: no pickles in the file, and no fixed-width padding of long ids.
    return np.frombuffer("\0".join(strings).encode(), dtype=np.uint8) if strings else np.zeros(0, np.uint8)


def _unpack(packed: np.ndarray) -> list[str]:
    return packed.tobytes().decode().split("\0") if len(packed) else []


def release_freed_memory() -> None:
    """Hand the heap's free pages back to the OS after a big build (glibc keeps them otherwise)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
