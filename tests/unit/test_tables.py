"""Parsers for Treasury's holdings tables, against the real files and hand-made bad inputs."""

import hashlib
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.tables import HoldingsTable, TableError, parse_table, sniff
from retrieval import countries
from retrieval.errors import DeskError, InputError

REPO = Path(__file__).resolve().parents[2]
HOLDINGS = REPO / "tests" / "fixtures" / "treasury"  # Treasury's files, byte for byte
ARTICLE = REPO / "tests" / "fixtures" / "articles" / "insurers-keep-treasurys.txt"  # a news page written for the tests
FIXTURES = REPO / "tests" / "fixtures" / "tables"
SAMPLE = REPO / "data" / "sample" / "holdings" / "table5_sample.txt"


def _real(name: str) -> Path:
    return HOLDINGS / name


_parsed: dict[str, HoldingsTable] = {}


def _table(name: str) -> HoldingsTable:
    if name not in _parsed:
        path = _real(name)
        _parsed[name] = parse_table(path.read_bytes(), str(path))
    return _parsed[name]


def _values(table: HoldingsTable) -> dict[tuple[str, str], float]:
    return {(cell.series, cell.month): cell.value for cell in table.cells}


# ---------------------------------------------------------------- the real files


@pytest.mark.parametrize(
    ("name", "layout"),
    [
        ("slt_table5.txt", "table5"),
        ("slt_table5.html", "table5_html"),
        ("mfhhis01.txt", "mfhhis01"),
        ("mfhhis01_earlier_vintage.txt", "mfhhis01"),
        ("mfh.txt", "mfh"),
    ],
)
def test_sniff_recognises_each_real_file(name, layout):
    assert sniff(_real(name).read_bytes()) == layout
    assert _table(name).layout == layout


def test_sniff_says_a_news_article_is_not_a_table():
    data = ARTICLE.read_bytes()
    assert sniff(data) is None
    with pytest.raises(TableError, match="not a holdings table"):
        parse_table(data, "insurers.txt")


@pytest.mark.parametrize(
    ("name", "rows", "months", "first", "last", "cells"),
    [
        # 20 countries + All Other + Grand Total + 3 Foreign Official rows, 13 months
        ("slt_table5.txt", 25, 13, "2025-04", "2026-04", 325),
        ("slt_table5.html", 25, 13, "2025-04", "2026-04", 325),
        # 38 countries + All Other + Grand Total + 3 official rows, 13 months
        ("mfh.txt", 43, 13, "2022-01", "2023-01", 559),
        # 58 series over the years, 2000-03..2025-12 (10 + 25 * 12 months), 5 n.a. cells
        ("mfhhis01.txt", 58, 310, "2000-03", "2025-12", 12343),
        ("mfhhis01_earlier_vintage.txt", 58, 310, "2000-03", "2025-12", 12343),
    ],
)
def test_row_and_month_counts(name, rows, months, first, last, cells):
    table = _table(name)
    assert len(table.series) == rows
    assert len(table.months) == months
    assert (table.months[0], table.months[-1]) == (first, last)
    assert len(table.cells) == cells


def test_spot_checks():
    table5 = _values(_table("slt_table5.txt"))
    history = _values(_table("mfhhis01.txt"))
    monthly = _values(_table("mfh.txt"))
    assert history["Japan", "2025-02"] == 1125.9
    assert table5["Japan", "2025-04"] == 1134.5 == history["Japan", "2025-04"]
    assert history["United Kingdom", "2025-03"] == 779.3
    assert table5["China, Mainland", "2026-04"] == 651.1
    assert _values(_table("slt_table5.html"))["China, Mainland", "2026-04"] == 651.1
    assert table5["Grand Total", "2026-04"] == 9352.6
    assert table5["Foreign Official", "2026-04"] == 3906.5
    assert table5["Foreign Official T-Bonds & Notes", "2026-04"] == 3449.2
    # first published (mfh) versus revised (mfhhis01)
    assert monthly["United Kingdom", "2023-01"] == 668.3
    assert history["United Kingdom", "2023-01"] == 598.0
    # mfh says "Korea" and " For. Official"; they land on the canonical series
    assert monthly["Korea, South", "2023-01"] == 105.8
    assert monthly["Foreign Official", "2023-01"] == 3713.9
    assert monthly["Foreign Official Treasury Bills", "2022-01"] == 266.7
    # numbers printed without ".0"
    assert history["Japan", "2025-10"] == 1200.0


def test_txt_and_html_table5_give_identical_cells():
    text = {(c.series, c.month, c.value) for c in _table("slt_table5.txt").cells}
    html = {(c.series, c.month, c.value) for c in _table("slt_table5.html").cells}
    assert text == html and len(text) == 325


def test_the_earlier_vintage_differs_in_76_cells_all_in_2025():
    new, old = _values(_table("mfhhis01.txt")), _values(_table("mfhhis01_earlier_vintage.txt"))
    assert new.keys() == old.keys()
    changed = [key for key in new if new[key] != old[key]]
    assert len(changed) == 76
    assert {month[:4] for _, month in changed} == {"2025"}
    assert new["United Kingdom", "2025-12"] == 863.1 and old["United Kingdom", "2025-12"] == 866.0


def test_series_breaks_keep_the_newer_series():
    table = _table("mfhhis01.txt")
    values = _values(table)
    # June 2011 is printed twice: Series XII (kept) then Series XI (comparison only).
    assert values["United Kingdom", "2011-06"] == 135.7
    assert values["China, Mainland", "2011-06"] == 1307.0
    # March 2000: Series II (kept) then Series I.
    assert values["Grand Total", "2000-03"] == 1085.0
    breaks = sorted(re.match(r"(\d{4}-\d{2}): series break", note).group(1)
                    for note in table.notes if "series break" in note)
    assert breaks == ["2000-03"] + [f"{year}-06" for year in range(2002, 2012)]


def test_not_available_cells_are_skipped_and_noted():
    table = _table("mfhhis01.txt")
    values = _values(table)
    assert ("Luxembourg", "2002-05") not in values
    assert values["Luxembourg", "2002-06"] == 23.1
    assert any(note.startswith("Luxembourg: not available") for note in table.notes)


def test_old_groupings_and_of_which_rows_are_series():
    values = _values(_table("mfhhis01.txt"))
    assert values["Oil Exporters", "2011-12"] == 260.8
    assert values["Caribbean Banking Centers", "2011-12"] == 227.2
    assert values["Belgium-Luxembourg", "2001-12"] == 22.4
    assert values["Foreign Official Treasury Bills", "2000-12"] == 153.0
    months_with_official = {m for (s, m) in values if s == "Foreign Official"}
    assert len(months_with_official) == 310


def test_titles_dates_and_hashes():
    for name, title, released in [
        ("slt_table5.txt", "Table 5: Major Foreign Holders of Treasury Securities", None),
        ("slt_table5.html", "Table 5: Major Foreign Holders of Treasury Securities", None),
        ("mfhhis01.txt", "Major Foreign Holders of Treasury Securities (historical, mfhhis01)", "2026-05-18"),
        ("mfhhis01_earlier_vintage.txt", "Major Foreign Holders of Treasury Securities (historical, mfhhis01)",
         "2026-03-18"),
        ("mfh.txt", "Major Foreign Holders of Treasury Securities (monthly, mfh)", "2023-03-15"),
    ]:
        table = _table(name)
        assert (table.title, table.released) == (title, released)
        assert table.content_hash == hashlib.sha256(_real(name).read_bytes()).hexdigest()
        assert table.ref == str(_real(name))


@pytest.mark.parametrize("name", ["slt_table5.txt", "mfhhis01.txt", "mfh.txt"])
def test_cell_lines_point_at_the_row_in_the_file(name):
    lines = _real(name).read_bytes().decode().split("\r\n")
    for cell in _table(name).cells:
        row = lines[cell.line - 1]
        label = re.split(r"\t|\s{2,}", row.strip())[0]
        assert countries.canonical(label) == cell.series, (cell, row)
        numbers = [float(token) for token in re.findall(r"\d+(?:\.\d+)?", row[len(label):])]
        assert cell.value in numbers


def test_html_cell_lines_point_at_their_td():
    lines = _real("slt_table5.html").read_text().splitlines()
    for cell in _table("slt_table5.html").cells:
        assert re.fullmatch(r"\s*<td>([\d.]+)</td>", lines[cell.line - 1]).group(1) is not None
        assert float(re.search(r"[\d.]+", lines[cell.line - 1]).group()) == cell.value


# ---------------------------------------------------------------- the project's sample


def test_sample_parses_and_carries_treasurys_figures():
    table = parse_table(SAMPLE.read_bytes(), str(SAMPLE))
    assert table.layout == "table5"
    assert "sample" in table.title.lower()
    assert table.months == ["2026-01", "2026-02", "2026-03", "2026-04"]
    assert len(table.series) == 13
    values = _values(table)
    listed = [s for s in table.series if not countries.is_aggregate(s)]
    assert len(listed) == 8
    for month in table.months:
        parts = sum(values[s, month] for s in listed) + values["All Other", month]
        assert parts == pytest.approx(values["Grand Total", month], abs=0.05)
    treasury = _values(_table("slt_table5.txt"))
    for (series, month), value in values.items():
        if series != "All Other":
            assert treasury[series, month] == value


# ---------------------------------------------------------------- CSV


def test_csv_with_title_header_quotes_and_aliases():
    data = (
        b"# title: Team estimates\n"
        b"country,month,value\n"
        b"Japan,2026-04,1209.94\n"
        b'"China, Mainland",2026-04,651.1\n'
        b"UK,2026-04,937.5\n"
        b"# a comment line\n"
        b"All Other,2026-04,6554.1\n"
        b"Grand Total,2026-04,9352.6\n"
    )
    assert sniff(data) == "csv"
    table = parse_table(data, "team.csv")
    assert (table.title, table.layout, table.released) == ("Team estimates", "csv", None)
    values = _values(table)
    assert values["Japan", "2026-04"] == 1209.9
    assert values["United Kingdom", "2026-04"] == 937.5
    assert values["China, Mainland", "2026-04"] == 651.1
    assert [cell.line for cell in table.cells] == [3, 4, 5, 7, 8]


def test_csv_without_title_is_named_after_its_file():
    table = parse_table(b"Japan,2026-04,1209.9\n", "https://example.org/x/team_table.csv?v=2")
    assert table.title == "team_table.csv"
    assert table.cells[0].series == "Japan"


def test_csv_rows_that_do_not_add_up_to_grand_total_are_refused():
    data = b"Japan,2026-04,100\nAll Other,2026-04,100\nGrand Total,2026-04,300\n"
    with pytest.raises(TableError, match="add up to 200.0 but Grand Total is 300.0") as caught:
        parse_table(data, "team.csv")
    assert caught.value.line == 3


# ---------------------------------------------------------------- bad inputs


@pytest.mark.parametrize(
    ("name", "line", "column", "reason"),
    [
        ("table5_truncated_row.txt", 6, 5, "has 3 values but the header has 4 months (truncated row?)"),
        ("table5_extra_cell.txt", 7, 6, "has 5 values but the header has 4 months (shifted column?)"),
        ("table5_shifted_right.txt", 6, 2, "empty cell in the United Kingdom row"),
        ("table5_missing_label.txt", 6, 1, "values without a row label"),
        ("table5_non_numeric.txt", 5, 3, "'1l91.6' in the Japan row is not a number"),
        ("table5_non_numeric.html", 19, 3, "'n/a?' in the United Kingdom row is not a number"),
        ("table5_duplicate_row.txt", 8, 1, "duplicate Japan row in this month block (first at line 5)"),
        ("table5_bad_month_header.txt", 4, 4, "month header '2026-13' is not a YYYY-MM month"),
        ("table5_unknown_country.txt", 6, 1, "unknown country or series 'Atlantis'"),
        ("table5_sum_mismatch.txt", 9, None, "2026-02: the rows add up to 9587.1 but Grand Total is 9487.1"),
        ("mfhhis01_bad_month_name.txt", 2, 4, "month header 'Ocx' is not a month name"),
        ("mfhhis01_misaligned_headers.txt", 3, 5, "4 month names over 3 years"),
        ("mfhhis01_month_twice.txt", 3, 5, "month 2025-12 appears twice in the header"),
        ("mfh_truncated_row.txt", 5, 4, "the Japan row has 2 values but the header has 3 months"),
        ("csv_bad_month.csv", 4, 2, "month 'April 2026' is not YYYY-MM"),
        ("csv_bad_value.csv", 3, 3, "value 'about 650' is not a number of billions"),
        ("csv_unknown_country.csv", 3, 1, "unknown country or series 'Germny' (did you mean Germany"),
        ("csv_missing_field.csv", 3, 3, "expected 3 fields (country,month,value), found 2"),
        ("csv_duplicate.csv", 4, 1, "Japan 2026-04 is given twice (first at line 2)"),
        ("empty.txt", 1, None, "empty file"),
        ("blank_lines.txt", 1, None, "empty file"),
    ],
)
def test_bad_inputs_name_ref_line_and_column(name, line, column, reason):
    ref = f"fixtures/{name}"
    with pytest.raises(TableError) as caught:
        parse_table((FIXTURES / name).read_bytes(), ref)
    error = caught.value
    where = f"{ref}: line {line}" + (f", column {column}" if column is not None else "")
    assert str(error).startswith(f"{where}: ")
    assert reason in error.reason
    assert (error.ref, error.line, error.column) == (ref, line, column)


def test_not_a_table_names_the_input():
    with pytest.raises(TableError) as caught:
        parse_table((FIXTURES / "not_a_table.txt").read_bytes(), "news.txt")
    assert str(caught.value).startswith("news.txt: not a holdings table")
    assert caught.value.line is None and caught.value.column is None
    assert sniff((FIXTURES / "not_a_table.txt").read_bytes()) is None


def test_a_forced_wrong_layout_is_a_table_error():
    with pytest.raises(TableError, match="no 'Country' header row"):
        parse_table(_real("slt_table5.html").read_bytes(), "t.html", layout="table5")


def test_a_first_month_that_does_not_parse_is_reported_when_the_layout_is_given():
    data = b"Country\tApril 2026\tMarch 2026\nJapan\t1209.9\t1191.6\n"
    assert sniff(data) is None  # without a parsable month it does not look like a table
    with pytest.raises(TableError) as caught:
        parse_table(data, "t.txt", layout="table5")
    assert str(caught.value) == "t.txt: line 1, column 2: month header 'April 2026' is neither YYYY-MM nor a year"


def test_a_header_without_rows_is_a_truncated_table():
    with pytest.raises(TableError, match="no data rows under this 'Country' header") as caught:
        parse_table(b"Table 5\nCountry\t2026-04\t2026-03\n\nNotes:\n", "t.txt")
    assert caught.value.line == 2


def test_an_unknown_layout_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown layout"):
        parse_table(b"x", "x", layout="xlsx")


def test_table_error_is_a_user_facing_input_error():
    error = TableError("t.txt", "bad cell", line=3, column=2)
    assert isinstance(error, InputError) and isinstance(error, DeskError) and isinstance(error, ValueError)
    assert str(error) == "t.txt: line 3, column 2: bad cell"
    assert str(TableError("t.txt", "bad row", line=3)) == "t.txt: line 3: bad row"


# ---------------------------------------------------------------- fuzzing


def _fuzz_sources() -> list[list[bytes]]:
    history = (HOLDINGS / "mfhhis01.txt").read_bytes().splitlines(keepends=True)
    start_2011 = next(i for i, line in enumerate(history) if line.startswith(b"Country\t2011")) - 4
    return [
        (HOLDINGS / "slt_table5.txt").read_bytes().splitlines(keepends=True),
        (HOLDINGS / "mfh.txt").read_bytes().splitlines(keepends=True),
        (HOLDINGS / "slt_table5.html").read_bytes().splitlines(keepends=True)[:250],
        # the newest year and a series-break year, plus the footer with the release date
        history[:54] + history[start_2011:start_2011 + 52] + history[-110:-95],
        SAMPLE.read_bytes().splitlines(keepends=True),
    ]


_SOURCES = _fuzz_sources()
_JUNK = st.sampled_from([b"", b"x", b"1..2", b"-", b"n.a.", b"9e9", b"\t", b"NaN", b"\"", b"<td>", b"1,0"])


def _check_outcome(data: bytes) -> None:
    try:
        table = parse_table(data, "fuzz.txt")
    except TableError as error:
        assert str(error).startswith("fuzz.txt")
    else:
        assert table.cells
        for cell in table.cells:
            assert re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", cell.month)
            assert countries.canonical(cell.series) == cell.series


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000))
def test_random_bytes_give_a_table_or_a_table_error(data):
    _check_outcome(data)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_real_files_give_a_table_or_a_table_error(data):
    lines = list(data.draw(st.sampled_from(_SOURCES)))
    for _ in range(data.draw(st.integers(1, 4))):
        if not lines:
            break
        at = data.draw(st.integers(0, len(lines) - 1))
        action = data.draw(st.sampled_from(["delete", "duplicate", "truncate", "junk", "swap"]))
        if action == "delete":
            del lines[at]
        elif action == "duplicate":
            lines.insert(at, lines[at])
        elif action == "truncate":
            lines[at] = lines[at][: data.draw(st.integers(0, len(lines[at])))]
        elif action == "swap":
            other = data.draw(st.integers(0, len(lines) - 1))
            lines[at], lines[other] = lines[other], lines[at]
        else:
            numbers = list(re.finditer(rb"\d+(?:\.\d+)?", lines[at]))
            if numbers:
                hit = numbers[data.draw(st.integers(0, len(numbers) - 1))]
                lines[at] = lines[at][: hit.start()] + data.draw(_JUNK) + lines[at][hit.end():]
    _check_outcome(b"".join(lines))
