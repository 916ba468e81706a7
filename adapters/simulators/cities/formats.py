"""How the cities' systems write dates, instants, numbers and yes/no: the small shared pieces.

Italian systems keep local time (``Europe/Rome``), write ``dd/mm/yyyy``, group thousands with
``.`` and answer ``Sì``/``No``; APIs speak ISO 8601 in UTC. The ground truth holds plain
``date`` and UTC ``datetime`` values; these helpers render them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

__all__ = [
    "ROME",
    "date_text",
    "identifiers",
    "instant_text",
    "italian_int",
    "local_number",
    "local_time_text",
    "yes_no",
]

ROME = ZoneInfo("Europe/Rome")


def date_text(value: dt.date | None, fmt: str = "%Y-%m-%d") -> str | None:
    """``value`` written with ``fmt`` (``None`` stays ``None``)."""
    return None if value is None else value.strftime(fmt)


def instant_text(value: dt.datetime) -> str:
    """An instant in ISO 8601, UTC, with ``Z`` (as the REST and FHIR APIs write it)."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def local_time_text(value: dt.datetime, fmt: str = "%d/%m/%Y %H:%M") -> str:
    """An instant in Italian local time, without offset (as office exports write it)."""
    return value.astimezone(ROME).strftime(fmt)


def italian_int(number: int) -> str:
    """``39560483`` -> ``"39.560.483"``."""
    return f"{number:,}".replace(",", ".")


def local_number(local_id: str | None) -> int | None:
    """The number of a local id such as ``CS00012345`` (systems that store ids as numbers)."""
    if local_id is None:
        return None
    digits = "".join(c for c in local_id if c.isdigit())
    return int(digits) if digits else None


def yes_no(value: bool | None, words: tuple[str, str] = ("Sì", "No")) -> str:
    """``True`` -> ``"Sì"``, ``False`` -> ``"No"``, unknown -> ``""``."""
    if value is None:
        return ""
    return words[0] if value else words[1]


def identifiers(subject: dict[str, Any]) -> dict[str, str | None]:
    """The identifiers of a ground-truth subject (every key present)."""
    ids: dict[str, str | None] = dict(subject.get("identifiers") or {})
    for key in ("fiscal_code", "provisional_fiscal_code", "stp_code", "eni_code", "local_id"):
        ids.setdefault(key, None)
    return ids
