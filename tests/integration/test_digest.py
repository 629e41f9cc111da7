"""Digest composition over a fixture corpus: only new articles, own-sentence summaries, movers."""

from __future__ import annotations

import time

from ingest.pipeline import Ingester
from retrieval.digest import compose_digest, render_markdown

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


def article(folder, name, title, body, published="2026-05-01"):
    path = folder / name
    path.write_text(f"title: {title}\nsource: Desk Wire\npublished: {published}\nurl: https://wire.example/{name}\n\n{body}\n")
    return path


def test_digest_lists_only_new_articles_with_their_own_sentences(kb, tmp_path):
    old = tmp_path / "old"
    old.mkdir()
    article(old, "old.txt", "Old story", "Japan's holdings were steady in January. Nothing else moved.")
    (tmp_path / "table.csv").write_text(TABLE)
    Ingester(kb).ingest([str(old), str(tmp_path / "table.csv")])
    time.sleep(1.1)  # ingest times have one-second precision
    cutoff = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    time.sleep(1.1)
    new = tmp_path / "new"
    new.mkdir()
    article(new, "treasury.txt", "Canada cuts its Treasury holdings",
            "Canada's holdings of U.S. Treasury securities fell by $42.3 billion in April. "
            "Officials said the move reflected reserve management. A third sentence adds colour.")
    article(new, "sports.txt", "Local team wins", "The local team won its match on Sunday. Fans celebrated downtown.")
    Ingester(kb).ingest([str(new)])

    digest = compose_digest(kb, since=cutoff)
    titles = [a.title for a in digest.articles]
    assert titles == ["Canada cuts its Treasury holdings", "Local team wins"]  # on-topic first, old one absent
    assert digest.articles[0].summary.startswith("Canada's holdings of U.S. Treasury securities fell by $42.3 billion")
    assert "A third sentence" not in digest.articles[0].summary  # one or two sentences
    assert digest.month == "2026-04"
    assert [f.series for f in digest.top[:2]] == ["Japan", "United Kingdom"]
    assert [(c.series, c.absolute) for c in digest.movers] == [("Canada", -42.3), ("Japan", 18.3), ("United Kingdom", 10.6)]
    text = render_markdown(digest)
    assert "Canada -42.3" in text and "https://wire.example/treasury.txt" in text
    assert len(text) < 2000


def test_empty_day_says_so_in_one_line(kb, tmp_path):
    (tmp_path / "table.csv").write_text(TABLE)
    Ingester(kb).ingest([str(tmp_path / "table.csv")])
    digest = compose_digest(kb, since="2999-01-01", last_month_posted="2026-04")
    assert digest.empty
    assert render_markdown(digest) == "Nothing new since 2999-01-01."
