"""Holdings tables into the knowledge base: readable documents for search, every cell exact.

A table release is one document (id `table/<layout>/<hash>`): re-ingesting the same bytes is
a no-op, a newer release is a new document and the older one stays as a vintage. Its chunks:
- one per month, listing the holders in order; its metadata holds the month's cells as JSON,
  which is what the exact lookups read (retrieval.holdings);
- one per country and year, the country's months in a line, for questions about a history.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass

from ingest.documents import Chunks
from ingest.tables import HoldingsTable
from retrieval.calendar import month_abbreviation, month_label, shift_month
from retrieval.countries import FOREIGN_OFFICIAL, GRAND_TOTAL, is_aggregate
from retrieval.formatting import format_billions
from retrieval.holdings import table_source

TIC_FILES = ("slt_table5.txt", "mfhhis01.txt")


def estimated_release(table: HoldingsTable) -> tuple[str, bool]:
    """The release date: stated in the file, else about two months after its latest month
    (Treasury publishes month M in the middle of month M+2)."""
    if table.released:
        return table.released, False
    return f"{shift_month(table.months[-1], 2)}-15", True


EMBEDDED_HOLDERS = 10  # a month's embedding sees its top holders; the stored text lists them all


def table_documents(table: HoldingsTable) -> tuple[dict, list[str], list[dict], list[str]]:
    """The release's metadata, chunk texts, chunk metadata, and the shorter texts to embed.

    Embedding cost grows with length (a 256-token text costs several short ones), so what is
    embedded is a compact form of each chunk; the stored text and metadata stay complete."""
    release, estimated = estimated_release(table)
    url = table.ref if table.ref.startswith(("http://", "https://")) else ""
    meta = {
        "title": table.title,
        "source": table_source(table.layout),
        "url": url,
        "published": release,
        "published_day": int(release.replace("-", "")),
        "release": release,
        "release_estimated": estimated,
        "kind": "table",
        "layout": table.layout,
        "ref": table.ref,
        "content_hash": table.content_hash,
        "first_month": table.months[0],
        "last_month": table.months[-1],
        "series_count": len(table.series),
    }
    by_month: dict[str, dict[str, float]] = defaultdict(dict)
    for cell in table.cells:
        by_month[cell.month][cell.series] = cell.value
    texts, metas, embed_texts = [], [], []
    for month in sorted(by_month):
        cells = by_month[month]
        texts.append(month_text(table.title, month, cells))
        embed_texts.append(month_text("", month, cells, limit=EMBEDDED_HOLDERS))
        metas.append({"table_doc": "month", "month": month, "cells": json.dumps(cells, sort_keys=True)})
    by_country_year: dict[tuple[str, str], list[tuple[str, float]]] = defaultdict(list)
    for cell in table.cells:
        by_country_year[(cell.series, cell.month[:4])].append((cell.month, cell.value))
    for (series, year), values in sorted(by_country_year.items()):
        values.sort()
        listed = "; ".join(f"{month_abbreviation(m)} {format_billions(v)}" for m, v in values)
        text = f"{series}: holdings of U.S. Treasury securities in {year}, billions of dollars, end of month: {listed}."
        texts.append(f"{text} ({table.title})")
        embed_texts.append(text)
        metas.append({"table_doc": "country_year", "country": series, "year": year})
    return meta, texts, metas, embed_texts


def month_text(title: str, month: str, cells: dict[str, float], limit: int | None = None) -> str:
    holders = sorted(((s, v) for s, v in cells.items() if not is_aggregate(s)), key=lambda sv: -sv[1])
    ranked = "; ".join(f"{i}. {s} {format_billions(v)}" for i, (s, v) in enumerate(holders[:limit], start=1))
    aggregates = "; ".join(
        f"{s} {format_billions(v)}"
        for s, v in sorted(cells.items())
        if s in (GRAND_TOTAL, FOREIGN_OFFICIAL) or (limit is None and is_aggregate(s))
    )
    source = f", {title}" if title else ""
    return (
        f"Major foreign holders of U.S. Treasury securities at the end of {month_label(month)} "
        f"(billions of dollars{source}): {ranked}. {aggregates}."
    )


@dataclass
class TableDocument:
    """A table release as the pipeline stores it: chunked here (by month, by country and year),
    not by the article chunker; its id holds its content hash, so a stored one is unchanged."""

    doc_id: str
    meta: dict
    chunks: Chunks

    @property
    def content_hash(self) -> str:
        return self.meta["content_hash"]

    def metadata(self) -> dict:
        return dict(self.meta)


def table_document(table: HoldingsTable) -> TableDocument:
    meta, texts, metas, embed_texts = table_documents(table)
    return TableDocument(f"table/{table.layout}/{table.content_hash[:16]}", meta, Chunks(texts, metas, embed_texts))


def fetch_tic(ingester):
    """Treasury's current Table 5 and historical series, from DESK_TIC_BASE_URL; an IngestReport."""
    base = ingester.settings.tic_base_url.rstrip("/") + "/"
    return ingester.ingest([base + name for name in TIC_FILES], holdings=True)
