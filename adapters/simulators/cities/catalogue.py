"""The catalogue of the cities' systems: ``catalogue.yaml`` read into :class:`SourceSpec` objects.

::

    from adapters.simulators.cities import catalogue

    for spec in catalogue.sources():                 # every city's sources, in order
        spec.key, spec.kind, spec.system             # "roma/welfare-soap", "soap", "welfare"
        spec.env("url")                              # "LGNET_ROMA_WELFARE_SOAP_URL"
    spec = catalogue.source("bolzano", "wohnungshilfe-csv")
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from adapters.simulators.cities.vocabulary import CODELISTS, Vocabulary
from adapters.simulators.truth import SYSTEMS

__all__ = ["CATALOGUE_FILE", "KINDS", "SourceSpec", "cities", "source", "sources"]

CATALOGUE_FILE = Path(__file__).resolve().with_name("catalogue.yaml")
KINDS = ("soap", "rest", "csv", "fhir_r4", "anpr")
_COMMON_KEYS = {"system", "kind", "operator", "layout", "codes", "overrides"}


@dataclass(frozen=True)
class SourceSpec:
    """One system of one city, as the simulators play it.

    ``options`` holds the kind's own settings from the catalogue (``auth``, ``paging``,
    ``path``, ``encoding``, ``preamble``, ``columns``, ``date_format``, ``cf_system``...).
    """

    city: str
    name: str
    system: str
    kind: str
    operator: str
    vocabulary: Vocabulary = field(repr=False)
    layout: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def __hash__(self) -> int:
        return hash((self.city, self.name))

    @property
    def key(self) -> str:
        """``city/source``, as the gateway names the source."""
        return f"{self.city}/{self.name}"

    @property
    def auth(self) -> str:
        return str(self.options.get("auth", "none"))

    def env(self, part: str) -> str:
        """The environment variable of ``part`` (``url``, ``password``...) of this source."""
        slug = f"{self.city}_{self.name}_{part}".upper().replace("-", "_")
        return f"LGNET_{slug}"

    def option(self, name: str, default: Any = None) -> Any:
        return self.options.get(name, default)

    def with_overrides(self, codelist: str, codes: Mapping[str, str]) -> SourceSpec:
        """A copy whose system writes ``codes`` (common -> local) differently: local drift."""
        overrides = {k: dict(v) for k, v in self.vocabulary.overrides.items()}
        overrides.setdefault(codelist, {}).update(codes)
        vocabulary = Vocabulary(self.vocabulary.seed, self.vocabulary.styles, overrides)
        return replace(self, vocabulary=vocabulary)


def _spec(city: str, name: str, entry: Mapping[str, Any]) -> SourceSpec:
    where = f"{city}/{name}"
    if entry.get("kind") not in KINDS:
        raise ValueError(f"{where}: kind must be one of {', '.join(KINDS)}")
    if entry.get("system") not in SYSTEMS:
        raise ValueError(f"{where}: system must be one of {', '.join(SYSTEMS)}")
    codes = dict(entry.get("codes") or {})
    unknown = set(codes) - set(CODELISTS)
    if unknown:
        raise ValueError(f"{where}: unknown code lists {sorted(unknown)}")
    vocabulary = Vocabulary(
        seed=city,
        styles={k: str(v) for k, v in codes.items()},
        overrides={k: dict(v) for k, v in (entry.get("overrides") or {}).items()},
    )
    return SourceSpec(
        city=city,
        name=name,
        system=str(entry["system"]),
        kind=str(entry["kind"]),
        operator=str(entry.get("operator", "")),
        vocabulary=vocabulary,
        layout=entry.get("layout"),
        options={k: v for k, v in entry.items() if k not in _COMMON_KEYS},
    )


@cache
def _load(path: Path = CATALOGUE_FILE) -> tuple[SourceSpec, ...]:
    with path.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    specs = [
        _spec(str(city), str(name), entry)
        for city, city_sources in data["cities"].items()
        for name, entry in city_sources.items()
    ]
    return tuple(specs)


def cities() -> tuple[str, ...]:
    """The city slugs of the catalogue, in order."""
    return tuple(dict.fromkeys(spec.city for spec in _load()))


def sources(selected: Iterable[str] | None = None) -> list[SourceSpec]:
    """Every source of the catalogue (of the ``selected`` cities), city by city."""
    wanted = None if selected is None else set(selected)
    if wanted is not None:
        unknown = wanted - set(cities())
        if unknown:
            raise ValueError(f"unknown cities: {sorted(unknown)}")
    return [s for s in _load() if wanted is None or s.city in wanted]


def source(city: str, name: str) -> SourceSpec:
    """The source ``name`` of ``city``; ``LookupError`` names what is known."""
    for spec in _load():
        if spec.city == city and spec.name == name:
            return spec
    known = ", ".join(s.name for s in _load() if s.city == city) or "none"
    raise LookupError(f"no simulated source {city}/{name} (the city has: {known})")
