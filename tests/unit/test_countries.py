"""Names of countries and aggregates: table labels, user aliases, prose mentions."""

import subprocess
import sys
from pathlib import Path

import pytest

from retrieval import countries
from retrieval.countries import AGGREGATES, canonical, closest, find_in_text, is_aggregate, misspelt

REPO = Path(__file__).resolve().parents[2]
ARTICLES = REPO / "tests" / "fixtures" / "articles"  # news pages written for the tests


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        # row labels exactly as Treasury prints them
        ('"China, Mainland"', "China, Mainland"),
        ("China, Mainland", "China, Mainland"),
        ("United Kingdom 2/", "United Kingdom"),
        ('"Korea, South "', "Korea, South"),
        ("Korea", "Korea, South"),
        ("Belgium  5/", "Belgium"),
        ("Belgium-Luxembourg ", "Belgium-Luxembourg"),
        ("Spain ", "Spain"),
        ("Oil Exporters 3/", "Oil Exporters"),
        ("Carib Bnkng Ctrs 4/", "Caribbean Banking Centers"),
        (" For. Official", "Foreign Official"),
        ("  Treasury Bills", "Foreign Official Treasury Bills"),
        ("    T-Bonds & Notes", "Foreign Official T-Bonds & Notes"),
        ("Of Which: Foreign Official", "Foreign Official"),
        ("Of Which: Foreign Official Treasury Bills", "Foreign Official Treasury Bills"),
        ("Of Which: Foreign Official T-Bonds & Notes", "Foreign Official T-Bonds & Notes"),
        ("Grand Total", "Grand Total"),
        ("All Other", "All Other"),
        # what users type
        ("china", "China, Mainland"),
        ("mainland China", "China, Mainland"),
        ("UK", "United Kingdom"),
        ("u.k.", "United Kingdom"),
        ("Britain", "United Kingdom"),
        ("the UK", "United Kingdom"),
        ("South Korea", "Korea, South"),
        ("UAE", "United Arab Emirates"),
        ("Saudi", "Saudi Arabia"),
        ("HK", "Hong Kong"),
        ("total", "Grand Total"),
        ("foreign official", "Foreign Official"),
        ("FOREIGN OFFICIAL", "Foreign Official"),
        ("cayman", "Cayman Islands"),
        ("the Netherlands", "Netherlands"),
        ("Türkiye", "Turkey"),
    ],
)
def test_canonical_maps_labels_and_aliases(label, expected):
    assert canonical(label) == expected


@pytest.mark.parametrize("name", ["US", "U.S.", "United States", "Atlantis", "", "   ", "2/"])
def test_canonical_is_none_for_unknown_names_and_the_us(name):
    assert canonical(name) is None


def test_every_canonical_name_maps_to_itself():
    for name in countries.CANONICAL_NAMES:
        assert canonical(name) == name
    assert AGGREGATES <= set(countries.CANONICAL_NAMES)


def test_aggregates_hold_the_totals_the_official_breakdown_and_old_groupings():
    assert {
        "Grand Total", "All Other", "Foreign Official", "Foreign Official Treasury Bills",
        "Foreign Official T-Bonds & Notes", "Oil Exporters", "Caribbean Banking Centers",
    } <= AGGREGATES
    assert "Japan" not in AGGREGATES


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Grand Total", True), ("total", True), ("For. Official", True), ("Oil Exporters 3/", True),
        ("Carib Bnkng Ctrs 4/", True), ("Belgium-Luxembourg", True), ("Treasury Bills", True),
        ("Japan", False), ("Cayman Islands", False), ("Korea", False), ("Atlantis", False),
    ],
)
def test_is_aggregate(name, expected):
    assert is_aggregate(name) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Holdings of mainland China fell while Japan's rose.", ["China, Mainland", "Japan"]),
        ("India, not Indiana.", ["India"]),
        ("Indiana and Indianapolis", []),
        ("The U.S. and the US sold; US-held debt.", []),
        ("Chinese and Japanese investors; British funds.", ["China, Mainland", "Japan", "United Kingdom"]),
        ("Japan, then China, then Japan again and China once more.", ["Japan", "China, Mainland"]),
        ("South Korea and Korea are one; North Korea is none.", ["Korea, South"]),
        ("Korea, South Africa and Peru", ["Korea, South", "South Africa", "Peru"]),
        ("the UAE, Saudi investors and the U.K.", ["United Arab Emirates", "Saudi Arabia", "United Kingdom"]),
        ("Hong Kong\u2019s holdings and HK banks", ["Hong Kong"]),
        ("Treasury \"China, Mainland\" row", ["China, Mainland"]),
        ("a total of $1.13 trillion in Treasury bills", []),
        ("the grand total and foreign official holders", ["Grand Total", "Foreign Official"]),
        ("a turkey sandwich with chile", []),
        ("Turkey and Chile", ["Turkey", "Chile"]),
        ("the Cayman Islands and the Caymans", ["Cayman Islands"]),
        ("British Virgin Islands, New Mexico", []),
        ("Why was Beijing still trimming its pile, and did Tokyo step in?", ["China, Mainland", "Japan"]),
        ("Bankers in London and New York", []),  # markets, not governments
        ("", []),
    ],
)
def test_find_in_text(text, expected):
    assert find_in_text(text) == expected


def test_a_capital_names_its_holder_in_prose_but_is_no_table_label():
    assert canonical("Beijing") is None and canonical("Tokyo") is None  # `/holdings Tokyo` stays unknown


def test_find_in_text_on_a_whole_news_page():
    article = ARTICLES / "insurers-keep-treasurys.txt"
    # The page names Japan first, China second, and the U.S. (never a holder); its boilerplate
    # (dateline, share prompts, related stories) names no other country.
    assert find_in_text(article.read_text(encoding="utf-8")) == ["Japan", "China, Mainland"]


def test_closest_suggests_the_likely_name():
    assert closest("Japn")[0] == "Japan"
    assert closest("Swizerland")[0] == "Switzerland"
    assert closest("Untied Kingdom")[0] == "United Kingdom"
    assert closest("Luxemborg")[0] == "Luxembourg"


def test_closest_respects_n_and_gives_nothing_for_junk():
    assert len(closest("Korea Sout", n=1)) == 1
    assert len(closest("land", n=3)) <= 3
    assert closest("xyzzy") == []
    assert closest("") == []
    suggestions = closest("Germny", n=5)
    assert len(suggestions) == len(set(suggestions))


def test_import_stays_light():
    code = (
        "import sys, retrieval.countries; "
        "print(sorted(m for m in ('torch', 'chromadb', 'sentence_transformers', 'discord') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "typed, name",
    [("jpan", "Japan"), ("swizterland", "Switzerland"), ("chian", "China, Mainland"), ("Koera", "Korea, South")],
)
def test_a_holder_typed_with_a_slip_is_read_as_the_holder(typed, name):
    assert misspelt(typed) == name


@pytest.mark.parametrize("typed", ["Japan", "japans", "Caymans", "chilean", "Can", "untied", "holdings", "xyzzy"])
def test_names_and_words_far_from_any_holder_are_no_slip(typed):
    # A name as it is (or with its possessive's apostrophe left out) is no typo; "chian" may be
    # China or Chile's "chilean" with two slips, but two slips are allowed only in long words.
    assert misspelt(typed) is None


def test_lux_is_luxembourg():
    assert canonical("Lux") == "Luxembourg"
