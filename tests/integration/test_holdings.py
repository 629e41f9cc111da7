"""Holdings tables end to end: Treasury's real files ingested with the real model into real
Chroma (embedded, and a `chroma run` server), the exact lookups and vintages, bad tables,
`--tic` over local HTTP, and `desk holdings` as a user runs it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from bot.cli import main
from ingest.holdings_ingest import fetch_tic
from ingest.pipeline import Ingester
from ingest.settings import IngestSettings
from retrieval.answer import AnswerEngine
from retrieval.errors import NotFound
from retrieval.holdings import HoldingsBook
from retrieval.settings import RetrievalSettings
from retrieval.store import KnowledgeBase
from tests.conftest import HOLDINGS_DIR, REPO
from tests.webserver import LocalWeb

FIXTURES = REPO / "tests" / "fixtures" / "tables"
TABLE5_TITLE = "Table 5: Major Foreign Holders of Treasury Securities"
MFHHIS01_TITLE = "Major Foreign Holders of Treasury Securities (historical, mfhhis01)"
MFH_TITLE = "Major Foreign Holders of Treasury Securities (monthly, mfh)"
CITATION_KEYS = {"title", "release", "release_estimated", "ref", "url", "month"}


class VectorMemo:
    """The session model, with each text's vector kept for the rest of the module.

    Every store here is built from the same few tables, so the model embeds each text once and
    later stores get the very same vectors back. `texts_embedded` counts every text asked for,
    memo hit or not: a re-ingest that embeds anything at all still shows."""

    def __init__(self, model):
        self.model = model
        self.vectors: dict[str, list[float]] = {}
        self.texts_embedded = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.texts_embedded += len(texts)
        missing = [text for text in dict.fromkeys(texts) if text not in self.vectors]
        if missing:
            self.vectors.update(zip(missing, self.model.embed_documents(missing)))
        return [self.vectors[text] for text in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


def make_kb(data_dir: Path, embedder, chroma_url: str = "") -> KnowledgeBase:
    # Explicit settings and no .env: module fixtures are built before the autouse isolation runs.
    settings = RetrievalSettings(_env_file=None, data_dir=data_dir, chroma_url=chroma_url)
    return KnowledgeBase(settings, embedder=embedder)


def ingester(kb, **settings) -> Ingester:
    return Ingester(kb, IngestSettings(_env_file=None, **settings))


def treasury(*names: str) -> list[str]:
    return [str(HOLDINGS_DIR / name) for name in names]


def squash(text: str) -> str:
    # Rich hard-wraps long lines when stderr is not a terminal, even inside a path.
    return re.sub(r"\s+", "", text)


def rows(output: str) -> dict[str, list[str]]:
    """Table lines keyed by their first cell (a month like "January 2025" or a rank)."""
    found = {}
    for line in output.splitlines():
        match = re.match(r"\s*(\d+|[A-Z][a-z]+ \d{4})\s+(.*)$", line)
        if match:
            found[match.group(1)] = match.group(2).split()
    return found


@pytest.fixture(scope="module")
def memo(embedder):
    return VectorMemo(embedder)


@pytest.fixture(scope="module")
def desk(tmp_path_factory, memo):
    """The three current tables, ingested once for the module."""
    data_dir = tmp_path_factory.mktemp("desk")
    kb = make_kb(data_dir, memo)
    report = ingester(kb).ingest(treasury("slt_table5.txt", "mfhhis01.txt", "mfh.txt"))
    assert (report.added, report.failed) == (3, 0), report.errors
    return SimpleNamespace(kb=kb, book=HoldingsBook(kb), data_dir=data_dir, report=report)


@pytest.fixture
def fresh_kb(tmp_path, memo):
    return make_kb(tmp_path / "fresh", memo)


# ---------------------------------------------------------------- ingest


@pytest.mark.parametrize(
    ("name", "layout", "country", "month", "value"),
    [
        ("slt_table5.txt", "table5", "Japan", "2026-04", 1209.9),
        ("slt_table5.html", "table5_html", "Japan", "2026-04", 1209.9),
        ("mfh.txt", "mfh", "United Kingdom", "2023-01", 668.3),
        ("mfhhis01.txt", "mfhhis01", "United Kingdom", "2023-01", 598.0),
    ],
)
def test_a_table_is_recognised_by_its_content_under_any_name(fresh_kb, tmp_path, name, layout, country, month, value):
    notes = tmp_path / "in" / "notes.txt"
    notes.parent.mkdir()
    shutil.copy(HOLDINGS_DIR / name, notes)
    report = ingester(fresh_kb).ingest([str(notes)])
    assert (report.added, report.failed) == (1, 0), report.errors
    (doc,) = fresh_kb.list_documents()
    assert (doc["kind"], doc["layout"], doc["ref"]) == ("table", layout, str(notes))
    assert doc["id"].startswith(f"table/{layout}/")
    figure = HoldingsBook(fresh_kb).value(country, month)
    assert figure.value == value
    assert figure.citation.ref == str(notes)


def test_holdings_flag_refuses_a_text_that_is_not_a_table(fresh_kb, tmp_path):
    text = FIXTURES / "not_a_table.txt"
    forced = ingester(fresh_kb).ingest([str(text)], holdings=True)
    assert (forced.added, forced.failed) == (0, 1)
    assert forced.errors == [f"{text}: not a holdings table (no 'Country' row of months, no country,month,value CSV)"]
    assert fresh_kb.list_documents() == []

    # Without the flag the same text is simply an article.
    plain = ingester(fresh_kb).ingest([str(text)])
    assert (plain.added, plain.failed) == (1, 0)
    assert [d["kind"] for d in fresh_kb.list_documents()] == ["article"]

    # A real table under the flag is read as usual.
    copy = tmp_path / "table.txt"
    shutil.copy(HOLDINGS_DIR / "mfh.txt", copy)
    assert ingester(fresh_kb).ingest([str(copy)], holdings=True).added == 1
    assert HoldingsBook(fresh_kb).value("Japan", "2023-01").value == 1104.4


def test_cli_ingest_with_holdings_flag_names_the_file(tmp_path, capsys):
    text = FIXTURES / "not_a_table.txt"
    assert main(["ingest", "--holdings", str(text), "--data-dir", str(tmp_path / "cli")]) == 1
    err = capsys.readouterr().err
    assert squash(f"failed {text}: not a holdings table") in squash(err)


def test_reingesting_unchanged_tables_embeds_nothing(desk, memo, embedder):
    before = (memo.texts_embedded, embedder.texts_embedded, desk.kb.count_chunks(), desk.kb.generation())
    report = ingester(desk.kb).ingest(treasury("slt_table5.txt", "mfhhis01.txt", "mfh.txt"))
    assert (report.added, report.updated, report.unchanged, report.failed, report.chunks) == (0, 0, 3, 0, 0)
    after = (memo.texts_embedded, embedder.texts_embedded, desk.kb.count_chunks(), desk.kb.generation())
    assert after == before


def test_a_team_csv_table(fresh_kb, tmp_path, capsys):
    csv = tmp_path / "team.csv"
    csv.write_text(
        "# title: Desk estimates, May 2026\n"
        "country,month,value\n"
        "Japan,2026-05,1215.0\n"
        '"China, Mainland",2026-05,640.2\n'
        "UK,2026-05,940.1\n"
        "Japan,2026-04,1209.9\n"
    )
    report = ingester(fresh_kb).ingest([str(csv)])
    assert (report.added, report.failed) == (1, 0), report.errors
    (doc,) = fresh_kb.list_documents()
    assert (doc["title"], doc["source"], doc["layout"]) == ("Desk estimates, May 2026", "team table", "csv")

    book = HoldingsBook(fresh_kb)
    top = book.top(3)
    assert [(f.series, f.value) for f in top] == [
        ("Japan", 1215.0), ("United Kingdom", 940.1), ("China, Mainland", 640.2)]
    cite = top[0].citation
    assert (cite.title, cite.month, cite.release, cite.release_estimated) == (
        "Desk estimates, May 2026", "2026-05", "2026-07-15", True)
    assert book.change("Japan", "2026-04", "2026-05").absolute == 5.1

    # The CLI ranks it too, without a share column: the team table has no Grand Total.
    assert main(["holdings", "--top", "5", "--data-dir", str(fresh_kb.settings.data_dir)]) == 0
    out = capsys.readouterr().out
    assert "Top 3 foreign holders of U.S. Treasury securities, end of May 2026" in out
    assert rows(out)["1"] == ["Japan", "1,215.0", "+5.1"]
    assert "Share" not in out and "Grand Total" not in out
    assert "Source: Desk estimates, May 2026, May 2026 (released about 2026-07-15)" in out


# ---------------------------------------------------------------- lookups


def test_top_holders_in_the_latest_month(desk):
    book = desk.book
    assert book.latest_month() == "2026-04"
    top = book.top(3)
    assert [(f.series, f.value) for f in top] == [
        ("Japan", 1209.9), ("United Kingdom", 937.5), ("China, Mainland", 651.1)]
    cite = top[0].citation
    assert (cite.title, cite.month, cite.release, cite.release_estimated) == (
        TABLE5_TITLE, "2026-04", "2026-06-15", True)
    assert cite.ref.endswith("slt_table5.txt")
    assert all(f.series not in ("Grand Total", "All Other", "Foreign Official") for f in book.ranking())


def test_china_third_in_march_2025_behind_the_uk(desk):
    rank, ranked, figure = desk.book.rank("China", "2025-03")
    assert (rank, ranked, figure.value) == (3, 36, 765.4)
    assert figure.citation.title == MFHHIS01_TITLE  # Table 5 starts in April 2025
    ranking = desk.book.ranking("2025-03")
    assert [(f.series, f.value) for f in ranking[:3]] == [
        ("Japan", 1130.8), ("United Kingdom", 779.3), ("China, Mainland", 765.4),
    ]


def test_a_holder_the_tables_stopped_listing_is_answered_for_its_last_month_and_says_so(desk):
    answer = AnswerEngine(desk.kb).ask("How much does Russia hold?")
    assert answer.route == "table", answer.text
    assert "at the end of December 2018" in answer.text
    assert answer.text.endswith("The tables list Russia no later than December 2018.")


def test_when_one_holder_passed_another_across_two_tables(desk):
    answer = AnswerEngine(desk.kb).ask("When did the UK pass China?")
    assert answer.text.startswith(
        "The United Kingdom moved ahead of mainland China at the end of March 2025, with $779.3 billion against "
        "$765.4 billion [1]; a month earlier, at the end of February 2025, it had $750.3 billion against $784.3 billion"
    ), answer.text


def test_since_when_a_holder_has_held_a_place_and_when_it_lost_it(desk):
    engine = AnswerEngine(desk.kb)
    uk = engine.ask("Since when has the UK been second?")
    assert uk.text.startswith("The United Kingdom became the second-largest foreign holder at the end of March 2025")
    assert uk.text.endswith("it has held that place through April 2026.")
    china = engine.ask("since when?", previous=engine.ask("Is China the second largest holder?").question)
    assert china.text.startswith("Mainland China became the second-largest foreign holder at the end of November 2000")
    assert china.text.endswith("it fell to 3rd at the end of March 2025.")


def test_a_month_is_ranked_over_every_holder_a_table_lists_for_it(desk):
    # Table 5 lists today's top 20 for each of its months; Germany, 19th in October 2025, is only
    # in the historical table, and still counts: the UAE was 20th, not 19th.
    ranking = [f.series for f in desk.book.ranking("2025-10")]
    assert ranking.index("Germany") == 18 and ranking.index("United Arab Emirates") == 19
    assert desk.book.rank("United Arab Emirates", "2025-10")[0] == 20


def test_a_change_in_a_year_starts_where_the_holder_is_first_listed(desk):
    # El Salvador is first listed in January 2025; "jump" asks the tables, not the articles.
    answer = AnswerEngine(desk.kb).ask("el salvador jump in 2025")
    assert answer.text.startswith("El Salvador's holdings rose by $92.7 billion"), answer.text
    assert "from $1.1 billion at the end of January 2025 to $93.8 billion at the end of December 2025" in answer.text


def test_a_tiny_change_keeps_two_decimals_of_its_percentage(desk):
    answer = AnswerEngine(desk.kb).ask("How did foreign official holdings change over the past year?")
    assert answer.text.startswith("Foreign official holdings fell by $0.9 billion (0.02%), from $3,907.4 billion")


def test_change_across_two_tables(desk):
    change = desk.book.change("China", "2024-12", "2026-04")
    assert (change.start.value, change.end.value, change.absolute) == (759.0, 651.1, -107.9)
    assert round(change.percent, 1) == -14.2
    assert (change.start.citation.title, change.end.citation.title) == (MFHHIS01_TITLE, TABLE5_TITLE)


def test_series_and_extremes(desk):
    series = desk.book.series("Japan", "2025-01", "2025-06")
    assert [(f.month, f.value) for f in series] == [
        ("2025-01", 1079.3), ("2025-02", 1125.9), ("2025-03", 1130.8),
        ("2025-04", 1134.5), ("2025-05", 1135.0), ("2025-06", 1147.9),
    ]
    highest, lowest = desk.book.extremes("Japan")
    assert (highest.month, highest.value) == ("2021-11", 1325.5)
    assert (lowest.month, lowest.value) == ("2001-09", 292.9)


@pytest.mark.parametrize(
    ("typed", "series", "value"),
    [("Britain", "United Kingdom", 937.5), ("mainland China", "China, Mainland", 651.1),
     ("South Korea", "Korea, South", 135.2), ("UK", "United Kingdom", 937.5)],
)
def test_aliases(desk, typed, series, value):
    figure = desk.book.value(typed, "2026-04")
    assert (figure.series, figure.value) == (series, value)


def test_revised_figure_keeps_the_first_published_one(desk):
    figure = desk.book.value("UK", "2023-01")
    assert figure.value == 598.0
    assert (figure.citation.title, figure.citation.release) == (MFHHIS01_TITLE, "2026-05-18")
    assert figure.first_published == 668.3
    (value, cite), = figure.earlier
    assert (value, cite.title, cite.release, cite.month) == (668.3, MFH_TITLE, "2023-03-15", "2023-01")
    # Where the releases agree there is no earlier vintage to show.
    assert desk.book.value("Japan", "2022-06").earlier == []


@pytest.mark.parametrize("order", [("mfhhis01.txt", "mfhhis01_earlier_vintage.txt"),
                                   ("mfhhis01_earlier_vintage.txt", "mfhhis01.txt")])
def test_the_later_stated_release_answers_whatever_the_ingest_order(fresh_kb, order):
    for name in order:  # one at a time, so the ingest times differ too
        assert ingester(fresh_kb).ingest(treasury(name)).added == 1
    book = HoldingsBook(fresh_kb)
    official = book.value("Foreign Official", "2025-03")
    assert (official.value, official.citation.release, official.citation.ref) == (
        3923.4, "2026-05-18", str(HOLDINGS_DIR / "mfhhis01.txt"))
    assert [(v, c.release) for v, c in official.earlier] == [(3935.6, "2026-03-18")]
    uk = book.value("UK", "2025-12")
    assert (uk.value, uk.first_published) == (863.1, 866.0)
    assert book.top(1, "2025-12")[0].citation.release == "2026-05-18"
    assert book.value("Japan", "2025-02").earlier == []  # 1125.9 in both


def test_unknown_country_suggests_the_closest_names(desk):
    with pytest.raises(NotFound) as caught:
        desk.book.value("Germny")
    assert str(caught.value) == "No country called 'Germny' in the holdings tables. Did you mean Germany?"
    with pytest.raises(NotFound) as caught:
        desk.book.value("Atlantis")
    assert str(caught.value) == "No country called 'Atlantis' in the holdings tables."


def test_months_the_tables_do_not_hold(desk):
    with pytest.raises(NotFound) as caught:
        desk.book.value("Japan", "1999-01")
    assert str(caught.value) == "The tables hold Japan from March 2000 to April 2026, not January 1999."
    with pytest.raises(NotFound) as caught:
        desk.book.top(3, "2026-09")
    assert str(caught.value) == "The tables hold March 2000 to April 2026, not September 2026."


def test_grand_total_and_foreign_official(desk):
    assert desk.book.value("Grand Total", "2026-04").value == 9352.6
    assert desk.book.value("Foreign Official", "2026-04").value == 3906.5
    total = desk.book.value("Total", "2023-01")
    assert (total.series, total.value, total.first_published) == ("Grand Total", 7305.1, 7402.5)
    with pytest.raises(NotFound, match="Grand Total is an aggregate, not a country: it has no rank."):
        desk.book.rank("Grand Total", "2026-04")


# ---------------------------------------------------------------- a `chroma run` server


def test_lookups_against_a_chroma_server(server_kb, memo, capsys, monkeypatch):
    kb = make_kb(server_kb.settings.data_dir, memo, chroma_url=server_kb.settings.chroma_url)
    report = ingester(kb).ingest(treasury("slt_table5.txt", "mfh.txt", "mfhhis01.txt"))
    assert (report.added, report.failed) == (3, 0), report.errors
    book = HoldingsBook(kb)
    assert [(f.series, f.value) for f in book.top(3)] == [
        ("Japan", 1209.9), ("United Kingdom", 937.5), ("China, Mainland", 651.1)]
    assert book.value("Japan", "2025-02").value == 1125.9
    uk = book.value("Britain", "2023-01")
    assert (uk.value, uk.first_published, uk.earlier[0][1].release) == (598.0, 668.3, "2023-03-15")
    assert book.rank("China", "2025-03")[0] == 3
    assert ingester(kb).ingest(treasury("mfh.txt")).unchanged == 1

    # The CLI finds the server through DESK_CHROMA_URL, as a deployment would.
    monkeypatch.setenv("DESK_CHROMA_URL", server_kb.settings.chroma_url)
    assert main(["holdings", "UK", "--month", "2023-01", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert (answer["value"], answer["figure"]["first_published"]) == (598.0, 668.3)


# ---------------------------------------------------------------- bad tables


BAD_TABLES = [
    ("table5_truncated_row.txt", 6, 5, "truncated row?"),
    ("table5_extra_cell.txt", 7, 6, "shifted column?"),
    ("table5_shifted_right.txt", 6, 2, "empty cell in the United Kingdom row"),
    ("table5_missing_label.txt", 6, 1, "values without a row label"),
    ("table5_non_numeric.txt", 5, 3, "'1l91.6' in the Japan row is not a number"),
    ("table5_non_numeric.html", 19, 3, "'n/a?' in the United Kingdom row is not a number"),
    ("table5_duplicate_row.txt", 8, 1, "duplicate Japan row"),
    ("table5_bad_month_header.txt", 4, 4, "'2026-13' is not a YYYY-MM month"),
    ("table5_unknown_country.txt", 6, 1, "unknown country or series 'Atlantis'"),
    ("table5_sum_mismatch.txt", 9, None, "the rows add up to 9587.1 but Grand Total is 9487.1"),
    ("mfhhis01_bad_month_name.txt", 2, 4, "'Ocx' is not a month name"),
    ("mfhhis01_misaligned_headers.txt", 3, 5, "the headers do not line up"),
    ("mfhhis01_month_twice.txt", 3, 5, "month 2025-12 appears twice"),
    ("mfh_truncated_row.txt", 5, 4, "the Japan row has 2 values"),
    ("csv_bad_month.csv", 4, 2, "month 'April 2026' is not YYYY-MM"),
    ("csv_bad_value.csv", 3, 3, "'about 650' is not a number"),
    ("csv_unknown_country.csv", 3, 1, "did you mean Germany?"),
    ("csv_missing_field.csv", 3, 3, "found 2"),
    ("csv_duplicate.csv", 4, 1, "Japan 2026-04 is given twice"),
    ("empty.txt", 1, None, "empty file"),
    ("blank_lines.txt", 1, None, "empty file"),
]


@pytest.fixture(scope="module")
def stocked(tmp_path_factory, memo):
    """A store holding Table 5 before the bad tables arrive."""
    data_dir = tmp_path_factory.mktemp("stocked")
    kb = make_kb(data_dir, memo)
    assert ingester(kb).ingest(treasury("slt_table5.txt")).added == 1
    return kb


@pytest.mark.parametrize(("name", "line", "column", "reason"), BAD_TABLES)
def test_desk_ingest_of_a_bad_table_names_file_line_and_column(stocked, capsys, name, line, column, reason):
    docs, chunks = stocked.list_documents(), stocked.count_chunks()
    path = FIXTURES / name
    # Empty files are not recognisable as tables: --holdings says what is wrong with them as tables.
    flags = ["--holdings"] if name in ("empty.txt", "blank_lines.txt") else []
    assert main(["ingest", *flags, str(path), "--data-dir", str(stocked.settings.data_dir)]) == 1
    err = capsys.readouterr().err
    where = f"{path}: line {line}" + (f", column {column}" if column else "")
    assert squash(f"failed {where}: ") in squash(err)
    assert squash(reason) in squash(err)
    # Nothing of the bad file is stored, and what was there is intact.
    assert [d["id"] for d in stocked.list_documents()] == [d["id"] for d in docs]
    assert stocked.count_chunks() == chunks
    assert stocked.orphan_chunk_count() == 0
    assert HoldingsBook(stocked).value("Japan", "2026-04").value == 1209.9


# ---------------------------------------------------------------- --tic


def test_tic_fetches_treasurys_tables_from_the_base_url(fresh_kb, memo):
    with LocalWeb() as web:
        for name in ("slt_table5.txt", "mfhhis01.txt"):
            web.add(f"/tic/{name}", body=(HOLDINGS_DIR / name).read_bytes(), content_type="text/plain")
        tic = ingester(fresh_kb, tic_base_url=f"{web.url}/tic")
        report = fetch_tic(tic)
        assert (report.added, report.failed) == (2, 0), report.errors
        assert web.hits == ["/tic/slt_table5.txt", "/tic/mfhhis01.txt"]
        book = HoldingsBook(fresh_kb)
        japan = book.value("Japan", "2026-04")
        assert (japan.value, japan.citation.url) == (1209.9, f"{web.url}/tic/slt_table5.txt")
        uk = book.value("UK", "2023-01")
        assert (uk.value, uk.citation.url) == (598.0, f"{web.url}/tic/mfhhis01.txt")

        embedded = memo.texts_embedded
        again = fetch_tic(tic)
        assert (again.added, again.unchanged, again.failed) == (0, 2, 0)
        assert memo.texts_embedded == embedded


def test_tic_reports_a_missing_file_and_keeps_the_other(fresh_kb):
    with LocalWeb() as web:
        web.add("/tic/slt_table5.txt", body=(HOLDINGS_DIR / "slt_table5.txt").read_bytes(), content_type="text/plain")
        report = fetch_tic(ingester(fresh_kb, tic_base_url=f"{web.url}/tic/"))
    assert (report.added, report.failed) == (1, 1)
    assert report.errors == [f"{web.url}/tic/mfhhis01.txt: the server answered HTTP 404"]
    assert HoldingsBook(fresh_kb).value("Japan").value == 1209.9


# ---------------------------------------------------------------- the CLI


def holdings(desk, capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["holdings", *argv, "--data-dir", str(desk.data_dir)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_country_in_a_month(desk, capsys):
    code, out, err = holdings(desk, capsys, "Japan", "--month", "2025-02")
    assert (code, err) == (0, "")
    assert "\x1b" not in out  # no colour codes when not a terminal
    lines = out.splitlines()
    assert lines[0] == "Japan: $1,125.9 billion at the end of February 2025"
    assert "Rank     1st of 36 countries listed" in lines
    assert "Change   +46.6 (+4.3%) from January 2025" in lines
    assert f"Source   {MFHHIS01_TITLE}, February 2025 (released 2026-05-18) - {HOLDINGS_DIR / 'mfhhis01.txt'}" in lines
    table = rows(out)
    assert list(table) == ["September 2024", "October 2024", "November 2024", "December 2024", "January 2025",
                           "February 2025"]
    assert table["January 2025"] == ["1,079.3", "+17.8"]
    assert table["February 2025"] == ["1,125.9", "+46.6"]
    assert all(line == line.rstrip() for line in lines)


def test_cli_top_is_an_aligned_table(desk, capsys):
    code, out, _ = holdings(desk, capsys, "--top", "3")
    assert code == 0
    assert out.splitlines()[0] == (
        "Top 3 foreign holders of U.S. Treasury securities, end of April 2026 (billions of dollars)")
    table = rows(out)
    assert table["1"] == ["Japan", "1,209.9", "+18.3", "12.9%"]
    assert table["2"] == ["United", "Kingdom", "937.5", "+10.6", "10.0%"]
    assert table["3"] == ["China,", "Mainland", "651.1", "-1.2", "7.0%"]
    # Right-aligned figures end in the same column.
    ends = {line.index(value) + len(value) for line, value in zip(
        [l for l in out.splitlines() if re.match(r"\s+[123]\s", l)], ["1,209.9", "937.5", "651.1"])}
    assert len(ends) == 1
    assert "Grand Total: 9,352.6" in out
    assert f"Source: {TABLE5_TITLE}, April 2026 (released about 2026-06-15)" in out


def test_cli_json_shows_the_revision(desk, capsys):
    code, out, _ = holdings(desk, capsys, "UK", "--month", "2023-01", "--json")
    assert code == 0
    answer = json.loads(out)
    assert (answer["kind"], answer["series"], answer["month"], answer["value"]) == (
        "value", "United Kingdom", "2023-01", 598.0)
    figure = answer["figure"]
    assert set(figure["citation"]) == CITATION_KEYS
    assert (figure["citation"]["title"], figure["citation"]["release"]) == (MFHHIS01_TITLE, "2026-05-18")
    assert figure["first_published"] == 668.3
    assert [(e["value"], e["citation"]["title"], e["citation"]["release"]) for e in figure["earlier"]] == [
        (668.3, MFH_TITLE, "2023-03-15")]
    assert answer["rank"] == {"rank": 3, "of": 38}  # 36 listed by mfhhis01, and Bahamas and Iraq by the earlier mfh
    assert answer["change"]["from"] == "2022-12" and answer["change"]["absolute"] == 24.3
    assert [f["month"] for f in answer["history"]][-1] == "2023-01" and len(answer["history"]) == 6


def test_cli_text_shows_the_revision(desk, capsys):
    _, out, _ = holdings(desk, capsys, "Britain", "--month", "2023-01")
    assert f"Earlier  first published 668.3 ({MFH_TITLE}, released 2023-03-15)" in out.splitlines()
    assert rows(out)["January 2023"] == ["598.0", "+24.3", "668.3"]


def test_cli_series_with_highest_and_lowest(desk, capsys):
    code, out, _ = holdings(desk, capsys, "mainland", "China", "--from", "2024-12", "--to", "2026-04")
    assert code == 0
    table = rows(out)
    assert len(table) == 17
    assert table["December 2024"] == ["759.0"] and table["April 2026"] == ["651.1", "-1.2"]
    assert "Highest: 784.3 in February 2025" in out
    assert "Lowest:  651.1 in April 2026" in out
    sources = out.split("Sources:")[1]
    assert f"{MFHHIS01_TITLE} (released 2026-05-18): December 2024 to March 2025" in sources
    assert f"{TABLE5_TITLE} (released about 2026-06-15): April 2025 to April 2026" in sources


def test_cli_unknown_country_and_uncovered_month(desk, capsys):
    code, out, err = holdings(desk, capsys, "Germny")
    assert (code, out) == (1, "")
    assert err == "error: No country called 'Germny' in the holdings tables. Did you mean Germany?\n"
    code, _, err = holdings(desk, capsys, "Japan", "--month", "1999-01")
    assert code == 1
    assert err == "error: The tables hold Japan from March 2000 to April 2026, not January 1999.\n"


def test_cli_lookup_does_not_load_the_model(desk, tmp_path):
    code = (
        "import sys\n"
        "from bot.cli import main\n"
        "code = main(['holdings', 'Japan'])\n"
        "print('exit', code)\n"
        "print('heavy', sorted(m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules))\n"
    )
    env = {**os.environ, "DESK_DATA_DIR": str(desk.data_dir), "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Japan: $1,209.9 billion at the end of April 2026\n")
    assert "exit 0\nheavy []\n" in done.stdout


def test_a_change_asked_for_a_year_runs_from_the_end_of_the_year_before(desk):
    from retrieval.answer import AnswerEngine

    engine = AnswerEngine(desk.kb)
    during = engine.ask("Did Japan sell Treasuries in 2025?")
    assert during.text.startswith(
        "No. Japan's holdings rose by $124.0 billion (11.7%), from $1,061.5 billion at the end of December 2024 "
        "to $1,185.5 billion at the end of December 2025")
    # Months named: from the first one's end, as written.
    named = engine.ask("How did China's holdings change from january 2025 to june 2025?")
    assert "from $760.8 billion at the end of January 2025 to $731.4 billion at the end of June 2025" in named.text
