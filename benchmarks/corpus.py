"""A deterministic synthetic corpus: article-like texts with dates, outlets and countries, and
holdings tables in Treasury's tab-separated Table 5 layout.

Everything comes from `random.Random(seed)`: the same seed gives the same bytes on any machine.
Besides the domain words (countries, outlets, topics, verbs), every sentence carries a few words
drawn from a Zipf-distributed vocabulary of 6,000 made-up words, so that the keyword index sees
a realistic spread of rare and common terms (a corpus of 30 words repeated 100k times would make
every posting list as long as the corpus and flatter BM25's cost in the wrong direction).
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

GENERATOR_VERSION = 2  # bump when the output changes: cached stores and vectors are keyed by it

COUNTRIES = ["Japan", "China", "the United Kingdom", "Belgium", "Luxembourg", "the Cayman Islands", "Canada",
             "France", "Ireland", "Taiwan", "Switzerland", "Singapore", "Hong Kong", "Norway", "India", "Brazil",
             "Saudi Arabia", "Korea", "Germany", "Israel", "Mexico", "Australia", "Thailand", "Philippines"]
OUTLETS = ["Harbor Financial Wire", "Ledger Daily", "Coupon Street Journal", "Yield Report", "Basis Point News",
           "Custody Monitor", "Reserve Desk", "The Settlement Post"]
VERBS = ["raised", "trimmed", "held steady", "sold", "added to", "rebalanced", "cut", "rotated out of"]
TOPICS = ["tariff talks", "currency intervention", "reserve management", "custody flows", "debt ceiling",
          "auction demand", "hedging costs", "a strong dollar", "pension fund buying", "bill issuance",
          "swap lines", "repo market strains", "term premium", "quantitative tightening", "safe-haven demand"]
PEOPLE = ["a finance ministry official", "the central bank governor", "a reserve manager", "a strategist",
          "a portfolio manager", "an economist", "a custody banker", "a former Treasury official"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]
# Table 5's own rows, so synthetic tables look like the real ones to the parser.
TABLE_ROWS = ["Japan", "United Kingdom", "China, Mainland", "Cayman Islands", "Belgium", "Luxembourg", "Canada",
              "France", "Ireland", "Taiwan", "Switzerland", "Singapore", "Hong Kong", "Norway", "India", "Brazil"]

_SYLLABLES = ["ka", "lo", "mi", "ren", "tor", "vas", "qui", "dal", "pen", "sor", "ul", "bri", "nex", "fa", "gor",
              "hal", "ju", "mep", "os", "tra", "vel", "zin", "cor", "dun"]


def _vocabulary(size: int = 6000, seed: int = 99) -> list[str]:
    rng = random.Random(seed)
    words, seen = [], set()
    while len(words) < size:
        word = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


VOCABULARY = _vocabulary()
# Zipf weights (s = 1.07), as cumulative weights for random.choices.
_CUM = []
_total = 0.0
for _rank in range(1, len(VOCABULARY) + 1):
    _total += 1.0 / _rank ** 1.07
    _CUM.append(_total)


def words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choices(VOCABULARY, cum_weights=_CUM, k=n))


def sentence(rng: random.Random) -> str:
    country = rng.choice(COUNTRIES)
    kind = rng.random()
    if kind < 0.5:
        text = (f"{country[0].upper() + country[1:]} {rng.choice(VERBS)} its Treasury holdings by "
                f"{rng.uniform(0.5, 60):.1f} billion dollars amid {rng.choice(TOPICS)}, analysts at "
                f"{rng.choice(OUTLETS)} said, citing figures for {rng.choice(MONTHS)} {rng.randint(2019, 2026)}")
    elif kind < 0.8:
        text = (f"{rng.choice(PEOPLE).capitalize()} said {rng.choice(TOPICS)} would weigh on demand from "
                f"{country} through {rng.choice(MONTHS)}, pointing to {words(rng, 3)} conditions")
    else:
        text = (f"Holdings reported for {country} stood near {rng.uniform(20, 1300):,.1f} billion dollars, "
                f"{rng.choice(['up', 'down'])} {rng.uniform(0.1, 9):.1f} percent from a year earlier")
    return f"{text}, with {words(rng, rng.randint(3, 7))} noted."


def article(rng: random.Random, index: int, paragraphs: int = 3) -> dict:
    day = date(2024, 1, 1) + timedelta(days=rng.randint(0, 900))
    body = "\n\n".join(" ".join(sentence(rng) for _ in range(rng.randint(3, 5))) for _ in range(paragraphs))
    return {
        "title": f"Treasury flows note {index}: {rng.choice(COUNTRIES)} and {rng.choice(TOPICS)}",
        "source": rng.choice(OUTLETS),
        "published": day.isoformat(),
        "url": f"https://bench.example.com/{index}",
        "text": body,
    }


def articles(count: int, seed: int = 7, paragraphs: int = 3) -> list[dict]:
    rng = random.Random(seed)
    return [article(rng, i, paragraphs) for i in range(count)]


def iter_articles(seed: int = 7, paragraphs: int = 3, start: int = 0):
    """An endless stream of articles (the index continues from `start`)."""
    rng = random.Random(seed)
    index = start
    while True:
        yield article(rng, index, paragraphs)
        index += 1


def holdings_table(rng: random.Random, index: int, months: int = 6) -> str:
    """A tab-separated Table 5 with made-up figures (billions of dollars) for `months` months."""
    year, month = 2023 + index % 3, 1 + index % 12
    labels = []
    for _ in range(months):
        labels.append(f"{year}-{month:02d}")
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    lines = [f"Table 5: Major Foreign Holders of Treasury Securities (synthetic benchmark table {index})",
             "Holdings at end of time period", "Billions of dollars", "",
             "Country\t" + "\t".join(labels)]
    total = [0.0] * months
    for row in TABLE_ROWS:
        base = rng.uniform(40, 1300)
        values = [round(base * rng.uniform(0.95, 1.05), 1) for _ in range(months)]
        total = [t + v for t, v in zip(total, values)]
        lines.append(row + "\t" + "\t".join(f"{v:.1f}" for v in values))
    lines.append("Grand Total\t" + "\t".join(f"{t * 1.8:.1f}" for t in total))
    return "\n".join(lines) + "\n"


def write_corpus(folder: Path, count: int, seed: int = 7, paragraphs: int = 3, tables: int = 0) -> None:
    """`count` header-block .txt articles (the format the ingest reads) and `tables` Table 5 files."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, a in enumerate(articles(count, seed, paragraphs)):
        header = "\n".join(f"{k}: {a[k]}" for k in ("title", "source", "published", "url"))
        (folder / f"note-{i:06d}.txt").write_text(f"{header}\n\n{a['text']}\n", encoding="utf-8")
    rng = random.Random(seed + 1)
    for i in range(tables):
        (folder / f"table5-synthetic-{i:03d}.txt").write_text(holdings_table(rng, i), encoding="utf-8")
