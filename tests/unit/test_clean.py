"""Page body vs boilerplate, on pages written here in the shapes real pages come back in."""

import pytest

from ingest.clean import clean_page
from retrieval.sentences import split_sentences

TITLE = "Lumen Bank trims its Treasury book for a third month"

NEWS_PAGE = f"""examplenews.logo
Markets
{TITLE}
By Ada Morrow
March 3, 2026 7:15 AM
2 min read
Share this article
LONDON, March 3 (Examplewire) - Lumen Bank cut its holdings of U.S. Treasuries for a third straight month in February, the bank said on Tuesday.
The bank said it moved the money into shorter-dated German debt because it expects European rates to fall.
Photo: A trading floor in London, Examplewire
"We are comfortable with the duration we hold now," chief investment officer Pia Lund told reporters.
Subscribe to our newsletter
Lumen Bank cut its holdings of U.S. Treasuries for a third straight month in February, the bank said on Tuesday.
Disclaimer: This page is for information only and is not investment advice.
Related Articles
Gold hits another record as central banks buy
Yen slides past 160 again
"""

WIRE_COPY = """TOKYO, Oct 29 (Examplewire) - Japan's regional banks plan to
shorten the duration of their foreign bond portfolios in the second half
of the fiscal year, according to interviews with eight lenders, as the
rise in U.S. yields left many with losses on longer-dated holdings.
Several lenders said they would sell part of their Treasury notes and
buy shorter bills instead, while two said they would add to holdings if
ten-year yields rose above 5 percent.
The banks have cut their exposure to U.S. debt for four quarters in a
row, central bank data show, as hedging costs stayed high all year long.
One treasurer said the lenders would keep watching the yen closely now.
"""


def test_news_page_keeps_its_story_and_drops_the_chrome():
    cleaned = clean_page(NEWS_PAGE, TITLE)
    assert cleaned.body.split("\n") == [
        "Lumen Bank cut its holdings of U.S. Treasuries for a third straight month in February, the bank said on Tuesday.",
        "The bank said it moved the money into shorter-dated German debt because it expects European rates to fall.",
        "\"We are comfortable with the duration we hold now,\" chief investment officer Pia Lund told reporters.",
    ]
    for chrome in ("examplenews.logo", "Markets", TITLE, "By Ada Morrow", "March 3, 2026 7:15 AM", "2 min read",
                   "Share this article", "LONDON, March 3 (Examplewire) -", "Photo: A trading floor in London, Examplewire",
                   "Subscribe to our newsletter", "Related Articles", "Yen slides past 160 again"):
        assert chrome in cleaned.removed, chrome
    assert any(line.startswith("Disclaimer:") for line in cleaned.removed)


def test_repeated_paragraph_is_kept_once():
    cleaned = clean_page(NEWS_PAGE, TITLE)
    assert cleaned.body.count("third straight month") == 1


def test_headline_cut_short_on_the_page_is_boilerplate():
    page = "Foreign holdings of US Treasuries fell $139 billion in March, the largest monthly decli...\n" \
           "Foreign holdings of US Treasuries fell by $139 billion in March to $9.35 trillion, the data showed.\n"
    cleaned = clean_page(page, "Foreign holdings of US Treasuries fell $139 billion in March, the largest monthly decline")
    assert cleaned.body == "Foreign holdings of US Treasuries fell by $139 billion in March to $9.35 trillion, the data showed."


def test_hard_wrapped_wire_copy_is_joined_into_sentences_and_its_dateline_dropped():
    cleaned = clean_page(WIRE_COPY, "Japan's regional banks to shorten foreign bond duration")
    sentences = split_sentences(cleaned.body)
    assert sentences[0].startswith("Japan's regional banks plan to shorten the duration")
    assert sentences[0].endswith("losses on longer-dated holdings.")
    assert sentences[-1] == "One treasurer said the lenders would keep watching the yen closely now."
    assert len(sentences) == 4
    assert "TOKYO, Oct 29 (Examplewire) -" in cleaned.removed


def test_markdown_export_front_matter_and_headings_are_not_body():
    page = ("---\nsource: Example Treasury\nperiod: February 2026\n---\n# Capital Flows Data for February 2026\n"
            "**Release Date:** April 15, 2026\n## Key Highlights\n"
            "- Overall net capital inflows were **$184.5 billion** in February.\n")
    cleaned = clean_page(page, "Capital Flows Data for February 2026")
    assert cleaned.body == "Overall net capital inflows were $184.5 billion in February."
    assert "---" in cleaned.removed and "## Key Highlights" in cleaned.removed


def test_forum_chrome_is_dropped():
    page = ("Reply\nQuote\nPosts: 212\nJoined: 2019\n"
            "Does anyone know why the custody figures at the New York Fed keep falling this year?\n")
    cleaned = clean_page(page, "Custody holdings question")
    assert cleaned.body == "Does anyone know why the custody figures at the New York Fed keep falling this year?"
    assert {"Reply", "Quote", "Posts: 212", "Joined: 2019"} <= set(cleaned.removed)


def test_social_embeds_and_links_ending_a_paragraph_are_dropped():
    page = ("Lumen Bank's Treasury book is at its smallest since 2019. pic.twitter.com/Ab12Cd34\n"
            "See https://example.com/data for the monthly figures, the bank said on Monday.\n"
            "The bank will report again in June, a spokesman said. https://example.com/next\n")
    cleaned = clean_page(page, TITLE)
    assert cleaned.body.split("\n") == [
        "Lumen Bank's Treasury book is at its smallest since 2019.",
        "See https://example.com/data for the monthly figures, the bank said on Monday.",  # inside: kept
        "The bank will report again in June, a spokesman said.",
    ]
    assert {"pic.twitter.com/Ab12Cd34", "https://example.com/next"} <= set(cleaned.removed)


def test_an_embedded_post_s_credit_line_is_dropped():
    page = ("Lumen Bank's Treasury book is at its smallest since 2019, a trader wrote online.\n"
            "— Ada Trader (@adatrades) May 2, 2026\n"
            "The bank will report again in June, a spokesman said.\n")
    cleaned = clean_page(page, TITLE)
    assert "@adatrades" not in cleaned.body and "— Ada Trader (@adatrades) May 2, 2026" in cleaned.removed


def test_a_sentence_that_starts_like_a_byline_is_kept():
    page = "By contrast, the central bank added to its holdings of shorter bills in the same month."
    assert clean_page(page, "Anything").body == page


@pytest.mark.parametrize("raw, shown", [
    ("By Ada Lindqvist OTTAWA, June 16 (Northwind) - Canada sold Treasurys in April, the data showed.",
     "Canada sold Treasurys in April, the data showed."),
    ("RIYADH: Saudi Arabia increased its holdings in October, the report said.",
     "Saudi Arabia increased its holdings in October, the report said."),
    ("Harbour Daily, Monday, June 15, 2026-Three holders cut their Treasurys last month.",
     "Three holders cut their Treasurys last month."),
    ("Markets Markets rallied on Tuesday after the data came out.", "Markets rallied on Tuesday after the data came out."),
    ("date 2026-05-02 The finance minister said the bank had begun to diversify its reserves.",
     "The finance minister said the bank had begun to diversify its reserves."),
])
def test_openings_run_into_the_first_sentence_are_removed(raw, shown):
    assert clean_page(raw, "Anything").body == shown
