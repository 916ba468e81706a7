"""How a city's system records a person: which identifiers, which spelling, which contents.

Every choice is drawn from the person's own record stream, so the same seed gives the same
records. Noise labels (see :data:`adapters.simulators.truth.RATES`) are added as applied.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from adapters.simulators.codes import omocodic_form, salt, scramble, stp_eni_code
from adapters.simulators.names import (
    accents_noise,
    double_letter_noise,
    particle_noise,
    typo_noise,
    unicode_noise,
)
from adapters.simulators.truth import END, RATES, Person, SourceRecordTruth

__all__ = ["SWAPPABLE_SHARE", "build_record", "record_days"]

# Share of birth dates whose day and month can be swapped into another valid date (day <= 12,
# day != month, and not the 1 January of unknown dates): the swap rate is per record, overall.
SWAPPABLE_SHARE = 0.33


def record_days(rng: random.Random, person: Person, system: str, start: dt.date) -> list[dt.date]:
    first = start + dt.timedelta(days=rng.randrange(0, 40))
    days = [first]
    coded = person.fiscal_code is not None and (
        person.final_code_from is None or first >= person.final_code_from
    )
    if system == "health" and not coded:
        # STP/ENI codes last six months; renewals get a new code (a new record here).
        while len(days) < 4 and rng.random() < 0.55:
            nxt = days[-1] + dt.timedelta(days=rng.randrange(170, 200))
            if nxt >= END:
                break
            days.append(nxt)
    elif system == "welfare" and rng.random() < 0.1:  # the case file reopened
        nxt = first + dt.timedelta(days=rng.randrange(90, 400))
        if nxt < END:
            days.append(nxt)
    return days


def build_record(
    rng: random.Random,
    person: Person,
    city: str,
    system: str,
    k: int,
    day: dt.date,
    health_region: str,
) -> SourceRecordTruth:
    noise: set[str] = set(person.person_noise)
    ids = _identifiers(rng, person, city, system, k, day, health_region, noise)
    given, family = _names(rng, person, system, noise)
    birth: dt.date | None = person.birth_date
    true_birth = person.birth_date
    if (
        system != "registry"  # the registry copies dates from documents
        and true_birth.day <= 12
        and true_birth.day != true_birth.month
        and rng.random() < RATES["day_month_swap"] / SWAPPABLE_SHARE
    ):
        birth = dt.date(true_birth.year, true_birth.day, true_birth.month)
        noise.add("day_month_swap")
    if rng.random() < RATES["missing_birth_date"]:
        birth = None
        noise.add("missing_birth_date")
    subject: dict[str, Any] = {
        "identifiers": ids,
        "family_name": family,
        "given_names": given,
        "sex": person.sex if rng.random() > 0.01 else None,
        "birth_date": birth,
        "country_of_birth": person.country_of_birth if rng.random() > 0.03 else None,
        "citizenship": person.citizenship,
        "arrival_date": person.arrival_date if system != "health" else None,
        "permit_type": person.permit_type if system in ("welfare", "registry") else None,
        "languages": list(person.languages) if system == "welfare" else [],
    }
    if system == "registry":
        subject["resident_in_city"] = city == person.cities[-1]
    number = scramble(person.person_id * 4 + k, salt(city, system), 2**31 - 1)
    stamp = dt.datetime.combine(day, dt.time(8 + number % 10, number % 60), dt.UTC)
    case, services, referrals = _contents(person, system, day)
    return SourceRecordTruth(
        person_id=person.person_id,
        city=city,
        system=system,
        record_id=f"{system[:3]}-{number}",
        updated_at=stamp,
        subject=subject,
        case=case,
        services=services,
        referrals=referrals,
        noise=frozenset(noise),
    )


def _identifiers(
    rng: random.Random,
    person: Person,
    city: str,
    system: str,
    k: int,
    day: dt.date,
    health_region: str,
    noise: set[str],
) -> dict[str, str | None]:
    ids: dict[str, str | None] = dict.fromkeys(
        ("fiscal_code", "provisional_fiscal_code", "stp_code", "eni_code", "local_id")
    )
    final_now = person.fiscal_code is not None and (
        person.final_code_from is None or day >= person.final_code_from
    )
    if final_now and person.fiscal_code is not None:
        if system == "registry" or rng.random() >= RATES["missing_cf"]:
            code = person.fiscal_code
            if rng.random() < RATES["omocode"]:
                code = omocodic_form(code, rng)
                noise.add("omocode")
            ids["fiscal_code"] = code
        else:
            noise.add("missing_cf")
    if person.provisional_fiscal_code is not None:
        if not final_now:
            keep = 0.95 if system != "health" else 0.5
        else:  # a record written after the switch that still carries the old code
            keep = {"registry": 0.6, "welfare": 0.25}.get(system, 0.1)
        if rng.random() < keep:
            ids["provisional_fiscal_code"] = person.provisional_fiscal_code
    if system == "health" and not final_now:
        asl = salt(city, "asl")
        progressive = scramble(person.person_id * 4 + k, asl, 10**7)
        kind = "ENI" if person.uses_eni else "STP"
        ids["eni_code" if person.uses_eni else "stp_code"] = stp_eni_code(
            kind, health_region, 101 + asl % 200, progressive
        )
        if k > 0:
            noise.add("stp_renewal")
    if system in ("welfare", "housing") or (system == "health" and final_now):
        prefix = {"welfare": "CS", "housing": "AB", "health": "PZ"}[system]
        number = scramble(person.person_id, salt(city, system), 10**8)
        ids["local_id"] = f"{prefix}{number:08d}"
    return ids


def _names(rng: random.Random, person: Person, system: str, noise: set[str]) -> tuple[str, str]:
    official = system == "registry"  # the registry copies names from documents
    names = []
    for slots, choice in (
        (person.given_slots, person.given_choice),
        (person.family_slots, person.family_choice),
    ):
        tokens = []
        for slot, i in zip(slots, choice, strict=True):
            j = i
            if len(slot) > 1 and not official and rng.random() < RATES["transliteration"]:
                j = rng.randrange(len(slot))
                if j != i:
                    noise.add("transliteration")
            tokens.append(slot[j])
        if len(tokens) > 1 and not official and rng.random() < RATES["partial_name"]:
            del tokens[rng.randrange(len(tokens))]
            noise.add("partial_name")
        names.append(" ".join(tokens))
    given, family = names
    if not official and rng.random() < RATES["particle"]:
        family, changed = particle_noise(family, rng)
        if changed:
            noise.add("particle")
    for label, noise_function in (
        ("double_letter", double_letter_noise),
        ("typo", typo_noise),
        ("unicode", unicode_noise),
    ):
        if not official and rng.random() < RATES[label]:
            which = rng.randrange(2)
            pair = [given, family]
            pair[which], changed = noise_function(pair[which], rng)
            given, family = pair
            if changed:
                noise.add(label)
    accented = not (given + family).isascii()
    if not official and rng.random() < (0.5 if accented else RATES["accents"] / 3):
        pair = [given, family]
        which = rng.randrange(2) if not accented else int(not family.isascii())
        pair[which], changed = accents_noise(pair[which], rng)
        given, family = pair
        if changed:
            noise.add("accents")
    style = rng.random()
    if official or style < 0.35:
        given, family = given.upper(), family.upper()
    if not official and rng.random() < RATES["swapped_names"]:
        given, family = family, given
        noise.add("swapped_names")
    return given, family


_HOUSING = ("housing_support", "emergency_accommodation")
_HEALTH = ("health_referral", "psychological_support")


def _contents(
    person: Person, system: str, day: dt.date
) -> tuple[dict[str, Any] | None, list[dict[str, Any]], list[dict[str, Any]]]:
    def services(keep: tuple[str, ...] | None, drop: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        return [
            {"type": t, "start": s, "end": e, "status": st}
            for t, s, e, st in person.services
            if (keep is None or t in keep) and t not in drop
        ]

    if system == "registry":
        return None, [], []
    if system == "health":
        referrals = [
            {"target": t, "date": d, "outcome": o}
            for t, d, o in person.referrals
            if t in ("health_service", "mental_health_service")
        ]
        return None, services(_HEALTH), referrals
    done = all(s[3] in ("completed", "interrupted") for s in person.services)
    case = {
        "opened_on": day,
        "intake_channel": person.intake_channel if system == "welfare" else None,
        "status": "closed_goal_met" if done else "in_progress",
        "vulnerabilities": list(person.vulnerabilities) if system == "welfare" else [],
    }
    if system == "housing":
        return case, services(_HOUSING), []
    referrals = [{"target": t, "date": d, "outcome": o} for t, d, o in person.referrals]
    # The social-services case file records every intervention, housing support included;
    # a city's housing system (where it has one) holds the housing ones again.
    return case, services(None), referrals
