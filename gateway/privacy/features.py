"""Keyed linkage features of a subject: everything linkage compares, and no name or identifier.

BRIEF §5 forbids names, identifiers and free text at rest, yet a returning person without a
fiscal code must be recognised by name and birth date. So a subject becomes, in memory:

- **strong tokens** — the inner tokens of its valid identifiers (:mod:`.pseudonyms`);
- **name features** per name (family, given): a keyed Bloom filter of the bigrams of the
  canonical name (a *cryptographic long-term key*, CLK, Schnell, Bachteler & Reiher 2009),
  compared by Dice coefficient in place of Jaro-Winkler; keyed hashes of the canonical name, of
  each canonical token and of each token's phonetic skeleton (:mod:`.names`);
- **fiscal-code letters**: the three surname and three given-name letters of the codice
  fiscale, computed from the names as written and, when a code is held, read from the code.
  A record without a code is thus checked against one with a code;
- keyed hashes of the **birth date** (as stated, and as the fiscal code says), of the same date
  with day and month **swapped**, of the birth year, **sex**, **country of birth**;
- **fiscal-code roots**: keyed hashes of the first 15 characters (omocodia undone) of the
  held code, and of the code the demographics would give (also with names or day and month
  swapped);
- **blocking keys**: keyed hashes of phonetic skeleton + birth year, birth date + sex, root,
  and skeleton pair, so that candidates are found by dictionary lookups.

All hashes are HMAC-SHA256 under the *linkage* key, derived with HKDF from the never-rotated
inner key (:func:`linkage_key`), truncated to 8 bytes. Keyed Bloom filters resist the
dictionary attacks that break unkeyed ones; their bit patterns still reflect bigram
frequencies to someone holding the database *and* many records, a known limit of CLKs.
"""

from __future__ import annotations

import datetime as dt
import hmac
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from gateway.privacy import fiscal_parts as cf
from gateway.privacy.identifiers import Kind, NormalisedIdentifier, identifiers_of
from gateway.privacy.keys import Keyring
from gateway.privacy.names import NameForms, name_forms
from gateway.privacy.pseudonyms import Pseudonymiser
from gateway.schema.intake import Subject

__all__ = [
    "BLOOM_BITS",
    "FEATURES_VERSION",
    "FeatureEncoder",
    "LinkageFeatures",
    "NameFeature",
    "linkage_key",
]

FEATURES_VERSION = 1
TOKEN_BYTES = 8
BLOOM_BITS = 512
BLOOM_HASHES = 8
_BLOOM_BYTES = BLOOM_BITS // 8
_KIND_CODES = {Kind.FISCAL_CODE: 1, Kind.PROVISIONAL_FISCAL_CODE: 2, Kind.STP: 3, Kind.ENI: 4,
               Kind.LOCAL: 5}  # fmt: skip
_CODE_KINDS = {code: kind for kind, code in _KIND_CODES.items()}
_digest = hmac.digest


def linkage_key(keyring: Keyring) -> bytes:
    """The linkage purpose key: HKDF-SHA256 of the inner key (never rotated either).

    Derived here from :meth:`Keyring.inner_key` because the keyring has no linkage purpose;
    like the inner tokens, linkage features must stay comparable for ever.
    """
    hkdf = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"lgnet-gateway/linkage/v1", info=b"linkage"
    )
    return hkdf.derive(keyring.inner_key())


@dataclass(frozen=True, slots=True)
class NameFeature:
    """One name, keyed: Bloom filter, canonical form and tokens, two phonetic keys a token."""

    bloom: int
    key: bytes
    tokens: frozenset[bytes]
    sounds: frozenset[bytes]
    metaphones: frozenset[bytes] = frozenset()
    bits: int = 0  # bits set in the Bloom filter, kept for the Dice coefficient

    def __post_init__(self) -> None:
        if not self.bits:
            object.__setattr__(self, "bits", self.bloom.bit_count())

    def __repr__(self) -> str:
        return "NameFeature(<keyed>)"


@dataclass(frozen=True, slots=True)
class LinkageFeatures:
    """The keyed features of one source record's subject. Safe to store; repr shows counts."""

    city: str
    source: str
    strong: tuple[tuple[Kind, bytes], ...]
    family: NameFeature | None
    given: NameFeature | None
    family_letters: frozenset[bytes]
    given_letters: frozenset[bytes]
    births: frozenset[bytes]
    births_swapped: frozenset[bytes]
    years: frozenset[bytes]
    sexes: frozenset[bytes]
    countries: frozenset[bytes]
    roots: frozenset[bytes]
    blocks: tuple[bytes, ...]

    def __repr__(self) -> str:
        kinds = ",".join(kind.value for kind, _ in self.strong)
        return f"LinkageFeatures(city={self.city!r}, strong=[{kinds}], blocks={len(self.blocks)})"

    # --- storage ----------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """A compact binary form (version byte first) for ``linkage_features.features``."""
        out = bytearray([FEATURES_VERSION, len(self.strong)])
        for kind, token in self.strong:
            out.append(_KIND_CODES[kind])
            out += struct.pack("B", len(token)) + token
        for name in (self.family, self.given):
            if name is None:
                out.append(0)
                continue
            out.append(1)
            out += name.bloom.to_bytes(_BLOOM_BYTES, "big") + name.key
            _put(out, name.tokens)
            _put(out, name.sounds)
            _put(out, name.metaphones)
        for group in (
            self.family_letters, self.given_letters, self.births, self.births_swapped,
            self.years, self.sexes, self.countries, self.roots, self.blocks,
        ):  # fmt: skip
            _put(out, group)
        return bytes(out)

    @classmethod
    def from_bytes(cls, data: bytes, *, city: str, source: str) -> LinkageFeatures:
        """Read what :meth:`to_bytes` wrote; raise ValueError on another version."""
        view = memoryview(data)
        if not view or view[0] != FEATURES_VERSION:
            raise ValueError("unsupported linkage features version")
        strong = []
        at = 2
        for _ in range(view[1]):
            kind = _CODE_KINDS[view[at]]
            size = view[at + 1]
            strong.append((kind, bytes(view[at + 2 : at + 2 + size])))
            at += 2 + size
        names: list[NameFeature | None] = []
        for _ in range(2):
            present = view[at]
            at += 1
            if not present:
                names.append(None)
                continue
            bloom = int.from_bytes(view[at : at + _BLOOM_BYTES], "big")
            at += _BLOOM_BYTES
            key = bytes(view[at : at + TOKEN_BYTES])
            at += TOKEN_BYTES
            tokens, at = _get(view, at)
            sounds, at = _get(view, at)
            metaphones, at = _get(view, at)
            names.append(
                NameFeature(bloom, key, frozenset(tokens), frozenset(sounds), frozenset(metaphones))
            )
        groups = []
        for _ in range(9):
            group, at = _get(view, at)
            groups.append(group)
        return cls(
            city=city,
            source=source,
            strong=tuple(strong),
            family=names[0],
            given=names[1],
            family_letters=frozenset(groups[0]),
            given_letters=frozenset(groups[1]),
            births=frozenset(groups[2]),
            births_swapped=frozenset(groups[3]),
            years=frozenset(groups[4]),
            sexes=frozenset(groups[5]),
            countries=frozenset(groups[6]),
            roots=frozenset(groups[7]),
            blocks=tuple(groups[8]),
        )


def counted_parts(data: bytes) -> tuple[list[bytes], list[bytes]]:
    """The keyed names and birth dates of stored features (what term frequencies count),
    read without building :class:`LinkageFeatures`: a process counts every stored record
    when it starts."""
    view = memoryview(data)
    if not view or view[0] != FEATURES_VERSION:
        raise ValueError("unsupported linkage features version")
    at = 2
    for _ in range(view[1]):
        at += 2 + view[at + 1]
    names = []
    for _ in range(2):
        present = view[at]
        at += 1
        if present:
            at += _BLOOM_BYTES
            names.append(bytes(view[at : at + TOKEN_BYTES]))
            at += TOKEN_BYTES
            for _ in range(3):  # tokens, sounds, metaphones
                at += 1 + view[at] * TOKEN_BYTES
    for _ in range(2):  # family and given fiscal-code letters
        at += 1 + view[at] * TOKEN_BYTES
    births, _ = _get(view, at)
    return names, births


def _put(out: bytearray, tokens: frozenset[bytes] | tuple[bytes, ...]) -> None:
    out.append(len(tokens))
    for token in sorted(tokens) if isinstance(tokens, frozenset) else tokens:
        out += token


def _get(view: memoryview, at: int) -> tuple[list[bytes], int]:
    count = view[at]
    at += 1
    end = at + count * TOKEN_BYTES
    return [bytes(view[i : i + TOKEN_BYTES]) for i in range(at, end, TOKEN_BYTES)], end


# --- the encoder ------------------------------------------------------------------------------


class FeatureEncoder:
    """Turns intake subjects into :class:`LinkageFeatures` under one keyring.

    Keyed outputs are cached in memory by their input (names and dates repeat a lot), so the
    cost per record is a few HMACs; the caches hold nothing that is not in the intake anyway,
    and each is bounded (emptied when full), so memory stays flat over a long sync.
    """

    _CACHE_LIMIT = 30_000  # names, tokens, dates: values shared by many people (each a few
    # hundred bytes to 1.5 KB: the caches stay under ~100 MB together, whatever the volume)
    _PAIRS_LIMIT = 5_000  # name pairs: about one a person, kept while its records come in

    def __init__(self, pseudonymiser: Pseudonymiser) -> None:
        self._pseudonymiser = pseudonymiser
        self._key = linkage_key(pseudonymiser.keyring)
        self._tokens: dict[str, bytes] = {}
        self._grams: dict[str, int] = {}
        self._names: dict[tuple[str, bool], tuple[NameForms, NameFeature] | None] = {}
        self._demos: dict[tuple[dt.date | None, str | None, str | None], _Demo] = {}
        self._skeleton_blocks: dict[tuple[tuple[str, ...], int | None], frozenset[bytes]] = {}
        self._pairs: dict[tuple[str | None, str | None], _Names] = {}

    def __repr__(self) -> str:
        return "FeatureEncoder(<keyed>)"

    def token(self, label: str, value: str) -> bytes:
        """The 8-byte keyed hash of ``label:value``."""
        message = f"{label}:{value}"
        found = self._tokens.get(message)
        if found is None:
            if len(self._tokens) > self._CACHE_LIMIT:
                self._tokens.clear()
            found = self._tokens[message] = _digest(self._key, message.encode(), "sha256")[
                :TOKEN_BYTES
            ]
        return found

    def _gram_bits(self, gram: str) -> int:
        bits = self._grams.get(gram)
        if bits is None:
            digest = _digest(self._key, f"bloom:{gram}".encode(), "sha256")
            bits = 0
            for i in range(BLOOM_HASHES):
                bits |= 1 << (int.from_bytes(digest[2 * i : 2 * i + 2], "big") % BLOOM_BITS)
            self._grams[gram] = bits
        return bits

    def bloom(self, text: str) -> int:
        """The keyed Bloom filter (CLK) of the bigrams of ``_text_``."""
        padded = f"_{text}_"
        bits = 0
        for i in range(len(padded) - 1):
            bits |= self._gram_bits(padded[i : i + 2])
        return bits

    def name(self, text: str | None, *, family: bool) -> tuple[NameForms, NameFeature] | None:
        """The forms (in memory) and keyed feature of one name."""
        if not text:
            return None
        cache_key = (text, family)
        if cache_key in self._names:
            return self._names[cache_key]
        forms = name_forms(text, family=family)
        result = None
        if forms is not None:
            result = (
                forms,
                NameFeature(
                    bloom=self.bloom(forms.compact),
                    key=self.token("name", forms.compact),
                    tokens=frozenset(self.token("tok", t) for t in forms.tokens),
                    sounds=frozenset(self.token("snd", s) for s in forms.skeletons),
                    metaphones=frozenset(self.token("mph", m) for m in forms.metaphones if m),
                ),
            )
        if len(self._names) > self._CACHE_LIMIT:
            self._names.clear()
        self._names[cache_key] = result
        return result

    def _keyed(self, label: str, value: str) -> bytes:
        # For values that rarely repeat (fiscal-code roots): not worth a cache entry.
        return _digest(self._key, f"{label}:{value}".encode(), "sha256")[:TOKEN_BYTES]

    def _demographics(self, birth: dt.date | None, sex: str | None, country: str | None) -> _Demo:
        """Keyed birth date (and its swap), year, sex, country and their blocking keys."""
        cache_key = (birth, sex, country)
        found = self._demos.get(cache_key)
        if found is not None:
            return found
        token = self.token
        empty: frozenset[bytes] = frozenset()
        births, swapped, years, blocks = empty, empty, empty, empty
        if birth is not None:
            births = frozenset((token("dob", birth.isoformat()),))
            other = cf.swapped_date(birth)
            swapped = frozenset((token("dob", other.isoformat()),)) if other else empty
            years = frozenset((token("year", str(birth.year)),))
            low, high = sorted((birth.day, birth.month))
            blocks = frozenset((token("b:ds", f"{birth.year}-{low}-{high}|{sex or '?'}"),))
        demo = _Demo(
            births=births,
            swapped=swapped,
            years=years,
            sexes=frozenset((token("sex", sex),)) if sex in ("M", "F") else empty,
            countries=frozenset((token("country", country),)) if country else empty,
            blocks=blocks,
        )
        if len(self._demos) > self._CACHE_LIMIT:
            self._demos.clear()
        self._demos[cache_key] = demo
        return demo

    def _name_blocks(self, skeletons: tuple[str, ...], year: int | None) -> frozenset[bytes]:
        cache_key = (skeletons, year)
        found = self._skeleton_blocks.get(cache_key)
        if found is None:
            found = frozenset(self.token("b:sy", f"{sk}|{year or 0}") for sk in skeletons)
            if len(self._skeleton_blocks) > self._CACHE_LIMIT:
                self._skeleton_blocks.clear()
            self._skeleton_blocks[cache_key] = found
        return found

    def _pair(self, family_name: str | None, given_names: str | None) -> _Names:
        """What a subject's two names give, whatever its dates and codes (cached: a person's
        records repeat their names)."""
        cache_key = (family_name, given_names)
        found = self._pairs.get(cache_key)
        if found is not None:
            return found
        token = self.token
        family = self.name(family_name, family=True)
        given = self.name(given_names, family=False)
        surname = cf.surname_letters(family[0].folded) if family else None
        name = cf.given_letters(given[0].folded) if given else None
        prefixes: tuple[str, str] | None = None
        pair_block: frozenset[bytes] = frozenset()
        if family is not None and given is not None:
            crossed = cf.surname_letters(given[0].folded) + cf.given_letters(family[0].folded)
            prefixes = (f"{surname}{name}", crossed)
            pair = sorted(("".join(family[0].skeletons), "".join(given[0].skeletons)))
            pair_block = frozenset((self._keyed("b:nn", "|".join(pair)),))  # one per person
        found = _Names(
            family=family[1] if family else None,
            given=given[1] if given else None,
            family_letters=token("sl", surname) if surname is not None else None,
            given_letters=token("gl", name) if name is not None else None,
            skeletons=tuple(forms.skeletons for forms, _ in filter(None, (family, given))),
            prefixes=prefixes,
            pair_block=pair_block,
        )
        if len(self._pairs) > self._PAIRS_LIMIT:
            self._pairs.clear()
        self._pairs[cache_key] = found
        return found

    def _name_blocks_in(self, names: _Names, year: int | None) -> frozenset[bytes]:
        """The name blocking keys of ``names`` with birth ``year``: skeleton + year, pair."""
        found = names.blocks.get(year)
        if found is None:
            found = names.pair_block.union(
                *(self._name_blocks(skeletons, year) for skeletons in names.skeletons)
            )
            names.blocks[year] = found
        return found

    def encode(
        self,
        subject: Subject,
        *,
        city: str,
        source: str,
        identifiers: Sequence[NormalisedIdentifier] | None = None,
        seen_on: dt.date | None = None,
    ) -> LinkageFeatures:
        """The features of ``subject`` (``identifiers``: its already normalised identifiers)."""
        if identifiers is None:
            identifiers = identifiers_of(
                subject.identifiers, city=city, source=source, seen_on=seen_on
            )
        inner = self._pseudonymiser.inner_tokens(identifiers)
        strong = tuple((item.kind, token) for item, token in zip(identifiers, inner, strict=True))
        token = self.token
        names = self._pair(subject.family_name, subject.given_names)
        birth, sex, country = subject.birth_date, subject.sex, subject.country_of_birth
        first = self._demographics(birth, sex, country)
        demos = [first]
        family_letters: set[bytes] = set()
        given_letters: set[bytes] = set()
        root_texts: set[str] = set()  # the same root often comes from the code and the names
        years: set[int | None] = {birth.year} if birth else set()
        for item in identifiers:
            if item.kind is Kind.FISCAL_CODE:
                # What the code itself says: letters, birth date, sex, country.
                code = item.value
                root_texts.add(code[:15])
                family_letters.add(token("sl", code[0:3]))
                given_letters.add(token("gl", code[3:6]))
                decoded = cf.decode_root(code, seen_on or dt.date.today())
                if decoded is not None:
                    demo = self._demographics(*decoded)
                    if demo is not first:
                        demos.append(demo)
                        years.add(decoded[0].year)
        if names.family_letters is not None:
            family_letters.add(names.family_letters)
        if names.given_letters is not None:
            given_letters.add(names.given_letters)
        prefixes = names.prefixes
        if prefixes is not None and birth and sex in ("M", "F"):
            place = cf.belfiore_of_country().get(country or "")
            if place:
                # The codes these demographics would give, also with day and month or the
                # names swapped: a record without a code meets a record with one on these.
                for day in filter(None, (birth, cf.swapped_date(birth))):
                    code = cf.date_code(day, sex) + place
                    root_texts.add(prefixes[0] + code)
                    root_texts.add(prefixes[1] + code)
        keyed = self._keyed
        roots = frozenset([keyed("root", text) for text in root_texts])
        blocks: set[bytes] = set(roots)
        for demo in demos:
            blocks |= demo.blocks
        for year in years or {None}:  # no birth date: the skeletons alone
            blocks |= self._name_blocks_in(names, year)
        if len(demos) == 1:
            births, swapped, years_keyed = first.births, first.swapped, first.years
            sexes, countries = first.sexes, first.countries
        else:
            births = frozenset().union(*(d.births for d in demos))
            swapped = frozenset().union(*(d.swapped for d in demos))
            years_keyed = frozenset().union(*(d.years for d in demos))
            sexes = frozenset().union(*(d.sexes for d in demos))
            countries = frozenset().union(*(d.countries for d in demos))
        return LinkageFeatures(
            city=city,
            source=source,
            strong=strong,
            family=names.family,
            given=names.given,
            family_letters=frozenset(family_letters),
            given_letters=frozenset(given_letters),
            births=births,
            births_swapped=swapped,
            years=years_keyed,
            sexes=sexes,
            countries=countries,
            roots=roots,
            blocks=tuple(sorted(blocks)),
        )


@dataclass(slots=True)
class _Names:
    """The keyed features of a subject's two names, and what codes and blocks need of them."""

    family: NameFeature | None
    given: NameFeature | None
    family_letters: bytes | None  # keyed fiscal-code letters the names give
    given_letters: bytes | None
    skeletons: tuple[tuple[str, ...], ...]  # phonetic skeletons of each name present
    prefixes: tuple[str, str] | None  # the code's six letters, straight and names crossed
    pair_block: frozenset[bytes]
    blocks: dict[int | None, frozenset[bytes]] = field(default_factory=dict)  # by birth year


@dataclass(frozen=True, slots=True)
class _Demo:
    births: frozenset[bytes]
    swapped: frozenset[bytes]
    years: frozenset[bytes]
    sexes: frozenset[bytes]
    countries: frozenset[bytes]
    blocks: frozenset[bytes]
