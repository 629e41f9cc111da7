"""A page's article body apart from its boilerplate.

Pages come back from the web with their chrome: logos, datelines and bylines, "2 min read",
share and subscribe prompts, section labels, image captions, the headline repeated, forum
headers and, at the end, teasers for other stories. Chunks, the keyword index and the digest
read the body only; the removed lines are stored with the document so they can be inspected
(`desk sources --show ID`).

The rules are about the shape of a line, not about any one site: a statement is a sentence
(it ends like one and has enough words); chrome is short, unpunctuated, repeated, or one of a
few universal page furniture patterns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from retrieval.calendar import MONTH_PREFIXES

# Page furniture any news site has, matched against a whole line.
FURNITURE = re.compile(
    r"""^(?:
        \d+\s*(?:min|mins|minutes?)\s*read\b.*                  # 2 min read
      | \((?:reporting|writing|editing)\s+by\b.*\)
      | disclaimer\s*:.*
      | (?:copyright|©).*|.*\ball\s+rights\s+reserved\b.*
      | \S+\.logo
      | this\s+(?:story|article|content|embedded\s+content)\s+(?:was|is)\s+(?:initially|originally|not\s+available)\b.*
      | articles?\s+fully\s+unlocked\b.*
      | (?:https?://|www\.)\S+
      | [—–-]{1,2}\s*[^()\n]{1,60}\(@\w{1,30}\).{0,40}                 # an embedded post's "— Name (@handle) May 2, 2026"
    )$""",
    re.I | re.X,
)
# The same, for lines that are not statements (no full stop): bylines, prompts, captions.
UNPUNCTUATED_FURNITURE = re.compile(
    r"""^(?:
        .*\b(?:share|tweet|email|print)\s+(?:this|article|story)\b.*
      | (?:share|subscribe|sign\s*up|log\s*in|register|follow\s+us|advertisement|advertising|sponsored)\b.*
      | (?:photo|image|picture|graphic|chart|video|source|file\s*photo|generated\s+image)\s*(?:credit)?\s*:.*
      | (?:by|editor|edited\s+by|reporting\s+by|writing\s+by|posted\s+(?:on|by)|published\s+(?:on|by)|last\s+updated)\b.*
      | (?:read|view|see)\s+(?:more|original|full|also)\b.*
      | (?:home|news|markets?)\s*(?:>|›|»).*                 # breadcrumbs
    )$""",
    re.I | re.X,
)
# A line that only gives a time or a place and time: "May 6, 2025 8:35 AM", "23:42 JST, May 31".
DATELINE = re.compile(
    r"^[\w .,·'’()-]{0,40}?(?:\b\d{1,2}:\d{2}\b|\b(?:" + MONTH_PREFIXES + r")[a-z]*\.?"
    r"\s+\d{1,2},?\s+\d{4}\b|\b\d{4}-\d{2}-\d{2}\b)[\w .,:·()+-]{0,30}$",
    re.I,
)
# Where the story ends and the teasers for other stories begin.
TEASERS = re.compile(
    r"^(?:related(?:\s+(?:articles?|stories|news|posts|content|reading))?|more\s+(?:from|on|stories|news)\b.*|"
    r"read\s+next|recommended(?:\s+for\s+you)?|you\s+(?:may|might)\s+also\s+like|"
    r"(?:latest|popular|trending|top)\s+(?:news|stories|articles)|most\s+read|comments?)\s*:?$",
    re.I,
)
# A wire story's opening "TOKYO, Oct 29 (Reuters) - " or "By Jane Doe LONDON (Agency) -- ".
DATELINE_PREFIX = re.compile(
    r"^(?:By (?:[A-Z][\w.'’-]* ){1,3})?[^.!?\n]{0,60}?(?:\([A-Z][\w .&-]{1,30}\)|\b(?:" + MONTH_PREFIXES + r")"
    r"[a-z]*\.? \d{1,2})(?:\s*\([A-Z][\w .&-]{1,30}\))?\s*(?:[-–—]{1,2}|:)\s+(?=[A-Z“\"(])"
)
# A wire editor's note opening a paragraph: "(Repeats Oct 8 item ...) ", "(Adds quote) ".
EDITOR_NOTE = re.compile(r"^\([^()]{3,200}\)\s+(?=[A-Z])")
# An outlet and a full date run into the first sentence: "Harbour Daily, Monday, June 15, 2026-".
DATED_PREFIX = re.compile(
    r"^[^.!?\n]{0,60}?\b(?:" + MONTH_PREFIXES + r")[a-z]*\.? \d{1,2},? (?:19|20)\d\d"
    r"\s*(?:[-–—:]+|\s\|)\s*(?=[A-Z“\"])"
)
# A page's date field run into its first sentence: "date 2025-09-06 Finance Minister ...".
DATE_FIELD = re.compile(r"^(?:date|published|updated)\s*:?\s*\d{4}-\d{2}-\d{2}\s+(?=[A-Z“\"])", re.I)
# A place or a section label before the story: "RIYADH: ", "Breaking: ".
PLACE_LABEL = re.compile(r"^(?:[A-Z][A-Za-z.]+(?: [A-Z][A-Za-z.]+){0,2})\s*(?:[:–—]|--?)\s+(?=[A-Z“\"])")
# A section label run into the sentence it heads: "Markets Markets rallied ...".
REPEATED_LABEL = re.compile(r"^(\w+) (?=\1\b)")
# What may open a paragraph before its first sentence starts, in the order pages put them.
OPENINGS = (DATE_FIELD, EDITOR_NOTE, DATELINE_PREFIX, DATED_PREFIX, PLACE_LABEL, REPEATED_LABEL)
# A social embed in a paragraph ("... crisis. pic.twitter.com/K6Ez") or a link ending it: never
# quoted. A link inside a sentence stays, or the sentence would lose a word.
INLINE_LINK = re.compile(r"\s*(?:\bpic\.twitter\.com/\S+|\b(?:https?://|www\.)\S+\s*$)")
SENTENCE_END = re.compile(r"[.!?…][\"”')\]]*$")
EMPHASIS = re.compile(r"\*\*|__")
MARKUP = re.compile(r"^(?:#{1,6}\s+|[-*•]\s+|>\s+|\*\*|```.*|---+$|={3,}$)")
WRAP_WIDTH = 110  # characters: lines no longer than this on most of a page mean it is hard-wrapped
MIN_STATEMENT_WORDS = 6  # fewer words with no full stop: a label, a heading or a button


@dataclass
class CleanText:
    body: str
    removed: list[str] = field(default_factory=list)


def _hard_wrapped(lines: list[str]) -> bool:
    """A page cut into lines of a fixed width (an e-mail, a wire copy), not one line a paragraph."""
    lengths = [len(x.strip()) for x in lines if x.strip()]
    return len(lengths) >= 8 and sum(n <= WRAP_WIDTH for n in lengths) >= 0.9 * len(lengths)


def _unwrap(lines: list[str]) -> list[str]:
    """Join wrapped lines ("...a bigger pile of U.S.\ngovernment debt...") back into paragraphs.

    A line that starts in lower case continues the one before. On a hard-wrapped page, a line
    continues a long line before it unless it is page chrome; blank lines separate paragraphs."""
    wrapped = _hard_wrapped(lines)
    out: list[str] = []
    previous = ""  # the last raw line, as wrapped
    for line in lines:
        stripped = line.strip()
        joins = bool(out and out[-1] and stripped) and (
            stripped[0].islower()
            or (wrapped and len(previous) >= WRAP_WIDTH // 2 and stripped[0].isalnum() and not _is_chrome(stripped))
        )
        if joins:
            out[-1] = f"{out[-1]} {stripped}"
        else:
            out.append(stripped)
        previous = stripped
    return out


def _without_front_matter(lines: list[str]) -> list[str]:
    """A Markdown export's `---` block of `key: value` lines is not part of the story."""
    first = next((i for i, x in enumerate(lines) if x.strip()), None)
    if first is None or lines[first].strip() != "---":
        return lines
    end = next((i for i in range(first + 1, len(lines)) if lines[i].strip() == "---"), None)
    return lines if end is None else lines[end + 1 :]


def _key(line: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", line.lower()).strip()


def _is_headline(key: str, title_key: str) -> bool:
    if not key or not title_key:
        return False
    # The headline again, or the headline cut short ("... the largest monthly decli...").
    return key == title_key or (len(key) >= 20 and (title_key.startswith(key) or key.startswith(title_key)))


def _is_chrome(line: str) -> bool:
    text = MARKUP.sub("", line).strip("*_ ").strip()
    if not text:
        return True
    if FURNITURE.match(text) or DATELINE.match(text) or text.count(" | ") >= 2:
        return True  # "Home | Markets | Bonds", "4 claims | 2 assets | 1 author": navigation and widgets
    if SENTENCE_END.search(text):
        return False
    if UNPUNCTUATED_FURNITURE.match(text):
        return True
    words = text.split()
    if len(words) < MIN_STATEMENT_WORDS:
        return True  # labels, buttons, section headings, logos
    return sum(w[:1].isupper() for w in words) >= 0.7 * len(words)  # a title-case heading


def clean_page(text: str, title: str = "") -> CleanText:
    """The article body of a page's text, and the lines taken out of it."""
    raw = text.split("\n")
    body_lines = _without_front_matter(raw)
    lines = _unwrap(body_lines)
    title_key = _key(title)
    body: list[str] = []
    removed: list[str] = [x.strip() for x in raw[: len(raw) - len(body_lines)] if x.strip()]
    seen: set[str] = set()
    for index, line in enumerate(lines):
        if not line:
            continue
        # Teasers start at a "Related" heading in the last part of the page: drop the rest.
        if TEASERS.match(line.strip("#*:_ ")) and index > len(lines) // 3:
            removed.extend(x for x in lines[index:] if x)
            break
        if _is_chrome(line) or _is_headline(_key(line), title_key):
            removed.append(line)  # "Photo: ...", the headline: chrome whole, before any opening is cut
            continue
        # A wire story's dateline opens its first paragraph: the paragraph stays, the dateline goes.
        text = MARKUP.sub("", line).strip()
        openings = []
        for opening in OPENINGS:
            found = opening.match(text)
            if found:
                openings.append(found.group(0).strip())
                text = text[found.end() :]
        links = [link.strip() for link in INLINE_LINK.findall(text)]
        text = INLINE_LINK.sub("", text).strip()
        key = _key(text)
        if not text or key in seen or _is_headline(key, title_key) or _is_chrome(text):
            removed.append(line)
            continue
        removed.extend(openings + links)
        seen.add(key)
        body.append(EMPHASIS.sub("", text).strip())
    return CleanText("\n".join(body), removed)
