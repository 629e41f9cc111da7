"""The answer engine: a question in, a short answer with numbered citations out.

The modules follow a question's path:
- understanding: what is asked (holders, months, the Intent of a table answer) and follow-ups;
- tables: answers from the exact holdings lookups;
- evidence: the article sentences that can answer, found by meaning and by words;
- compose: the answer from the evidence, each part with its [n];
- llm: optional phrasing by an LLM, kept only when its markers and numbers are grounded;
- engine: the route between them, and the refusal when the sources do not hold the answer;
- types: the Answer, its citations and their numbering.
"""

from __future__ import annotations

__all__ = ["Answer", "AnswerEngine", "Citation"]


def __getattr__(name: str):
    # Loaded on first use: understanding a question must not import Chroma or the model.
    if name == "AnswerEngine":
        from retrieval.answer.engine import AnswerEngine

        return AnswerEngine
    if name in ("Answer", "Citation"):
        from retrieval.answer import types

        return getattr(types, name)
    raise AttributeError(name)
