"""The registry residence check (ANPR C020) as some cities use it.

Such a city keeps no registry feed of its own: it asks ANPR about the people its offices know,
one fiscal code a line in a file (the ``fiscal_codes_file`` of :mod:`adapters.anpr`). The
codes are those of the city's ground-truth registry records: the final fiscal code, else the
provisional one (which ANPR never holds: the answer is "unknown"). ANPR knows each person with
a fiscal code as resident in the last city they moved to.
"""

from __future__ import annotations

from functools import cache

import yaml

from adapters.simulators.cities.formats import identifiers
from adapters.simulators.population import specs_dir
from adapters.simulators.truth import Person, SourceRecordTruth

__all__ = ["belfiore", "code_of", "record", "residence"]


@cache
def _belfiore() -> dict[str, str]:
    with (specs_dir() / "cities.yaml").open(encoding="utf-8") as handle:
        return {c["slug"]: str(c["belfiore"]) for c in yaml.safe_load(handle)["cities"]}


def belfiore(city: str) -> str:
    """The Belfiore code of an LGNet city (the ``municipality`` the check asks about)."""
    return _belfiore()[city]


def code_of(truth: SourceRecordTruth) -> str | None:
    """The code the city asks ANPR about: the fiscal code, else the provisional one."""
    ids = identifiers(truth.subject)
    return ids["fiscal_code"] or ids["provisional_fiscal_code"]


def residence(person: Person, truth: SourceRecordTruth) -> tuple[str, str] | None:
    """``(code as the city writes it, Belfiore of the residence)`` that ANPR holds, if any."""
    code = code_of(truth)
    if code is None or len(code) != 16:
        return None
    return code, belfiore(person.cities[-1])


def record(truth: SourceRecordTruth, city: str, day: str) -> dict[str, str | None]:
    """What the adapter yields for ``truth``'s line on ``day`` (for samples): the answer."""
    code = code_of(truth)
    resident = truth.subject.get("resident_in_city")
    answer = "unknown" if code is None or len(code) != 16 else ("yes" if resident else "no")
    return {
        "codiceFiscale": code,
        "municipality": belfiore(city),
        "referenceDate": day,
        "resident": answer,
    }
