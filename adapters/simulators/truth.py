"""The truth behind the synthetic records: who each person is, and what each record says.

:class:`Person` is what the population generator draws; :class:`SourceRecordTruth` is one
record a city's system holds on a person, with the person's id (the ground truth for linkage)
and the labels of the noise it carries.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

__all__ = ["END", "RATES", "START", "SYSTEMS", "Person", "SourceRecordTruth"]

SYSTEMS = ("welfare", "health", "registry", "housing")
START = dt.date(2023, 1, 1)
END = dt.date(2025, 12, 31)

# Noise rates. Per person: no_cf, provisional_to_final (STP renewals follow from no code at
# the health services: a new code, and record, every six months). Per record, of the systems
# that type names and dates in by hand (not the registry, which copies documents):
# transliteration is per name token with variants, swapped_names and day_month_swap per record
# (the swap only where day and month can trade places), the others as commented.
RATES = {
    "no_cf": 0.30,
    "provisional_to_final": 0.15,
    "transliteration": 0.22,
    "swapped_names": 0.04,
    "day_month_swap": 0.05,
    "particle": 0.30,  # of names with a particle
    "double_letter": 0.03,
    "accents": 0.06,
    "unicode": 0.03,
    "typo": 0.02,
    "partial_name": 0.15,  # of names of two or more tokens
    "omocode": 0.01,
    "missing_cf": 0.08,
    "missing_birth_date": 0.01,
}


@dataclass(frozen=True, slots=True)
class Person:
    """One synthetic person: the truth the records are noisy copies of."""

    person_id: int
    origin: str
    sex: str
    given_slots: tuple[tuple[str, ...], ...] = field(repr=False)
    given_choice: tuple[int, ...] = field(repr=False)
    family_slots: tuple[tuple[str, ...], ...] = field(repr=False)
    family_choice: tuple[int, ...] = field(repr=False)
    birth_date: dt.date
    country_of_birth: str
    citizenship: str
    arrival_date: dt.date
    first_contact: dt.date
    permit_type: str
    languages: tuple[str, ...]
    fiscal_code: str | None = field(repr=False)
    provisional_fiscal_code: str | None = field(repr=False)
    final_code_from: dt.date | None  # provisional -> final switch day
    uses_eni: bool
    cities: tuple[str, ...]
    systems: tuple[tuple[str, ...], ...]  # per city
    intake_channel: str
    vulnerabilities: tuple[str, ...]
    services: tuple[tuple[str, dt.date, dt.date | None, str], ...]
    referrals: tuple[tuple[str, dt.date, str], ...]

    @property
    def given_names(self) -> str:
        return " ".join(s[i] for s, i in zip(self.given_slots, self.given_choice, strict=True))

    @property
    def family_name(self) -> str:
        return " ".join(s[i] for s, i in zip(self.family_slots, self.family_choice, strict=True))

    @property
    def person_noise(self) -> frozenset[str]:
        labels = set()
        if self.fiscal_code is None:
            labels.add("no_cf")
        if self.final_code_from is not None:
            labels.add("provisional_to_final")
        return frozenset(labels)


@dataclass(frozen=True, slots=True)
class SourceRecordTruth:
    """A record as one city's system holds it, and whose it really is."""

    person_id: int
    city: str
    system: str
    record_id: str
    updated_at: dt.datetime
    subject: dict[str, Any] = field(repr=False)
    case: dict[str, Any] | None = field(repr=False)
    services: list[dict[str, Any]] = field(repr=False)
    referrals: list[dict[str, Any]] = field(repr=False)
    noise: frozenset[str]

    def intake(self, source: str | None = None) -> dict[str, Any]:
        """The record as an intake-schema document (``gateway.schema.intake.IntakeRecord``)."""
        return {
            "source": {
                "city": self.city,
                "source": source or self.system,
                "system": self.system,
                "record_id": self.record_id,
                "updated_at": self.updated_at,
            },
            "subject": self.subject,
            "case": self.case,
            "services": self.services,
            "referrals": self.referrals,
        }
