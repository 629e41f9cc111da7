"""A deterministic synthetic corpus: article-like texts with dates, outlets and countries."""

from __future__ import annotations

import random
from datetime import date, timedelta

COUNTRIES = ["Japan", "China", "the United Kingdom", "Belgium", "Luxembourg", "the Cayman Islands", "Canada",
             "France", "Ireland", "Taiwan", "Switzerland", "Singapore", "Hong Kong", "Norway", "India", "Brazil"]
OUTLETS = ["Harbor Financial Wire", "Ledger Daily", "Coupon Street Journal", "Yield Report", "Basis Point News"]
VERBS = ["raised", "trimmed", "held steady", "sold", "added to", "rebalanced"]
TOPICS = ["tariff talks", "currency intervention", "reserve management", "custody flows", "debt ceiling",
          "auction demand", "hedging costs", "a strong dollar", "pension fund buying", "bill issuance"]


def sentence(rng: random.Random) -> str:
    country = rng.choice(COUNTRIES)
    return (f"{country[0].upper() + country[1:]} {rng.choice(VERBS)} its Treasury holdings by "
            f"{rng.uniform(0.5, 60):.1f} billion dollars amid {rng.choice(TOPICS)}, analysts at "
            f"{rng.choice(OUTLETS)} said, citing figures for {rng.choice(['January', 'March', 'June', 'October'])} "
            f"{rng.randint(2019, 2026)}.")


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


def write_corpus(folder, count: int, seed: int = 7, paragraphs: int = 3) -> None:
    """Header-block .txt files, the format the ingest reads."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, a in enumerate(articles(count, seed, paragraphs)):
        header = "\n".join(f"{k}: {a[k]}" for k in ("title", "source", "published", "url"))
        (folder / f"note-{i:06d}.txt").write_text(f"{header}\n\n{a['text']}\n", encoding="utf-8")
