"""The ingest step: inputs -> documents -> chunks -> embeddings -> the knowledge base.

Each document is written whole or not at all (see retrieval.store); a failed input is
reported on one line and the rest of the batch goes on.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ingest.clean import clean_page
from ingest.documents import ARTICLE_SUFFIXES, SourceDocument, load_file
from ingest.settings import IngestSettings
from retrieval.errors import DeskError, InputError
from retrieval.sentences import split_sentences
from retrieval.store import GUILD, DocumentWrite, KnowledgeBase

log = logging.getLogger(__name__)

CHUNK_SIZE = 900  # characters: about 200 tokens, inside the model's 256-token window
CHUNK_OVERLAP = 150
# Articles are indexed as windows of a sentence and its neighbours (about 3 sentences, ~90
# tokens): small enough to be an answer, with enough context to be matched by meaning.
WINDOW_SIDE = 1
MAX_SENTENCE_CHARS = 600
MAX_WINDOW_CHARS = 1200  # inside the model's 256-token window
# Stored with each record: a document chunked by an older scheme is chunked again on re-ingest.
CHUNKING = "sentence-windows-2"
MAX_BOILERPLATE_CHARS = 20_000  # what a record keeps of the lines cleaning removed
TABLE_SUFFIXES = {".txt", ".csv", ".html", ".htm", ".tsv"}
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


def make_splitter():
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    # Paragraphs first, then sentences, so a chunk rarely ends mid-sentence.
    return RecursiveCharacterTextSplitter(
        chunk_size=CHUNK_SIZE,
        chunk_overlap=CHUNK_OVERLAP,
        separators=["\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ", ""],
        keep_separator="end",
        add_start_index=True,
    )


def chunk_document(doc: SourceDocument, splitter=None) -> Chunks:
    """An article's body as sentence windows; a table document in paragraph-sized pieces."""
    if doc.kind != "article":
        splitter = splitter or make_splitter()
        pieces = splitter.create_documents([doc.text])
        return Chunks(
            [p.page_content.strip() for p in pieces], [{"start": p.metadata.get("start_index", 0)} for p in pieces]
        )
    cleaned = clean_page(doc.text, doc.title)
    # A page too short for a full sentence ("China holds less.") is still stored, whole.
    sentences = split_sentences(cleaned.body) or [x for x in (cleaned.body or doc.text).split("\n") if x.strip()]
    sentences = [s.strip()[:MAX_SENTENCE_CHARS] for s in sentences]
    texts: list[str] = []
    metas: list[dict] = []
    for i, sentence in enumerate(sentences):
        # Each sentence is searched with its neighbours: a window is matched by meaning, the
        # sentence in its middle is what an answer quotes.
        window = " ".join(sentences[max(0, i - WINDOW_SIDE) : i + WINDOW_SIDE + 1])
        texts.append(window if len(window) <= MAX_WINDOW_CHARS else sentence)
        metas.append({"sentence": sentence, "position": i, "start": max(0, doc.text.find(sentence[:40]))})
    if doc.page_starts:  # a PDF's chunks carry the page they start on, for citations ("p. 4")
        for meta in metas:
            meta["page"] = doc.page_at(meta["start"])
    return Chunks(texts, metas, cleaned.removed)


@dataclass
class Chunks:
    texts: list[str]
    metas: list[dict]
    removed: list[str] = field(default_factory=list)  # an article's boilerplate lines


@dataclass
class _Pending:
    """A changed document, chunked, waiting for its embeddings."""

    doc: SourceDocument
    existing: bool
    chunks: Chunks
    report: IngestReport


def count_inputs(inputs: list[str]) -> int:
    """How many files and URLs an ingest will visit, for a progress bar."""
    total = 0
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            total += sum(
                1
                for p in path.rglob("*")
                if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in ARTICLE_SUFFIXES | TABLE_SUFFIXES
            )
        else:
            total += 1
    return total


def scoped_doc_id(doc_id: str, guild_id: int | None) -> str:
    """A guild's copy of a page has its own id: another guild (or the shared copy) ingesting the
    same URL must not take it over."""
    return doc_id if guild_id is None else f"g{guild_id}:{doc_id}"


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
        self._splitter = None
        self._pending: list[_Pending] = []

    # -- documents ----------------------------------------------------------------------------

    def store_document(self, doc: SourceDocument, report: IngestReport) -> None:
        """Queue a changed document; it is embedded with its neighbours and written by flush()."""
        if self.guild_id is not None and not doc.doc_id.startswith(scoped_doc_id("", self.guild_id)):
            doc = dataclasses.replace(doc, doc_id=scoped_doc_id(doc.doc_id, self.guild_id))
        if any(item.doc.doc_id == doc.doc_id for item in self._pending):
            self.flush()  # a later version of a queued document is compared with the queued one
        existing = self.kb.get_document(doc.doc_id)
        if existing and existing.get("content_hash") == doc.content_hash and existing.get("chunking") == CHUNKING:
            report.count("unchanged", doc.doc_id)  # nothing is embedded again
            return
        if self._splitter is None:
            self._splitter = make_splitter()
        self._pending.append(_Pending(doc, bool(existing), chunk_document(doc, self._splitter), report))
        if sum(len(item.chunks.texts) for item in self._pending) >= EMBED_BATCH_CHUNKS:
            self.flush()

    def flush(self) -> None:
        """Embed every queued document's chunks in one call, then write them together.

        One encode and eight Chroma calls per document (4 chunks, say) reached only ~55 % of
        the encoder's own throughput. Each document still commits whole or not at all."""
        pending, self._pending = self._pending, []
        if not pending:
            return
        # Title in front of each chunk's embedding input gives short chunks their context.
        inputs = [
            f"{item.doc.title}\n{text}" if item.doc.title else text for item in pending for text in item.chunks.texts
        ]
        vectors = self.kb.embedder.embed_documents(inputs)
        writes, start = [], 0
        for item in pending:
            end = start + len(item.chunks.texts)
            meta = item.doc.metadata()
            if self.guild_id is not None:
                meta[GUILD] = self.guild_id  # the store copies it onto every chunk
            record = {"chunking": CHUNKING, "boilerplate": "\n".join(item.chunks.removed)[:MAX_BOILERPLATE_CHARS]}
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

    def ingest_documents(self, docs: Iterable[SourceDocument], report: IngestReport) -> None:
        for doc in docs:
            try:
                self.store_document(doc, report)
            except InputError as exc:
                report.fail(exc)

    # -- inputs -------------------------------------------------------------------------------

    def ingest(self, inputs: list[str], feed: bool = False, holdings: bool = False) -> IngestReport:
        """Files, folders, URLs and feeds; `feed` reads URLs and files as RSS/Atom."""
        started = time.perf_counter()
        report = IngestReport()
        # A previous ingest killed right after a commit point left its clean-up undone: do it now.
        self.kb.finish_interrupted_writes()
        for item in inputs:
            try:
                if item.lower().startswith(("http://", "https://")):
                    self._ingest_url(item, report, feed=feed, holdings=holdings)
                else:
                    self._ingest_path(Path(item), report, feed=feed, holdings=holdings)
            except DeskError as exc:
                report.fail(exc)
        self.flush()
        report.seconds = time.perf_counter() - started
        return report

    def _ingest_path(self, path: Path, report: IngestReport, feed: bool, holdings: bool) -> None:
        if not path.exists():
            raise InputError(str(path), "no such file or folder")
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
            for file in files:
                if file.suffix.lower() not in ARTICLE_SUFFIXES | TABLE_SUFFIXES:
                    continue  # a folder may hold other things: skip them quietly
                self._ingest_file_safely(file, file.relative_to(path).as_posix(), report, feed, holdings)
        else:
            self._ingest_file_safely(path, path.name, report, feed, holdings)

    def _ingest_file_safely(self, path: Path, rel: str, report: IngestReport, feed: bool, holdings: bool) -> None:
        self.progress(str(path))
        try:
            self._ingest_file(path, rel, report, feed, holdings)
        except DeskError as exc:
            report.fail(exc)
        except OSError as exc:
            report.fail(InputError(str(path), f"cannot be read ({exc.strerror or exc})"))

    def _ingest_file(self, path: Path, rel: str, report: IngestReport, feed: bool, holdings: bool) -> None:
        if feed:
            from ingest.web import parse_feed

            data = path.read_bytes()
            self._ingest_feed_entries(str(path), *parse_feed(data, str(path)), report)
            return
        if path.stat().st_size > self.settings.max_bytes:
            raise InputError(
                str(path),
                f"is {path.stat().st_size / 1e6:.1f} MB, over the "
                f"{self.settings.max_file_mb:g} MB limit (DESK_MAX_FILE_MB)",
            )
        if self._try_table(path.read_bytes, str(path), report, forced=holdings):
            return
        docs = load_file(path, rel, self.settings.max_bytes)
        self.ingest_documents(docs, report)

    def _try_table(self, read: Callable[[], bytes], ref: str, report: IngestReport, forced: bool) -> bool:
        """Holdings tables are recognised by content, whatever their name; True when handled."""
        from ingest.tables import sniff

        data = read()
        layout = None if data[:5] == b"%PDF-" else sniff(data)  # a PDF is a report, never one of the tables
        if layout is None and not forced:
            return False
        if self.guild_id is not None:
            # Tables feed every guild's lookups (the holdings book is not scoped): only the
            # command line may change what all of them read.
            raise InputError(
                ref,
                "is a holdings table; tables are shared by every server, so they "
                "are added from the command line (desk ingest)",
            )
        from ingest.holdings_ingest import ingest_table

        ingest_table(self.kb, data, ref, layout, report)
        return True

    def _ingest_url(self, url: str, report: IngestReport, feed: bool, holdings: bool) -> None:
        from ingest.web import document_from_page, fetch, looks_like_feed, parse_feed

        self.progress(url)
        fetched = fetch(url, self.settings.fetch_timeout, self.settings.max_bytes)
        if feed or looks_like_feed(fetched):
            self._ingest_feed_entries(url, *parse_feed(fetched.body, url), report)
            return
        if self._try_table(lambda: fetched.body, url, report, forced=holdings):
            return
        self.ingest_documents([document_from_page(fetched, url)], report)

    def _ingest_feed_entries(self, ref: str, feed_title: str, entries, report: IngestReport) -> None:
        from ingest.documents import canonical_url
        from ingest.web import document_from_entry, fetch

        for entry in entries:
            try:
                page = None
                doc_id = scoped_doc_id(canonical_url(entry.link), self.guild_id) if entry.link else None
                if doc_id and self.kb.get_document(doc_id):
                    # Known entry: keep what is stored rather than fetch the page again.
                    report.count("unchanged", doc_id)
                    continue
                if entry.link.lower().startswith(("http://", "https://")):
                    try:
                        page = fetch(entry.link, self.settings.fetch_timeout, self.settings.max_bytes)
                    except InputError as exc:
                        log.info("feed entry page unavailable, using its summary: %s", exc)
                self.store_document(document_from_entry(entry, feed_title, ref, page), report)
            except InputError as exc:
                report.fail(exc)
