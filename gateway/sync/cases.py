"""Case assembly: what each source record contributes to a case, and how a case is built.

A case is one person taken in charge in one city (BRIEF §4), assembled from every source record
of that city linked to the person. Each source record stores its **contribution** — the
generalised view of what it says (sex, birth year, citizenship, years-in-Italy band, permit
category, case dates, status, channel, coded vulnerabilities, which system and when) — and
never a name, an identifier or a full date of birth. A case is a pure function of its
contributions, so a changed or deleted record simply recomputes its case.

Rules, when records disagree:

- demographics, status, residence: the most recent record (by its source's ``updated_at``)
  that says something;
- opened on: the earliest; intake channel: that of the earliest opening;
- closed on: the most recent record with case information decides whether the case is closed;
- vulnerabilities: the union; provenance: each (source, system) with its latest update.

Ties are broken by the record key (a keyed hash), so the result never depends on the order in
which records arrived.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from gateway.schema.intake import IntakeRecord

#: Case columns taken from the most recent contribution that has a value.
LATEST_FIELDS = (
    "sex",
    "birth_year",
    "citizenship",
    "country_of_birth",
    "permit_category",
    "resident_in_city",
)


def years_in_italy_band(arrival: date | None, reference: date) -> str:
    """A code of ``years_in_italy_band``: full years from arrival to ``reference``."""
    if arrival is None or arrival > reference:
        return "unknown"
    years = (
        reference.year
        - arrival.year
        - ((reference.month, reference.day) < (arrival.month, arrival.day))
    )
    if years < 1:
        return "lt1"
    if years <= 2:
        return "1-2"
    if years <= 5:
        return "3-5"
    if years <= 10:
        return "6-10"
    return "gt10"


#: The last ``(updated_at, its ISO text, its date)`` seen: records without an ``updated_at`` of
#: their own all share the batch's arrival time, which need not be formatted again each time.
_last_stamp: tuple[datetime | None, str, date] = (None, "", date.min)


def contribution_of(record: IntakeRecord, received: datetime) -> dict[str, Any]:
    """The generalised contribution of one validated record (JSON-ready; no identifier).

    The years-in-Italy band is measured at the case's opening (else the record's update, else
    its arrival at the gateway): a band that moved with today's date would change stored
    cases every year without any new information.
    """
    global _last_stamp
    ref = record.source
    updated = ref.updated_at or received
    last = _last_stamp
    if updated is last[0]:
        stamp, reference = last[1], last[2]
    else:
        stamp, reference = updated.isoformat(), updated.date()
        _last_stamp = (updated, stamp, reference)
    out: dict[str, Any] = {"source": ref.source, "system": ref.system, "updated_at": stamp}
    # The validated models' fields, read from their __dict__: a third faster than attributes.
    subject = record.subject.__dict__
    if (value := subject["sex"]) is not None:
        out["sex"] = value
    if (value := subject["birth_date"]) is not None:
        out["birth_year"] = value.year
    if (value := subject["citizenship"]) is not None:
        out["citizenship"] = value
    if (value := subject["country_of_birth"]) is not None:
        out["country_of_birth"] = value
    if (value := subject["permit_type"]) is not None:
        out["permit_category"] = value
    if (value := subject["resident_in_city"]) is not None:
        out["resident_in_city"] = value
    if record.case is not None:
        case = record.case.__dict__
        if (value := case["opened_on"]) is not None:
            out["opened_on"] = value.isoformat()
            reference = value
        if (value := case["closed_on"]) is not None:
            out["closed_on"] = value.isoformat()
        if (value := case["status"]) is not None:
            out["status"] = value
        if (value := case["intake_channel"]) is not None:
            out["intake_channel"] = value
        if value := case["vulnerabilities"]:
            out["vulnerabilities"] = sorted(set(value))
        out["has_case"] = True
    if (value := subject["arrival_date"]) is not None:
        out["years_in_italy"] = years_in_italy_band(value, reference)
    return out


def _date(value: Any) -> date | None:
    return date.fromisoformat(value) if value else None


def assemble(contributions: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """The case columns from ``(record_key, contribution)`` pairs.

    With no contribution left (every record deleted at its source) the case keeps its row —
    the national platform has seen it — with its content cleared and ``provenance`` empty.
    """
    ordered = sorted(contributions, key=lambda pair: (pair[1]["updated_at"], pair[0]))
    case: dict[str, Any] = {field: None for field in LATEST_FIELDS}
    case.update(
        years_in_italy="unknown",
        opened_on=None,
        closed_on=None,
        status=None,
        intake_channel=None,
        vulnerabilities=[],
        provenance=[],
    )
    if not ordered:
        return case
    latest_first = [c for _, c in reversed(ordered)]
    for field in LATEST_FIELDS:
        for contribution in latest_first:
            value = contribution.get(field)
            if value is not None:
                case[field] = value
                break
    for contribution in latest_first:
        band = contribution.get("years_in_italy")
        if band is not None and band != "unknown":
            case["years_in_italy"] = band
            break
    with_case = [c for c in latest_first if c.get("has_case")]
    if with_case:
        case["status"] = next((c["status"] for c in with_case if c.get("status")), None)
        case["closed_on"] = _date(with_case[0].get("closed_on"))
        openings = sorted(
            (c["opened_on"], i) for i, c in enumerate(with_case) if c.get("opened_on")
        )
        if openings:
            first = with_case[openings[0][1]]
            case["opened_on"] = _date(first["opened_on"])
            case["intake_channel"] = first.get("intake_channel")
        if case["intake_channel"] is None:
            case["intake_channel"] = next(
                (c["intake_channel"] for c in with_case if c.get("intake_channel")), None
            )
        vulnerabilities: set[str] = set()
        for contribution in with_case:
            vulnerabilities.update(contribution.get("vulnerabilities", ()))
        case["vulnerabilities"] = sorted(vulnerabilities)
    provenance: dict[tuple[str, str], str] = {}
    for _, contribution in ordered:
        provenance[(contribution["source"], contribution["system"])] = contribution["updated_at"]
    case["provenance"] = [
        {"source": source, "system": system, "updated_at": updated}
        for (source, system), updated in sorted(provenance.items())
    ]
    return case


def services_of(record: IntakeRecord) -> list[dict[str, Any]]:
    """``case_services`` values of one record (without the keys)."""
    return [
        {"type": s.type, "start": s.start, "end": s.end, "status": s.status}
        for s in record.services
    ]


def referrals_of(record: IntakeRecord) -> list[dict[str, Any]]:
    """``case_referrals`` values of one record (without the keys)."""
    return [{"target": r.target, "date": r.date, "outcome": r.outcome} for r in record.referrals]
