"""Optional phrasing by an LLM, kept only when it is grounded in the sources it was given.

Two checks: every [n] marker must point at a source the model was given (invented markers are
dropped, and a reply with none left is refused), and every figure in the reply must appear in
the sources it cites, in any format ("1,125.9 billion" = "1.13 trillion"). A reply that fails
falls back to the composed answer.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import replace

from retrieval.answer.evidence import Evidence
from retrieval.answer.types import Answer, Route, Sources
from retrieval.formatting import truncate

log = logging.getLogger(__name__)

MAX_REPLY = 700
NUMBER = re.compile(
    r"(?<![\w.])\$?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?\s*(%|per ?cent|trillion|tn|billion|bn|million|mn)?", re.I
)
SCALE = {"trillion": 1e12, "tn": 1e12, "billion": 1e9, "bn": 1e9, "million": 1e6, "mn": 1e6}
MARKER = re.compile(r"\[(\d+)\]")
REFUSAL = "NOT IN SOURCES"  # what the prompts tell the model to reply when its sources do not say


def numbers_in(text: str) -> list[tuple[float, int, float]]:
    """(value, decimals written, scale) of each figure: "$1.13 trillion" -> (1.13, 2, 1e12)."""
    out = []
    for m in NUMBER.finditer(MARKER.sub(" ", text)):
        whole, frac, unit = m.group(1), m.group(2), (m.group(3) or "").lower().replace(" ", "")
        value = float(whole.replace(",", "") + (f".{frac}" if frac else ""))
        out.append((value, len(frac or ""), SCALE.get(unit, 1.0)))
    return out


def _matches(claimed: tuple[float, int, float], held: tuple[float, int, float]) -> bool:
    value, decimals, scale = claimed
    other, _, other_scale = held
    if scale == other_scale or scale == 1.0 or other_scale == 1.0:
        return round(other, decimals) == value or other == value
    # Another unit: compare in dollars at the precision the reply wrote.
    return abs(other * other_scale - value * scale) <= 0.5 * scale * 10**-decimals


def grounded(reply: str, sources_text: str) -> bool:
    """Whether every figure of the reply (years and small counts included) is in the sources."""
    held = numbers_in(sources_text)
    for claimed in numbers_in(reply):
        if not any(_matches(claimed, h) for h in held):
            log.info("LLM reply states %s, which no cited source holds", claimed[0])
            return False
    return True


def ask_model(
    llm,
    prompt: str,
    fields: dict[str, str],
    *,
    markers: re.Pattern[str],
    given: Callable[[str], bool],
    if_failed: str,
) -> str | None:
    """The model's reply to prompts/<prompt>_system and <prompt>_user (filled in with `fields`), on
    one line, keeping only the markers whose number `given` accepts ("[9]" of five sources is
    invented and goes); None when the call fails, `if_failed` telling the log what happens instead."""
    from prompts import load

    try:
        reply = llm.invoke([("system", load(f"{prompt}_system")), ("human", load(f"{prompt}_user").format(**fields))])
    except Exception as exc:  # a server that is down or slow costs only the model's part
        # The type only: an error's message can quote a key or an address with credentials.
        log.warning("LLM call failed (%s); %s", type(exc).__name__, if_failed)
        return None
    text = " ".join(str(getattr(reply, "content", reply) or "").split())
    text = markers.sub(lambda m: m.group(0) if given(m.group(1)) else "", text)
    # A dropped marker leaves a gap: two spaces, or one before a stop ("sold gold .").
    return re.sub(r"\s+([.,;:!?])", r"\1", re.sub(r"\s{2,}", " ", text)).strip()


def phrase(llm, question: str, evidence: list[Evidence]) -> Answer | None:
    """The LLM's reply to an article question, its markers and figures checked; None means use
    the composed answer. Table figures are never rephrased."""
    sources = Sources()
    blocks = []
    held: dict[int, str] = {}
    for e in evidence:
        text = " ".join(e.hit.text.split())
        marker = sources.article(e.hit, truncate(e.sentence, 200))
        n = int(marker.strip("[]"))
        held[n] = f"{held.get(n, '')} {text}"
        blocks.append(
            f"{marker} {e.hit.meta.get('title', '')} ({e.hit.meta.get('published', '')}):\n<<<SOURCE\n{text}\nSOURCE>>>"
        )
    reply = ask_model(
        llm,
        "answer",
        {"sources": "\n\n".join(blocks), "question": question},
        markers=MARKER,
        given=lambda n: int(n) in held,
        if_failed="answering from the sources",
    )
    if reply is None:
        return None
    order: list[int] = []
    for n in MARKER.findall(reply):
        if int(n) not in order:
            order.append(int(n))
    if not order or REFUSAL in reply.upper():
        log.info("LLM reply had no valid citation; using the composed answer")
        return None
    if not grounded(reply, " ".join(held[n] for n in order)):
        return None
    # Renumber the kept sources 1..k in order of first use, as composed answers do.
    mapping = {old: new for new, old in enumerate(order, start=1)}
    reply = MARKER.sub(lambda m: f"[{mapping[int(m.group(1))]}]", reply)
    citations = [replace(sources.citations[old - 1], n=mapping[old]) for old in order]
    return Answer(text=truncate(reply, MAX_REPLY), citations=citations, route=Route.ARTICLES)
