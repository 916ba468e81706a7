"""Build ``specs/codelists/country.yaml`` from python-codicefiscale's Belfiore table and pycountry.

Keys are ISO 3166-1 alpha-3 codes; each entry carries Italian, German and English names, the
Belfiore ``Z###`` code used inside fiscal codes, and the citizenship ``area`` (a code of
``citizenship_area.yaml``) derived from the UN M49 geoscheme, with EU membership first.

pycountry is not a project dependency, so run this in a scratch venv::

    python3 -m venv /tmp/cvenv
    /tmp/cvenv/bin/pip install pycountry python-codicefiscale pyyaml
    /tmp/cvenv/bin/python specs/tools/build_country_codelist.py

The script checks uniqueness of ISO and Belfiore codes and the validity of every area, prints
counts and the Belfiore entries left without an ISO code, and fails if anything is unexplained.
"""

from __future__ import annotations

import gettext
import json
import re
import sys
from pathlib import Path
from typing import Any

import codicefiscale
import pycountry
import yaml

SPECS = Path(__file__).resolve().parent.parent
OUTPUT = SPECS / "codelists" / "country.yaml"
AREAS = SPECS / "codelists" / "citizenship_area.yaml"

# UN M49 sub-regions (intermediate regions for Sub-Saharan Africa and Latin America), by ISO
# alpha-3. Taiwan is not listed by the UN; it is placed with Eastern Asia as is customary.
# Kosovo (XKX, see below) is not listed by the UN either; it is placed in Southern Europe.
M49: dict[str, str] = {
    "Northern Africa": "DZA EGY LBY MAR SDN TUN ESH",
    "Eastern Africa": (
        "IOT BDI COM DJI ERI ETH ATF KEN MDG MWI MUS MYT MOZ REU RWA SYC SOM SSD UGA TZA ZMB ZWE"
    ),
    "Middle Africa": "AGO CMR CAF TCD COG COD GNQ GAB STP",
    "Southern Africa": "BWA SWZ LSO NAM ZAF",
    "Western Africa": "BEN BFA CPV CIV GMB GHA GIN GNB LBR MLI MRT NER NGA SHN SEN SLE TGO",
    "Caribbean": (
        "AIA ATG ABW BHS BRB BES VGB CYM CUB CUW DMA DOM GRD GLP HTI JAM MTQ MSR PRI BLM KNA LCA"
        " MAF VCT SXM TTO TCA VIR"
    ),
    "Central America": "BLZ CRI SLV GTM HND MEX NIC PAN",
    "South America": "ARG BOL BVT BRA CHL COL ECU FLK GUF GUY PRY PER SGS SUR URY VEN",
    "Northern America": "BMU CAN GRL SPM USA",
    "Central Asia": "KAZ KGZ TJK TKM UZB",
    "Eastern Asia": "CHN HKG MAC PRK JPN MNG KOR TWN",
    "South-eastern Asia": "BRN KHM IDN LAO MYS MMR PHL SGP THA TLS VNM",
    "Southern Asia": "AFG BGD BTN IND IRN MDV NPL PAK LKA",
    "Western Asia": "ARM AZE BHR CYP GEO IRQ ISR JOR KWT LBN OMN QAT SAU PSE SYR TUR ARE YEM",
    "Eastern Europe": "BLR BGR CZE HUN POL MDA ROU RUS SVK UKR",
    "Northern Europe": "ALA DNK EST FRO FIN GGY ISL IRL IMN JEY LVA LTU NOR SJM SWE GBR",
    "Southern Europe": "ALB AND BIH HRV GIB GRC VAT ITA MLT MNE MKD PRT SMR SRB SVN ESP XKX",
    "Western Europe": "AUT BEL FRA DEU LIE LUX MCO NLD CHE",
    "Australia and New Zealand": "AUS CXR CCK HMD NZL NFK",
    "Melanesia": "FJI NCL PNG SLB VUT",
    "Micronesia": "GUM KIR MHL FSM NRU MNP PLW UMI",
    "Polynesia": "ASM COK NIU PCN WSM TKL TON TUV WLF PYF",
    "Antarctica": "ATA",
}

SUBREGION_AREA: dict[str, str] = {
    "Northern Africa": "north_africa",
    "Eastern Africa": "east_africa",
    "Middle Africa": "central_africa",
    "Southern Africa": "southern_africa",
    "Western Africa": "west_africa",
    "Caribbean": "central_america_caribbean",
    "Central America": "central_america_caribbean",
    "South America": "south_america",
    "Northern America": "north_america",
    "Central Asia": "central_asia",
    "Eastern Asia": "east_asia",
    "South-eastern Asia": "southeast_asia",
    "Southern Asia": "south_asia",
    "Western Asia": "middle_east",
    "Eastern Europe": "europe_non_eu",
    "Northern Europe": "europe_non_eu",
    "Southern Europe": "europe_non_eu",
    "Western Europe": "europe_non_eu",
    "Australia and New Zealand": "oceania",
    "Melanesia": "oceania",
    "Micronesia": "oceania",
    "Polynesia": "oceania",
    "Antarctica": "unknown",
}

# The 27 EU member states (2026); Italy has its own area.
_EU27_CODES = (
    "AUT BEL BGR HRV CYP CZE DNK EST FIN FRA DEU GRC HUN IRL LVA LTU LUX MLT NLD POL PRT ROU SVK"
    " SVN ESP SWE"
)
EU27 = frozenset(_EU27_CODES.split())

# Belfiore codes whose English/Italian names pycountry does not recognise (checked by hand).
ISO_FIXES: dict[str, str] = {
    "Z106": "VAT",  # "Vatican City State"
    "Z108": "FRO",  # Faroe Islands: no English name in the table
    "Z161": "PSE",  # "Palestinian Territory, Occupied"
    "Z242": "TLS",  # "East Timor"
    "Z340": "SHN",  # Saint Helena (ISO: with Ascension and Tristan da Cunha)
    "Z403": "SPM",  # Saint Pierre and Miquelon
    "Z520": "VIR",  # US Virgin Islands
    "Z729": "WLF",  # Wallis and Futuna
    "Z907": "SSD",  # "South Sudan, Republic Of"
    # Kosovo has no ISO 3166-1 code; XKX is the user-assigned code used by the European
    # Commission, the IMF and Kosovo's own passports. Kept because Kosovar citizens are common.
    "Z160": "XKX",
}

# Belfiore entries deliberately left without an ISO code, with the reason (goes in the header).
NO_ISO: dict[str, str] = {
    "Z350": "Tanganica (deleted 1964, merged into Tanzania, TZA)",
}

# Codes that are not (or not yet) in ISO 3166-1, with the names to use.
NON_ISO: dict[str, dict[str, str]] = {
    "XKX": {"it": "Kosovo", "de": "Kosovo", "en": "Kosovo"},
}

# Readable names where pycountry's are inverted ("Congo, The Democratic Republic of the").
EN_NAMES: dict[str, str] = {
    "BOL": "Bolivia",
    "BRN": "Brunei",
    "COD": "Democratic Republic of the Congo",
    "FSM": "Micronesia",
    "PSE": "Palestine",
    "VAT": "Vatican City",
    "SHN": "Saint Helena",
    "VGB": "British Virgin Islands",
    "VIR": "United States Virgin Islands",
    "TWN": "Taiwan",
}
DE_NAMES: dict[str, str] = {
    "BOL": "Bolivien",
    "BRN": "Brunei",
    "COD": "Demokratische Republik Kongo",
    "FSM": "Mikronesien",
    "PSE": "Palästina",
    "VAT": "Vatikanstadt",
    "SHN": "St. Helena",
    "TWN": "Taiwan",
}
# Italian names come from the Belfiore table (the Agenzia delle Entrate denominations), with
# articles and prepositions lower-cased; these fix its ASCII accents.
IT_NAMES: dict[str, str] = {
    "Z611": "Perù",
    "Z106": "Stato della Città del Vaticano",
    "Z341": "São Tomé e Príncipe",
}
_IT_LOWER = re.compile(r"(?<=\S )(?:(?:E|Del|Della|Dei|Delle|Di)(?= )|Dell'|D')")

LANGUAGES = ("it", "de", "en")
ITALY = {"it": "Italia", "de": "Italien", "en": "Italy", "belfiore": None, "area": "italy"}
UNKNOWN = {
    "it": "Apolide o non nota",
    "de": "Staatenlos oder unbekannt",
    "en": "Stateless or unknown",
    "belfiore": None,  # the Belfiore table has no code for stateless people (no Z999)
    "area": "unknown",
}


def belfiore_table() -> list[dict[str, Any]]:
    path = Path(codicefiscale.__file__).parent / "data" / "countries.json"
    with path.open(encoding="utf-8") as handle:
        rows: list[dict[str, Any]] = json.load(handle)
    return [row for row in rows if row["code"].startswith("Z")]


def italian_index() -> dict[str, str]:
    """Lower-cased Italian ISO names (official and common) to alpha-3."""
    italian = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["it"])
    index: dict[str, str] = {}
    for country in pycountry.countries:
        for attr in ("name", "common_name", "official_name"):
            value = getattr(country, attr, None)
            if value:
                index[italian.gettext(value).lower()] = country.alpha_3
    return index


def match(row: dict[str, Any], italian: dict[str, str]) -> str | None:
    if row["code"] in ISO_FIXES:
        return ISO_FIXES[row["code"]]
    if row["name_alt_en"]:
        try:
            return str(pycountry.countries.lookup(row["name_alt_en"]).alpha_3)
        except LookupError:
            pass
    for name in (row["name"], row["name_alt"]):
        if name and name.lower() in italian:
            return italian[name.lower()]
    return None


def italian_name(row: dict[str, Any]) -> str:
    if row["code"] in IT_NAMES:
        return IT_NAMES[row["code"]]
    return _IT_LOWER.sub(lambda found: found.group(0).lower(), str(row["name"]))


def foreign_names(alpha_3: str, german: gettext.NullTranslations) -> tuple[str, str]:
    if alpha_3 in NON_ISO:
        return NON_ISO[alpha_3]["de"], NON_ISO[alpha_3]["en"]
    country = pycountry.countries.get(alpha_3=alpha_3)
    english = getattr(country, "common_name", None) or country.name
    english = EN_NAMES.get(alpha_3, english)
    deutsch = german.gettext(getattr(country, "common_name", None) or country.name)
    return DE_NAMES.get(alpha_3, deutsch), english


def area_of(alpha_3: str, subregions: dict[str, str]) -> str:
    if alpha_3 == "ITA":
        return "italy"
    if alpha_3 in EU27:
        return "eu"
    return SUBREGION_AREA[subregions[alpha_3]]


def build() -> tuple[dict[str, dict[str, Any]], list[str]]:
    german = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["de"])
    italian = italian_index()
    subregions = {code: region for region, codes in M49.items() for code in codes.split()}
    missing_m49 = {c.alpha_3 for c in pycountry.countries} - subregions.keys()
    if missing_m49:
        sys.exit(f"M49 table lacks {sorted(missing_m49)}")

    codes: dict[str, dict[str, Any]] = {"ITA": dict(ITALY), "XXX": dict(UNKNOWN)}
    unmatched: list[str] = []
    for row in belfiore_table():
        alpha_3 = match(row, italian)
        if alpha_3 is None:
            state = "active" if row["active"] else f"deleted {row['date_deleted'][:10]}"
            unmatched.append(f"{row['code']} {row['name']} ({state})")
            if row["code"] not in NO_ISO:
                sys.exit(f"no ISO code for {unmatched[-1]}: add it to ISO_FIXES or NO_ISO")
            continue
        if alpha_3 in codes:
            sys.exit(f"{alpha_3} matched twice (second: {row['code']})")
        deutsch, english = foreign_names(alpha_3, german)
        codes[alpha_3] = {
            "it": italian_name(row),
            "de": deutsch,
            "en": english,
            "belfiore": row["code"],
            "area": area_of(alpha_3, subregions),
        }
    return dict(sorted(codes.items())), unmatched


def check(codes: dict[str, dict[str, Any]]) -> None:
    with AREAS.open(encoding="utf-8") as handle:
        areas = set(yaml.safe_load(handle)["codes"])
    belfiore = [entry["belfiore"] for entry in codes.values() if entry["belfiore"]]
    problems = [f"duplicate Belfiore {code}" for code in set(belfiore) if belfiore.count(code) > 1]
    problems += [f"{key}: bad area" for key, entry in codes.items() if entry["area"] not in areas]
    problems += [f"{key}: not alpha-3" for key in codes if not re.fullmatch("[A-Z]{3}", key)]
    problems += [
        f"{key}: empty name" for key, entry in codes.items() if not all(entry[k] for k in LANGUAGES)
    ]
    if problems:
        sys.exit("\n".join(problems))


def scalar(value: Any) -> str:
    """A YAML flow scalar: plain when it reads back unchanged, else double-quoted."""
    if value is None:
        return "null"
    text = str(value)
    plain_ok = not re.search(r"[,:\[\]{}#]|^[-?&*!|>'\"%@`]", text)
    if plain_ok and yaml.safe_load(f"{{k: {text}}}") == {"k": text}:
        return text
    return json.dumps(text, ensure_ascii=False)


HEADER = """\
# Countries of citizenship and of birth, keyed by ISO 3166-1 alpha-3.
# GENERATED by specs/tools/build_country_codelist.py from python-codicefiscale's Belfiore table
# (foreign countries, Z-codes) and pycountry (ISO codes, German names): edit the script, not this.
# - belfiore: the Z### code used in fiscal codes; ITA has none (Italian-born people carry a
#   municipality code) and neither has XXX (stateless or unknown: the table has no Z999).
# - area: a code of citizenship_area.yaml (UN M49 sub-region; EU 27 membership first).
# - XKX (Kosovo) is not in ISO 3166-1: it is the user-assigned code used by the EU and the IMF.
# - XXX is not in ISO 3166-1 either: it is the ICAO 9303 code for an unspecified nationality.
# - Left out, having no ISO code: {unmatched}.
"""


def render(codes: dict[str, dict[str, Any]]) -> str:
    left_out = "; ".join(f"{code} {reason}" for code, reason in NO_ISO.items()) or "none"
    lines = [HEADER.format(unmatched=left_out).rstrip("\n")]
    lines.append("name: country")
    lines.append(
        "description: Country (citizenship, country of birth), with its Belfiore code and"
        " citizenship area."
    )
    lines.append("codes:")
    for key, entry in codes.items():
        fields = ", ".join(f"{k}: {scalar(entry[k])}" for k in (*LANGUAGES, "belfiore", "area"))
        lines.append(f"  {key}: {{{fields}}}")
    return "\n".join(lines) + "\n"


def main() -> None:
    codes, unmatched = build()
    check(codes)
    text = render(codes)
    if yaml.safe_load(text)["codes"] != codes:
        sys.exit("rendered YAML does not read back to the same data")
    OUTPUT.write_text(text, encoding="utf-8")
    by_area: dict[str, int] = {}
    for entry in codes.values():
        by_area[entry["area"]] = by_area.get(entry["area"], 0) + 1
    rows = belfiore_table()
    print(f"Belfiore Z-codes: {len(rows)} ({sum(r['active'] for r in rows)} active)")
    print(f"country codes written: {len(codes)} (incl. ITA and XXX) -> {OUTPUT}")
    print("by area: " + ", ".join(f"{a}={n}" for a, n in sorted(by_area.items())))
    print("without ISO code: " + ("; ".join(unmatched) or "none"))


if __name__ == "__main__":
    main()
