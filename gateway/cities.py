"""The 18 cities of the network and the instrumental bodies acting for some of them."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import yaml

from gateway.paths import specs_dir


@dataclass(frozen=True)
class City:
    slug: str
    name: str
    istat: str
    belfiore: str
    province: str
    region: str
    languages: tuple[str, ...] = ("it",)


@dataclass(frozen=True)
class InstrumentalBody:
    slug: str
    name: str
    acts_for: str


@cache
def _load() -> tuple[tuple[City, ...], tuple[InstrumentalBody, ...]]:
    with (specs_dir() / "cities.yaml").open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    city_list = tuple(
        City(
            slug=c["slug"],
            name=c["name"],
            istat=c["istat"],
            belfiore=c["belfiore"],
            province=c["province"],
            region=c["region"],
            languages=tuple(c.get("languages", ["it"])),
        )
        for c in data["cities"]
    )
    bodies = tuple(
        InstrumentalBody(slug=b["slug"], name=b["name"], acts_for=b["acts_for"])
        for b in data["instrumental_bodies"]
    )
    return city_list, bodies


def cities() -> tuple[City, ...]:
    return _load()[0]


def instrumental_bodies() -> tuple[InstrumentalBody, ...]:
    return _load()[1]


def city(slug: str) -> City:
    """The city with this slug; ``KeyError`` names the known slugs."""
    for candidate in cities():
        if candidate.slug == slug:
            return candidate
    raise KeyError(f"unknown city {slug!r}; known: {', '.join(c.slug for c in cities())}")


def is_city(slug: str) -> bool:
    return any(c.slug == slug for c in cities())
