"""The terminal chat: `desk chat`, and what `make run` opens when no Discord token is set."""

from __future__ import annotations

import sys

from retrieval.errors import DeskError

SAMPLE_QUESTIONS = ["Who holds the most Treasurys?", "What did Japan's finance minister say about its Treasury holdings?"]


def run_chat(kb, interactive: bool) -> int:
    from retrieval.search import Retriever

    retriever = Retriever(kb)
    if not interactive:
        # No terminal attached (CI, a pipe): show what the chat does with two sample questions.
        for question in SAMPLE_QUESTIONS:
            print(f"> {question}")
            print(render_passages(retriever.search(question, k=3)))
        return 0
    print("Holdings Desk chat. Ask about foreign holdings of Treasurys; an empty line or Ctrl-D quits.")
    while True:
        try:
            question = input("> ").strip()
        except EOFError:
            return 0
        if not question:
            return 0
        try:
            print(render_passages(retriever.search(question, k=3)))
        except DeskError as exc:
            print(f"error: {exc}", file=sys.stderr)


def render_passages(hits) -> str:
    lines = []
    for n, hit in enumerate(hits, start=1):
        meta = hit.meta
        snippet = " ".join(hit.text.split())[:300]
        lines.append(f"[{n}] {snippet}…")
        lines.append(f"    {meta.get('title', '')} — {meta.get('source', '')} {meta.get('published', '')} ({meta.get('url') or meta.get('ref', '')})")
    return "\n".join(lines) or "Nothing relevant found."
