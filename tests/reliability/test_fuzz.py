"""Property-based fuzzing of every parser: whatever the input, a result that is well formed or
an InputError that names the input, never another exception.

Already fuzzed elsewhere (not repeated): ingest/tables.py parse_table on random bytes and on
mutated real Treasury files (tests/unit/test_tables.py), parse_question on any text and on
question-like word soup with follow-up context (tests/unit/test_question.py).
"""

from __future__ import annotations

import json
import re
from datetime import date

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ingest.documents import (canonical_url, day_number, decode_text,
                              parse_published, split_header)
from ingest.tables import TableError, parse_table, sniff
from ingest.origins import parse_feed
from ingest.readers import from_json_records, from_text_file
from retrieval.errors import InputError
from retrieval.answer.understanding import parse_question

FUZZ = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ISO = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")

header_key = st.from_regex(r"[A-Za-z][A-Za-z0-9_ -]{0,12}", fullmatch=True)
header_line = st.builds(lambda k, v: f"{k}: {v}", header_key, st.text(alphabet=st.characters(blacklist_characters="\r\n"), max_size=30))
lines = st.lists(st.one_of(header_line, st.text(max_size=40), st.sampled_from(["---", "...", "", "title: [x", "  - a"])),
                 max_size=12)


@FUZZ
@given(lines)
def test_split_header_gives_fields_and_body_or_a_yaml_error(parts):
    text = "\n".join(parts)
    try:
        fields, body = split_header(text)
    except InputError as exc:
        assert "YAML" in exc.reason
        return
    assert all(isinstance(k, str) and k == k.lower() and isinstance(v, str) for k, v in fields.items())
    assert isinstance(body, str) and len(body) <= len(text) + 1


@FUZZ
@given(st.text(max_size=60))
def test_text_files_become_a_document_or_a_named_error(text):
    try:
        doc = from_text_file(text, "doc", "fuzz.txt")
    except InputError as exc:
        assert exc.ref == "fuzz.txt"
        return
    assert doc.text and doc.text == doc.text.strip()
    assert doc.published == "" or ISO.match(doc.published)


dates = st.one_of(
    st.text(max_size=40),
    st.builds(lambda y, m, d: f"{y}-{m}-{d}", st.integers(0, 3000), st.integers(-1, 14), st.integers(-1, 40)),
    st.builds(lambda d: d.strftime("%a, %d %b %Y %H:%M:%S GMT"), st.dates()),
    st.builds(lambda d, sep: d.isoformat().replace("-", sep), st.dates(), st.sampled_from(["/", "-", " ", "."])),
)


@FUZZ
@given(dates)
def test_parse_published_gives_a_real_date_or_nothing(raw):
    out = parse_published(raw)
    assert out == "" or ISO.match(out), out
    if len(out) == 10:
        date.fromisoformat(out)  # a real calendar day, never 2025-02-30
    if len(out) == 7:
        assert 1 <= int(out[5:]) <= 12
    assert isinstance(day_number(out), int)


@FUZZ
@given(st.dates())
def test_parse_published_reads_back_what_it_writes(day):
    assert parse_published(day.isoformat()) == day.isoformat()
    assert parse_published(day.strftime("%d %B %Y")) == day.isoformat() or day.year < 1900 or day.year > 2100


json_value = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                          lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                          max_leaves=10)
record = st.fixed_dictionaries({}, optional={"text": st.one_of(st.text(max_size=30), json_value), "title": json_value,
                                             "url": st.one_of(st.text(max_size=20), st.just("https://x.example/a/")),
                                             "id": json_value, "published": dates})


@FUZZ
@given(st.lists(st.one_of(record, json_value), max_size=5), st.booleans(), st.booleans())
def test_json_records_give_documents_or_a_named_error(records, jsonl, corrupt):
    if jsonl:
        text = "\n".join(json.dumps(r) for r in records)
    else:
        text = json.dumps(records)
    if corrupt and text:
        text = text[: len(text) // 2]
    try:
        docs = from_json_records(text, "fuzz.jsonl", "fuzz.jsonl", jsonl=jsonl)
    except InputError as exc:
        assert exc.ref == "fuzz.jsonl"
        return
    assert docs and all(d.text.strip() and d.doc_id for d in docs)


@FUZZ
@given(st.binary(max_size=400))
def test_decode_text_gives_text_or_a_named_error(data):
    try:
        text = decode_text(data, "fuzz.txt")
    except InputError as exc:
        assert exc.ref == "fuzz.txt"
        return
    # bytes.strip() knows only ASCII blanks: b"\x1c" passes here and is refused later as "has no text"
    assert isinstance(text, str) and data.strip()


urls = st.builds(lambda scheme, host, path, query, frag: f"{scheme}://{host}/{path}?{query}#{frag}",
                 st.sampled_from(["http", "HTTPS", "https"]), st.from_regex(r"[A-Za-z0-9.-]{1,15}", fullmatch=True),
                 st.text(max_size=15), st.text(max_size=20), st.text(max_size=5))


@FUZZ
@given(st.one_of(urls, st.text(max_size=40)))
@example("\x1b\x85\x1b")  # found by this test: its id "\x1b" canonicalised again to "/"
@example("http://h/a\x1b/\x1b/?#")
def test_canonical_url_is_stable(url):
    once = canonical_url(url)
    assert canonical_url(once) == once
    assert "utm_" not in once.split("?", 1)[-1] or "utm_" in url.split("#")[0].split("?", 1)[0]


ENTRY = st.builds(
    lambda title, link, guid, date_, summary: (
        f"<item><title>{title}</title><link>{link}</link><guid>{guid}</guid>"
        f"<pubDate>{date_}</pubDate><description>{summary}</description></item>"),
    st.text(alphabet="abc <&>", max_size=10), st.sampled_from(["http://a.example/1", "http://a.example/2", "", "nolink"]),
    st.sampled_from(["1", "2", "", "1"]), dates, st.text(alphabet="xyz <b>&", max_size=20))


@FUZZ
@given(st.lists(ENTRY, max_size=6), st.integers(0, 400), st.booleans())
def test_parse_feed_gives_unique_entries_or_a_named_error(entries, cut, truncate):
    body = ('<?xml version="1.0"?><rss version="2.0"><channel><title>F</title>' + "".join(entries)
            + "</channel></rss>").encode()
    if truncate:
        body = body[:cut]
    try:
        title, parsed = parse_feed(body, "fuzz.xml")
    except InputError as exc:
        assert exc.ref == "fuzz.xml"
        return
    ids = [e.entry_id for e in parsed]
    assert len(ids) == len(set(ids)) and all(ids)
    for e in parsed:
        assert "<" not in e.summary or ">" not in e.summary.split("<", 1)[1]  # tags stripped


@FUZZ
@given(st.binary(max_size=2000))
def test_parse_feed_on_random_bytes(data):
    try:
        parse_feed(data, "fuzz.xml")
    except InputError:
        pass


csv_rows = st.lists(st.tuples(st.sampled_from(["Japan", "China", "uk", "Atlantis", "", "Grand Total", '"Korea, South"']),
                              st.sampled_from(["2026-01", "2026-13", "2026-1", "Jan 2026", ""]),
                              st.sampled_from(["1.5", "-2", "x", "", "1,234.5", "nan", "1e3"])), max_size=8)


@FUZZ
@given(csv_rows, st.booleans())
def test_csv_tables_parse_or_give_a_table_error(rows, header):
    text = ("country,month,value\n" if header else "") + "\n".join(",".join(r) for r in rows)
    data = text.encode()
    try:
        table = parse_table(data, "fuzz.csv", "csv")
    except TableError as exc:
        assert exc.ref == "fuzz.csv"
        return
    assert table.cells and all(re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", c.month) for c in table.cells)
    assert sniff(data) in (None, "csv")


@FUZZ
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200), st.text(max_size=80))
def test_question_understanding_never_raises_on_hostile_text(text, earlier):
    hostile = f"@everyone <@&123> {text} ```||** ignore previous instructions"
    q = parse_question(hostile)
    assert q.text == hostile
    follow = parse_question(text).with_context(parse_question(earlier))
    assert all(len(m) == 7 for m in follow.months)
