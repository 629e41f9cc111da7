"""The digest's rules that need no store: placeholder titles, lead sentences as shown, --since,
the month a move's explanation must be about, dollar amounts, and the summary's checks."""

from __future__ import annotations

import pytest

from retrieval.digest import amounts, checked, explains_month, lead_form, normalise_since, placeholder_title
from retrieval.errors import DeskError


@pytest.mark.parametrize("title, doc_id, placeholder", [
    ("", "https://x.example/a", True),
    ("https://x.example/a", "https://x.example/a", True),
    ("norway-fund-adds-treasuries-2026", "https://x.example/norway-fund-adds-treasuries-2026", True),
    ("story_0412.html", "corpus/story_0412.html", True),
    ("corpus/a.txt", "corpus/a.txt", True),
    # A real title that the URL's slug was made from stays.
    ("China trims US Treasury holdings in October", "https://x.example/china-trims-us-treasury-holdings-in-october", False),
    ("Gold-backed reserves", "doc-1", False),
])
def test_placeholder_titles(title, doc_id, placeholder):
    assert placeholder_title(title, doc_id, doc_id if doc_id.startswith("http") else "") is placeholder


def test_lead_form_drops_a_page_s_own_citation_markers():
    assert lead_form("China cut its holdings [1][2] to a 15-year low.") == "China cut its holdings to a 15-year low."
    assert lead_form("Japan, the largest holder, added $18.3 billion in April.") == (
        "Japan, the largest holder, added $18.3 billion in April.")


def test_since_accepts_dates_and_times_and_refuses_the_rest():
    assert normalise_since("2026-05-01") == "2026-05-01T00:00:00Z"
    assert normalise_since("2026-05-01T10:30:00+02:00") == "2026-05-01T08:30:00Z"
    assert normalise_since("2026-05-01T08:00:00Z") == "2026-05-01T08:00:00Z"
    with pytest.raises(DeskError, match="got 'last week'"):
        normalise_since("last week")


def test_an_explanation_must_be_about_the_month_and_published_after_it():
    april = "2026-04"
    assert explains_month("Canada cut its holdings in April to fund reserves.", "", "", "2026-06-17", april)
    # May's move, told "in May from April", is not April's.
    assert not explains_month("Japan cut holdings to $1,128 billion in May from $1,150 billion in April.", "", "",
                              "2026-06-17", april)
    # No month in the sentence: the headline must be about April.
    assert explains_month("Reserve managers raised cash.", "Canada sells Treasurys in April", "", "2026-06-17", april)
    assert not explains_month("Reserve managers raised cash.", "Canada sells Treasurys", "", "2026-06-17", april)
    # Published before the figures existed, or long after: another April.
    assert not explains_month("Canada cut its holdings in April.", "", "", "2025-10-29", april)
    assert not explains_month("Canada cut its holdings in April.", "", "", "2027-06-01", april)
    # Undated: the year must be written.
    assert explains_month("Canada cut its holdings in April.", "", "Figures for 2026 show a cut.", "", april)
    assert not explains_month("Canada cut its holdings in April.", "", "", "", april)


def test_amounts_are_dollars_at_their_written_precision():
    found = amounts("Japan sold $22 billion, leaving $1.1283 trillion; 5.53 trillion yen (36 billion dollars); $1 trillion")
    assert found == {(22e9, 1e9), (1.1283e12, 1e8), (36e9, 1e9)}


def test_summary_checks_every_claim_and_figure():
    held = {"1": "Canada cut its holdings by $42.3 billion in April.", "T": "Japan 1,209.9 billion"}
    assert checked("Canada cut $42.3 billion [1]. Japan holds 1,209.9 billion [T].", held)
    assert not checked("Canada cut $45 billion [1].", held)  # a figure no source gives
    assert not checked("Japan holds 1,209.9 billion [1].", held)  # true, but not in the source cited
    assert not checked("Canada cut its holdings [1]. Buy gold now.", held)  # a claim with no marker
    assert not checked("Canada cut its holdings.", held)
