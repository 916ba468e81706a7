"""The parts of a codice fiscale, computed from demographics or read from a code.

A codice fiscale is ``SSS GGG YYMDD PPPP C``: three surname letters, three given-name letters,
birth year, month letter, day (plus 40 for women), the Belfiore code of the birthplace
(``Z###`` for a foreign country) and a check character. Linkage uses what a generic linker
cannot know: the first 15 characters a person's demographics would give, to meet the code a
record of the same person holds (python-codicefiscale's encoders define the letters; for
folded names a table-driven equivalent gives them, tested against the encoders).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from functools import cache, lru_cache

from codicefiscale import codicefiscale as _cf

from gateway.schema.codelists import codelist

__all__ = [
    "belfiore_of_country",
    "birth_of",
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


# Names as :func:`gateway.privacy.names.fold` gives them: ASCII capitals and spaces. For these
# python-codicefiscale's encoders (slugify, then consonants and vowels) reduce to two
# translations; anything else still goes through them.
_FOLDED = re.compile(r"[A-Z ]*")
_CONSONANTS_OF = str.maketrans("", "", "AEIOU ")
_VOWELS_OF = str.maketrans("", "", "BCDFGHJKLMNPQRSTVWXYZ ")


@lru_cache(maxsize=100_000)
def surname_letters(folded: str) -> str:
    """The three surname letters of a (folded) family name."""
    if _FOLDED.fullmatch(folded) is None:
        return str(_cf.encode_lastname(folded))
    return (folded.translate(_CONSONANTS_OF) + folded.translate(_VOWELS_OF) + "XXX")[:3]


@lru_cache(maxsize=100_000)
def given_letters(folded: str) -> str:
    """The three given-name letters of (folded) given names."""
    if _FOLDED.fullmatch(folded) is None:
        return str(_cf.encode_firstname(folded))
    consonants = folded.translate(_CONSONANTS_OF)
    if len(consonants) > 3:  # the 1st, 3rd and 4th consonants
        consonants = consonants[0] + consonants[2:]
    return (consonants + folded.translate(_VOWELS_OF) + "XXX")[:3]


_TWO_DIGITS = tuple(f"{n:02d}" for n in range(100))


def date_code(birth: dt.date, sex: str) -> str:
    """Year, month letter and day (plus 40 for women): characters 7 to 11."""
    day = birth.day + 40 if sex == "F" else birth.day
    return _TWO_DIGITS[birth.year % 100] + _MONTHS[birth.month - 1] + _TWO_DIGITS[day]


@lru_cache(maxsize=1 << 14)
def birth_of(digits: str, today: dt.date) -> tuple[dt.date, str] | None:
    """Birth date and sex from characters 7 to 11 of a code in digit form; None if no such day.

    The century is the latest that does not put the birth after ``today``. Raises
    ValueError if the characters are not digits and a month letter.
    """
    day = int(digits[3:5])
    sex = "M"
    if day > 40:
        day, sex = day - 40, "F"
    month = _MONTHS.index(digits[2]) + 1
    year = today.year // 100 * 100 + int(digits[0:2])
    if (year, month, day) > (today.year, today.month, today.day):
        year -= 100
    if not 1 <= day <= calendar.monthrange(year, month)[1]:
        return None
    return dt.date(year, month, day), sex


def decode_root(code: str, today: dt.date) -> tuple[dt.date, str, str | None] | None:
    """Birth date, sex and ISO3 country of birth of a valid code in its digit form.

    The century is the latest that does not put the birth after ``today``; the country is
    ``ITA`` for an Italian place, None for a ``Z`` code missing from the code list.
    """
    try:
        born = birth_of(code[6:11], today)
    except ValueError:
        return None
    if born is None:
        return None
    place = code[11:15]
    return born[0], born[1], _country_of_belfiore().get(place) if place[0] == "Z" else "ITA"


def swapped_date(birth: dt.date) -> dt.date | None:
    """The date with day and month swapped, if that is another valid date."""
    if birth.day > 12 or birth.day == birth.month:
        return None
    return dt.date(birth.year, birth.day, birth.month)
