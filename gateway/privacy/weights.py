"""Fellegi–Sunter weights of the linker: m and u probabilities per field and agreement level.

A weight is ``log2(m / u)``: ``m`` the probability of the agreement level between two records
of the same person, ``u`` between records of two different persons (Fellegi & Sunter 1969).
Exact agreement on names, birth date and country is term-frequency adjusted: its ``u`` is the
observed frequency of the agreeing value among the records linked so far (never below a
floor), so ``MUHAMMAD`` weighs less than a rare name and 1 January less than 14 May.

The values below are fixed and documented rather than re-estimated per batch: an incremental
linker that re-weighted itself as data arrived would link the same record differently
depending on when it came. They were set from the rates the noise is known to have in
municipal data (transliteration, swapped names, day/month swaps: see
``adapters/simulators/truth.py``) and checked on the tuning seed of ``benchmarks/bench_linkage.py``,
never on its evaluation seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["WEIGHTS", "Weights"]


def _w(m: float, u: float) -> float:
    return math.log2(m / u)


@dataclass(frozen=True, slots=True)
class Weights:
    """Weights in bits. Name levels: exact (TF) > high > medium > low > none."""

    # names (family and given alike); Dice thresholds on the keyed Bloom filters
    name_exact_m: float = 0.75
    name_u_floor: float = 0.0005
    name_high: float = _w(0.14, 0.004)  # Dice >= 0.85, or one name's tokens within the other's
    name_medium: float = _w(0.07, 0.02)  # Dice >= 0.65, same skeleton or fiscal-code letters
    name_low: float = _w(0.02, 0.06)  # Dice >= 0.45
    name_none: float = _w(0.02, 0.916)
    dice_high: float = 0.85
    dice_medium: float = 0.65
    dice_low: float = 0.45
    names_swapped: float = math.log2(0.04)  # given and family names written the other way round

    # birth date: exact (TF), day and month swapped, same year only, different
    birth_exact_m: float = 0.93
    birth_u_floor: float = 1 / 20_000
    birth_swapped: float = _w(0.05, 0.0002)
    birth_year: float = _w(0.003, 0.025)  # same year, another day: a typing error
    birth_none: float = _w(0.002, 0.975)  # other typing errors than a swap are rare

    sex_agree: float = _w(0.99, 0.55)
    sex_disagree: float = _w(0.01, 0.45)

    # Not term-frequency adjusted: names already say where someone comes from, so among the
    # persons a name agreement brings up a quarter share the country of birth anyway.
    country_agree: float = _w(0.96, 0.25)
    country_disagree: float = _w(0.04, 0.9)

    # the same city: people mostly stay where they were taken in charge
    city_agree: float = _w(0.85, 0.15)
    city_disagree: float = _w(0.15, 0.85)

    # another person id in the same source system: systems rarely open two files for one person
    local_conflict: float = _w(0.05, 0.95)


WEIGHTS = Weights()
