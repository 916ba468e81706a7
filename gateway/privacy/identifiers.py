"""Personal identifiers: validation and normalisation, strongest first (BRIEF §5).

- **Codice fiscale** (16 characters): syntax, check character (CIN), a known Belfiore place code
  and a real birth date. Omocodic variants (digits replaced by ``LMNPQRSTUV`` to break
  collisions) are normalised back to the digit form, so that all variants are one identifier.
  :func:`decode_fiscal_code` also returns what the code says about the person: surname and
  given-name letters, birth date, sex, Belfiore place and, for people born abroad, the country
  (the ``Z###`` code, mapped to ISO 3166-1 alpha-3 through ``specs/codelists/country.yaml``).
- **Provisional fiscal code** (11 digits, given to asylum seekers before the final one): the
  check digit of the partita IVA algorithm (Luhn on the first ten digits).
- **STP / ENI codes** (16 characters: ``STP``/``ENI`` + 3-digit region code + 3-digit ASL code
  + 7-digit progressive): weak, and valid six months from issue (renewable).
- **Local ids**: a source system's own person id, meaningful only inside that city and source.

The checks are our own (the reference library's ``decode`` runs ~600/s and puts the code in its
error messages); python-codicefiscale provides the Belfiore table and is the oracle in tests.
Nothing here puts an identifier in a message or a repr.
"""

from __future__ import annotations

import calendar
import logging
import re
from dataclasses import dataclass, field
from datetime import date
from enum import IntEnum, StrEnum
from functools import cache

from gateway.privacy.fiscal_parts import birth_of
from gateway.schema.codelists import codelist
from gateway.schema.intake import Identifiers

log = logging.getLogger(__name__)

STP_ENI_VALIDITY_MONTHS = 6


class Kind(StrEnum):
    """Kind of identifier; part of the inner token's input, so these values never change."""

    FISCAL_CODE = "cf"
    PROVISIONAL_FISCAL_CODE = "cfp"
    STP = "stp"
    ENI = "eni"
    LOCAL = "local"


class Strength(IntEnum):
    """How much an identifier says about who someone is; higher is stronger."""

    LOCAL = 1  # one source system's id
    WEAK = 2  # STP / ENI: details self-declared, time-limited
    PROVISIONAL = 3  # provisional fiscal code, later replaced by a final one
    STRONG = 4  # codice fiscale


STRENGTH: dict[Kind, Strength] = {
    Kind.FISCAL_CODE: Strength.STRONG,
    Kind.PROVISIONAL_FISCAL_CODE: Strength.PROVISIONAL,
    Kind.STP: Strength.WEAK,
    Kind.ENI: Strength.WEAK,
    Kind.LOCAL: Strength.LOCAL,
}


class InvalidIdentifierError(ValueError):
    """An identifier fails validation. The message names the kind and the rule, not the value."""

    def __init__(self, kind: Kind, reason: str) -> None:
        super().__init__(f"invalid {kind.value}: {reason}")
        self.kind = kind
        self.reason = reason


@dataclass(frozen=True, slots=True)
class NormalisedIdentifier:
    """A valid identifier in its canonical form. The repr never shows the value."""

    kind: Kind
    value: str = field(repr=False)
    strength: Strength
    valid_until: date | None = None


@dataclass(frozen=True, slots=True)
class RejectedIdentifier:
    """An identifier that failed validation: which field and why, never the value."""

    field: str
    kind: Kind
    reason: str


@dataclass(frozen=True, slots=True, repr=False)
class FiscalCode:
    """What a codice fiscale encodes. ``code`` is the digit form (omocodia undone)."""

    code: str
    omocodic: bool
    surname_letters: str
    given_name_letters: str
    birth_date: date
    sex: str  # "M" | "F"
    place_code: str  # Belfiore: a municipality, or Z### for a foreign country
    country: str | None  # ISO 3166-1 alpha-3: "ITA" for Italian places, None if unmapped

    @property
    def born_abroad(self) -> bool:
        return self.place_code.startswith("Z")

    def __repr__(self) -> str:
        return "FiscalCode(<redacted>)"


# --- codice fiscale ------------------------------------------------------------------------

_FISCAL = Kind.FISCAL_CODE
_OMOCODIA_LETTERS = "LMNPQRSTUV"
_TO_DIGITS = str.maketrans(_OMOCODIA_LETTERS, "0123456789")
_CF_RE = re.compile(
    r"[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]"
)
_cf_match = _CF_RE.fullmatch
_digit_form_match = re.compile(
    r"[A-Z]{6}[0-9]{2}[ABCDEHLMPRST][0-9]{2}[A-Z][0-9]{3}[A-Z]"
).fullmatch
# Check character: values of each character at odd (1st, 3rd, ...) and even positions.
_ODD_VALUES = (
    "1 0 5 7 9 13 15 17 19 21"  # 0-9
    " 1 0 5 7 9 13 15 17 19 21 2 4 18 20 11 3 6 8 12 14 16 10 22 25 24 23"  # A-Z
)
_ODD = dict(zip("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", map(int, _ODD_VALUES.split()), strict=True))
_EVEN = {c: (int(c) if c.isdigit() else ord(c) - ord("A")) for c in _ODD}
_odd_value, _even_value = _ODD.__getitem__, _EVEN.__getitem__
# The same values indexed by byte, for codes the pattern has already checked.
_ODD_BYTES = bytes(_ODD.get(chr(b), 0) for b in range(256))
_EVEN_BYTES = bytes(_EVEN.get(chr(b), 0) for b in range(256))
_CHECK_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_SEPARATORS = re.compile(r"[\s.\-_/]+")


def _compact(value: str) -> str:
    if value.isascii() and value.isalnum():  # nothing to remove: the common case
        return value.upper()
    return _SEPARATORS.sub("", value).upper()


def fiscal_code_check_character(first15: str) -> str:
    """The 16th character of a codice fiscale, from its first 15 (uppercase)."""
    total = sum(map(_odd_value, first15[0::2])) + sum(map(_even_value, first15[1::2]))
    return _CHECK_LETTERS[total % 26]


@cache
def _places() -> dict[str, str | None]:
    """Belfiore code -> ISO3 country ("ITA" for Italian municipalities, None if unmapped)."""
    from codicefiscale.data import get_indexed_data  # heavy (~0.3 s): load on first use

    by_belfiore = {
        str(entry["belfiore"]): iso3
        for iso3, entry in codelist("country").codes.items()
        if entry.get("belfiore")
    }
    places: dict[str, str | None] = {}
    for code in get_indexed_data()["codes"]:
        places[code] = by_belfiore.get(code) if code.startswith("Z") else "ITA"
    return places


def _decode(code: str, today: date | None) -> tuple[str, bool, date, str, str, str | None]:
    """Digit form, omocodic, birth date, sex, place and country of a compacted code, or raise."""
    if len(code) != 16:
        raise InvalidIdentifierError(_FISCAL, "must be 16 characters")
    # Most codes are in digit form: one match tells that and checks the pattern.
    omocodic = _digit_form_match(code) is None
    if omocodic and _cf_match(code) is None:
        raise InvalidIdentifierError(_FISCAL, "not the codice fiscale pattern")
    raw = code.encode()  # ASCII: the pattern admits nothing else
    total = sum(raw[0:15:2].translate(_ODD_BYTES)) + sum(raw[1:15:2].translate(_EVEN_BYTES))
    if _CHECK_LETTERS[total % 26] != code[15]:
        raise InvalidIdentifierError(_FISCAL, "wrong check character")
    if omocodic:  # digits replaced by letters at positions 7-8, 10-11 and 13-15
        base = (
            code[:6]
            + code[6:8].translate(_TO_DIGITS)
            + code[8]
            + code[9:11].translate(_TO_DIGITS)
            + code[11]
            + code[12:15].translate(_TO_DIGITS)
        )
        base += fiscal_code_check_character(base)
    else:
        base = code
    born = birth_of(base[6:11], today or date.today())
    if born is None:
        raise InvalidIdentifierError(_FISCAL, "day of birth out of range")
    place = base[11:15]
    places = _places()
    if place not in places:
        raise InvalidIdentifierError(_FISCAL, "unknown Belfiore place code")
    return base, omocodic, born[0], born[1], place, places[place]


def decode_fiscal_code(value: str, *, today: date | None = None) -> FiscalCode:
    """Validate a codice fiscale and decode it; raise :class:`InvalidIdentifierError`.

    Spaces, dots and dashes are ignored and case is folded. Two-digit years are put in the
    latest century that does not place the birth after ``today``.
    """
    base, omocodic, birth, sex, place, country = _decode(_compact(value), today)
    return FiscalCode(
        code=base,
        omocodic=omocodic,
        surname_letters=base[0:3],
        given_name_letters=base[3:6],
        birth_date=birth,
        sex=sex,
        place_code=place,
        country=country,
    )


def normalise_fiscal_code(value: str) -> str:
    """The canonical (digit, uppercase) form of a valid codice fiscale."""
    return decode_fiscal_code(value).code


# --- provisional fiscal code ---------------------------------------------------------------


def luhn_check_digit(first10: str) -> str:
    """Check digit of an 11-digit provisional fiscal code / partita IVA, from its first 10."""
    total = 0
    for i, c in enumerate(first10):
        d = ord(c) - 48
        if i % 2 == 1:  # 2nd, 4th, ... digits are doubled
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def normalise_provisional_fiscal_code(value: str) -> str:
    """The canonical form of an 11-digit provisional fiscal code, or raise."""
    kind = Kind.PROVISIONAL_FISCAL_CODE
    code = _compact(value)
    if len(code) != 11 or not code.isascii() or not code.isdigit():
        raise InvalidIdentifierError(kind, "must be 11 digits")
    if code[:10] == "0000000000":
        raise InvalidIdentifierError(kind, "all zeros")
    if luhn_check_digit(code[:10]) != code[10]:
        raise InvalidIdentifierError(kind, "wrong check digit")
    return code


# --- STP / ENI ----------------------------------------------------------------------------

_STP_ENI_RE = re.compile(r"(STP|ENI)([0-9]{3})([0-9]{3})([0-9]{7})")
# Region codes of the national health information system (NSIS), as used in STP/ENI codes.
# 010 Piemonte ... 041/042 Bolzano/Trento ... 200 Sardegna.
HEALTH_REGION_CODES = frozenset(
    [f"{region:03d}" for region in (*range(10, 31, 10), 41, 42, *range(50, 201, 10))]
)


def normalise_stp_eni(value: str, kind: Kind | None = None) -> tuple[Kind, str]:
    """The kind (STP or ENI, from the prefix) and canonical form of the code, or raise.

    If ``kind`` is given (the field the value came in), the prefix must agree with it.
    """
    reported = kind or Kind.STP
    code = _compact(value)
    if len(code) != 16:
        raise InvalidIdentifierError(reported, "must be 16 characters")
    match = _STP_ENI_RE.fullmatch(code)
    if not match:
        raise InvalidIdentifierError(reported, "not STP/ENI + 13 digits")
    found = Kind.STP if match[1] == "STP" else Kind.ENI
    if kind is not None and found is not kind:
        raise InvalidIdentifierError(reported, "prefix does not match the field")
    if match[2] not in HEALTH_REGION_CODES:
        raise InvalidIdentifierError(found, "unknown region code")
    if match[4] == "0000000":
        raise InvalidIdentifierError(found, "progressive number is zero")
    return found, code


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months, clamped to the end of the month."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def stp_eni_valid_until(issued_or_seen_on: date | None) -> date | None:
    """Last day an STP/ENI code can be in force: six months after its issue.

    Given the day the code was seen in use instead of its issue day, this is an upper bound
    (it was issued then or earlier). Renewal extends it: keep the latest value seen.
    """
    if issued_or_seen_on is None:
        return None
    return add_months(issued_or_seen_on, STP_ENI_VALIDITY_MONTHS)


# --- local ids -----------------------------------------------------------------------------


def local_identifier(local_id: str, *, city: str, source: str) -> str:
    """A source system's person id, namespaced so that ids of two sources never collide."""
    value = local_id.strip()
    if not value:
        raise InvalidIdentifierError(Kind.LOCAL, "empty")
    return f"{city}/{source}/{value}"


# --- all identifiers of a subject ----------------------------------------------------------


_PROVISIONAL = Kind.PROVISIONAL_FISCAL_CODE
_FISCAL_FIELDS = ("fiscal_code", "provisional_fiscal_code")
_STP_ENI_FIELDS = (("stp_code", Kind.STP), ("eni_code", Kind.ENI))


def _strongest_first(item: NormalisedIdentifier) -> int:
    return -item.strength


def check_identifiers(
    identifiers: Identifiers, *, city: str, source: str, seen_on: date | None = None
) -> tuple[list[NormalisedIdentifier], list[RejectedIdentifier]]:
    """Valid identifiers (strongest first, no duplicates) and the rejected ones.

    A value is classified by its shape, not only by the field it arrived in: a provisional
    code sent in ``fiscal_code`` is still a provisional code, an ENI code sent as ``stp_code``
    an ENI code.
    """
    found: list[NormalisedIdentifier] = []
    rejected: list[RejectedIdentifier] = []

    for name in _FISCAL_FIELDS:
        raw = getattr(identifiers, name)
        if raw is None:
            continue
        compact = _compact(raw)
        try:
            if len(compact) == 11 and compact.isdigit():
                value = normalise_provisional_fiscal_code(compact)
                found.append(NormalisedIdentifier(_PROVISIONAL, value, Strength.PROVISIONAL))
            elif name == "provisional_fiscal_code" and len(compact) != 16:
                raise InvalidIdentifierError(_PROVISIONAL, "must be 11 digits")
            else:
                value = _decode(compact, seen_on)[0]
                found.append(NormalisedIdentifier(_FISCAL, value, Strength.STRONG))
        except InvalidIdentifierError as exc:
            rejected.append(RejectedIdentifier(name, exc.kind, exc.reason))
    for name, kind in _STP_ENI_FIELDS:
        raw = getattr(identifiers, name)
        if raw is None:
            continue
        try:
            actual, code = normalise_stp_eni(raw)
        except InvalidIdentifierError as exc:
            rejected.append(RejectedIdentifier(name, kind, exc.reason))
        else:
            found.append(
                NormalisedIdentifier(actual, code, STRENGTH[actual], stp_eni_valid_until(seen_on))
            )
    if identifiers.local_id is not None:
        try:
            value = local_identifier(identifiers.local_id, city=city, source=source)
        except InvalidIdentifierError as exc:
            rejected.append(RejectedIdentifier("local_id", Kind.LOCAL, exc.reason))
        else:
            found.append(NormalisedIdentifier(Kind.LOCAL, value, Strength.LOCAL))

    if len(found) < 2:  # nothing to order or drop
        return found, rejected
    unique: dict[tuple[Kind, str], NormalisedIdentifier] = {}
    for item in found:
        unique.setdefault((item.kind, item.value), item)
    ordered = sorted(unique.values(), key=_strongest_first)
    return ordered, rejected


def identifiers_of(
    identifiers: Identifiers, *, city: str, source: str, seen_on: date | None = None
) -> list[NormalisedIdentifier]:
    """Valid identifiers of a subject, strongest first; invalid ones are logged and skipped.

    The log line names the city, source, field and rule — never the value.
    """
    valid, rejected = check_identifiers(identifiers, city=city, source=source, seen_on=seen_on)
    for item in rejected:
        log.info(
            "identifier ignored: %s %s",
            item.field,
            item.reason,
            extra={"city": city, "source": source, "field": item.field, "rule": item.reason},
        )
    return valid
