"""The terminal chat: `desk chat`, and what `make run` opens when no Discord token is set."""

from __future__ import annotations

import sys

from bot.render.terminal import answer_text
from retrieval.errors import DeskError

SAMPLE_QUESTIONS = [
    "Who holds the most Treasurys?",
    "What did Japan's finance minister say about its Treasury holdings?",
]


def run_chat(engine, interactive: bool) -> int:
    if not interactive:
        # No terminal attached (CI, a pipe): show what the chat does with two sample questions.
        for question in SAMPLE_QUESTIONS:
            print(f"> {question}")
            print(answer_text(engine.ask(question)), end="\n\n")
        return 0
    print("Holdings Desk chat. Ask about foreign holdings of Treasurys; an empty line or Ctrl-D quits.")
    previous = None
    while True:
        try:
            question = input("> ").strip()
        except EOFError:
            return 0
        if not question:
            return 0
        try:
            answer = engine.ask(question, previous=previous)
            previous = answer.question  # follow-ups ("and in March?") keep country and month
            print(answer_text(answer), end="\n\n")
        except DeskError as exc:
            print(f"error: {exc}", file=sys.stderr)
