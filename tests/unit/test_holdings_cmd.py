"""`desk holdings` without Chroma: argument checks, what is looked up, the text and the JSON.

The lookups run on the real HoldingsBook over an in-memory stand-in for the three knowledge
base reads it makes, fed by the real parser and the real ingest documents."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from argparse import ArgumentTypeError
from pathlib import Path

import pytest
from rich.console import Console

from bot.cli import main
from bot.holdings_cmd import count_arg, month_arg
from bot.render.terminal import render_text
from ingest.holdings_ingest import table_documents
from ingest.tables import parse_table
from retrieval.errors import NotFound
from retrieval.formatting import ordinal
from retrieval.holdings import HoldingsBook
from retrieval.lookup import look_up_country, look_up_series, look_up_top

REPO = Path(__file__).resolve().parents[2]

# Two releases of a team table: the later one revises the UK in March and adds April.
EARLY = """# title: Early estimates
country,month,value
Japan,2026-01,1225.3
United Kingdom,2026-01,879.7
China,2026-01,694.4
Russia,2026-01,12.0
Japan,2026-02,1239.3
United Kingdom,2026-02,897.3
China,2026-02,693.3
Japan,2026-03,1191.6
United Kingdom,2026-03,930.0
China,2026-03,652.3
"""
LATE = """# title: Late estimates
country,month,value
Japan,2026-03,1191.6
United Kingdom,2026-03,926.9
China,2026-03,652.3
Grand Total,2026-03,9348.7
Japan,2026-04,1209.9
United Kingdom,2026-04,937.5
China,2026-04,651.1
All Other,2026-04,6554.1
Grand Total,2026-04,9352.6
"""


class TablesInMemory:
    """generation / list_documents / iter_chunk_metas, as HoldingsBook reads them from Chroma."""

    def __init__(self, *tables: tuple[str, str]):
        self.docs: dict[str, dict] = {}
        self.metas: list[dict] = []
        for text, ref in tables:
            self.add(text, ref)

    def add(self, text: str, ref: str) -> None:
        table = parse_table(text.encode(), ref)
        meta, _, chunk_metas, _ = table_documents(table)
        doc_id = f"table/{table.layout}/{table.content_hash[:16]}"
        self.docs[doc_id] = {**meta, "id": doc_id, "ingested_at": f"2026-07-0{len(self.docs) + 1}T00:00:00Z"}
        self.metas += [{**meta, **extra, "doc_id": doc_id} for extra in chunk_metas]

    def generation(self) -> int:
        return len(self.docs)

    def list_documents(self, kind=None):
        return [dict(d) for d in self.docs.values() if kind in (None, d["kind"])]

    def iter_chunk_metas(self, where=None):
        where = where or {}
        return iter([m for m in self.metas if all(m.get(k) == v for k, v in where.items())])


@pytest.fixture
def book():
    return HoldingsBook(TablesInMemory((EARLY, "early.csv"), (LATE, "late.csv")))


def text_of(view) -> str:
    out = io.StringIO()
    render_text(view, Console(file=out, width=100, highlight=False))
    return out.getvalue()


# ---------------------------------------------------------------- arguments


@pytest.mark.parametrize(("typed", "month"), [("2025-03", "2025-03"), ("2025-3", "2025-03"), (" 2026-12 ", "2026-12")])
def test_months_are_yyyy_mm(typed, month):
    assert month_arg(typed) == month


@pytest.mark.parametrize("typed", ["2025-13", "2025-00", "March 2025", "2025", "25-03", ""])
def test_other_months_are_refused(typed):
    with pytest.raises(ArgumentTypeError, match="is not a month; write YYYY-MM"):
        month_arg(typed)


@pytest.mark.parametrize("typed", ["0", "-2", "three", "2.5"])
def test_top_takes_a_positive_count(typed):
    with pytest.raises(ArgumentTypeError):
        count_arg(typed)
    assert count_arg("7") == 7


@pytest.mark.parametrize(("n", "text"), [(1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"), (11, "11th"), (12, "12th"),
                                         (13, "13th"), (21, "21st"), (22, "22nd"), (101, "101st"), (111, "111th")])
def test_ordinals(n, text):
    assert ordinal(n) == text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "give a country (e.g. `desk holdings Japan`) or --top N"),
        (["Japan", "--top", "3"], "give a country or --top N, not both"),
        (["--top", "3", "--from", "2025-01"], "--top ranks one month: use --month, not --from/--to"),
        (["Japan", "--month", "2025-01", "--from", "2024-01"], "give either --month or --from/--to, not both"),
        (["Japan", "--from", "2025-05", "--to", "2025-01"], "--from 2025-05 is after --to 2025-01"),
    ],
)
def test_usage_mistakes_are_reported_before_the_store_is_opened(tmp_path, capsys, argv, message):
    assert main(["holdings", *argv]) == 1
    assert capsys.readouterr().err == f"error: {message}\n"
    assert not (tmp_path / "data").exists()  # DESK_DATA_DIR (conftest): nothing was opened


def test_a_bad_month_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["holdings", "Japan", "--month", "2025-13"])
    assert caught.value.code == 2
    assert "argument --month: '2025-13' is not a month; write YYYY-MM, e.g. 2025-03" in capsys.readouterr().err


def test_building_the_parser_imports_neither_chroma_nor_rich():
    code = ("import sys; from bot.cli import build_parser; build_parser(); "
            "print(sorted(m for m in ('chromadb', 'rich', 'torch', 'sentence_transformers') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.stdout == "[]\n", done.stderr


# ---------------------------------------------------------------- lookups and text


def test_country_view_in_the_latest_month(book):
    view = look_up_country(book, "Britain")
    assert (view.figure.series, view.figure.month, view.figure.value) == ("United Kingdom", "2026-04", 937.5)
    assert view.rank == (2, 3)
    assert (view.change.start.value, view.change.absolute) == (926.9, 10.6)
    assert [f.month for f in view.history] == ["2026-01", "2026-02", "2026-03", "2026-04"]
    assert view.note == ""
    lines = text_of(view).splitlines()
    assert lines[0] == "United Kingdom: $937.5 billion at the end of April 2026"
    assert lines[1:4] == [
        "Rank     2nd of 3 countries listed",
        "Change   +10.6 (+1.1%) from March 2026",
        "Source   Late estimates, April 2026 (released about 2026-06-15) - late.csv",
    ]
    # The history crosses two releases, so both are named with the months they answered.
    assert "Early estimates (released about 2026-05-15): January 2026 to February 2026 - early.csv" in lines
    assert "Late estimates (released about 2026-06-15): March 2026 to April 2026 - late.csv" in lines
    assert all(line == line.rstrip() for line in lines)


def test_a_revised_month_shows_what_was_first_published(book):
    view = look_up_country(book, "UK", "2026-03")
    text = text_of(view)
    assert "Earlier  first published 930.0 (Early estimates, released 2026-05-15)" in text
    history = {line.split()[0] + " " + line.split()[1]: line.split()[2:] for line in text.splitlines()
               if line.startswith(("January 2026", "February 2026", "March 2026"))}
    assert history["March 2026"] == ["926.9", "+29.6", "930.0"]
    assert history["January 2026"] == ["879.7"]
    answer = view.to_dict()
    assert answer["figure"]["first_published"] == 930.0
    assert answer["figure"]["earlier"] == [{"value": 930.0, "citation": {
        "title": "Early estimates", "release": "2026-05-15", "release_estimated": True, "ref": "early.csv",
        "url": "", "month": "2026-03"}}]
    json.dumps(answer)  # plain data only


def test_a_country_no_longer_listed_says_so(book):
    view = look_up_country(book, "Russian Federation")
    assert (view.figure.month, view.figure.value) == ("2026-01", 12.0)
    assert view.note == "Russia is not listed after January 2026; the tables run to April 2026."
    text = text_of(view)
    assert "Change   the tables hold no figure for December 2025" in text
    assert "Last " not in text  # one month is no history


def test_aggregates_have_no_rank_and_tiny_changes_keep_their_sign(book):
    view = look_up_country(book, "Grand Total")
    assert view.rank is None
    assert "Change   +3.9 (+0.04%) from March 2026" in text_of(view)
    assert view.to_dict()["rank"] is None
    all_other = look_up_country(book, "All Other")
    assert all_other.note.startswith("All Other is everything outside the countries its table lists")


def test_top_view_with_share_of_the_grand_total(book):
    view = look_up_top(book, 5)
    assert [f.series for f in view.figures] == ["Japan", "United Kingdom", "China, Mainland"]
    assert view.total.value == 9352.6
    lines = text_of(view).splitlines()
    assert lines[0] == "Top 3 foreign holders of U.S. Treasury securities, end of April 2026 (billions of dollars)"
    assert lines[2].split() == ["1", "Japan", "1,209.9", "+18.3", "12.9%"]
    answer = view.to_dict()
    assert [(f["rank"], f["series"], f["change"]["absolute"]) for f in answer["figures"]] == [
        (1, "Japan", 18.3), (2, "United Kingdom", 10.6), (3, "China, Mainland", -1.2)]
    assert answer["grand_total"]["value"] == 9352.6


def test_series_view_with_extremes(book):
    view = look_up_series(book, "Japan", "2026-01", None)
    assert [f.value for f in view.figures] == [1225.3, 1239.3, 1191.6, 1209.9]
    assert (view.highest.month, view.lowest.month) == ("2026-02", "2026-03")
    text = text_of(view)
    assert "Highest: 1,239.3 in February 2026" in text and "Lowest:  1,191.6 in March 2026" in text
    answer = view.to_dict()
    assert (answer["kind"], answer["from"], answer["to"], answer["max"]["value"]) == (
        "series", "2026-01", "2026-04", 1239.3)


def test_series_view_reads_the_series_once(book, monkeypatch):
    reads = []
    read_series = book.series
    monkeypatch.setattr(book, "series", lambda *args: reads.append(args) or read_series(*args))
    view = look_up_series(book, "Japan", "2026-01", None)
    assert reads == [("Japan", "2026-01", None)]
    high, low = book.extremes("Japan", "2026-01", None)
    assert (view.highest, view.lowest) == (high, low)


def test_series_view_ties_go_to_the_earliest_month():
    tied = HoldingsBook(TablesInMemory(("""# title: Ties
country,month,value
Japan,2026-01,5.0
Japan,2026-02,9.0
Japan,2026-03,5.0
Japan,2026-04,9.0
""", "ties.csv")))
    view = look_up_series(tied, "Japan", None, None)
    assert (view.highest.month, view.lowest.month) == ("2026-02", "2026-01")
    high, low = tied.extremes("Japan")
    assert (high.month, low.month) == ("2026-02", "2026-01")


def test_not_found_messages_pass_through(book):
    with pytest.raises(NotFound, match="Did you mean Japan"):
        look_up_country(book, "Jpan")
    with pytest.raises(NotFound, match="The tables hold January 2026 to April 2026, not May 2026."):
        look_up_top(book, 3, "2026-05")


def test_ranking_a_given_month_on_a_fresh_book():
    # Regression: ranking(month) used to read the releases before loading them.
    fresh = HoldingsBook(TablesInMemory((EARLY, "early.csv")))
    assert [f.series for f in fresh.top(2, "2026-02")] == ["Japan", "United Kingdom"]


def test_series_names_follow_the_store(book):
    assert "Germany" not in book.series_names()
    book.kb.add("country,month,value\nGermany,2026-04,103.1\n", "germany.csv")
    book.refresh(max_age=0)
    assert "Germany" in book.series_names()
    assert book.value("German", "2026-04").value == 103.1
