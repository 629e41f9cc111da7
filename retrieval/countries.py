"""Country and aggregate names for Treasury's holdings tables.

Every row label in Treasury's tables and every name a user may type maps to one canonical
name: Treasury's current Table 5 label ("China, Mainland", "Korea, South", "United Kingdom"),
or, for series that Table 5 no longer lists, the label of the historical table (mfhhis01).

Pure Python and quick to import: the table parsers, the lookups and the bot all use it.
"""

from __future__ import annotations

import difflib
import re
from functools import lru_cache

GRAND_TOTAL = "Grand Total"
ALL_OTHER = "All Other"
FOREIGN_OFFICIAL = "Foreign Official"
FOREIGN_OFFICIAL_BILLS = "Foreign Official Treasury Bills"
FOREIGN_OFFICIAL_BONDS = "Foreign Official T-Bonds & Notes"
OIL_EXPORTERS = "Oil Exporters"
CARIBBEAN_BANKING_CENTERS = "Caribbean Banking Centers"
BELGIUM_LUXEMBOURG = "Belgium-Luxembourg"

# Series that are not one country: totals, the official-holder breakdown and the groupings
# the old mfhhis01 blocks used (Belgium and Luxembourg were reported together before 2002).
AGGREGATES: frozenset[str] = frozenset(
    {
        GRAND_TOTAL,
        ALL_OTHER,
        FOREIGN_OFFICIAL,
        FOREIGN_OFFICIAL_BILLS,
        FOREIGN_OFFICIAL_BONDS,
        OIL_EXPORTERS,
        CARIBBEAN_BANKING_CENTERS,
        BELGIUM_LUXEMBOURG,
    }
)

# Canonical name -> other ways of writing it (table labels, user aliases, adjectives).
# The canonical name itself always matches too.
_ALIASES: dict[str, tuple[str, ...]] = {
    "Japan": ("Japanese",),
    "United Kingdom": (
        "UK",
        "U.K.",
        "Britain",
        "Great Britain",
        "British",
        "England",
        "English",
        "Northern Ireland",
    ),
    "China, Mainland": (
        "China",
        "Mainland China",
        "Chinese",
        "PRC",
        "P.R.C.",
        "People's Republic of China",
        "Mainland",
    ),
    "Cayman Islands": ("Cayman", "Caymans", "Cayman Is."),
    "Belgium": ("Belgian",),
    "Luxembourg": ("Luxemburg", "Luxembourgish", "Lux"),
    "Canada": ("Canadian",),
    "France": ("French",),
    "Ireland": ("Irish", "Republic of Ireland"),
    "Taiwan": ("Taiwanese", "Chinese Taipei"),
    "Switzerland": ("Swiss",),
    "Singapore": ("Singaporean",),
    "Hong Kong": ("HK", "Hong Kong SAR", "Hongkong"),
    "Norway": ("Norwegian",),
    "India": ("Indian",),
    "Brazil": ("Brazilian",),
    "Saudi Arabia": ("Saudi", "Saudis", "KSA"),
    "Korea, South": (
        "Korea",
        "South Korea",
        "S. Korea",
        "Republic of Korea",
        "Korea, Republic of",
        "South Korean",
        "Korean",
    ),
    "Israel": ("Israeli",),
    "United Arab Emirates": ("UAE", "U.A.E.", "Emirati", "Emirates"),
    "Germany": ("German",),
    "Bermuda": ("Bermudian",),
    "Netherlands": ("Holland", "Dutch", "The Netherlands"),
    "Australia": ("Australian",),
    "Mexico": ("Mexican",),
    "Thailand": ("Thai",),
    "Philippines": ("Philippine", "Filipino"),
    "Kuwait": ("Kuwaiti",),
    "Iraq": ("Iraqi",),
    "Poland": (),
    "Spain": ("Spanish",),
    "Italy": ("Italian",),
    "Colombia": ("Colombian",),
    "Sweden": ("Swedish",),
    "Bahamas": ("The Bahamas", "Bahamian"),
    "Vietnam": ("Viet Nam", "Vietnamese"),
    "Chile": ("Chilean",),
    "Peru": ("Peruvian",),
    "Denmark": ("Danish",),
    "Egypt": ("Egyptian",),
    "El Salvador": ("Salvadoran",),
    "Finland": ("Finnish",),
    "Indonesia": ("Indonesian",),
    "Kazakhstan": ("Kazakh",),
    "Malaysia": ("Malaysian",),
    "Oman": ("Omani",),
    "Russia": ("Russian", "Russian Federation"),
    "South Africa": ("South African",),
    "Turkey": ("Turkiye", "Türkiye", "Turkish"),
    "Uruguay": ("Uruguayan",),
    BELGIUM_LUXEMBOURG: ("Belgium Luxembourg", "Belgium and Luxembourg"),
    OIL_EXPORTERS: ("Oil Exporting Countries", "Oil-Exporting Countries"),
    CARIBBEAN_BANKING_CENTERS: ("Caribbean Banking Centres", "Carib Bnkng Ctrs"),
    ALL_OTHER: ("All Others", "All Other Countries", "Rest of the World"),
    GRAND_TOTAL: ("Total", "Grand Totals", "Total Foreign Holdings", "All Foreign Holders"),
    FOREIGN_OFFICIAL: (
        "For. Official",
        "Foreign Official Holders",
        "Foreign Official Institutions",
        "Official",
        "Official Holders",
        "Foreign Central Banks",
    ),
    FOREIGN_OFFICIAL_BILLS: ("Treasury Bills", "Foreign Official Bills", "Official Treasury Bills"),
    FOREIGN_OFFICIAL_BONDS: (
        "T-Bonds & Notes",
        "Foreign Official Bonds and Notes",
        "Official T-Bonds & Notes",
        "Foreign Official Treasury Bonds and Notes",
    ),
}

# Aliases that are right for a table label or a typed name but far too common in prose:
# "a total of", "Treasury bills", "officials", "the mainland".
_NOT_IN_PROSE: frozenset[str] = frozenset(
    {"Total", "Official", "Treasury Bills", "T-Bonds & Notes", "Mainland", "English"}
)

# Words that look like a listed country but are not it; matched in prose and then dropped.
_FALSE_FRIENDS: tuple[str, ...] = (
    "North Korea",
    "North Korean",
    "Democratic People's Republic of Korea",
    "New Mexico",
    "Gulf of Mexico",
    "Indian Ocean",
    "American Indian",
    "British Virgin Islands",
    "Netherlands Antilles",
    "South China Sea",
)

# A capital stands for its government in prose ("Tokyo intervened", "Beijing trimmed its pile"):
# a sentence or a question naming it is about that holder. It is no table label, so `/holdings
# Tokyo` is still unknown. Cities that are markets more than governments (London, New York) are
# left out.
_CAPITALS: dict[str, str] = {
    "Tokyo": "Japan",
    "Beijing": "China, Mainland",
    "Ottawa": "Canada",
    "Taipei": "Taiwan",
    "Bern": "Switzerland",
    "Oslo": "Norway",
    "New Delhi": "India",
    "Brasilia": "Brazil",
    "Riyadh": "Saudi Arabia",
    "Seoul": "Korea, South",
    "Berlin": "Germany",
    "Dublin": "Ireland",
    "Paris": "France",
    "Canberra": "Australia",
    "Bangkok": "Thailand",
    "Manila": "Philippines",
    "Jakarta": "Indonesia",
    "Kuala Lumpur": "Malaysia",
    "Abu Dhabi": "United Arab Emirates",
    "Stockholm": "Sweden",
    "Copenhagen": "Denmark",
    "Helsinki": "Finland",
    "Madrid": "Spain",
    "Rome": "Italy",
    "Warsaw": "Poland",
    "Ankara": "Turkey",
    "Bogota": "Colombia",
    "Lima": "Peru",
    "Cairo": "Egypt",
    "Hanoi": "Vietnam",
    "Moscow": "Russia",
}


def is_capital(written: str) -> bool:
    return written.title() in _CAPITALS


def _prose_aliases(name: str) -> list[str]:
    """How prose names a holder: its label, its aliases and its capital."""
    capitals = [city for city, holder in _CAPITALS.items() if holder == name]
    return [a for a in (name, *_ALIASES.get(name, ()), *capitals) if a not in _NOT_IN_PROSE]


# Ordinary English words that only name a country when capitalised.
_CASE_SENSITIVE: frozenset[str] = frozenset({"Turkey", "Chile", "China", "Oman", "UK", "HK", "KSA", "PRC"})

_FOOTNOTE = re.compile(r"\b\d+/")


def _key(name: str) -> str:
    """Lower-case a name and drop what does not distinguish it: quotes, footnote markers
    like "2/", periods ("U.K."), an "Of which:" prefix and a leading "the"."""
    text = name.replace("\u2019", "'").lower()
    text = _FOOTNOTE.sub(" ", text)
    text = text.replace("&", " and ").replace(".", "").replace("'", "")
    text = re.sub(r"[^a-z0-9\u00c0-\u024f]+", " ", text).strip()
    text = re.sub(r"^of which\s*", "", text)
    text = re.sub(r"^the\s+", "", text)
    return text


def _build_lookup() -> dict[str, str]:
    lookup: dict[str, str] = {}
    for name, aliases in _ALIASES.items():
        for alias in (name, *aliases):
            key = _key(alias)
            if lookup.setdefault(key, name) != name:
                raise AssertionError(f"alias {alias!r} is claimed by {lookup[key]!r} and {name!r}")
    return lookup


_LOOKUP = _build_lookup()
CANONICAL_NAMES: tuple[str, ...] = tuple(_ALIASES)


def canonical(name: str) -> str | None:
    """The canonical series name for a table row label or a user's alias, None if unknown."""
    if not isinstance(name, str):
        return None
    return _LOOKUP.get(_key(name))


def is_aggregate(name: str) -> bool:
    """True for totals, the official breakdown and multi-country groupings (any alias)."""
    return (canonical(name) or name) in AGGREGATES


def closest(name: str, n: int = 3) -> list[str]:
    """Up to n canonical names that look like `name` (for "did you mean ...?")."""
    key = _key(name)
    if not key or n <= 0:
        return []
    found: list[str] = []
    for alias_key in difflib.get_close_matches(key, list(_LOOKUP), n=len(_LOOKUP), cutoff=0.6):
        series = _LOOKUP[alias_key]
        if series not in found:
            found.append(series)
        if len(found) == n:
            break
    return found


MIN_MISSPELT = 4  # "Can", "Per", "Ire": shorter words are too often words of their own


def misspelt(word: str) -> str | None:
    """The holder a typed word misspells ("jpan", "swizterland"), when exactly one holder's
    one-word name is that close: one slip in a short word, two in a long one, and the first
    letter right. The caller decides whether the word is a word of its own ("spin", "franc")."""
    key = _key(word)
    if len(key) < MIN_MISSPELT or not key.isalpha() or key in _LOOKUP or key.removesuffix("s") in _LOOKUP:
        return None  # a name, or one with its possessive's apostrophe left out ("japans")
    found = {
        name
        for alias_key, name in _LOOKUP.items()
        if alias_key[0] == key[0]
        and " " not in alias_key
        and len(alias_key) >= MIN_MISSPELT
        and _slips(key, alias_key) <= (1 if len(key) < 7 else 2)
    }
    return found.pop() if len(found) == 1 else None


def _slips(a: str, b: str) -> int:
    """Typing slips between two words: letters left out, added, changed or swapped (the
    optimal-string-alignment distance)."""
    if abs(len(a) - len(b)) > 2:
        return 3
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            cost = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, previous2[j - 2] + 1)
            current.append(cost)
        previous2, previous = previous, current
    return previous[-1]


def _alias_pattern(alias: str) -> str:
    """A regex for an alias in prose: flexible spaces, optional commas and hyphens."""
    words = alias.replace("-", " ").split()
    parts = []
    for word in words:
        bare = word.rstrip(",")
        part = re.escape(bare).replace("'", "['\u2019]")
        if word.endswith(","):
            part += ","
        parts.append(part)
    pattern = r"[\s\-]+".join(parts).replace(r",[\s\-]+", r",?[\s\-]+")
    if alias not in _CASE_SENSITIVE:
        pattern = f"(?i:{pattern})"
    if alias == "Korea, South":
        pattern += r"(?![\s\-]+(?i:africa))"  # "Korea, South Africa and ..." is two countries
    return pattern


def _build_prose_regex() -> tuple[re.Pattern[str], dict[str, str | None]]:
    by_alias: dict[str, str | None] = {}
    for name in {*_ALIASES, *_CAPITALS.values()}:
        for alias in _prose_aliases(name):
            by_alias[alias] = name
    for alias in _FALSE_FRIENDS:
        by_alias[alias] = None
    # Longest first, so that at one position "mainland China" wins over "Mainland".
    ordered = sorted(by_alias, key=len, reverse=True)
    groups = "|".join(f"(?P<a{i}>{_alias_pattern(alias)})" for i, alias in enumerate(ordered))
    # Whole words only: "India" is not in "Indiana".
    regex = re.compile(rf"(?<!\w)(?:{groups})(?!\w)")
    names = {f"a{i}": by_alias[alias] for i, alias in enumerate(ordered)}
    return regex, names


_PROSE_REGEX, _PROSE_NAMES = _build_prose_regex()


def mentions(text: str) -> list[tuple[str, str]]:
    """Each holder mention in free text, as written and by its canonical name:
    [("Beijing", "China, Mainland"), ...]."""
    found = []
    for match in _PROSE_REGEX.finditer(text):
        name = _PROSE_NAMES[match.lastgroup] if match.lastgroup else None
        if name is not None:
            found.append((match.group(0), name))
    return found


def find_in_text(text: str) -> list[str]:
    """Canonical names mentioned in free text, in order of first mention, without repeats.

    "US"/"U.S." are never matched: in these tables the holder is always foreign.
    """
    return list(dict.fromkeys(name for _, name in mentions(text)))


@lru_cache(maxsize=512)
def _name_regex(name: str) -> re.Pattern[str]:
    aliases = sorted(_prose_aliases(name), key=len, reverse=True)
    return re.compile(rf"(?<!\w)(?:{'|'.join(_alias_pattern(a) for a in aliases)})(?!\w)")


def mentioned(text: str, names: list[str]) -> set[str]:
    """Which of these canonical names the text mentions: much cheaper than find_in_text for a few."""
    return {name for name in names if _name_regex(name).search(text)}
