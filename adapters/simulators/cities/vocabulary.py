"""Each city's own local codes: tables from the common code lists to what its systems write.

A source picks a *style* per code list in ``catalogue.yaml``; the style turns every code of the
common list (``specs/codelists/<list>.yaml``) into the city's local code. Styles::

    mnemonic            Italian abbreviations of the office software ("SFD", "L2", "CPI")
    numeric             two-digit codes, numbered in an order of the city's own ("07")
    numeric:INT-        the same with a prefix ("INT-07")
    label_it, label_de  the Italian or German label of the code list ("Wohnungshilfe")
    code                the common code itself (an API designed after the national one)
    ...|upper, |lower   any of the above in upper or lower case ("label_it|upper")

Countries have their own styles (``iso3``, ``iso2``, ``belfiore`` Z-codes, ``name_it``,
``name_de``) over the countries the population is drawn from, and sex has ``MF``, ``12``
(ISTAT: 1 male, 2 female), ``MW`` (German ``weiblich``), ``words_it`` and ``fhir``. A source's
``overrides`` replace single entries: that is how a city's quirk, or drift in a test, is
written. The mapping files in ``mappings/<city>/`` hold the inverse tables; a test checks that
they agree.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import Any

import yaml

from adapters.simulators.names import load_origins
from adapters.simulators.population import specs_dir

__all__ = ["CODELISTS", "ISO2", "Vocabulary", "countries", "style_table"]

#: The code lists whose codes a source writes in its own local form.
CODELISTS = (
    "sex",
    "country",
    "permit_category",
    "intake_channel",
    "case_status",
    "vulnerability",
    "service_type",
    "service_status",
    "referral_target",
    "referral_outcome",
)

# ISO 3166-1 alpha-2 of the countries the population is drawn from (and Italy).
ISO2 = {
    "AFG": "AF", "ALB": "AL", "BFA": "BF", "BGD": "BD", "BGR": "BG", "BRA": "BR", "CHN": "CN",
    "CIV": "CI", "COL": "CO", "DOM": "DO", "DZA": "DZ", "ECU": "EC", "EGY": "EG", "ERI": "ER",
    "ETH": "ET", "GEO": "GE", "GHA": "GH", "GIN": "GN", "GMB": "GM", "IND": "IN", "IRN": "IR",
    "IRQ": "IQ", "LBY": "LY", "LKA": "LK", "MAR": "MA", "MDA": "MD", "MLI": "ML", "NGA": "NG",
    "PAK": "PK", "PER": "PE", "PHL": "PH", "PSE": "PS", "ROU": "RO", "RUS": "RU", "SDN": "SD",
    "SEN": "SN", "SLE": "SL", "SLV": "SV", "SOM": "SO", "SRB": "RS", "SYR": "SY", "TUN": "TN",
    "TUR": "TR", "UKR": "UA", "VEN": "VE", "VNM": "VN", "ITA": "IT",
}  # fmt: skip

# The abbreviations Italian case-file software uses; each city's tables start from these.
MNEMONIC: dict[str, dict[str, str]] = {
    "permit_category": {
        "international_protection": "PI", "special_protection": "PS", "asylum_application": "RA",
        "temporary_protection": "PT", "work": "LAV", "family": "FAM", "study": "STU",
        "long_term_eu": "SLP", "medical": "CURE", "minor_age": "MIN", "other": "ALTRO",
        "eu_citizen": "UE",
    },
    "intake_channel": {
        "mobile_unit": "UM", "one_stop_shop": "SPORT", "service_referral": "INV",
        "self_presented": "SPONT", "outreach_event": "EVENTO", "third_sector": "TS",
        "health_service": "SAN",
    },
    "case_status": {
        "open": "APERTA", "in_progress": "INCARICO", "suspended": "SOSP",
        "closed_goal_met": "CHIUSA_OB", "closed_dropout": "CHIUSA_AB",
        "closed_transferred": "CHIUSA_TR",
    },
    "vulnerability": {
        "homelessness": "SFD", "housing_exclusion": "DISAG_AB",
        "unaccompanied_minor_transition": "EX_MSNA", "single_parent": "MONOGEN",
        "pregnancy": "GRAV", "disability": "DIS", "chronic_illness": "CRON",
        "mental_health": "PSICH", "torture_survivor": "TORT", "trafficking_victim": "TRATTA",
        "gender_based_violence": "VIOL_GEN", "elderly": "ANZ", "addiction": "DIP",
        "unemployment": "DISOCC", "no_income": "NOREDD",
    },
    "service_type": {
        "housing_support": "ABIT", "emergency_accommodation": "ACC_EM",
        "civic_engagement_project": "PIIC", "health_referral": "ORIENT_SAN",
        "social_service_referral": "ORIENT_SOC", "employment_orientation": "ORIENT_LAV",
        "language_course": "L2", "legal_advice": "LEG", "cultural_mediation": "MED_CULT",
        "psychological_support": "PSI", "workshop": "LAB", "material_aid": "AIUTI",
        "administrative_support": "AMM",
    },
    "service_status": {
        "planned": "PROG", "active": "INCORSO", "completed": "CONCL", "interrupted": "INTERR",
        "cancelled": "ANN",
    },
    "referral_target": {
        "health_service": "ASL", "mental_health_service": "CSM", "addiction_service": "SERD",
        "social_service": "SST", "housing_service": "ABIT", "employment_centre": "CPI",
        "anti_violence_centre": "CAV", "anti_trafficking": "TRATTA", "legal_aid": "LEGALE",
        "education": "CPIA", "reception_system": "SAI",
    },
    "referral_outcome": {
        "pending": "ATT", "taken_up": "PRESO", "refused": "RIF", "not_attended": "NP",
    },
}  # fmt: skip

_SEX = {
    "MF": {"M": "M", "F": "F", "X": "X"},
    "12": {"M": "1", "F": "2", "X": "9"},
    "MW": {"M": "M", "F": "W", "X": "D"},
    "words_it": {"M": "Maschio", "F": "Femmina", "X": "Non specificato"},
    "fhir": {"M": "male", "F": "female", "X": "other"},
}


@cache
def _codelist(name: str) -> dict[str, dict[str, Any]]:
    path = specs_dir() / "codelists" / f"{name}.yaml"
    with path.open(encoding="utf-8") as handle:
        return {str(k): dict(v) for k, v in yaml.safe_load(handle)["codes"].items()}


@cache
def countries() -> tuple[str, ...]:
    """The countries the ground-truth population is born in or a citizen of, and Italy."""
    found = {c for origin in load_origins() for c in origin.countries}
    return tuple(sorted(found | {"ITA"}))


def _case(table: dict[str, str], modifier: str) -> dict[str, str]:
    if modifier == "upper":
        return {k: v.upper() for k, v in table.items()}
    if modifier == "lower":
        return {k: v.lower() for k, v in table.items()}
    if modifier:
        raise ValueError(f"unknown case modifier {modifier!r}")
    return table


def _numeric(codes: list[str], seed: str, prefix: str) -> dict[str, str]:
    # The city's own numbering: the common codes in an order drawn from the city and list.
    order = sorted(codes, key=lambda code: zlib.crc32(f"{seed}/{code}".encode()))
    return {code: f"{prefix}{n:02d}" for n, code in enumerate(order, start=1)}


def _country_table(style: str) -> dict[str, str]:
    table: dict[str, str] = {}
    known = _codelist("country")
    for code in countries():
        entry = known.get(code, {})
        if style == "iso3":
            table[code] = code
        elif style == "iso2":
            table[code] = ISO2[code]
        elif style == "belfiore":
            # Italy has no Z-code: Italian systems write the country's name instead.
            table[code] = str(entry.get("belfiore") or "ITALIA")
        elif style in ("name_it", "name_de"):
            table[code] = str(entry[style[-2:]])
        else:
            raise ValueError(f"unknown country style {style!r}")
    return table


@cache
def style_table(codelist: str, style: str, seed: str = "") -> dict[str, str]:
    """Common code -> local code of ``codelist`` written in ``style`` (see module docstring).

    ``seed`` (the city's slug) decides the order of ``numeric`` styles.
    """
    base, _, modifier = style.partition("|")
    base, _, prefix = base.partition(":")
    if codelist == "sex":
        return _case(dict(_SEX[base]), modifier)
    if codelist == "country":
        return _case(_country_table(base), modifier)
    codes = list(_codelist(codelist))
    if base == "mnemonic":
        table = dict(MNEMONIC[codelist])
    elif base == "numeric":
        table = _numeric(codes, f"{seed}/{codelist}", prefix)
    elif base in ("label_it", "label_de"):
        table = {code: str(_codelist(codelist)[code][base[-2:]]) for code in codes}
    elif base == "code":
        table = {code: code for code in codes}
    else:
        raise ValueError(f"unknown style {style!r} for {codelist}")
    if prefix and base != "numeric":
        table = {k: prefix + v for k, v in table.items()}
    return _case(table, modifier)


@dataclass(frozen=True)
class Vocabulary:
    """The local codes of one source: a style per code list, and single-entry overrides."""

    seed: str
    styles: Mapping[str, str]
    overrides: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @cached_property
    def _tables(self) -> dict[str, dict[str, str]]:
        tables: dict[str, dict[str, str]] = {}
        for codelist, style in self.styles.items():
            table = dict(style_table(codelist, style, self.seed))
            table.update(self.overrides.get(codelist, {}))
            tables[codelist] = table
        return tables

    def table(self, codelist: str) -> dict[str, str]:
        """Common code -> local code for ``codelist`` (empty if the source does not code it)."""
        return dict(self._tables.get(codelist, {}))

    def local(self, codelist: str, code: str | None) -> str | None:
        """The local code for ``code`` (``None`` stays ``None``; uncoded lists pass it)."""
        if code is None:
            return None
        table = self._tables.get(codelist)
        return code if table is None else table[code]

    def inverse(self, codelist: str) -> dict[str, str]:
        """Local code -> common code, as a mapping file's code map holds it."""
        return {local: common for common, local in self.table(codelist).items()}
