"""Synthetic name pools and the ways clerks misspell names, for the ground-truth population.

The pools live in ``names.yaml`` beside this module (see its header for the format). A name is
a tuple of *slots*; a slot is a tuple of spellings of one name (``Mohamed``, ``Muhammad``, ...).
The functions below are the noise a name picks up between two systems: another transliteration
of the same name, particles written differently (``El Amrani`` / ``Elamrani`` / ``Amrani``),
doubled or undoubled letters, accents dropped, Unicode oddities, one-letter typos, a token lost.
Each returns the new spelling and whether it changed anything, so records can be labelled with
the noise they carry (the linkage benchmark reports recall per noise type).
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "NameSpec",
    "Origin",
    "accents_noise",
    "double_letter_noise",
    "load_origins",
    "particle_noise",
    "typo_noise",
    "unicode_noise",
]

NAMES_FILE = Path(__file__).resolve().with_name("names.yaml")

Slot = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NameSpec:
    """A name of one or more tokens; each slot holds the spellings of one token."""

    slots: tuple[Slot, ...]

    @property
    def has_variants(self) -> bool:
        return any(len(slot) > 1 for slot in self.slots)


@dataclass(frozen=True, slots=True)
class Origin:
    """A region of origin: where people are born, what they speak, what they are called."""

    name: str
    weight: float
    countries: tuple[str, ...]
    country_weights: tuple[float, ...]
    languages: tuple[str, ...]
    given_male: tuple[NameSpec, ...]
    given_female: tuple[NameSpec, ...]
    family: tuple[NameSpec, ...]
    particles: tuple[str, ...]
    second_family: float


def _parse_name(text: str, shared: dict[str, Slot]) -> NameSpec:
    slots: list[Slot] = []
    for token in text.split():
        if token.startswith("@"):
            slots.append(shared[token[1:]])
        else:
            slots.append(tuple(token.split("|")))
    return NameSpec(tuple(slots))


def _parse_variant_name(text: str, shared: dict[str, Slot]) -> NameSpec:
    # "El Amrani|Elamrani|Al Amrani": alternatives of a whole multi-token name are one slot;
    # "@jose Luis|Luís" is two slots (a shared set, then a token's spellings).
    if "|" in text and " " in text and "@" not in text:
        return NameSpec((tuple(text.split("|")),))
    return _parse_name(text, shared)


@cache
def load_origins(path: Path = NAMES_FILE) -> tuple[Origin, ...]:
    """The origins of ``names.yaml``, parsed once."""
    with path.open(encoding="utf-8") as handle:
        data: dict[str, Any] = yaml.safe_load(handle)
    shared = {name: tuple(str(v).split("|")) for name, v in data["shared"].items()}
    origins = []
    for name, entry in data["origins"].items():
        countries = dict(entry["countries"])
        origins.append(
            Origin(
                name=name,
                weight=float(entry["weight"]),
                countries=tuple(countries),
                country_weights=tuple(float(w) for w in countries.values()),
                languages=tuple(entry["languages"]),
                given_male=tuple(_parse_variant_name(str(n), shared) for n in entry["given_male"]),
                given_female=tuple(
                    _parse_variant_name(str(n), shared) for n in entry["given_female"]
                ),
                family=tuple(_parse_variant_name(str(n), shared) for n in entry["family"]),
                particles=tuple(entry.get("particles") or ()),
                second_family=float(entry.get("second_family", 0.0)),
            )
        )
    return tuple(origins)


# --- noise ---------------------------------------------------------------------------------

_PARTICLE_FORMS = {
    "El": ("El ", "El-", "El", "Al ", "", "EL "),
    "Al": ("Al ", "Al-", "Al", "El ", "", "AL-"),
    "Ben": ("Ben ", "Ben-", "Ben", "Bin ", ""),
    "Ait": ("Ait ", "Aït ", "Ait-", "Ait"),
    "Abou": ("Abou ", "Abu ", "Abou", "Abu-"),
    "Abu": ("Abu ", "Abou ", "Abu", "Abu-"),
    "Ould": ("Ould ", "Ould", "Ould-", "Uld "),
    "De": ("De ", "de ", "De", ""),
    "Da": ("Da ", "da ", "Da", ""),
    "Del": ("Del ", "del ", "Del"),
}


def particle_noise(name: str, rng: random.Random) -> tuple[str, bool]:
    """Write a leading particle another way: ``El Amrani`` -> ``Elamrani`` / ``Amrani``..."""
    head, _, rest = name.partition(" ")
    if not rest:
        head, _, rest = name.partition("-")
    forms = _PARTICLE_FORMS.get(head.capitalize())
    if not forms or not rest:
        return name, False
    form = rng.choice(forms)
    glued = bool(form) and not form.endswith((" ", "-"))
    changed = form + (rest.lower() if glued else rest)
    return changed, changed != name


_VOWELS = set("aeiouAEIOU")


def double_letter_noise(name: str, rng: random.Random) -> tuple[str, bool]:
    """Double a single consonant or undouble a double one (``Hassan`` <-> ``Hasan``)."""
    doubles = [i for i in range(1, len(name)) if name[i] == name[i - 1] and name[i].isalpha()]
    if doubles and rng.random() < 0.6:
        i = rng.choice(doubles)
        return name[:i] + name[i + 1 :], True
    singles = [
        i
        for i in range(1, len(name) - 1)
        if name[i].isalpha()
        and name[i].islower()
        and name[i] not in _VOWELS
        and name[i - 1] in _VOWELS
        and name[i + 1] in _VOWELS
    ]
    if not singles:
        return name, False
    i = rng.choice(singles)
    return name[: i + 1] + name[i:], True


def accents_noise(name: str, rng: random.Random) -> tuple[str, bool]:
    """Drop every accent, or (rarely) put a grave accent on a final vowel (``Alì``)."""
    stripped = "".join(
        c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c)
    )
    if stripped != name:
        return stripped, True
    if name and name[-1] in "aeiou":
        return name[:-1] + {"a": "à", "e": "è", "i": "ì", "o": "ò", "u": "ù"}[name[-1]], True
    return name, False


_LOOKALIKES = {"'": "’", " ": "\u00a0", "s": "ș", "t": "ț", "i": "ı", "I": "İ", "S": "Ş"}


def unicode_noise(name: str, rng: random.Random) -> tuple[str, bool]:
    """Decomposed accents, curly apostrophes, no-break spaces, Turkish and Romanian letters."""
    if not name.isascii() and rng.random() < 0.5:
        decomposed = unicodedata.normalize("NFD", name)
        return decomposed, decomposed != name
    spots = [i for i, c in enumerate(name) if c in _LOOKALIKES]
    if not spots:
        return name, False
    i = rng.choice(spots)
    return name[:i] + _LOOKALIKES[name[i]] + name[i + 1 :], True


_NEIGHBOURS = {
    "a": "sq",
    "e": "wr",
    "i": "uo",
    "o": "ip",
    "u": "yi",
    "n": "bm",
    "m": "n",
    "r": "et",
    "s": "ad",
    "t": "ry",
    "l": "k",
    "d": "sf",
    "h": "gj",
    "k": "jl",
    "b": "vn",
}


def typo_noise(name: str, rng: random.Random) -> tuple[str, bool]:
    """One keyboard slip: a neighbouring key, a dropped letter or two letters swapped."""
    letters = [i for i, c in enumerate(name) if c.isalpha() and c.islower()]
    if len(letters) < 3:
        return name, False
    i = rng.choice(letters[1:])
    kind = rng.random()
    if kind < 0.5 and name[i] in _NEIGHBOURS:
        return name[:i] + rng.choice(_NEIGHBOURS[name[i]]) + name[i + 1 :], True
    if kind < 0.8:
        return name[:i] + name[i + 1 :], True
    if i + 1 < len(name) and name[i + 1].isalpha() and name[i + 1] != name[i]:
        return name[:i] + name[i + 1] + name[i] + name[i + 2 :], True
    return name[:i] + name[i + 1 :], True
