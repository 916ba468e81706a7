"""Breakdowns of the KPIs: sex, age band, citizenship area, vulnerability.

Each person has one set of attributes for the whole network (see
:func:`gateway.summaries.kpis.person_facts`), so a person falls in exactly one sex, age band
and citizenship-area category — those breakdowns add up to the total. Vulnerability is
multi-valued: a person counts once under each recorded vulnerability, or under ``none``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Literal

from gateway.schema.codelists import codelist

Dimension = Literal["sex", "age_band", "citizenship_area", "vulnerability"]
DIMENSIONS: tuple[Dimension, ...] = ("sex", "age_band", "citizenship_area", "vulnerability")

# The total of a KPI: dimension and category of the cell shared by every breakdown table.
TOTAL = "total"
UNKNOWN = "unknown"
NO_VULNERABILITY = "none"

# (code, label, lowest age, highest age); ages at the end of the period, from the birth year.
AGE_BANDS: tuple[tuple[str, str, int, int], ...] = (
    ("under_18", "<18", 0, 17),
    ("18_24", "18–24", 18, 24),
    ("25_34", "25–34", 25, 34),
    ("35_44", "35–44", 35, 44),
    ("45_54", "45–54", 45, 54),
    ("55_64", "55–64", 55, 64),
    ("65_plus", "65+", 65, 200),
)


@dataclass(frozen=True)
class Breakdown:
    """A dimension with its categories, in display order."""

    name: Dimension
    label: str
    categories: tuple[str, ...]
    labels: tuple[str, ...]
    # True when a person can fall in several categories (the cells do not add up to the total).
    multi_valued: bool = False


@cache
def breakdown(name: Dimension) -> Breakdown:
    """The breakdown called ``name``; ``KeyError`` names the known ones."""
    if name == "sex":
        sexes = codelist("sex")
        codes = (*sexes.codes, UNKNOWN)
        labels = (*(sexes.label(c, "en") for c in sexes.codes), "Unknown")
        return Breakdown("sex", "Sex", codes, labels)
    if name == "age_band":
        return Breakdown(
            "age_band",
            "Age band",
            (*(band[0] for band in AGE_BANDS), UNKNOWN),
            (*(band[1] for band in AGE_BANDS), "Unknown"),
        )
    if name == "citizenship_area":
        areas = codelist("citizenship_area")
        codes = tuple(areas.codes)
        return Breakdown(
            "citizenship_area",
            "Citizenship area",
            codes,
            tuple(areas.label(c, "en") for c in codes),
        )
    if name == "vulnerability":
        vulnerabilities = codelist("vulnerability")
        codes = (*vulnerabilities.codes, NO_VULNERABILITY)
        labels = (*(vulnerabilities.label(c, "en") for c in vulnerabilities.codes), "None")
        return Breakdown("vulnerability", "Vulnerability", codes, labels, multi_valued=True)
    raise KeyError(f"unknown breakdown {name!r}; known: {', '.join(DIMENSIONS)}")


def sex_category(sex: str | None) -> str:
    return sex if sex is not None and sex in codelist("sex") else UNKNOWN


def age_band(birth_year: int | None, at_year: int) -> str:
    """The age band of someone born in ``birth_year`` at the end of ``at_year``."""
    if birth_year is None:
        return UNKNOWN
    age = at_year - birth_year
    for code, _label, low, high in AGE_BANDS:
        if low <= age <= high:
            return code
    return UNKNOWN


def citizenship_area(citizenship: str | None) -> str:
    """The area of an ISO 3166-1 alpha-3 country code (``country.yaml``), else ``unknown``."""
    countries = codelist("country")
    if citizenship is None or citizenship not in countries:
        return UNKNOWN
    return str(countries.codes[citizenship].get("area") or UNKNOWN)


def vulnerability_categories(codes: set[str]) -> tuple[str, ...]:
    """The person's coded vulnerabilities (unknown codes dropped), or ``("none",)``."""
    known = codelist("vulnerability")
    kept = tuple(sorted(code for code in codes if code in known))
    return kept or (NO_VULNERABILITY,)
