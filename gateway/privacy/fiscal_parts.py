"""The parts of a codice fiscale, computed from demographics or read from a code.

A codice fiscale is ``SSS GGG YYMDD PPPP C``: three surname letters, three given-name letters,
birth year, month letter, day (plus 40 for women), the Belfiore code of the birthplace
(``Z###`` for a foreign country) and a check character. Linkage uses what a generic linker
cannot know: the first 15 characters a person's demographics would give, to meet the code a
record of the same person holds (python-codicefiscale's own encoders give the letters).
"""

from __future__ import annotations

import datetime as dt
from functools import cache, lru_cache

from codicefiscale import codicefiscale as _cf

from gateway.schema.codelists import codelist

__all__ = [
    "belfiore_of_country",
    "date_code",
    "decode_root",
    "given_letters",
    "surname_letters",
    "swapped_date",
]

_MONTHS = "ABCDEHLMPRST"


@cache
def belfiore_of_country() -> dict[str, str]:
    """ISO 3166-1 alpha-3 -> Belfiore ``Z###`` code (from ``specs/codelists/country.yaml``)."""
    return {
        iso3: str(entry["belfiore"])
        for iso3, entry in codelist("country").codes.items()
        if entry.get("belfiore")
    }


@cache
def _country_of_belfiore() -> dict[str, str]:
    return {code: iso3 for iso3, code in belfiore_of_country().items()}


@lru_cache(maxsize=100_000)
def surname_letters(folded: str) -> str:
    """The three surname letters of a (folded) family name."""
    return str(_cf.encode_lastname(folded))


@lru_cache(maxsize=100_000)
def given_letters(folded: str) -> str:
    """The three given-name letters of (folded) given names."""
    return str(_cf.encode_firstname(folded))


def date_code(birth: dt.date, sex: str) -> str:
    """Year, month letter and day (plus 40 for women): characters 7 to 11."""
    day = birth.day + (40 if sex == "F" else 0)
    return f"{birth.year % 100:02d}{_MONTHS[birth.month - 1]}{day:02d}"


def decode_root(code: str, today: dt.date) -> tuple[dt.date, str, str | None] | None:
    """Birth date, sex and ISO3 country of birth of a valid code in its digit form.

    The century is the latest that does not put the birth after ``today``; the country is
    ``ITA`` for an Italian place, None for a ``Z`` code missing from the code list.
    """
    try:
        day = int(code[9:11])
        sex = "F" if day > 40 else "M"
        day -= 40 if day > 40 else 0
        month = _MONTHS.index(code[8]) + 1
        year = today.year // 100 * 100 + int(code[6:8])
        if (year, month, day) > (today.year, today.month, today.day):
            year -= 100
        birth = dt.date(year, month, day)
    except ValueError:
        return None
    place = code[11:15]
    return birth, sex, _country_of_belfiore().get(place) if place[0] == "Z" else "ITA"


def swapped_date(birth: dt.date) -> dt.date | None:
    """The date with day and month swapped, if that is another valid date."""
    if birth.day > 12 or birth.day == birth.month:
        return None
    return dt.date(birth.year, birth.day, birth.month)
