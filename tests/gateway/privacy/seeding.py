"""Synthetic identities and a minimal identity flow, shared by the privacy tests.

``register`` is the shape the sync engine follows: identifiers -> inner tokens -> known
persons or new ones -> tokens attached -> pseudonyms per domain -> a case per (city, person).
Only synthetic people: names are invented, fiscal codes computed with python-codicefiscale.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache

from codicefiscale import codicefiscale
from sqlalchemy import Connection, Engine, insert

from gateway.privacy import identifiers_of, store
from gateway.privacy.identifiers import luhn_check_digit
from gateway.privacy.keys import NATIONAL, city_domain
from gateway.privacy.pseudonyms import Pseudonymiser
from gateway.schema.intake import Identifiers
from gateway.storage.tables import CaseRow

NOW = datetime(2025, 6, 1, tzinfo=UTC)
CITIES = ("roma", "milano")
PLACES = ["Roma", "Milano", "Torino", "Senegal", "Marocco", "Bangladesh", "Nigeria", "Ucraina"]
CONSONANTS = "BCDFGKLMNPRSTVZ"
VOWELS = "AEIOU"


@dataclass
class SyntheticPerson:
    family_name: str
    given_name: str
    sex: str
    birth_date: date
    place: str
    fiscal_code: str
    provisional_code: str
    stp_code: str
    phone: str

    def identifiers(self) -> Identifiers:
        return Identifiers(
            fiscal_code=self.fiscal_code,
            provisional_fiscal_code=self.provisional_code,
            stp_code=self.stp_code,
        )


def _word(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(CONSONANTS if i % 2 == 0 else VOWELS) for i in range(length)).title()


def provisional_code(rng: random.Random) -> str:
    first = f"{rng.randrange(10**9, 10**10):010d}"
    return first + luhn_check_digit(first)


@cache
def synthetic_people(count: int, seed: int = 7) -> tuple[SyntheticPerson, ...]:
    """Distinctive invented people: long made-up names, valid codes, unique phone numbers."""
    rng = random.Random(seed)
    people = []
    for i in range(count):
        family, given = _word(rng, 9) + "q", _word(rng, 8) + "x"
        sex = rng.choice("MF")
        born = date(1960, 1, 1).fromordinal(date(1960, 1, 1).toordinal() + rng.randrange(16000))
        place = rng.choice(PLACES)
        code = codicefiscale.encode(family, given, sex, born.isoformat(), place)
        people.append(
            SyntheticPerson(
                family_name=family,
                given_name=given,
                sex=sex,
                birth_date=born,
                place=place,
                fiscal_code=code,
                provisional_code=provisional_code(rng),
                stp_code=f"STP120{rng.randrange(201, 212):03d}{i + 1:07d}",
                phone=f"+39 3{rng.randrange(10**8, 10**9)}",
            )
        )
    return tuple(people)


def register(
    conn: Connection,
    pseudonymiser: Pseudonymiser,
    subjects: list[Identifiers],
    *,
    city: str,
    source: str,
    seen_on: date = date(2025, 6, 1),
) -> list[int]:
    """Resolve each subject to a person (by exact inner tokens), store tokens, pseudonyms
    and one case per person in ``city``; return the person id of each subject."""
    found_ids = [identifiers_of(s, city=city, source=source, seen_on=seen_on) for s in subjects]
    tokens = [pseudonymiser.inner_tokens(ids) for ids in found_ids]
    known = store.find_persons(conn, [t for ts in tokens for t in ts])
    person_of: list[int | None] = [
        next((known[t] for t in ts if t in known), None) for ts in tokens
    ]
    missing = [i for i, p in enumerate(person_of) if p is None]
    for i, new in zip(missing, store.create_persons(conn, len(missing)), strict=True):
        person_of[i] = new.id
    resolved = [p for p in person_of if p is not None]
    store.attach_tokens(
        conn,
        [
            store.TokenLink(token, item.kind.value, person, item.valid_until)
            for person, ids, ts in zip(resolved, found_ids, tokens, strict=True)
            for item, token in zip(ids, ts, strict=True)
        ],
    )
    pids, version = store.ensure_pseudonyms(conn, pseudonymiser, resolved, NATIONAL)
    store.ensure_pseudonyms(conn, pseudonymiser, resolved, city_domain(city))
    people = list(dict.fromkeys(resolved))
    first = store.allocate_feed_seqs(conn, len(people))
    now = datetime(2025, 6, 1, tzinfo=UTC)
    conn.execute(
        insert(CaseRow),
        [
            {
                "case_id": f"{city}-{person}",
                "city": city,
                "person_id": person,
                "pid": pids[person],
                "key_version": version,
                "vulnerabilities": [],
                "provenance": [{"system": "welfare"}],
                "updated_at": now,
                "feed_seq": first + offset,
            }
            for offset, person in enumerate(people)
        ],
    )
    return resolved


def seed(engine: Engine, pseudonymiser: Pseudonymiser, persons: int) -> None:
    """``persons`` persons with national and city pseudonyms and a case in one city each."""
    with engine.begin() as conn:
        people = [p.id for p in store.create_persons(conn, persons, now=NOW)]
        pids, version = store.ensure_pseudonyms(conn, pseudonymiser, people, NATIONAL)
        rows = []
        first = store.allocate_feed_seqs(conn, persons)
        for i, person in enumerate(people):
            city = CITIES[i % 2]
            rows.append(
                {
                    "case_id": f"{city}-{person}",
                    "city": city,
                    "person_id": person,
                    "pid": pids[person],
                    "key_version": version,
                    "vulnerabilities": [],
                    "provenance": [],
                    "updated_at": NOW,
                    "feed_seq": first + i,
                }
            )
        for city in CITIES:
            store.ensure_pseudonyms(
                conn,
                pseudonymiser,
                [r["person_id"] for r in rows if r["city"] == city],
                f"city:{city}",
            )
        conn.execute(insert(CaseRow), rows)
