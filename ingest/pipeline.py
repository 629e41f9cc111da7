"""The ingest step: inputs -> items -> documents -> chunks -> embeddings -> the knowledge base.

Two steps a reader can follow: origins.py turns each input (a path, a folder, a URL, a feed, an
attachment) into items of bytes with a name and a type; readers.py picks each item's reader by
its bytes, then its name, and returns documents. Everything else is here, the same for every
document: clean, chunk, embed, write. Each document is written whole or not at all (see
retrieval.store); a failed input is reported on one line and the rest of the batch goes on.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest import origins, readers
from ingest.clean import clean_page
from ingest.documents import Chunks, SourceDocument, canonical_url
from ingest.holdings_ingest import TableDocument
from ingest.origins import Item, Source
from ingest.settings import IngestSettings
from retrieval.errors import DeskError, InputError
from retrieval.sentences import initialisms, split_sentences
from retrieval.store import GUILD, DocumentWrite, KnowledgeBase, scoped_doc_id

log = logging.getLogger(__name__)

# The size of the paragraph chunks articles had before sentence windows; tests still hold a long
# article's windows of ordinary sentences under it.
CHUNK_SIZE = 900
# Articles are indexed as windows of a sentence and its neighbours (about 3 sentences, ~90
# tokens): small enough to be an answer, with enough context to be matched by meaning.
WINDOW_SIDE = 1
MAX_SENTENCE_CHARS = 600
MAX_WINDOW_CHARS = 1200  # inside the model's 256-token window
# A story's opening names whom it is about; stored with every window, it tells who "the central
# bank" or "he" is in a sentence that names no one.
LEAD_SENTENCES = 2
MAX_LEAD_CHARS = 300
# Stored with each article: a document chunked by an older scheme is chunked again on re-ingest.
# 3: quotations kept whole; 4: the story's lead stored; 5: embeds and end links cleaned; 6: date fields and
# embedded posts' credit lines cleaned; 7: the initialisms of its names recorded
CHUNKING = "sentence-windows-7"
MAX_BOILERPLATE_CHARS = 20_000  # what a record keeps of the lines cleaning removed
EMBED_BATCH_CHUNKS = 256  # chunks embedded and written together: ~10% faster encoding than 128 (length sorting)


@dataclass
class IngestReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    chunks: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)
    doc_ids: list[str] = field(default_factory=list)

    def count(self, outcome: str, doc_id: str, chunks: int = 0) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)
        self.chunks += chunks
        self.doc_ids.append(doc_id)

    def fail(self, error: Exception) -> None:
        self.failed += 1
        self.errors.append(str(error))

    def merge(self, other: IngestReport) -> None:
        for name in ("added", "updated", "unchanged", "failed", "chunks"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors += other.errors
        self.doc_ids += other.doc_ids

    def summary(self) -> str:
        return (
            f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged, "
            f"{self.failed} failed; {self.chunks} chunks written in {self.seconds:.1f} s"
        )


def chunk_document(doc: readers.Document) -> Chunks:
    """An article's body as sentence windows; a table comes chunked by its reader."""
    if isinstance(doc, TableDocument):
        return doc.chunks
    cleaned = clean_page(doc.text, doc.title)
    # A page too short for a full sentence ("China holds less.") is still stored, whole.
    sentences = split_sentences(cleaned.body) or [x for x in (cleaned.body or doc.text).split("\n") if x.strip()]
    sentences = [s.strip()[:MAX_SENTENCE_CHARS] for s in sentences]
    lead = " ".join(sentences[:LEAD_SENTENCES])[:MAX_LEAD_CHARS]
    texts: list[str] = []
    metas: list[dict] = []
    for i, sentence in enumerate(sentences):
        # Each sentence is searched with its neighbours: a window is matched by meaning, the
        # sentence in its middle is what an answer quotes.
        window = " ".join(sentences[max(0, i - WINDOW_SIDE) : i + WINDOW_SIDE + 1])
        texts.append(window if len(window) <= MAX_WINDOW_CHARS else sentence)
        metas.append({"sentence": sentence, "position": i, "start": max(0, doc.text.find(sentence[:40])), "lead": lead})
    if doc.page_starts:  # a PDF's chunks carry the page they start on, for citations ("p. 4")
        for meta in metas:
            meta["page"] = doc.page_at(meta["start"])
    # Title in front of each chunk's embedding input gives short chunks their context.
    embed = [f"{doc.title}\n{text}" if doc.title else text for text in texts]
    return Chunks(texts, metas, embed, cleaned.removed)


def chunking_of(doc: readers.Document) -> str | None:
    """How an article was chunked, recorded to chunk it again when that changes; a table's id is its content."""
    return CHUNKING if isinstance(doc, SourceDocument) else None


@dataclass
class _Pending:
    """A changed document, chunked, waiting for its embeddings."""

    doc: readers.Document
    existing: bool
    chunks: Chunks
    report: IngestReport


def count_inputs(inputs: list[str]) -> int:
    """How many files and URLs an ingest will visit, for a progress bar."""
    return sum(
        len(origins.folder_files(Path(item), readers.FOLDER_SUFFIXES)) if Path(item).is_dir() else 1 for item in inputs
    )


class Ingester:
    def __init__(
        self,
        kb: KnowledgeBase,
        settings: IngestSettings | None = None,
        progress: Callable[[str], None] | None = None,
        guild_id: int | None = None,
    ):
        self.kb = kb
        # None: documents are shared by every guild (the CLI); otherwise they are that guild's only.
        self.guild_id = guild_id
        self.settings = settings or IngestSettings()
        self.progress = progress or (lambda _item: None)  # called once per file or URL, as it starts
        self._pending: list[_Pending] = []

    # -- inputs: where each comes from (origins), what it is (readers) --------------------------

    def ingest(self, inputs: list[str], feed: bool = False, holdings: bool = False) -> IngestReport:
        """Files, folders, URLs and feeds; `feed` reads URLs and files as RSS/Atom, `holdings` as tables."""
        sources = (s for target in inputs for s in origins.sources(target, self.settings, readers.FOLDER_SUFFIXES))
        return self._ingest_sources(sources, feed=feed, holdings=holdings)

    def ingest_attachment(self, data: bytes, filename: str) -> IngestReport:
        """A file sent to the bot, read as `desk ingest` reads a file of that name."""
        return self._ingest_sources([origins.attachment(data, filename, self.settings)])

    def _ingest_sources(self, sources: Iterable[Source], feed: bool = False, holdings: bool = False) -> IngestReport:
        started = time.perf_counter()
        report = IngestReport()
        # A previous ingest killed right after a commit point left its clean-up undone: do it now.
        self.kb.finish_interrupted_writes()
        for source in sources:
            self.progress(source.ref)
            try:
                self._ingest_item(source.read(), report, feed, holdings)
            except DeskError as exc:
                report.fail(exc)
            except OSError as exc:
                report.fail(InputError(source.ref, f"cannot be read ({exc.strerror or exc})"))
        self.flush()
        report.seconds = time.perf_counter() - started
        return report

    def _ingest_item(self, item: Item, report: IngestReport, feed: bool, holdings: bool) -> None:
        if feed or origins.looks_like_feed(item):
            self._ingest_feed(item, report)
            return
        try:
            fmt = readers.format_of(item, holdings)
            if fmt.table and self.guild_id is not None:
                # Tables feed every guild's lookups (the holdings book is not scoped): only the
                # command line may change what all of them read.
                raise InputError(
                    item.ref,
                    "is a holdings table; tables are shared by every server, so they "
                    "are added from the command line (desk ingest)",
                )
            documents = fmt.read(item)
        finally:
            readers.forget_sniffed()
        self.ingest_documents(documents, report)

    def _ingest_feed(self, feed: Item, report: IngestReport) -> None:
        """Each entry is an input of its own: its page, fetched unless the entry is stored already."""
        feed_title, entries = origins.parse_feed(feed.data, feed.ref)
        for entry in entries:
            try:
                doc_id = scoped_doc_id(canonical_url(entry.link), self.guild_id) if entry.link else None
                if doc_id and self.kb.get_document(doc_id):
                    # Known entry: keep what is stored rather than fetch the page again.
                    report.count("unchanged", doc_id)
                    continue
                page = None
                if origins.is_url(entry.link):
                    try:
                        page = origins.page(entry.link, self.settings)
                    except InputError as exc:
                        log.info("feed entry page unavailable, using its summary: %s", exc)
                doc = readers.read_entry(entry, feed_title, feed.ref, page)
                # Nothing is stored under doc_id (read above): store_document need not read it again.
                self.store_document(doc, report, read=(doc_id, None) if doc_id else None)
            except InputError as exc:
                report.fail(exc)

    # -- documents: the same for every one -------------------------------------------------------

    def ingest_documents(self, docs: Iterable[readers.Document], report: IngestReport) -> None:
        for doc in docs:
            try:
                self.store_document(doc, report)
            except InputError as exc:
                report.fail(exc)

    def store_document(
        self, doc: readers.Document, report: IngestReport, read: tuple[str, dict[str, Any] | None] | None = None
    ) -> None:
        """Queue a changed document; it is embedded with its neighbours and written by flush().

        `read` is (doc id, its stored record or None) when the caller has just read the store for
        this document (a feed entry is looked up before its page is fetched): it is not read again."""
        if self.guild_id is not None and not doc.doc_id.startswith(scoped_doc_id("", self.guild_id)):
            doc = dataclasses.replace(doc, doc_id=scoped_doc_id(doc.doc_id, self.guild_id))
        if any(item.doc.doc_id == doc.doc_id for item in self._pending):
            self.flush()  # a later version of a queued document is compared with the queued one
            read = None  # the flush wrote it: the caller's read is out of date
        existing = read[1] if read is not None and read[0] == doc.doc_id else self.kb.get_document(doc.doc_id)
        if (
            existing
            and existing.get("content_hash") == doc.content_hash
            and existing.get("chunking") == chunking_of(doc)
        ):
            ref = doc.metadata().get("ref")
            if ref and existing.get("ref") != ref:
                self.kb.relocate(doc.doc_id, ref)  # cite the copy just read, not one that may be gone
            report.count("unchanged", doc.doc_id)  # nothing is embedded again
            return
        self._pending.append(_Pending(doc, bool(existing), chunk_document(doc), report))
        if sum(len(item.chunks.texts) for item in self._pending) >= EMBED_BATCH_CHUNKS:
            self.flush()

    def flush(self) -> None:
        """Embed every queued document's chunks in one call, then write them together.

        One encode and eight Chroma calls per document (4 chunks, say) reached only ~55 % of
        the encoder's own throughput. Each document still commits whole or not at all."""
        pending, self._pending = self._pending, []
        if not pending:
            return
        vectors = self.kb.embedder.embed_documents([text for item in pending for text in item.chunks.embed])
        writes, start = [], 0
        for item in pending:
            end = start + len(item.chunks.texts)
            meta = item.doc.metadata()
            if self.guild_id is not None:
                meta[GUILD] = self.guild_id  # the store copies it onto every chunk
            record = {
                "chunking": chunking_of(item.doc),
                "boilerplate": "\n".join(item.chunks.removed)[:MAX_BOILERPLATE_CHARS],
            }
            if isinstance(item.doc, SourceDocument):
                # What its names shorten to ("MOF" for "Ministry of Finance"): a question may use them.
                prose = "\n".join([item.doc.title, *(m["sentence"] for m in item.chunks.metas)])
                record["initialisms"] = " ".join(sorted(initialisms(prose)))
            writes.append(
                DocumentWrite(item.doc.doc_id, meta, item.chunks.texts, item.chunks.metas, vectors[start:end], record)
            )
            start = end
        try:
            written = self.write_documents(writes)
        except DeskError as exc:  # none of these is stored; documents written before them are
            for item in pending:
                item.report.fail(DeskError(f"{item.doc.doc_id}: {exc}"))
            return
        for item, chunks in zip(pending, written):
            item.report.count("updated" if item.existing else "added", item.doc.doc_id, chunks)

    def write_documents(self, writes: list[DocumentWrite]) -> list[int]:
        return self.kb.write_documents(writes)
