"""The ground-truth population: synthetic people and the noisy records the cities hold on them.

Deterministic from a seed, streamed (nothing is kept per person but the issued fiscal codes),
and reused by the simulators and the linkage benchmark, which need to know who is who::

    population = Population(seed=7, size=10_000)
    for person in population.people(): ...            # the truth, one Person each
    for record in population.records(): ...           # SourceRecordTruth, person by person

Each :class:`SourceRecordTruth` carries the ``person_id`` it belongs to, the subject, case,
services and referrals in the shape of the intake schema (``gateway.schema.intake``, as plain
dicts with ``datetime.date`` values), and the labels of the noise it was given. Noise, per
person: 30 % never get a fiscal code (STP or ENI codes at the health services instead, renewed
every six months, a new code each time), ~15 % move from a provisional 11-digit code to a final
fiscal code during the period; per record: transliteration variants, given and family names
swapped, day and month of birth swapped (5 %), particles, double letters, accents, Unicode
oddities, typos, a token lost, the fiscal code written in its omocodic form or left out.
Fiscal codes are those python-codicefiscale computes (its encoders, Belfiore ``Z###`` codes of
the country of birth), unique per person as the Agenzia delle Entrate issues them.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import random
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from adapters.simulators.codes import (
    HEALTH_REGION_CODES,
    fiscal_code,
    provisional_fiscal_code,
    scramble,
)
from adapters.simulators.names import NameSpec, Origin, load_origins
from adapters.simulators.recording import build_record, record_days
from adapters.simulators.truth import (
    END,
    RATES,
    START,
    SYSTEMS,
    Person,
    SourceRecordTruth,
)

__all__ = ["END", "RATES", "START", "SYSTEMS", "Person", "Population", "SourceRecordTruth"]

_CITY_WEIGHTS = {
    "roma": 28, "milano": 14, "napoli": 9, "torino": 8.5, "palermo": 6.3, "genova": 5.6,
    "bologna": 3.9, "firenze": 3.6, "catania": 3.0, "trieste": 2.0, "taranto": 1.9,
    "perugia": 1.6, "latina": 1.3, "sassari": 1.2, "bolzano": 1.1, "caserta": 0.8,
    "agrigento": 0.6, "potenza": 0.7,
}  # fmt: skip
_CHANNELS = {
    "mobile_unit": 0.44, "one_stop_shop": 0.40, "service_referral": 0.05,
    "self_presented": 0.04, "outreach_event": 0.03, "third_sector": 0.03, "health_service": 0.01,
}  # fmt: skip
_OTHER_SERVICES = (
    "language_course", "employment_orientation", "legal_advice", "cultural_mediation",
    "psychological_support", "workshop", "material_aid", "administrative_support",
    "health_referral", "social_service_referral",
)  # fmt: skip
_PERMITS = {
    "international_protection": 0.28, "special_protection": 0.12, "asylum_application": 0.14,
    "work": 0.16, "family": 0.14, "study": 0.03, "long_term_eu": 0.07, "medical": 0.01,
    "minor_age": 0.02, "other": 0.03,
}  # fmt: skip
_VULNERABILITIES = (
    "homelessness", "housing_exclusion", "unaccompanied_minor_transition", "single_parent",
    "pregnancy", "disability", "chronic_illness", "mental_health", "torture_survivor",
    "trafficking_victim", "gender_based_violence", "unemployment", "no_income",
)  # fmt: skip
_REFERRALS = ("health_service", "mental_health_service", "social_service", "housing_service",
              "employment_centre", "legal_aid", "education", "reception_system")  # fmt: skip
_OUTCOMES = ("pending", "taken_up", "taken_up", "refused", "not_attended")


def specs_dir() -> Path:
    configured = os.environ.get("LGNET_SPECS_DIR")
    return Path(configured) if configured else Path(__file__).resolve().parents[2] / "specs"


@cache
def _cities() -> tuple[tuple[str, ...], tuple[float, ...], dict[str, str], dict[str, str]]:
    with (specs_dir() / "cities.yaml").open(encoding="utf-8") as handle:
        cities = yaml.safe_load(handle)["cities"]
    slugs = tuple(c["slug"] for c in cities)
    weights = tuple(_CITY_WEIGHTS.get(s, 1.0) for s in slugs)
    return (
        slugs,
        weights,
        {c["slug"]: c["belfiore"] for c in cities},
        {c["slug"]: c["region"] for c in cities},
    )


@cache
def _countries() -> dict[str, dict[str, Any]]:
    with (specs_dir() / "codelists" / "country.yaml").open(encoding="utf-8") as handle:
        return {str(k): dict(v) for k, v in yaml.safe_load(handle)["codes"].items()}


@cache
def _cumulative(weights: tuple[float, ...]) -> tuple[float, ...]:
    return tuple(itertools.accumulate(weights))


def _weighted(rng: random.Random, options: dict[str, float]) -> str:
    # cum_weights draws exactly as weights= does, without summing them again each time
    return rng.choices(tuple(options), cum_weights=_cumulative(tuple(options.values())))[0]


class Population:
    """``size`` synthetic people drawn from ``seed``; the same seed gives the same people."""

    def __init__(self, seed: int, size: int, *, cities: tuple[str, ...] | None = None) -> None:
        if size < 0:
            raise ValueError("size must not be negative")
        self.seed = seed
        self.size = size
        slugs, weights, self._belfiore, regions = _cities()
        if cities is not None:
            unknown = set(cities) - set(slugs)
            if unknown:
                raise ValueError(f"unknown city slugs: {sorted(unknown)}")
            weights = tuple(w if s in cities else 0.0 for s, w in zip(slugs, weights, strict=True))
        self._slugs, self._city_weights = slugs, weights
        self._health_regions = {city: HEALTH_REGION_CODES[r] for city, r in regions.items()}
        self._origins = load_origins()
        self._origin_cum = _cumulative(tuple(o.weight for o in self._origins))
        self._countries = _countries()

    def _rng(self, index: int, stream: int) -> random.Random:
        # Synthetic data, not secrets: a seeded Mersenne Twister per person and stream.
        return random.Random((self.seed << 40) ^ (index << 2) ^ stream)  # noqa: S311

    # --- people ----------------------------------------------------------------------------

    def people(self) -> Iterator[Person]:
        """Every person, in id order (ids 1..size)."""
        issued: set[str] = set()
        for person_id in range(1, self.size + 1):
            yield self._person(person_id, issued)

    def _person(self, person_id: int, issued: set[str]) -> Person:
        rng = self._rng(person_id, 0)
        origin: Origin = rng.choices(self._origins, cum_weights=self._origin_cum)[0]
        sex = "M" if rng.random() < 0.68 else "F"
        country = rng.choices(origin.countries, cum_weights=_cumulative(origin.country_weights))[0]
        born_in_italy = rng.random() < 0.03
        citizenship = country if rng.random() < 0.95 else rng.choice(origin.countries)
        given = rng.choice(origin.given_male if sex == "M" else origin.given_female)
        family = rng.choice(origin.family)
        if origin.second_family and rng.random() < origin.second_family:
            family = NameSpec(family.slots + rng.choice(origin.family).slots)
        given_choice = tuple(_registered(rng, slot) for slot in given.slots)
        family_choice = tuple(_registered(rng, slot) for slot in family.slots)
        age = int(rng.triangular(17, 66, 27))
        if rng.random() < 0.08:  # unknown day of birth, registered as 1 January
            birth = dt.date(2024 - age, 1, 1)
        else:
            birth = dt.date(2024 - age, 1, 1) + dt.timedelta(days=rng.randrange(365))
        first_contact = START + dt.timedelta(days=rng.randrange((END - START).days - 60))
        adult = dt.date(birth.year + 16, birth.month, min(birth.day, 28))
        span = max(1, (first_contact - adult).days)
        arrival = first_contact - dt.timedelta(days=min(span, int(rng.expovariate(1 / 900))))
        is_eu = self._countries[citizenship].get("area") == "eu"
        kind = rng.random()
        has_cf = born_in_italy or kind >= RATES["no_cf"]
        switches = not born_in_italy and RATES["no_cf"] <= kind < (
            RATES["no_cf"] + RATES["provisional_to_final"]
        )
        provisional = switches or (not has_cf and not is_eu and rng.random() < 0.4)
        final_from = None
        if switches:
            final_from = first_contact + dt.timedelta(days=rng.randrange(30, 400))
            if final_from >= END:
                final_from = END - dt.timedelta(days=10)
        if born_in_italy:
            country = "ITA"
        place = (
            self._belfiore[rng.choice(self._slugs)]
            if born_in_italy
            else str(self._countries[country]["belfiore"])
        )
        full_family = " ".join(s[i] for s, i in zip(family.slots, family_choice, strict=True))
        full_given = " ".join(s[i] for s, i in zip(given.slots, given_choice, strict=True))
        code = None
        if has_cf:
            # The Agenzia never issues one code twice: a namesake born the same day in the same
            # place is told apart here by moving the birth day (omocodia is written as noise).
            code = fiscal_code(full_family, full_given, sex, birth, place)
            while code[:15] in issued:
                birth += dt.timedelta(days=1)
                code = fiscal_code(full_family, full_given, sex, birth, place)
            issued.add(code[:15])
        if is_eu:
            permit = "eu_citizen"
        elif provisional and (final_from is None):
            permit = "asylum_application"
        elif citizenship == "UKR" and rng.random() < 0.6:
            permit = "temporary_protection"
        else:
            permit = _weighted(rng, _PERMITS)
        cities, systems = self._places(rng, has_cf or provisional)
        services, referrals = _programme(rng, first_contact)
        if any(s[0] in ("housing_support", "emergency_accommodation") for s in services):
            systems = ((*systems[0], "housing") if "housing" not in systems[0] else systems[0],
                       *systems[1:])  # fmt: skip
        languages = tuple(sorted(set(rng.sample(origin.languages, k=1)) | (
            {"it"} if rng.random() < 0.4 else set())))  # fmt: skip
        return Person(
            person_id=person_id,
            origin=origin.name,
            sex=sex,
            given_slots=given.slots,
            given_choice=given_choice,
            family_slots=family.slots,
            family_choice=family_choice,
            birth_date=birth,
            country_of_birth=country,
            citizenship=citizenship,
            arrival_date=arrival,
            first_contact=first_contact,
            permit_type=permit,
            languages=languages,
            fiscal_code=code,
            provisional_fiscal_code=(
                provisional_fiscal_code(scramble(person_id, self.seed, 10**10))
                if provisional
                else None
            ),
            final_code_from=final_from,
            uses_eni=is_eu,
            cities=cities,
            systems=systems,
            intake_channel=_weighted(rng, _CHANNELS),
            vulnerabilities=tuple(sorted(set(rng.sample(_VULNERABILITIES, rng.randrange(4))))),
            services=services,
            referrals=referrals,
        )

    def _places(
        self, rng: random.Random, registered: bool
    ) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
        primary = rng.choices(self._slugs, cum_weights=_cumulative(self._city_weights))[0]
        wanted = {"welfare": 0.9, "health": 0.75, "registry": 0.55 if registered else 0.0,
                  "housing": 0.06}  # fmt: skip
        chosen = tuple(s for s, p in wanted.items() if rng.random() < p) or ("welfare",)
        if rng.random() >= 0.15:
            return (primary,), (chosen,)
        others = [
            s for s, w in zip(self._slugs, self._city_weights, strict=True) if w and s != primary
        ]
        if not others:
            return (primary,), (chosen,)
        second = rng.choice(others)
        return (primary, second), (
            chosen,
            tuple(rng.sample(("welfare", "health"), rng.randint(1, 2))),
        )

    # --- records ---------------------------------------------------------------------------

    def records(
        self, *, cities: tuple[str, ...] | None = None, systems: tuple[str, ...] | None = None
    ) -> Iterator[SourceRecordTruth]:
        """Every source record, person by person (each person's in date order)."""
        for person in self.people():
            for record in self.records_of(person):
                if (cities is None or record.city in cities) and (
                    systems is None or record.system in systems
                ):
                    yield record

    def records_of(self, person: Person) -> list[SourceRecordTruth]:
        """The records the cities' systems hold on ``person`` (deterministic)."""
        rng = self._rng(person.person_id, 1)
        out: list[SourceRecordTruth] = []
        for city_index, (city, systems) in enumerate(
            zip(person.cities, person.systems, strict=True)
        ):
            start = person.first_contact if city_index == 0 else (
                person.first_contact + dt.timedelta(days=rng.randrange(60, 500)))  # fmt: skip
            start = min(start, END - dt.timedelta(days=30))
            for system in systems:
                region = self._health_regions[city]
                for k, day in enumerate(record_days(rng, person, system, start)):
                    out.append(build_record(rng, person, city, system, k, day, region))
        out.sort(key=lambda r: r.updated_at)
        return out


def _registered(rng: random.Random, slot: tuple[str, ...]) -> int:
    # The first spellings of a set are the most common registered ones.
    size = len(slot)
    return rng.choices(
        range(size), cum_weights=_cumulative(tuple(1 / (i + 1) for i in range(size)))
    )[0]


def _programme(
    rng: random.Random, first_contact: dt.date
) -> tuple[
    tuple[tuple[str, dt.date, dt.date | None, str], ...], tuple[tuple[str, dt.date, str], ...]
]:
    services: list[tuple[str, dt.date, dt.date | None, str]] = []

    def add(kind: str) -> None:
        start = min(END, first_contact + dt.timedelta(days=rng.randrange(0, 120)))
        roll = rng.random()
        end: dt.date | None = None
        if roll < 0.45:
            end = start + dt.timedelta(days=rng.randrange(30, 365))
            status = "completed" if end <= END else "active"
            end = end if end <= END else None
        elif roll < 0.55:
            end, status = min(END, start + dt.timedelta(days=rng.randrange(7, 90))), "interrupted"
        elif roll < 0.6:
            status = "planned"
        else:
            status = "active"
        services.append((kind, start, end, status))

    if rng.random() < 0.15:
        add("housing_support")
    if rng.random() < 0.08:
        add("emergency_accommodation")
    if rng.random() < 0.20:
        add("civic_engagement_project")
    for kind in rng.sample(_OTHER_SERVICES, rng.randint(1, 3)):
        add(kind)
    referrals = tuple(
        (target, min(END, first_contact + dt.timedelta(days=rng.randrange(0, 200))),
         rng.choice(_OUTCOMES))
        for target in rng.sample(_REFERRALS, rng.randrange(3))
    )  # fmt: skip
    return tuple(services), referrals
