"""Synthetic (never real) intake records and CSV rows for the sync tests and benchmarks."""

from __future__ import annotations

import datetime as dt
from typing import Any

from gateway.privacy.identifiers import fiscal_code_check_character

_MONTHS = "ABCDEHLMPRST"
_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"  # consonants: 20**6 = 64 million distinct codes


def _letters(n: int) -> str:
    letters = []
    for _ in range(6):
        n, digit = divmod(n, len(_ALPHABET))
        letters.append(_ALPHABET[digit])
    return "".join(letters)


def family_name(n: int) -> str:
    """A made-up family name whose fiscal-code letters are those of :func:`fiscal_code`."""
    a, b, c = _letters(n)[:3]
    return f"{a}a{b}e{c}o".capitalize()


def given_name(n: int) -> str:
    a, b, c = _letters(n)[3:]
    return f"{a}i{b}a{c}u".capitalize()


def birth_date(n: int) -> dt.date:
    return dt.date(1960 + n % 40, 1 + n // 40 % 12, 1 + n // 480 % 28)


def fiscal_code(n: int, *, female: bool = False) -> str:
    """A valid, synthetic codice fiscale, distinct for each ``n``, consistent with the
    names and birth date of person ``n`` (born in Morocco)."""
    born = birth_date(n)
    day = born.day + (40 if female else 0)
    first15 = f"{_letters(n)}{born.year % 100:02d}{_MONTHS[born.month - 1]}{day:02d}Z330"
    return first15 + fiscal_code_check_character(first15)


def intake(n: int, *, city: str = "roma", source: str = "welfare-csv", **changes: Any) -> dict:
    """An intake-record dict (JSON-ready) for synthetic person ``n``."""
    record = {
        "source": {
            "city": city,
            "source": source,
            "system": "welfare",
            "record_id": f"R{n:07d}",
            "updated_at": "2025-03-01T10:00:00+00:00",
        },
        "subject": {
            "identifiers": {"fiscal_code": fiscal_code(n)},
            "family_name": family_name(n),
            "given_names": given_name(n),
            "sex": "M",
            "birth_date": birth_date(n).isoformat(),
            "citizenship": "MAR",
            "country_of_birth": "MAR",
            "arrival_date": "2019-05-03",
            "permit_type": "work",
        },
        "case": {
            "opened_on": "2025-01-10",
            "intake_channel": "mobile_unit",
            "status": "open",
            "vulnerabilities": ["homelessness"],
        },
        "services": [{"type": "housing_support", "start": "2025-01-12"}],
        "referrals": [],
    }
    for path, value in changes.items():
        target = record
        *parents, leaf = path.split("__")
        for part in parents:
            target = target[part]
        target[leaf] = value
    return record


CSV_COLUMNS = [
    "ID", "CF", "COGNOME", "NOME", "SESSO", "DATA_NASCITA", "CITTADINANZA", "DATA_ARRIVO",
    "PERMESSO", "DATA_APERTURA", "CANALE", "SERVIZIO", "DATA_SERVIZIO",
]  # fmt: skip

SOURCE_DEFINITION = """\
source: {source}
system: welfare
adapter:
  kind: csv
  options: {{path: "{path}", delimiter: ";", encoding: utf_8, id_column: ID}}
schedule: {{every: {every}}}
record_id: {{column: ID}}
fields:
  subject.identifiers.fiscal_code: {{column: CF}}
  subject.family_name: {{column: COGNOME}}
  subject.given_names: {{column: NOME}}
  subject.sex: {{column: SESSO}}
  subject.birth_date: {{column: DATA_NASCITA, transforms: [{{type: date, formats: ["%d/%m/%Y"]}}]}}
  subject.citizenship: {{column: CITTADINANZA}}
  subject.country_of_birth: {{column: CITTADINANZA}}
  subject.arrival_date: {{column: DATA_ARRIVO, transforms: [{{type: date, formats: ["%d/%m/%Y"]}}]}}
  subject.permit_type: {{column: PERMESSO, transforms: [{{type: code_map, map: permit}}]}}
  case.opened_on: {{column: DATA_APERTURA, transforms: [{{type: date, formats: ["%d/%m/%Y"]}}]}}
  case.intake_channel: {{column: CANALE, transforms: [{{type: code_map, map: channel}}]}}
  case.status: {{value: open}}
lists:
  services:
    - fields:
        type: {{column: SERVIZIO, transforms: [{{type: code_map, map: service}}]}}
        start: {{column: DATA_SERVIZIO, transforms: [{{type: date, formats: ["%d/%m/%Y"]}}]}}
code_maps:
  permit:
    codelist: permit_category
    codes: {{LAV: work, FAM: family, PI: international_protection}}
  channel: {{codelist: intake_channel, codes: {{UM: mobile_unit, SP: one_stop_shop}}}}
  service: {{codelist: service_type, codes: {{"01": housing_support, "07": language_course}}}}
required: [subject.family_name]
"""


def write_definition(root, *, city="roma", source="welfare-csv", path="", every="1h"):
    """Write ``root/<city>/<source>.yaml`` reading the CSV file(s) at ``path``."""
    folder = root / city
    folder.mkdir(parents=True, exist_ok=True)
    file = folder / f"{source}.yaml"
    file.write_text(SOURCE_DEFINITION.format(source=source, path=path, every=every))
    return file


def csv_row(n: int, *, persons: int | None = None) -> list[str]:
    """One CSV row; with ``persons``, record ``n`` belongs to person ``n % persons``."""
    person = n if persons is None else n % persons
    born = birth_date(person)
    return [
        f"R{n:08d}",
        fiscal_code(person),
        family_name(person).upper(),
        given_name(person).upper(),
        "M",
        born.strftime("%d/%m/%Y"),
        ("MAR", "SEN", "BGD", "UKR", "PER")[person % 5],
        f"{1 + n % 28:02d}/{1 + n % 12:02d}/{2010 + n % 15}",
        ("LAV", "FAM", "PI")[n % 3],
        f"{1 + n % 28:02d}/{1 + n % 12:02d}/2025",
        ("UM", "SP")[n % 2],
        ("01", "07")[n % 2],
        f"{1 + n % 28:02d}/{1 + n % 12:02d}/2025",
    ]


def write_csv(path, count: int, *, start: int = 0, persons: int | None = None, bad_every=0):
    """Write ``count`` rows; every ``bad_every``-th row has an unknown permit code."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(";".join(CSV_COLUMNS) + "\n")
        for n in range(start, start + count):
            row = csv_row(n, persons=persons)
            if bad_every and n % bad_every == 0:
                row[8] = "???"
            handle.write(";".join(row) + "\n")
    return path
