"""An answer from evidence: the sentences that answer each part of the question, each with its [n]."""

from __future__ import annotations

import re

from retrieval.answer.evidence import Asks, Evidence, Need, gives_what_is_asked
from retrieval.answer.types import Sources
from retrieval.formatting import truncate

MAX_PROSE = 600  # characters of an answer: a short reply in a chat
MAX_SENTENCES = 3
# A further sentence must be nearly as good as the best (tuned on the dev set's tuning half).
CLOSE_TO_BEST = 0.7
CLOSE_OTHER_STORY = 0.9
REPEAT_SHARE = 0.7  # a sentence whose words are mostly in an earlier one adds little
NOTE_MARKER = re.compile(r"\s?\[\d{1,3}\]")
MARKER_ROOM = 5  # " [n]" and the space before the next sentence
MIN_PART = 80  # the best sentence is cut to fit rather than dropped when this much room is left


def choose(evidence: list[Evidence], need: Need) -> list[Evidence]:
    """The best sentence, and those nearly as good that say something else (the other parts of
    a question, the figure beside a lead); another story's sentence must be closer still."""
    if not evidence:
        return []
    best = evidence[0]
    chosen = [best]
    for candidate in evidence[1:]:
        if len(chosen) >= MAX_SENTENCES:
            break
        floor = CLOSE_TO_BEST if candidate.hit.doc_id == best.hit.doc_id else CLOSE_OTHER_STORY
        if candidate.score < floor * best.score or _repeats(candidate.terms, chosen):
            continue
        chosen.append(candidate)
    # The reason for a "why", the figure for a "how much": when no chosen sentence gives it, the
    # best close sentence that does takes the weakest place.
    if need.asks in (Asks.WHY, Asks.NUMBER, Asks.WHEN) and not any(
        gives_what_is_asked(need.asks, e.sentence) for e in chosen
    ):
        giving = next(
            (
                e
                for e in evidence[1:]
                if e not in chosen
                and gives_what_is_asked(need.asks, e.sentence)
                and e.score >= CLOSE_TO_BEST * best.score
                and not _repeats(e.terms, chosen)
            ),
            None,
        )
        if giving is not None:
            chosen = chosen[: MAX_SENTENCES - 1] + [giving]
    # Sentences of one story read in the story's order.
    first_of_doc: dict[str, int] = {}
    for i, e in enumerate(chosen):
        first_of_doc.setdefault(e.hit.doc_id, i)
    return sorted(chosen, key=lambda e: (first_of_doc[e.hit.doc_id], e.hit.meta.get("position", 0)))


def _repeats(terms: set[str], chosen: list[Evidence]) -> bool:
    return bool(terms) and any(len(terms & e.terms) / len(terms) >= REPEAT_SHARE for e in chosen)


def compose(chosen: list[Evidence], sources: Sources, budget: int = MAX_PROSE) -> list[str]:
    """The chosen sentences, each ending with its source's marker, within the budget: the best
    ones are kept when not all fit, then they are read in the stories' order."""
    fitting: list[Evidence] = []
    room = budget
    for e in sorted(chosen, key=lambda e: -e.score):
        length = len(e.sentence) + MARKER_ROOM
        if length <= room or (not fitting and room >= MIN_PART):
            fitting.append(e)
            room -= min(length, room)
    parts = []
    for e in (e for e in chosen if e in fitting):
        marker = sources.article(e.hit, e.sentence)
        # A page's own note markers ("[2]") would read as ours.
        sentence = NOTE_MARKER.sub("", e.sentence)
        line = f"{truncate(sentence, budget - len(marker) - 1)} {marker}"
        parts.append(line)
        budget -= len(line) + 1
    return parts
