"""The programme's KPIs: what counts, when, and in which cells of the summaries.

Every KPI counts **distinct people** (national pseudonyms) with at least one qualifying event
in the period; all KPIs are flows dated by one event date:

=============================== ===========================================================
``taken_in_charge``             a case opened (any intake channel), dated ``opened_on``
``taken_in_charge_mobile_unit`` ... opened through a mobile unit
``taken_in_charge_one_stop_shop`` ... opened through a one-stop-shop
``referred_to_care``            a referral to a care service (any target or outcome), dated
                                by the referral (else by the case opening)
``housing_support``             a ``housing_support`` service actually given (not planned,
                                not cancelled), dated by its start
``civic_projects_signed``       a ``civic_engagement_project`` service not cancelled, dated
                                by its start (signature)
``civic_projects_completed``    a ``civic_engagement_project`` with status ``completed``,
                                dated by its end (else its start)
=============================== ===========================================================

Undated services and referrals take the case's opening date; an event with no date at all is
not counted. In a city a person is taken in charge once: at the earliest opening of their
cases there, through that case's channel — so the channel KPIs never exceed the total.

A person counts once per city and once nationally (a person in Roma and Milano counts in both
cities and once in the national figure). Breakdown attributes are the person's, network-wide:
sex, birth year and citizenship from their most recently changed case that records them, and
every vulnerability recorded in any of their cases.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache

from gateway.summaries.dimensions import (
    TOTAL,
    age_band,
    citizenship_area,
    sex_category,
    vulnerability_categories,
)
from gateway.summaries.periods import Period, month_index, month_period, quarter_period, year_period

NATIONAL = "national"

# (granularity, period key, kpi, area, dimension, category): one cell of the pre-aggregated cube.
CubeKey = tuple[str, str, str, str, str, str]
Head = tuple[str, str, str, str]  # (granularity, period key, kpi, area)
Profile = tuple[tuple[str, str], ...]  # a person's (dimension, category) cells, total included


@dataclass(frozen=True)
class Kpi:
    name: str
    label: str
    description: str
    short: str = ""


KPIS: tuple[Kpi, ...] = (
    Kpi("taken_in_charge", "Taken in charge", "People taken in charge (case opened).", "In charge"),
    Kpi(
        "taken_in_charge_mobile_unit",
        "Taken in charge by a mobile unit",
        "People taken in charge through a mobile unit.",
        "Mobile unit",
    ),
    Kpi(
        "taken_in_charge_one_stop_shop",
        "Taken in charge by a one-stop-shop",
        "People taken in charge through a one-stop-shop.",
        "One-stop-shop",
    ),
    Kpi(
        "referred_to_care",
        "Referred to care services",
        "People referred to a care service.",
        "Referred",
    ),
    Kpi("housing_support", "Housing support", "People given housing support.", "Housing"),
    Kpi(
        "civic_projects_signed",
        "Civic-engagement projects signed",
        "People who signed an individual civic-engagement project.",
        "Projects signed",
    ),
    Kpi(
        "civic_projects_completed",
        "Civic-engagement projects completed",
        "People who completed an individual civic-engagement project.",
        "Projects completed",
    ),
)
KPI_NAMES: tuple[str, ...] = tuple(kpi.name for kpi in KPIS)
TAKEN_IN_CHARGE = "taken_in_charge"
CHANNEL_KPIS: dict[str, str] = {
    "mobile_unit": "taken_in_charge_mobile_unit",
    "one_stop_shop": "taken_in_charge_one_stop_shop",
}


@dataclass(frozen=True)
class ServiceInput:
    type: str
    start: dt.date | None
    end: dt.date | None
    status: str | None


@dataclass(frozen=True)
class CaseInput:
    """What the KPIs read of one case (never an identifier)."""

    pk: int
    city: str
    feed_seq: int
    sex: str | None
    birth_year: int | None
    citizenship: str | None
    opened_on: dt.date | None
    intake_channel: str | None
    vulnerabilities: tuple[str, ...] = ()
    services: tuple[ServiceInput, ...] = ()
    referral_dates: tuple[dt.date | None, ...] = ()


@dataclass(frozen=True)
class PersonFacts:
    """One person's contribution to the KPIs: attributes and dated events, no identifier."""

    sex: str
    birth_year: int | None
    area: str
    vulnerabilities: tuple[str, ...]
    # (kpi, city, sorted month indexes)
    events: tuple[tuple[str, str, tuple[int, ...]], ...] = field(default=())

    def to_json(self) -> str:
        return json.dumps(
            [self.sex, self.birth_year, self.area, list(self.vulnerabilities), self.events],
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> PersonFacts:
        sex, birth_year, area, vulnerabilities, events = json.loads(text)
        return cls(
            sex=sex,
            birth_year=birth_year,
            area=area,
            vulnerabilities=tuple(vulnerabilities),
            events=tuple((kpi, city, tuple(months)) for kpi, city, months in events),
        )


def _latest(cases: Sequence[CaseInput], attribute: str) -> object:
    for case in sorted(cases, key=lambda c: c.feed_seq, reverse=True):
        value = getattr(case, attribute)
        if value is not None:
            return value
    return None


def _case_events(case: CaseInput) -> Iterator[tuple[str, dt.date | None]]:
    """(kpi, date) of the case's dated events; undated ones fall back to the case opening."""
    opened = case.opened_on
    for day in case.referral_dates:
        yield "referred_to_care", day or opened
    for service in case.services:
        start = service.start or opened
        if service.type == "housing_support":
            if service.status not in ("planned", "cancelled"):
                yield "housing_support", start
        elif service.type == "civic_engagement_project":
            if service.status != "cancelled":
                yield "civic_projects_signed", start
            if service.status == "completed":
                yield "civic_projects_completed", service.end or start


def person_facts(cases: Sequence[CaseInput]) -> PersonFacts:
    """Attributes and events of the person owning ``cases`` (all their cases, every city)."""
    birth_year = _latest(cases, "birth_year")
    vulnerabilities: set[str] = set()
    events: dict[tuple[str, str], set[int]] = {}
    first_opening: dict[str, tuple[dt.date, int, str | None]] = {}
    for case in cases:
        vulnerabilities.update(case.vulnerabilities)
        if case.opened_on is not None:
            opening = (case.opened_on, case.pk, case.intake_channel)
            first_opening[case.city] = min(first_opening.get(case.city, opening), opening)
        for kpi, day in _case_events(case):
            if day is not None:
                events.setdefault((kpi, case.city), set()).add(month_index(day))
    for city, (opened_on, _pk, channel) in first_opening.items():
        month = month_index(opened_on)
        events.setdefault((TAKEN_IN_CHARGE, city), set()).add(month)
        channel_kpi = CHANNEL_KPIS.get(channel or "")
        if channel_kpi is not None:
            events.setdefault((channel_kpi, city), set()).add(month)
    sex, citizenship = _latest(cases, "sex"), _latest(cases, "citizenship")
    return PersonFacts(
        sex=sex_category(sex if isinstance(sex, str) else None),
        birth_year=birth_year if isinstance(birth_year, int) else None,
        area=citizenship_area(citizenship if isinstance(citizenship, str) else None),
        vulnerabilities=vulnerability_categories(vulnerabilities),
        events=tuple(
            (kpi, city, tuple(sorted(months))) for (kpi, city), months in sorted(events.items())
        ),
    )


@cache
def _calendar(month: int) -> tuple[tuple[str, str, int], ...]:
    """The (granularity, key, end year) of the month, quarter and year holding ``month``."""
    year = month // 12
    return (
        ("month", month_period(month).key, year),
        ("quarter", quarter_period(month // 3).key, year),
        ("year", year_period(year).key, year),
    )


def areas(facts: PersonFacts) -> dict[tuple[str, str], frozenset[int]]:
    """The months of each (kpi, area) the person has events in; ``national`` unites cities."""
    by_area: dict[tuple[str, str], set[int]] = {}
    for kpi, city, dated in facts.events:
        by_area.setdefault((kpi, city), set()).update(dated)
        by_area.setdefault((kpi, NATIONAL), set()).update(dated)
    return {key: frozenset(months) for key, months in by_area.items()}


def heads(
    kpi: str, area: str, months: frozenset[int], programme: Period
) -> tuple[tuple[Head, int], ...]:
    """The (granularity, period, kpi, area) heads that events in ``months`` count in, each
    once, with the year ages are taken at."""
    periods = {period for month in months for period in _calendar(month)}
    if any(programme.first <= m <= programme.last for m in months):
        periods.add((programme.granularity, programme.key, programme.end_year))
    return tuple(((granularity, key, kpi, area), year) for granularity, key, year in periods)


def profile(facts: PersonFacts, year: int) -> Profile:
    """The person's (dimension, category) cells, total included, with their age in ``year``."""
    return (
        (TOTAL, TOTAL),
        ("sex", facts.sex),
        ("citizenship_area", facts.area),
        *(("vulnerability", v) for v in facts.vulnerabilities),
        ("age_band", age_band(facts.birth_year, year)),
    )


def contributions(facts: PersonFacts, programme: Period) -> list[CubeKey]:
    """Every cube cell this person counts in, each once (so cube counts are distinct people):
    every head of every (kpi, area) they have events in, times their profile at that time."""
    found: list[CubeKey] = []
    profiles: dict[int, Profile] = {}
    for (kpi, area), months in areas(facts).items():
        for head, year in heads(kpi, area, months, programme):
            cells = profiles.get(year) or profiles.setdefault(year, profile(facts, year))
            found.extend(head + cell for cell in cells)
    return found
