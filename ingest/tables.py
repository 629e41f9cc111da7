"""Parsers for Treasury's "Major Foreign Holders of Treasury Securities" tables.

Layouts, recognised by content (`sniff`), never by file name:

- "table5"      slt_table5.txt: tab-separated, a "Country" row of ISO months (newest first),
                one row per country, then All Other, Grand Total and the "Of Which:" rows.
- "table5_html" slt_table5.html: the same table as an HTML <table> (read with html.parser).
- "mfhhis01"    mfhhis01.txt: tab-separated blocks, one per year, month names over a
                "Country" row of years. Where a survey starts a new series, a month is shown
                twice: the left column is the newer series, the right one the older estimate
                "shown for comparison only"; the newer value is kept and a note says so.
- "mfh"         mfh.txt: the old fixed-width monthly table, the same header as mfhhis01
                but columns separated by runs of spaces.
- "csv"         a team's own table: `country,month,value` rows (value in billions of
                dollars, month as YYYY-MM), an optional header row `country,month,value`.
                The table's name is given by a first line `# title: <name>`; other lines
                starting with "#" are comments. Without a title line the title is the file name.

Rows under "Of which:" are the Foreign Official series. Notes, footnotes and titles are not
rows. "n.a." cells are skipped (noted); "*" (less than $50 million) reads as 0.0.

Errors are TableError: "<ref>: line L, column C: reason". Lines are 1-based lines of the
file; a column is the 1-based cell number in its row (the row label is column 1), which for
HTML is the <td> count and for the fixed-width table the count of space-separated fields.
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from html.parser import HTMLParser
from pathlib import PurePosixPath
from urllib.parse import urlparse

from retrieval import countries
from retrieval.calendar import format_month, month_number, parse_month
from retrieval.errors import InputError

LAYOUTS = ("table5", "table5_html", "mfhhis01", "mfh", "csv")

TABLE5_TITLE = "Table 5: Major Foreign Holders of Treasury Securities"
MFHHIS01_TITLE = "Major Foreign Holders of Treasury Securities (historical, mfhhis01)"
MFH_TITLE = "Major Foreign Holders of Treasury Securities (monthly, mfh)"

# Listed rows plus All Other should add up to Grand Total; Treasury's files agree within
# 0.02% (rounding of up to ~40 one-decimal figures), so 0.5% only catches real damage.
SUM_TOLERANCE = 0.005

_ISO_MONTH = re.compile(r"(\d{4})-(\d{2})")  # a header's shape, for sniffing; parse_month reads a month
_YEAR = re.compile(r"(\d{4})")
_NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d*)?|\.\d+")
_NOT_AVAILABLE = {"n.a.", "n.a", "na", "n/a"}
_LESS_THAN_HALF_UNIT = "*"
_OF_WHICH = re.compile(r"of\s+which\s*:?", re.IGNORECASE)
_OFFICIAL_SERIES = {
    countries.FOREIGN_OFFICIAL,
    countries.FOREIGN_OFFICIAL_BILLS,
    countries.FOREIGN_OFFICIAL_BONDS,
}


@dataclass(frozen=True)
class Cell:
    series: str  # canonical name (countries.canonical)
    month: str  # "YYYY-MM"
    value: float  # billions of dollars, as printed
    line: int  # 1-based line in the file, for messages


@dataclass
class HoldingsTable:
    title: str
    layout: str
    released: str | None
    ref: str
    content_hash: str
    cells: list[Cell]
    notes: list[str] = field(default_factory=list)  # series breaks, n.a. cells

    @property
    def months(self) -> list[str]:
        return sorted({cell.month for cell in self.cells})

    @property
    def series(self) -> list[str]:
        return sorted({cell.series for cell in self.cells})


class TableError(InputError, ValueError):
    """A holdings table that cannot be read: names the input, the place and the reason."""

    def __init__(self, ref: str, reason: str, line: int | None = None, column: int | None = None):
        super().__init__(ref, reason, line=line, column=column)


# A row as cells of (text, line): in text files every cell shares its row's line,
# in HTML each <td> keeps the line it starts on.
_Row = list[tuple[str, int]]


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")  # never fails; a non-table still reads as "not a table"


def _lines(text: str) -> list[str]:
    # Only real line breaks: str.splitlines would also split on form feeds and the like,
    # and the line numbers in messages would stop matching an editor's.
    return re.split(r"\r\n|\r|\n", text)


def _tab_rows(text: str) -> list[_Row]:
    return [[(cell, number) for cell in line.split("\t")] for number, line in enumerate(_lines(text), 1)]


def _fixed_width_rows(text: str) -> list[_Row]:
    rows = []
    for number, line in enumerate(_lines(text), 1):
        stripped = line.strip()
        # A deeply indented line has an empty label column (the month-name header).
        label_blank = bool(stripped) and len(line) - len(line.lstrip()) >= 8
        fields = re.split(r"\s{2,}", stripped) if stripped else []
        if label_blank:
            fields = ["", *fields]
        rows.append([(cell, number) for cell in fields])
    return rows


class _HtmlRows(HTMLParser):
    """Collects <tr> rows of <td>/<th> texts with the line each cell starts on."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[_Row] = []
        self._row: _Row | None = None
        self._cell: list[str] | None = None
        self._cell_line = 0

    def _close_cell(self) -> None:
        if self._cell is not None and self._row is not None:
            self._row.append((" ".join("".join(self._cell).split()), self._cell_line))
        self._cell = None

    def _close_row(self) -> None:
        self._close_cell()
        if self._row is not None:
            self.rows.append(self._row)
        self._row = None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self._close_row()
            self._row = []
        elif tag in ("td", "th"):
            self._close_cell()
            if self._row is None:
                self._row = []
            self._cell, self._cell_line = [], self.getpos()[0]

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self._close_cell()
        elif tag in ("tr", "table"):
            self._close_row()

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _html_rows(text: str, ref: str) -> list[_Row]:
    parser = _HtmlRows()
    try:
        parser.feed(text)
        parser.close()
    except Exception as error:  # html.parser can trip on broken markup; report, don't crash
        raise TableError(ref, f"HTML does not parse ({error})", line=parser.getpos()[0]) from error
    parser._close_row()
    return parser.rows


def _label_and_values(row: _Row) -> tuple[str, list[tuple[str, int]]]:
    label = row[0][0].strip().strip('"').strip() if row else ""
    values = [(text.strip(), line) for text, line in row[1:]]
    while values and not values[-1][0]:
        values.pop()  # Treasury pads rows with empty trailing cells
    return label, values


def _is_number(text: str) -> bool:
    return bool(_NUMBER.fullmatch(text))


# ---------------------------------------------------------------- sniffing


def _looks_like_html(text: str) -> bool:
    head = text[:4096].lower()
    return "<table" in head or "<html" in head or "<tr" in head


def _header_kind(row: _Row) -> str | None:
    """ "iso" for a Country row of YYYY-MM months, "years" for a Country row of years."""
    label, values = _label_and_values(row)
    if label.lower() != "country" or not values:
        return None
    if _ISO_MONTH.fullmatch(values[0][0]):
        return "iso"
    if _YEAR.fullmatch(values[0][0]):
        return "years"
    return None


def _csv_fields(line: str) -> list[str]:
    try:
        return next(csv.reader([line]), [])
    except csv.Error:
        return []


def _looks_like_csv(lines: list[str]) -> bool:
    content = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not content:
        return False
    first = [cell.strip().lower() for cell in _csv_fields(content[0])]
    if first == ["country", "month", "value"]:
        return True
    return len(first) == 3 and bool(_ISO_MONTH.fullmatch(first[1])) and _is_number(first[2])


def sniff(data: bytes) -> str | None:
    """The layout of a holdings table, judged by its content; None when it is not one."""
    text = _decode(data)
    if not text.strip():
        return None
    if _looks_like_html(text):
        try:
            rows = _html_rows(text, "<sniff>")
        except TableError:
            return None
        return "table5_html" if any(_header_kind(row) == "iso" for row in rows) else None
    lines = _lines(text)
    if any("\t" in line for line in lines):
        for row in _tab_rows(text):
            kind = _header_kind(row)
            if kind:
                return "table5" if kind == "iso" else "mfhhis01"
    for row in _fixed_width_rows(text):
        if _header_kind(row) == "years":
            return "mfh"
    if _looks_like_csv(lines):
        return "csv"
    return None


# ---------------------------------------------------------------- month grids


def _month_from_name(name: str, year: str) -> str | None:
    number = month_number(name)
    return format_month(int(year), number) if number else None


def _iso_month(text: str) -> str | None:
    return text if parse_month(text) else None  # cells come stripped


def _header_months(rows: list[_Row], index: int, ref: str) -> list[str]:
    """The month of each value column of the Country row at rows[index]."""
    label, values = _label_and_values(rows[index])
    kind = _header_kind(rows[index])
    if kind is None:
        text, line = values[0]
        raise TableError(ref, f"month header {text!r} is neither YYYY-MM nor a year", line, 2)
    if kind == "iso":
        months = []
        for column, (text, line) in enumerate(values, 2):
            month = _iso_month(text)
            if month is None:
                raise TableError(ref, f"month header {text!r} is not a YYYY-MM month", line, column)
            months.append(month)
        return months
    # Years in this row, month names in the nearest non-blank row above.
    above = index - 1
    while above >= 0 and not any(text.strip() for text, _ in rows[above]):
        above -= 1
    header_line = values[0][1]
    if above < 0:
        raise TableError(ref, "year row without a row of month names above it", header_line, 2)
    name_label, names = _label_and_values(rows[above])
    if name_label or not names:
        raise TableError(ref, "year row without a row of month names above it", header_line, 2)
    if len(names) != len(values):
        column = min(len(names), len(values)) + 2
        raise TableError(
            ref,
            f"{len(names)} month names over {len(values)} years: the headers do not line up",
            header_line,
            column,
        )
    months = []
    for column, ((name, name_line), (year, _)) in enumerate(zip(names, values), 2):
        if not _YEAR.fullmatch(year) or not 1900 <= int(year) <= 2100:
            raise TableError(ref, f"year header {year!r} does not parse", header_line, column)
        month = _month_from_name(name, year)
        if month is None:
            raise TableError(ref, f"month header {name!r} is not a month name", name_line, column)
        months.append(month)
    return months


def _value(text: str, line: int, column: int, ref: str, label: str) -> float | None:
    if text.lower() in _NOT_AVAILABLE:
        return None
    if text == _LESS_THAN_HALF_UNIT:
        return 0.0
    if not text:
        raise TableError(ref, f"empty cell in the {label} row (a missing value or a shifted column)", line, column)
    if not _is_number(text):
        raise TableError(ref, f"{text!r} in the {label} row is not a number", line, column)
    return round(float(text.replace(",", "")), 1)


class _GridReader:
    """Reads month blocks (a Country header, then rows) out of a list of rows."""

    def __init__(self, rows: list[_Row], ref: str, allow_series_breaks: bool):
        self.rows, self.ref = rows, ref
        self.allow_series_breaks = allow_series_breaks
        self.cells: list[Cell] = []
        self.notes: list[str] = []
        self._seen: dict[tuple[str, str], int] = {}  # (series, month) -> line

    def read(self) -> None:
        index, blocks = 0, 0
        while index < len(self.rows):
            label, values = _label_and_values(self.rows[index])
            if label.lower() == "country" and values:
                months = _header_months(self.rows, index, self.ref)
                cells_before = len(self.cells)
                header_line = values[0][1]
                index = self._read_block(index + 1, self._columns_to_keep(months, index))
                if len(self.cells) == cells_before:
                    raise TableError(self.ref, "no data rows under this 'Country' header", header_line)
                blocks += 1
            else:
                index += 1
        if not blocks:
            raise TableError(self.ref, "no 'Country' header row with months: not a holdings table")

    def _columns_to_keep(self, months: list[str], index: int) -> list[str | None]:
        """Per value column, the month to store, or None for an older series' repeat."""
        keep: list[str | None] = []
        line = self.rows[index][0][1]
        for column, month in enumerate(months, 2):
            if month not in months[: column - 2]:
                keep.append(month)
                continue
            first = months.index(month) + 2
            if not self.allow_series_breaks or first != column - 1:
                raise TableError(self.ref, f"month {month} appears twice in the header", line, column)
            keep.append(None)
            self.notes.append(
                f"{month}: series break, the newer series (column {first}) is kept and the "
                f"older estimate (column {column}, shown for comparison only) is dropped"
            )
        return keep

    def _read_block(self, index: int, columns: list[str | None]) -> int:
        """Reads rows until the block ends; returns the index of the first row not read."""
        block_rows: dict[str, int] = {}
        skipped_dashes = False
        while index < len(self.rows):
            row = self.rows[index]
            label, values = _label_and_values(row)
            line = row[0][1] if row else 0
            if not label and not values:
                index += 1
                continue
            if not label and not skipped_dashes and all(set(text) <= {"-"} for text, _ in values):
                skipped_dashes = True  # the rule under the header
                index += 1
                continue
            if _OF_WHICH.fullmatch(label) and not values:
                index += 1
                continue
            if label.lower() == "country":
                return index  # the next block's header
            series = countries.canonical(label) if label else None
            numeric = [text for text, _ in values if _is_number(text)]
            if series is None:
                if not label and numeric:
                    raise TableError(self.ref, "values without a row label: is the row shifted?", line, 1)
                if label and _is_number(label) and values:
                    raise TableError(self.ref, f"row label {label!r} is a number: is the row shifted?", line, 1)
                if label and numeric and len(numeric) >= len(values) / 2:
                    hint = countries.closest(label)
                    did_you_mean = f" (did you mean {', '.join(hint)}?)" if hint else ""
                    raise TableError(self.ref, f"unknown country or series {label!r}{did_you_mean}", line, 1)
                return index  # a note, a footnote or the next block's header: the block ends
            self._read_row(series, label, values, line, columns, block_rows)
            index += 1
        return index

    def _read_row(
        self,
        series: str,
        label: str,
        values: list[tuple[str, int]],
        line: int,
        columns: list[str | None],
        block_rows: dict[str, int],
    ) -> None:
        if series in block_rows:
            raise TableError(
                self.ref,
                f"duplicate {series} row in this month block (first at line {block_rows[series]})",
                line,
                1,
            )
        block_rows[series] = line
        if not values:
            raise TableError(self.ref, f"the {label} row has no values (truncated table?)", line, 2)
        # Cells first, so that a gap or junk is reported where it is, not as a count mismatch.
        parsed = [
            _value(text, cell_line, column, self.ref, label)
            for column, (text, cell_line) in enumerate(values[: len(columns)], 2)
        ]
        if len(values) < len(columns):
            raise TableError(
                self.ref,
                f"the {label} row has {len(values)} values but the header has {len(columns)} months (truncated row?)",
                values[-1][1],
                len(values) + 2,
            )
        if len(values) > len(columns):
            raise TableError(
                self.ref,
                f"the {label} row has {len(values)} values but the header has {len(columns)} months (shifted column?)",
                values[len(columns)][1],
                len(columns) + 2,
            )
        missing = []
        for column, (value, (_, cell_line), month) in enumerate(zip(parsed, values, columns), 2):
            if month is None:
                continue  # an older series' repeat of a month
            if value is None:
                missing.append(month)
                continue
            if (series, month) in self._seen:
                raise TableError(
                    self.ref,
                    f"{series} {month} is given twice (first at line {self._seen[series, month]})",
                    cell_line,
                    column,
                )
            self._seen[series, month] = cell_line
            self.cells.append(Cell(series, month, value, cell_line))
        if missing:
            self.notes.append(f"{series}: not available (n.a.) for {', '.join(sorted(missing))}")


def _check_sums(cells: list[Cell], ref: str) -> None:
    """In each month, listed rows plus All Other must come to Grand Total (within rounding)."""
    parts: dict[str, float] = {}
    totals: dict[str, Cell] = {}
    with_all_other: set[str] = set()
    for cell in cells:
        if cell.series == countries.GRAND_TOTAL:
            totals[cell.month] = cell
        elif cell.series not in _OFFICIAL_SERIES:
            parts[cell.month] = parts.get(cell.month, 0.0) + cell.value
            if cell.series == countries.ALL_OTHER:
                with_all_other.add(cell.month)
    for month, total in sorted(totals.items()):
        if month not in with_all_other:
            continue  # without All Other the rows are not meant to add up
        if abs(parts[month] - total.value) > SUM_TOLERANCE * max(total.value, 1.0):
            raise TableError(
                ref,
                f"{month}: the rows add up to {parts[month]:.1f} but Grand Total is {total.value:.1f}",
                total.line,
            )


# ---------------------------------------------------------------- CSV


def _parse_csv(lines: list[str], ref: str) -> tuple[str | None, list[Cell]]:
    title = None
    cells: list[Cell] = []
    seen: dict[tuple[str, str], int] = {}
    header_allowed = True
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            match = re.fullmatch(r"#\s*title\s*:\s*(.*)", stripped, re.IGNORECASE)
            if match and number == 1:
                title = match.group(1).strip() or None
            continue
        try:
            fields = next(csv.reader([line]), [])
        except csv.Error as error:
            raise TableError(ref, f"CSV does not parse ({error})", number) from error
        fields = [text.strip() for text in fields]
        if header_allowed and [text.lower() for text in fields] == ["country", "month", "value"]:
            header_allowed = False
            continue
        header_allowed = False
        if len(fields) != 3:
            column = len(fields) + 1 if len(fields) < 3 else 4
            raise TableError(ref, f"expected 3 fields (country,month,value), found {len(fields)}", number, column)
        name, month_text, value_text = fields
        series = countries.canonical(name)
        if series is None:
            hint = countries.closest(name)
            did_you_mean = f" (did you mean {', '.join(hint)}?)" if hint else ""
            raise TableError(ref, f"unknown country or series {name!r}{did_you_mean}", number, 1)
        month = _iso_month(month_text)
        if month is None:
            raise TableError(ref, f"month {month_text!r} is not YYYY-MM", number, 2)
        if not _is_number(value_text):
            raise TableError(ref, f"value {value_text!r} is not a number of billions", number, 3)
        value = float(value_text.replace(",", ""))
        if (series, month) in seen:
            raise TableError(ref, f"{series} {month} is given twice (first at line {seen[series, month]})", number, 1)
        seen[series, month] = number
        cells.append(Cell(series, month, round(value, 1), number))
    if not cells:
        raise TableError(ref, "no data rows (expected country,month,value)", len(lines))
    return title, cells


# ---------------------------------------------------------------- titles and dates


def _released(rows: list[_Row]) -> str | None:
    """The release date a file states on a line of its own ("March 15, 2023", "5/18/2026")."""
    for row in rows:
        label, values = _label_and_values(row)
        if values or not label:
            continue
        for pattern in ("%B %d, %Y", "%m/%d/%Y", "%m/%d/%y"):
            try:
                return datetime.strptime(label, pattern).date().isoformat()
            except ValueError:
                continue
    return None


def _first_text(rows: list[_Row]) -> str | None:
    for row in rows:
        for text, _ in row:
            if text.strip():
                return " ".join(text.split())
    return None


def _file_name(ref: str) -> str:
    path = urlparse(ref).path if "://" in ref else ref
    return PurePosixPath(path.replace("\\", "/")).name or ref


# ---------------------------------------------------------------- entry point


def parse_table(data: bytes, ref: str, layout: str | None = None) -> HoldingsTable:
    """Parses a holdings table; layout None means judge it by content (`sniff`)."""
    if layout is not None and layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; expected one of {', '.join(LAYOUTS)}")
    content_hash = hashlib.sha256(data).hexdigest()
    text = _decode(data)
    if not text.strip():
        raise TableError(ref, "empty file", line=1)
    layout = layout or sniff(data)
    if layout is None:
        raise TableError(ref, "not a holdings table (no 'Country' row of months, no country,month,value CSV)")

    notes: list[str] = []
    released = None
    if layout == "csv":
        title, cells = _parse_csv(_lines(text), ref)
        title = title or _file_name(ref)
    else:
        if layout == "table5_html":
            rows = _html_rows(text, ref)
        elif layout == "mfh":
            rows = _fixed_width_rows(text)
        else:
            rows = _tab_rows(text)
        reader = _GridReader(rows, ref, allow_series_breaks=layout in ("mfhhis01", "mfh"))
        reader.read()
        cells, notes = reader.cells, reader.notes
        released = _released(rows)
        if layout in ("table5", "table5_html"):
            title = _first_text(rows) or TABLE5_TITLE
        else:
            title = MFHHIS01_TITLE if layout == "mfhhis01" else MFH_TITLE
    _check_sums(cells, ref)
    return HoldingsTable(
        title=title,
        layout=layout,
        released=released,
        ref=ref,
        content_hash=content_hash,
        cells=cells,
        notes=notes,
    )
