"""The digest tests' own corpus: one invented event covered by three invented outlets, with the
chrome real pages carry (logos, datelines, "2 min read", share prompts, the headline repeated,
related-story teasers), plus stories that must stay apart from it. Every text here is written
for the tests; the figures follow the test table below."""

from __future__ import annotations

from pathlib import Path

TABLE = """# title: Desk test table
country,month,value
Japan,2026-03,1191.6
Japan,2026-04,1209.9
United Kingdom,2026-03,926.9
United Kingdom,2026-04,937.5
"China, Mainland",2026-03,652.3
"China, Mainland",2026-04,651.1
Canada,2026-03,439.4
Canada,2026-04,397.1
"""

# Three outlets, one event: Canada's $42.3 billion cut in April, and why.
MAPLE = """title: Canada trims its U.S. Treasury holdings by $42.3 billion in April
source: Maple Ledger
published: 2026-06-17
url: https://mapleledger.example/markets/canada-trims-treasuries

MAPLE LEDGER
Markets
Canada trims its U.S. Treasury holdings by $42.3 billion in April
June 17, 2026 8:35 AM
2 min read
Share this article
Canada's holdings of U.S. Treasury securities fell by $42.3 billion in April to $397.1 billion, according to Treasury data released on Tuesday.
The Bank of Canada said the April sales funded a rebuilding of its foreign currency reserves after the Canadian dollar weakened.
Analysts said it was the largest monthly decline for Canada in six years.
Photo: The central bank's headquarters in Ottawa
Related stories
Japan's finance ministry reviews its reserve mix
Gold demand climbs among central banks
"""

NORTHWIND = """title: Canada sells Treasurys as reserve managers raise cash
source: Northwind Wire
published: 2026-06-16
url: https://northwind.example/2026/06/16/canada-sells-treasurys

NORTHWIND WIRE
By Ada Lindqvist
June 16, 2026
OTTAWA, June 16 (Northwind) - Canada sold U.S. Treasury securities in April, cutting its holdings by $42.3 billion to $397.1 billion, Treasury figures showed on Monday.
Canadian reserve managers raised cash to rebuild foreign currency reserves, the Bank of Canada said in a statement.
The sale left Canada's holdings at their lowest level since early 2025.
Tweet this story
Sign up for our morning newsletter
More from Northwind
Japan holds steady as the yen firms
"""

HARBOUR = """title: Canada's $42.3 billion Treasury cut was April's biggest move
source: Harbour Street Journal
published: 2026-06-17
url: https://harbourstreet.example/news/canada-treasury-cut-april

Home > Markets > Bonds
Canada's $42.3 billion Treasury cut was April's biggest move
Harbour Street Journal · 3 min read
Canada cut its holdings of U.S. Treasurys by $42.3 billion in April, the biggest move among foreign holders that month, Treasury data show.
The holdings now stand at $397.1 billion, down from $439.4 billion in March.
Economists said the Bank of Canada was raising cash for its currency reserves rather than turning away from U.S. debt.
Share this story
Comments
"""

# The same holder, another month: a different event.
CANADA_JANUARY = """title: Canada adds Treasurys in January as yields climb
source: Maple Ledger
published: 2026-03-18
url: https://mapleledger.example/markets/canada-adds-treasuries-january

Markets
2 min read
Canada's holdings of U.S. Treasury securities rose by $11.2 billion in January, Treasury data released on Wednesday showed.
Investors in Toronto bought longer-dated notes as yields climbed to their highest level in a year.
Share this article
"""

# A placeholder title made from the URL's slug: the body's first sentence stands in for it.
JAPAN_SLUG = """title: japan-holdings-edge-up-april
source: Sakura Markets Daily
published: 2026-06-18
url: https://sakura.example/japan-holdings-edge-up-april

SAKURA MARKETS DAILY
June 18, 2026
Japan raised its holdings of U.S. Treasurys by $18.3 billion in April to $1,209.9 billion.
Finance ministry officials said life insurers had moved money back into U.S. bonds as hedging costs eased.
Share this article
"""

# No title at all; the newest of the single-outlet stories about April.
UK_UNTITLED = """source: Thames Desk
published: 2026-06-19
url: https://thamesdesk.example/p/88412

THAMES DESK
1 min read
Holders in the United Kingdom added $10.6 billion of U.S. Treasurys in April, lifting the total to $937.5 billion.
Custodians in London said pension funds and hedge funds were both buyers.
Share this story
"""

# Nothing to do with the desk's subject; the newest of all, still last.
SPORTS = """title: Harbour City rowers win the spring regatta
source: Harbour Street Journal
published: 2026-06-20
url: https://harbourstreet.example/sport/regatta

Harbour City rowers won the spring regatta by two lengths on Saturday.
Hundreds of fans lined the river to watch the final.
"""

THREE_OUTLETS = {"maple.txt": MAPLE, "northwind.txt": NORTHWIND, "harbour.txt": HARBOUR}
OTHERS = {"canada-january.txt": CANADA_JANUARY, "japan.txt": JAPAN_SLUG, "uk.txt": UK_UNTITLED, "sports.txt": SPORTS}

# Lines of page chrome above: none may reach a reader.
CHROME = ["MAPLE LEDGER", "min read", "Share this", "Tweet this", "Sign up", "More from", "Related stories",
          "Photo:", "Home >", "NORTHWIND WIRE", "By Ada", "SAKURA MARKETS", "THAMES DESK", "Comments",
          "June 17, 2026 8:35", "OTTAWA, June 16", "Gold demand climbs", "Japan holds steady as the yen"]


def write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def build_store(root: Path, embedder):
    """A knowledge base holding the test table and every story above (about 25 s to embed)."""
    from ingest.pipeline import Ingester
    from retrieval.settings import RetrievalSettings
    from retrieval.store import KnowledgeBase

    kb = KnowledgeBase(RetrievalSettings(data_dir=root / "data", llm="", _env_file=None), embedder=embedder)
    corpus = write(root / "corpus", {**THREE_OUTLETS, **OTHERS})
    (root / "table.csv").write_text(TABLE, encoding="utf-8")
    report = Ingester(kb).ingest([str(corpus), str(root / "table.csv")])
    assert report.failed == 0, report.errors
    return kb
