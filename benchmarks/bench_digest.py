"""The digest over a real corpus taken as "new since" an empty store (docs/BENCHMARKS.md, "The digest").

    desk ingest ../shared/eval-dev/corpus ../shared/data/holdings/mfhhis01.txt \
        ../shared/data/holdings/slt_table5.txt --data-dir /tmp/dg
    .venv/bin/python benchmarks/bench_digest.py /tmp/dg [CORPUS_DIR]

Counts, for every story (not only the eight a post shows): stories and documents, stories with
several outlets and which documents they join, items without a citation, leads that are not a
sentence of the document's clean body, leads or titles holding a line ingest removed as
boilerplate or matching the page-furniture patterns, placeholder titles shown. With CORPUS_DIR,
the same boilerplate check on what the old digest showed (the raw page's first 300 characters).
Then, for the months the corpus's Treasury stories are about, which of the month's three biggest
moves an article explains. Prints the lot; nothing is written into the project.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from ingest.clean import DATELINE, FURNITURE, UNPUNCTUATED_FURNITURE  # noqa: E402
from retrieval.digest import compose_digest, explain, lead_form, placeholder_title, render_markdown  # noqa: E402
from retrieval.holdings import HoldingsBook, movers  # noqa: E402
from retrieval.search import Retriever  # noqa: E402
from retrieval.settings import RetrievalSettings  # noqa: E402
from retrieval.store import KnowledgeBase  # noqa: E402

# Months the eval-dev corpus's stories about Treasury's monthly figures are about.
MONTHS = ["2023-01", "2023-06", "2024-04", "2024-05", "2024-07", "2024-10", "2025-04", "2025-07", "2025-10",
          "2025-12", "2026-02", "2026-03"]


def removed_lines(record: dict) -> list[str]:
    # Lines long enough to mean something; a two-word label could be in any sentence.
    return [x.strip() for x in (record.get("boilerplate") or "").split("\n") if len(x.strip()) >= 25]


def chrome(text: str) -> bool:
    return bool(FURNITURE.match(text) or DATELINE.match(text) or UNPUNCTUATED_FURNITURE.match(text)
                or re.search(r"\b\d+\s*min read\b|\.logo\b|share this|sign up|related (?:stories|articles)", text, re.I))


def main(data_dir: str, corpus: str | None = None) -> int:
    kb = KnowledgeBase(RetrievalSettings(data_dir=Path(data_dir), llm="", _env_file=None))
    records = {d["id"]: d for d in kb.list_documents(kind="article")}
    digest = compose_digest(kb, since="2000-01-01", llm=None, max_stories=None)
    stories = digest.stories
    print(f"{len(records)} new documents -> {len(stories)} stories")
    several = [s for s in stories if len(s.outlets) > 1]
    print(f"stories with several outlets: {len(several)}")
    for s in several:
        print(f"  {s.title[:90]!r}: {', '.join(s.outlets)}")
    text = render_markdown(digest)
    items = [line for line in text.splitlines() if re.match(r"^\d+\. \*\*", line)]
    uncited = [line for line in items if not re.search(r"\[\d+\]$", line)]
    print(f"items: {len(items)}; without a citation: {len(uncited)}")
    not_body, boiler, placeholders = [], [], []
    for s in stories:
        bodies = {lead_form(m["sentence"]) for r in s.reports for m in kb.iter_chunk_metas({"doc_id": r.doc_id})}
        if s.lead.rstrip("…") not in bodies and not any(b.startswith(s.lead.rstrip("…")) for b in bodies):
            not_body.append(s)
        lines = [x for r in s.reports for x in removed_lines(records.get(r.doc_id, {}))]
        if chrome(s.lead) or chrome(s.title) or any(x in s.lead for x in lines):
            boiler.append(s)
        if any(placeholder_title(s.title, r.doc_id, r.url) for r in s.reports):
            placeholders.append(s)
    print(f"leads not from the clean body: {len(not_body)}; items showing boilerplate: {len(boiler)}; "
          f"placeholder titles shown: {len(placeholders)}")
    for s in not_body + boiler + placeholders:
        print(f"  check: {s.title[:80]!r} / {s.lead[:120]!r}")
    if corpus:
        old_bad = 0
        files = sorted(p for p in Path(corpus).iterdir() if p.is_file())
        for path in files:
            raw = path.read_text(encoding="utf-8", errors="replace")
            url = re.search(r"^url: (.*)$", raw, re.M)
            record = records.get(url.group(1).strip()) if url else None
            body = raw.split("\n\n", 1)[-1]
            shown = " ".join(body.split())[:300]
            if record and any(x in shown for x in removed_lines(record)) or chrome(body.strip().split("\n")[0]):
                old_bad += 1
        print(f"old digest (first 300 raw characters): {old_bad} of {len(files)} items show boilerplate")
    book = HoldingsBook(kb)
    retriever = Retriever(kb)
    print("moves explained, by month:")
    for month in MONTHS:
        for change in movers(book, month, n=3):
            why = explain(retriever, change, month)
            where = f"{why.report.outlet}: {why.sentence[:110]!r}" if why else "-"
            print(f"  {month} {change.series} {change.absolute:+.1f}: {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
