"""What the linker knows of one person: the union of the keyed features of its records.

A :class:`Profile` is compared field by field with an incoming record (the best agreement
over the person's values counts: records of one person are one person), and grows with every
record linked to it. Nothing here is stored; profiles are rebuilt from stored features.
"""

from __future__ import annotations

from gateway.privacy.features import LinkageFeatures, NameFeature
from gateway.privacy.identifiers import Kind

__all__ = ["MAX_NAMES", "Profile"]

MAX_NAMES = 12  # distinct (family, given) name pairs kept per person

_EMPTY: frozenset[bytes] = frozenset()
_CITIES: dict[str, frozenset[str]] = {}


def _city(city: str) -> frozenset[str]:
    found = _CITIES.get(city)
    if found is None:
        found = _CITIES[city] = frozenset((city,))
    return found


class Profile:
    """Everything the linker knows of one person: the union of its records' features.

    Sets are the records' own frozensets, shared until a record brings something new (most
    records of a person repeat the same birth date, sex and country): memory stays small.
    """

    __slots__ = (
        "births", "cfp", "cfs", "cities", "countries", "family_letters", "given_letters",
        "locals", "names", "sexes", "swapped", "years",
    )  # fmt: skip

    def __init__(self) -> None:
        self.names: list[tuple[NameFeature | None, NameFeature | None]] = []
        self.births = self.swapped = self.years = self.sexes = self.countries = _EMPTY
        self.family_letters = self.given_letters = self.cfs = self.cfp = _EMPTY
        self.cities: frozenset[str] = frozenset()
        self.locals: tuple[tuple[str, str, bytes], ...] = ()  # (city, source, token)

    def absorb(self, f: LinkageFeatures) -> None:
        family, given = f.family, f.given
        if (family or given) and len(self.names) < MAX_NAMES:
            keys = (family.key if family else None, given.key if given else None)
            for a, b in self.names:
                if (a.key if a else None, b.key if b else None) == keys:
                    break
            else:
                self.names.append((family, given))
        if not f.births <= self.births:
            self.births = self.births | f.births if self.births else f.births
        if not f.births_swapped <= self.swapped:
            self.swapped = self.swapped | f.births_swapped if self.swapped else f.births_swapped
        if not f.years <= self.years:
            self.years = self.years | f.years if self.years else f.years
        if not f.sexes <= self.sexes:
            self.sexes = self.sexes | f.sexes if self.sexes else f.sexes
        if not f.countries <= self.countries:
            self.countries = self.countries | f.countries if self.countries else f.countries
        if f.city not in self.cities:
            self.cities = self.cities | _city(f.city) if self.cities else _city(f.city)
        if not f.family_letters <= self.family_letters:
            self.family_letters = (
                self.family_letters | f.family_letters if self.family_letters else f.family_letters
            )
        if not f.given_letters <= self.given_letters:
            self.given_letters = (
                self.given_letters | f.given_letters if self.given_letters else f.given_letters
            )
        for kind, token in f.strong:
            if kind is Kind.FISCAL_CODE and token not in self.cfs:
                self.cfs = self.cfs | {token}
            elif kind is Kind.PROVISIONAL_FISCAL_CODE and token not in self.cfp:
                self.cfp = self.cfp | {token}
            elif kind is Kind.LOCAL and (f.city, f.source, token) not in self.locals:
                self.locals += ((f.city, f.source, token),)

    def merge(self, other: Profile) -> None:
        for pair in other.names:
            if len(self.names) < MAX_NAMES and pair not in self.names:
                self.names.append(pair)
        self.births |= other.births
        self.swapped |= other.swapped
        self.years |= other.years
        self.sexes |= other.sexes
        self.countries |= other.countries
        self.cities |= other.cities
        self.family_letters |= other.family_letters
        self.given_letters |= other.given_letters
        self.cfs |= other.cfs
        self.cfp |= other.cfp
        self.locals += tuple(x for x in other.locals if x not in self.locals)

    def conflicts(self, other: Profile) -> bool:
        """Two different fiscal codes (or provisional codes) are two different people."""
        return bool(
            (self.cfs and other.cfs and self.cfs.isdisjoint(other.cfs))
            or (self.cfp and other.cfp and self.cfp.isdisjoint(other.cfp))
        )
