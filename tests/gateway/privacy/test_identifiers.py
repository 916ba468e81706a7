"""gateway.privacy.identifiers: codice fiscale, provisional codes, STP/ENI, local ids."""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Collection
from datetime import date

import pytest
from codicefiscale import codicefiscale
from codicefiscale.data import get_indexed_data

from gateway.privacy.identifiers import (
    FiscalCode,
    InvalidIdentifierError,
    Kind,
    NormalisedIdentifier,
    Strength,
    add_months,
    check_identifiers,
    decode_fiscal_code,
    identifiers_of,
    luhn_check_digit,
    normalise_fiscal_code,
    normalise_provisional_fiscal_code,
    normalise_stp_eni,
    stp_eni_valid_until,
)
from gateway.schema.intake import Identifiers

# Synthetic people: (family, given, sex, birth date, place, expected ISO3 country of birth).
PEOPLE = [
    ("Rossi", "Maria", "F", "1980-03-15", "Roma", "ITA"),
    ("Diallo", "Mamadou", "M", "1995-07-02", "Senegal", "SEN"),
    ("Rahman", "Mohammed", "M", "2001-12-31", "Bangladesh", "BGD"),
    ("Kovalenko", "Olena", "F", "1978-02-28", "Ucraina", "UKR"),
    ("Okafor", "Chinedu", "M", "1990-10-09", "Nigeria", "NGA"),
    ("Bianchi", "Luca", "M", "1955-01-01", "Bolzano", "ITA"),
    ("El Amrani", "Fatima", "F", "2004-02-29", "Marocco", "MAR"),
]


def encode(person: tuple[str, ...]) -> str:
    family, given, sex, born, place, _ = person
    return str(codicefiscale.encode(family, given, sex, born, place))


@pytest.mark.parametrize("person", PEOPLE, ids=[p[0] for p in PEOPLE])
def test_a_valid_fiscal_code_decodes_to_what_it_encodes(person: tuple[str, ...]) -> None:
    code = encode(person)
    decoded = decode_fiscal_code(code, today=date(2026, 1, 1))
    reference = codicefiscale.decode(code)
    assert decoded.code == code and not decoded.omocodic
    assert decoded.birth_date == date.fromisoformat(person[3])
    assert decoded.birth_date == reference["birthdate"].date()
    assert decoded.sex == person[2] == reference["gender"]
    assert decoded.place_code == reference["birthplace"]["code"] == code[11:15]
    assert decoded.country == person[5]
    assert decoded.born_abroad == (person[5] != "ITA")
    assert decoded.surname_letters == code[:3] and decoded.given_name_letters == code[3:6]


@pytest.mark.parametrize("person", PEOPLE[:3], ids=[p[0] for p in PEOPLE[:3]])
def test_every_omocodic_variant_normalises_to_the_digit_form(person: tuple[str, ...]) -> None:
    code = encode(person)
    variants = codicefiscale.decode(code)["omocodes"]
    assert len(variants) == 128 and variants[0] == code
    for variant in variants[1:]:
        assert codicefiscale.is_omocode(variant)
        decoded = decode_fiscal_code(variant)
        assert decoded.code == code and decoded.omocodic
        assert decoded.birth_date == date.fromisoformat(person[3])


def test_input_is_compacted_and_case_folded() -> None:
    code = encode(PEOPLE[0])
    spaced = f" {code[:6].lower()} {code[6:11]}-{code[11:]} "
    assert normalise_fiscal_code(spaced) == code


def test_validity_agrees_with_python_codicefiscale_on_mutated_codes() -> None:
    rng = random.Random(3)
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    checked = 0
    for person in PEOPLE:
        code = encode(person)
        for _ in range(60):
            i = rng.randrange(16)
            mutated = code[:i] + rng.choice(alphabet) + code[i + 1 :]
            try:
                decode_fiscal_code(mutated)
                ours = True
            except InvalidIdentifierError:
                ours = False
            assert ours == codicefiscale.is_valid(mutated), (person[0], i)
            checked += 1
    assert checked == 60 * len(PEOPLE)


INVALID_FISCAL_CODES = [
    ("RSSMRA80C15H501", "must be 16 characters"),
    ("RSSMRA80C15H501MX", "must be 16 characters"),
    ("RSSMRA80X15H501M", "not the codice fiscale pattern"),
    ("1SSMRA80C15H501M", "not the codice fiscale pattern"),
    ("RSSMRA80C15H501A", "wrong check character"),
]


@pytest.mark.parametrize(("value", "reason"), INVALID_FISCAL_CODES)
def test_invalid_fiscal_codes_name_the_rule_not_the_value(value: str, reason: str) -> None:
    with pytest.raises(InvalidIdentifierError) as caught:
        decode_fiscal_code(value)
    assert caught.value.reason == reason
    assert value not in str(caught.value) and value[:6] not in str(caught.value)


def _with_check_character(first15: str) -> str:
    from gateway.privacy.identifiers import fiscal_code_check_character

    return first15 + fiscal_code_check_character(first15)


def test_impossible_days_and_unknown_places_are_invalid() -> None:
    with pytest.raises(InvalidIdentifierError, match="day of birth"):
        decode_fiscal_code(_with_check_character("RSSMRA80B30H501"))  # 30 February
    with pytest.raises(InvalidIdentifierError, match="day of birth"):
        decode_fiscal_code(_with_check_character("RSSMRA80C35H501"))  # day 35: neither sex
    with pytest.raises(InvalidIdentifierError, match="Belfiore"):
        decode_fiscal_code(_with_check_character("RSSMRA80C15Z999"))
    assert decode_fiscal_code(_with_check_character("RSSMRA80C55H501")).sex == "F"


def test_two_digit_years_fall_in_the_latest_century_not_after_today() -> None:
    code = encode(("Verdi", "Anna", "F", "1925-05-05", "Roma", "ITA"))
    # The code cannot tell 1925 from 2025: the latest date not after today wins.
    assert decode_fiscal_code(code, today=date(2026, 1, 1)).birth_date.year == 2025
    assert decode_fiscal_code(code, today=date(2025, 5, 4)).birth_date.year == 1925
    assert decode_fiscal_code(code, today=date(2025, 5, 5)).birth_date.year == 2025


def test_reprs_never_show_the_identifier() -> None:
    code = encode(PEOPLE[1])
    decoded = decode_fiscal_code(code)
    assert isinstance(decoded, FiscalCode)
    assert code not in repr(decoded) and "1995" not in repr(decoded)
    item = NormalisedIdentifier(Kind.FISCAL_CODE, code, Strength.STRONG)
    assert code not in repr(item) and code not in str(item)


# --- provisional fiscal codes -----------------------------------------------------------------


def luhn_valid(number: str) -> bool:
    """The textbook Luhn check, independent of the code under test."""
    total = 0
    for i, c in enumerate(reversed(number)):
        d = int(c)
        if i % 2 == 1:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return total % 10 == 0


def test_provisional_check_digit_is_the_partita_iva_luhn_digit() -> None:
    assert luhn_check_digit("0123456789") == "7"  # the textbook partita IVA example
    rng = random.Random(5)
    for _ in range(500):
        first = f"{rng.randrange(10**10):010d}"
        code = first + luhn_check_digit(first)
        assert luhn_valid(code)
        assert normalise_provisional_fiscal_code(code) == code
        wrong = first + str((int(code[-1]) + 1) % 10)
        with pytest.raises(InvalidIdentifierError, match="check digit"):
            normalise_provisional_fiscal_code(wrong)


@pytest.mark.parametrize(
    ("value", "reason"),
    [("1234567890", "11 digits"), ("1234567890A", "11 digits"), ("00000000000", "all zeros")],
)
def test_invalid_provisional_codes(value: str, reason: str) -> None:
    with pytest.raises(InvalidIdentifierError, match=reason) as caught:
        normalise_provisional_fiscal_code(value)
    assert value not in str(caught.value)


# --- STP / ENI ---------------------------------------------------------------------------------


def test_stp_and_eni_codes_are_normalised_and_kinded_by_prefix() -> None:
    assert normalise_stp_eni("stp 120 201 0001234") == (Kind.STP, "STP1202010001234")
    assert normalise_stp_eni("ENI0411010000007") == (Kind.ENI, "ENI0411010000007")
    with pytest.raises(InvalidIdentifierError, match="prefix"):
        normalise_stp_eni("ENI0411010000007", Kind.STP)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("STP12020100012", "16 characters"),
        ("XYZ1202010001234", "STP/ENI"),
        ("STP12020100012AB", "STP/ENI"),
        ("STP9992010001234", "region"),
        ("STP1202010000000", "progressive"),
    ],
)
def test_invalid_stp_codes(value: str, reason: str) -> None:
    with pytest.raises(InvalidIdentifierError, match=reason) as caught:
        normalise_stp_eni(value)
    assert value not in str(caught.value)


def test_stp_validity_is_six_months_from_issue_clamped_to_month_end() -> None:
    assert stp_eni_valid_until(date(2025, 1, 15)) == date(2025, 7, 15)
    assert stp_eni_valid_until(date(2025, 8, 31)) == date(2026, 2, 28)
    assert stp_eni_valid_until(date(2023, 8, 31)) == date(2024, 2, 29)
    assert stp_eni_valid_until(None) is None
    assert add_months(date(2025, 12, 1), 1) == date(2026, 1, 1)


# --- all identifiers of a subject -------------------------------------------------------------


def test_identifiers_of_orders_strongest_first_and_namespaces_local_ids() -> None:
    code = encode(PEOPLE[1])
    first = "9876543210"
    provisional = first + luhn_check_digit(first)
    subject = Identifiers(
        local_id="P-77",
        stp_code="STP1202010001234",
        provisional_fiscal_code=provisional,
        fiscal_code=code,
        eni_code="ENI0411010000007",
    )
    found = identifiers_of(subject, city="roma", source="welfare", seen_on=date(2025, 3, 1))
    assert [i.kind for i in found] == [
        Kind.FISCAL_CODE,
        Kind.PROVISIONAL_FISCAL_CODE,
        Kind.STP,
        Kind.ENI,
        Kind.LOCAL,
    ]
    assert [i.strength for i in found] == sorted((i.strength for i in found), reverse=True)
    assert found[2].valid_until == date(2025, 9, 1) and found[0].valid_until is None
    assert found[-1].value == "roma/welfare/P-77"
    other = identifiers_of(Identifiers(local_id="P-77"), city="roma", source="health")
    assert other[0].value != found[-1].value


def test_values_are_classified_by_shape_and_duplicates_dropped() -> None:
    code = encode(PEOPLE[0])
    first = "1111111111"
    provisional = first + luhn_check_digit(first)
    subject = Identifiers(fiscal_code=provisional, provisional_fiscal_code=provisional)
    found, rejected = check_identifiers(subject, city="roma", source="w")
    assert [i.kind for i in found] == [Kind.PROVISIONAL_FISCAL_CODE] and not rejected
    omocodic = codicefiscale.decode(code)["omocodes"][5]
    found, _ = check_identifiers(
        Identifiers(fiscal_code=omocodic, provisional_fiscal_code=code), city="roma", source="w"
    )
    assert [(i.kind, i.value) for i in found] == [(Kind.FISCAL_CODE, code)]
    found, _ = check_identifiers(Identifiers(stp_code="ENI0411010000007"), city="roma", source="w")
    assert [i.kind for i in found] == [Kind.ENI]


def test_invalid_identifiers_are_reported_without_value_and_skipped(caplog) -> None:
    bad_code = encode(PEOPLE[2])[:15] + "Z"
    subject = Identifiers(
        fiscal_code=bad_code if bad_code[-1] != encode(PEOPLE[2])[-1] else "RSSMRA80C15H501A",
        provisional_fiscal_code="12345678901",
        stp_code="STP9992010001234",
        local_id="L1",
    )
    with caplog.at_level(logging.INFO, logger="gateway.privacy.identifiers"):
        found = identifiers_of(subject, city="roma", source="welfare")
    assert [i.kind for i in found] == [Kind.LOCAL]
    _, rejected = check_identifiers(subject, city="roma", source="welfare")
    assert [(r.field, r.kind) for r in rejected] == [
        ("fiscal_code", Kind.FISCAL_CODE),
        ("provisional_fiscal_code", Kind.PROVISIONAL_FISCAL_CODE),
        ("stp_code", Kind.STP),
    ]
    assert len(caplog.records) == 3
    text = " ".join(r.getMessage() + repr(r.__dict__) for r in caplog.records)
    for value in (subject.fiscal_code, "12345678901", "STP9992010001234"):
        assert value is not None and value not in text


# --- the table-driven checks against a plain reference ------------------------------------


def reference_decode(
    value: str, today: date, places: Collection[str]
) -> tuple[str, date, str, str] | str:
    """A straightforward decoder (python-codicefiscale's tables): digit form, birth date, sex
    and place of a code, or the rule it fails."""
    import calendar
    import re

    code = re.sub(r"[\s.\-_/]+", "", value).upper()
    if len(code) != 16:
        return "must be 16 characters"
    digit = "[0-9LMNPQRSTUV]"
    if not re.fullmatch(
        f"[A-Z]{{6}}{digit}{{2}}[ABCDEHLMPRST]{digit}{{2}}[A-Z]{digit}{{3}}[A-Z]", code
    ):
        return "not the codice fiscale pattern"
    if codicefiscale.encode_cin(code[:15]) != code[15]:
        return "wrong check character"
    chars = list(code[:15])
    for i in (6, 7, 9, 10, 12, 13, 14):
        if chars[i] in "LMNPQRSTUV":
            chars[i] = str("LMNPQRSTUV".index(chars[i]))
    base = "".join(chars)
    base += codicefiscale.encode_cin(base)
    day = int(base[9:11])
    sex = "F" if day > 40 else "M"
    day -= 40 if day > 40 else 0
    month = "ABCDEHLMPRST".index(base[8]) + 1
    year = today.year // 100 * 100 + int(base[6:8])
    if (year, month, day) > (today.year, today.month, today.day):
        year -= 100
    if not 1 <= day <= calendar.monthrange(year, month)[1]:
        return "day of birth out of range"
    if base[11:15] not in places:
        return "unknown Belfiore place code"
    return base, date(year, month, day), sex, base[11:15]


def random_code(rng: random.Random) -> str:
    """Mostly valid codes, many omocodic, some mutated, cut or spaced."""
    letters, digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789"
    place = rng.choice(["H501", "A794", "Z330", "Z343", "Z999", "F205", "A000"])
    day = rng.choice([rng.randrange(1, 32), rng.randrange(41, 72), rng.randrange(100)])
    first15 = "".join(rng.choice(letters) for _ in range(6))
    first15 += f"{rng.randrange(100):02d}{rng.choice('ABCDEHLMPRST')}{day:02d}{place}"
    if rng.random() < 0.5:
        chars = list(first15)
        for i in (6, 7, 9, 10, 12, 13, 14):
            if rng.random() < 0.3:
                chars[i] = "LMNPQRSTUV"[int(chars[i])]
        first15 = "".join(chars)
    code = first15 + codicefiscale.encode_cin(first15)
    r = rng.random()
    if r < 0.2:
        i = rng.randrange(16)
        code = code[:i] + rng.choice(letters + digits + " -é") + code[i + 1 :]
    elif r < 0.25:
        code = code[: rng.randrange(16)]
    elif r < 0.35:
        code = f" {code[:6].lower()}.{code[6:11]}-{code[11:]} "
    return code


def test_decoding_agrees_with_a_plain_reference_on_random_and_omocodic_codes() -> None:
    rng = random.Random(11)
    places = frozenset(get_indexed_data()["codes"])
    outcomes = set()
    for n in range(4000):
        code = random_code(rng)
        today = date(rng.randrange(1990, 2040), rng.randrange(1, 13), rng.randrange(1, 29))
        expected = reference_decode(code, today, places)
        try:
            decoded = decode_fiscal_code(code, today=today)
        except InvalidIdentifierError as exc:
            assert exc.reason == expected, n
            outcomes.add(exc.reason)
            continue
        assert isinstance(expected, tuple), n
        base, birth, sex, place = expected
        assert (decoded.code, decoded.birth_date, decoded.sex, decoded.place_code) == (
            base,
            birth,
            sex,
            place,
        ), n
        assert decoded.omocodic == (base != re.sub(r"[\s.\-_/]+", "", code).upper())
        found, rejected = check_identifiers(
            Identifiers(fiscal_code=code), city="roma", source="w", seen_on=today
        )
        assert [i.value for i in found] == [base] and not rejected
        outcomes.add("valid, omocodic" if decoded.omocodic else "valid")
    assert len(outcomes) == 7  # every rule, and both forms of a valid code, were exercised


def test_check_character_agrees_with_python_codicefiscale() -> None:
    from gateway.privacy.identifiers import fiscal_code_check_character

    rng = random.Random(13)
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    for _ in range(2000):
        first15 = "".join(rng.choice(alphabet) for _ in range(15))
        assert fiscal_code_check_character(first15) == codicefiscale.encode_cin(first15)


def test_code_letters_of_folded_names_agree_with_python_codicefiscale() -> None:
    from gateway.privacy import fiscal_parts

    rng = random.Random(17)
    names = ["", " ", "O", "AI", "BCD", "MARIA", "EL AMRANI", "DE LA CRUZ", "KOVALENKO OLENA"]
    names += ["".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ   ") for _ in range(rng.randrange(12)))
              for _ in range(1000)]  # fmt: skip
    names += ["Maria", "d'Angelo", "Nguyễn", "O-Brien", "3RD"]  # not folded: the encoders' way
    for name in names:
        surname = fiscal_parts.surname_letters.__wrapped__(name)
        given = fiscal_parts.given_letters.__wrapped__(name)
        assert surname == codicefiscale.encode_lastname(name), name
        assert given == codicefiscale.encode_firstname(name), name


def test_decode_root_reads_valid_codes_and_refuses_the_rest() -> None:
    from gateway.privacy import fiscal_parts

    today = date(2026, 1, 1)
    for person in PEOPLE:
        code = encode(person)
        decoded = decode_fiscal_code(code, today=today)
        assert fiscal_parts.decode_root(code, today) == (
            decoded.birth_date,
            decoded.sex,
            decoded.country,
        )
        birth = decoded.birth_date
        assert fiscal_parts.date_code(birth, decoded.sex) == code[6:11]
    assert fiscal_parts.decode_root(_with_check_character("RSSMRA80B30H501"), today) is None
    assert fiscal_parts.decode_root("RSSMRA8", today) is None
    assert fiscal_parts.decode_root("RSSMRAXXC15H501M", today) is None
