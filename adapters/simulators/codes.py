"""Synthetic personal codes: codice fiscale, provisional fiscal code, STP and ENI codes.

Fiscal codes come from python-codicefiscale's own encoders (surname and given-name letters,
check character); the birth-date part is computed here because the library's parser only
takes ``datetime`` and strings, and the place is a Belfiore code the caller already knows
(``Z###`` for a foreign country). ``codicefiscale.encode`` gives the same result ~30 times
slower (it looks the place up by name); the tests check the two agree.
"""

from __future__ import annotations

import datetime as dt
import random
import zlib
from functools import cache

from codicefiscale import codicefiscale as _cf

__all__ = [
    "HEALTH_REGION_CODES",
    "fiscal_code",
    "omocodic_form",
    "provisional_check_digit",
    "provisional_fiscal_code",
    "salt",
    "scramble",
    "stp_eni_code",
]

_MONTHS = "ABCDEHLMPRST"
_OMOCODIA = str.maketrans("0123456789", "LMNPQRSTUV")
_OMOCODIA_POSITIONS = (14, 13, 12, 10, 9, 7, 6)  # substituted right to left

# Region codes used in STP/ENI codes (NSIS), by region name as written in specs/cities.yaml.
HEALTH_REGION_CODES = {
    "Piemonte": "010", "Lombardia": "030", "Trentino-Alto Adige": "041", "Veneto": "050",
    "Friuli-Venezia Giulia": "060", "Liguria": "070", "Emilia-Romagna": "080", "Toscana": "090",
    "Umbria": "100", "Marche": "110", "Lazio": "120", "Abruzzo": "130", "Molise": "140",
    "Campania": "150", "Puglia": "160", "Basilicata": "170", "Calabria": "180",
    "Sicilia": "190", "Sardegna": "200",
}  # fmt: skip


@cache
def _surname_letters(name: str) -> str:
    return str(_cf.encode_lastname(name))


@cache
def _given_letters(name: str) -> str:
    return str(_cf.encode_firstname(name))


def fiscal_code(family: str, given: str, sex: str, birth: dt.date, place: str) -> str:
    """The codice fiscale of a person (``place``: Belfiore code of the birthplace)."""
    day = birth.day + (40 if sex == "F" else 0)
    root = (
        f"{_surname_letters(family)}{_given_letters(given)}"
        f"{birth.year % 100:02d}{_MONTHS[birth.month - 1]}{day:02d}{place}"
    )
    return root + str(_cf.encode_cin(root))


def omocodic_form(code: str, rng: random.Random) -> str:
    """The same code with 1-3 of its rightmost digits written as omocodia letters."""
    chars = list(code[:15])
    for position in _OMOCODIA_POSITIONS[: rng.randint(1, 3)]:
        chars[position] = chars[position].translate(_OMOCODIA)
    root = "".join(chars)
    return root + str(_cf.encode_cin(root))


def provisional_check_digit(first10: str) -> str:
    """Check digit of an 11-digit provisional fiscal code (the partita IVA algorithm)."""
    total = 0
    for i, c in enumerate(first10):
        d = ord(c) - 48
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def provisional_fiscal_code(number: int) -> str:
    """The provisional fiscal code with body ``number`` (0 < number < 10**10)."""
    body = f"{number % 10**10:010d}"
    if body == "0000000000":
        body = "0000000001"
    return body + provisional_check_digit(body)


def stp_eni_code(prefix: str, region: str, asl: int, progressive: int) -> str:
    """An STP or ENI code: prefix, region code, ASL code, 7-digit progressive number."""
    return f"{prefix}{region}{asl % 1000:03d}{max(1, progressive % 10**7):07d}"


def scramble(value: int, salt: int, modulus: int) -> int:
    """An affine bijection of ``[0, modulus)``: distinct inputs give distinct ids that do not
    reveal the person id. ``modulus`` is a power of ten or a prime (the multiplier is coprime
    with both)."""
    multiplier = (salt * 2 + 1) * 7919 % modulus
    while multiplier % 2 == 0 or multiplier % 5 == 0:
        multiplier += 1
    return (value * multiplier + salt) % modulus


def salt(*parts: str) -> int:
    """A stable small integer from strings (``hash()`` of a str changes between processes)."""
    return zlib.crc32("/".join(parts).encode()) & 0xFFFFF
