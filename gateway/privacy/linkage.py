"""Incremental record linkage on keyed features (BRIEF §5).

Records arrive in batches from the sync pipeline as :class:`LinkageFeatures`; for each one
:meth:`Linker.link` decides which person it belongs to:

1. **Deterministic** — the inner tokens of its identifiers are looked up. A token already
   seen gives the person; tokens of several persons (a record holding both the provisional
   and the final fiscal code, an STP code and a fiscal code...) prove they are one person and
   the persons are merged, unless they hold two different fiscal codes (or two different
   provisional codes): stronger identifiers win over weaker ones. An STP/ENI code is issued
   once (region, ASL, progressive number), so its token stays one person's after it expires;
   a renewal is a new code, found again by the probabilistic step.
2. **Probabilistic** — when no identifier is known, or the record brings a new one, candidate
   persons are found through blocking keys (dictionary lookups; oversized blocks are dropped
   as uninformative; a record holding a fiscal code looks only among persons without one,
   since a person with another code cannot be it) and scored Fellegi–Sunter style: the sum
   over fields of ``log2(m / u)`` for the agreement level observed (see :mod:`.weights`), with
   term-frequency adjusted ``u`` for exact agreement on names and birth date.
   Given and family names are also compared crosswise (swapped), birth dates also with day
   and month swapped. Two bands: at or above ``match`` the record joins the person (and a
   record linking two persons merges them); from ``possible`` to ``match`` it starts a new
   person and the pair goes to review; below ``possible`` it starts a new person. Without
   names on both sides a score is at most a possible match: a birth date, sex and country
   alone never merge two people.

The index lives in memory and is rebuilt from the stored features (:meth:`Linker.add`, see
:mod:`gateway.privacy.linkage_store`); a process that shares the database with others
refreshes it before each batch, under the lock that serialises linkage. Person ids come from
``next_person_id`` (the identity store's allocator in the gateway; a counter by default).
Merged persons keep the smaller id: the caller merges them in the identity store too
(:func:`gateway.privacy.store.merge_persons`).
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from gateway.privacy.features import LinkageFeatures, NameFeature
from gateway.privacy.identifiers import Kind
from gateway.privacy.profile import Profile
from gateway.privacy.weights import WEIGHTS, Weights

__all__ = ["Band", "Decision", "Frequencies", "Linker", "Merge", "Review", "Thresholds"]

MAX_BLOCK = 150  # a blocking key shared by more persons than this says too little to use
MAX_CANDIDATES = 25  # persons scored per record, most shared blocking keys first
LEVEL_CACHE = 200_000  # name pairs whose agreement level is remembered
SURE = 10.0  # bits above the match threshold at which no other candidate is looked at
# Term frequencies need a population: until this many values are seen, the floors of
# :class:`Weights` dominate (a second "MUHAMMAD" among three records is not 1 in 3).
TF_MIN_POPULATION = 10_000


class Band(StrEnum):
    MATCH = "match"
    POSSIBLE = "possible"
    NON_MATCH = "non_match"


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Score bands, in bits of evidence (log2 likelihood ratio)."""

    match: float = 18.0
    possible: float = 9.0

    def __post_init__(self) -> None:
        if self.possible > self.match:
            raise ValueError("the possible-match threshold must not exceed the match threshold")


@dataclass(frozen=True, slots=True)
class Merge:
    """Person ``absorbed`` is the same as person ``into`` (the smaller id survives)."""

    absorbed: int
    into: int


@dataclass(frozen=True, slots=True)
class Review:
    """A possible match kept apart: person ids, the score and per-field agreement levels."""

    person_id: int
    candidate_id: int
    score: float
    levels: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Decision:
    """Where one record went. ``score`` is None for identifier matches and new persons."""

    person_id: int
    band: Band
    method: str  # "identifier" | "probabilistic" | "new"
    score: float | None = None
    created: bool = False
    merges: tuple[Merge, ...] = ()
    review: Review | None = None


@dataclass(slots=True)
class Frequencies:
    """How often each keyed name and birth date was seen, over every record linked: the term
    frequencies that weigh an exact agreement (a shared rare name says more than a common one).

    A linker keeps its own; linkers built for one batch at a time share the process's
    (:mod:`gateway.sync.identity`), since a batch's few candidates are not the population.
    """

    counts: Counter[bytes] = field(default_factory=Counter)
    names: int = 0
    records: int = 0

    def count(self, f: LinkageFeatures) -> None:
        self.count_keys([name.key for name in (f.family, f.given) if name is not None], f.births)

    def count_keys(self, names: Iterable[bytes], births: Iterable[bytes]) -> None:
        """Count one record by its keyed names and birth dates."""
        counts = self.counts
        for key in names:
            counts[key] += 1
            self.names += 1
        for token in births:
            counts[token] += 1
        self.records += 1


class Linker:
    """The in-memory linkage index and the decisions it makes. Not thread-safe."""

    def __init__(
        self,
        *,
        thresholds: Thresholds | None = None,
        weights: Weights = WEIGHTS,
        next_person_id: Callable[[], int] | None = None,
        frequencies: Frequencies | None = None,
    ) -> None:
        self.thresholds = thresholds or Thresholds()
        self.weights = weights
        self._persons: dict[int, Profile] = {}
        self._parent: dict[int, int] = {}
        self._strong: dict[bytes, int] = {}
        # A block's members: one id (most keys, e.g. fiscal-code roots, are one person's),
        # then a list; None once the block is too common to be worth looking at.
        self._blocks: dict[bytes, int | list[int] | None] = {}
        # The same for persons without a fiscal code: the only candidates a record holding a
        # code can match probabilistically (a person with another code scores -inf). Persons
        # who gain a code later are skipped when read (:meth:`_best`), not removed.
        self._uncoded: dict[bytes, int | list[int] | None] = {}
        self._tf = frequencies if frequencies is not None else Frequencies()
        self._records = 0
        self._max_id = 0
        self._next_person_id = next_person_id
        self._levels: dict[tuple[bytes, bytes], int] = {}
        self._name_objects: dict[bytes, NameFeature] = {}
        self._level_weights = (weights.name_none, weights.name_low, weights.name_medium,
                               weights.name_high)  # fmt: skip

    def __repr__(self) -> str:
        return f"Linker(persons={len(self._persons)}, records={self._records})"

    @property
    def persons(self) -> int:
        return len(self._persons)

    @property
    def records(self) -> int:
        return self._records

    def find(self, person_id: int) -> int:
        """The id a person goes by now (after merges)."""
        parent = self._parent
        root = person_id
        while root in parent:
            root = parent[root]
        while person_id != root:  # path compression
            parent[person_id], person_id = root, parent[person_id]
        return root

    # --- building the index ----------------------------------------------------------------

    def add(self, person_id: int, features: LinkageFeatures, *, count: bool = True) -> None:
        """Index a record already known to belong to ``person_id`` (rebuild from storage).

        ``count=False``: the record is already in the shared :class:`Frequencies`.
        """
        if person_id not in self._persons and person_id not in self._parent:
            self._persons[person_id] = Profile()
            self._max_id = max(self._max_id, person_id)
        self._attach(self.find(person_id), features, count=count)

    def coded(self, person_id: int) -> bool:
        """Whether the person (as it goes now) holds a fiscal code."""
        return bool(self._persons[self.find(person_id)].cfs)

    def _new_person(self) -> int:
        allocate = self._next_person_id
        person_id = allocate() if allocate is not None else self._max_id + 1
        self._max_id = max(self._max_id, person_id)
        self._persons[person_id] = Profile()
        return person_id

    def _intern(self, name: NameFeature | None) -> NameFeature | None:
        # Records read back from storage bring a copy of each name; keep one per name.
        if name is None:
            return None
        return self._name_objects.setdefault(name.key, name)

    def _attach(self, person_id: int, f: LinkageFeatures, *, count: bool = True) -> None:
        person = self._persons[person_id]
        family, given = self._intern(f.family), self._intern(f.given)
        if family is not f.family or given is not f.given:
            f = dataclasses.replace(f, family=family, given=given)
        person.absorb(f)
        for _, token in f.strong:
            self._strong.setdefault(token, person_id)
        _index(self._blocks, f.blocks, person_id)
        if not person.cfs:
            _index(self._uncoded, f.blocks, person_id)
        if count:
            self._tf.count(f)
        self._records += 1

    def _merge(self, ids: Iterable[int]) -> tuple[int, tuple[Merge, ...]]:
        ordered = sorted({self.find(i) for i in ids})
        into = ordered[0]
        merges = []
        for absorbed in ordered[1:]:
            self._persons[into].merge(self._persons.pop(absorbed))
            self._parent[absorbed] = into
            merges.append(Merge(absorbed, into))
        return into, tuple(merges)

    # --- linking ----------------------------------------------------------------------------

    def link(self, batch: Sequence[LinkageFeatures]) -> list[Decision]:
        """Decide, record by record and in order, which person each record belongs to."""
        return [self.link_one(features) for features in batch]

    def link_one(self, f: LinkageFeatures) -> Decision:
        """Link one record and index it."""
        hits: dict[int, int] = {}  # person -> strongest identifier kind rank
        unknown = False
        for kind, token in f.strong:
            found = self._strong.get(token)
            if found is None:
                unknown = True
            else:
                person_id = self.find(found)
                hits[person_id] = max(hits.get(person_id, 0), _RANK[kind])
        merges: tuple[Merge, ...] = ()
        if hits:
            target, merges = self._join_identified(hits)
            if not unknown:
                self._attach(target, f)
                return Decision(target, Band.MATCH, "identifier", merges=merges)
            # A new identifier for a known person: someone else may hold the others.
            found_id, score, band = self._best(f, exclude=target)
            review = None
            if found_id is not None and band is Band.MATCH:
                if self._persons[target].conflicts(self._persons[found_id]):
                    review = self._review(f, target, found_id, score)
                else:
                    target, more = self._merge((target, found_id))
                    merges += more
            elif found_id is not None and band is Band.POSSIBLE:
                review = self._review(f, target, found_id, score)
            self._attach(target, f)
            return Decision(target, Band.MATCH, "identifier", merges=merges, review=review)
        found_id, score, band = self._best(f, exclude=None)
        if found_id is not None and band is Band.MATCH:
            self._attach(found_id, f)
            return Decision(found_id, Band.MATCH, "probabilistic", score=score)
        person_id = self._new_person()
        review = None
        if found_id is not None and band is Band.POSSIBLE:
            review = self._review(f, person_id, found_id, score)
        self._attach(person_id, f)
        return Decision(
            person_id,
            band if found_id is not None else Band.NON_MATCH,
            "new",
            score=score if found_id is not None else None,
            created=True,
            review=review,
        )

    def _join_identified(self, hits: dict[int, int]) -> tuple[int, tuple[Merge, ...]]:
        """The person the identifiers point to; persons they prove to be one are merged."""
        ranked = sorted(hits, key=lambda p: (-hits[p], p))
        keep = [ranked[0]]
        for other in ranked[1:]:
            if not any(self._persons[k].conflicts(self._persons[other]) for k in keep):
                keep.append(other)
        if len(keep) == 1:
            return keep[0], ()
        return self._merge(keep)

    def _review(self, f: LinkageFeatures, person_id: int, candidate: int, score: float) -> Review:
        _, levels = self._score(f, self._persons[candidate], explain=True)
        return Review(person_id, candidate, round(score, 2), levels)

    def _best(self, f: LinkageFeatures, exclude: int | None) -> tuple[int | None, float, Band]:
        counts: Counter[int] = Counter()
        coded = any(kind is Kind.FISCAL_CODE for kind, _ in f.strong)
        blocks = self._uncoded if coded else self._blocks
        for key in f.blocks:
            members = blocks.get(key)
            if isinstance(members, int):
                counts[members] += 1
            elif members:
                counts.update(members)
        if not counts:
            return None, 0.0, Band.NON_MATCH
        resolved: Counter[int] = Counter()
        find = self.find
        for person_id, n in counts.items():
            resolved[find(person_id)] += n
        resolved.pop(exclude, None)  # type: ignore[arg-type]
        persons = self._persons
        if coded:  # persons who have gained a code since they were indexed
            for person_id in [p for p in resolved if persons[p].cfs]:
                del resolved[person_id]
        best_id, best = None, -math.inf
        sure = self.thresholds.match + SURE
        for person_id, _ in resolved.most_common(MAX_CANDIDATES):
            score, _ = self._score(f, persons[person_id])
            if score > best or (score == best and best_id is not None and person_id < best_id):
                best_id, best = person_id, score
                if best >= sure:
                    break  # candidates come most shared blocking keys first
        if best_id is None or best < self.thresholds.possible:
            return best_id, best, Band.NON_MATCH
        if best < self.thresholds.match or not self._named(f, persons[best_id]):
            return best_id, best, Band.POSSIBLE
        return best_id, best, Band.MATCH

    @staticmethod
    def _named(f: LinkageFeatures, p: Profile) -> bool:
        """Whether names were compared: without them, no probabilistic match."""
        return any(
            (f.family is not None and family is not None) or (f.given is not None and given)
            for family, given in p.names
        )

    # --- scoring ----------------------------------------------------------------------------

    def _score(
        self, f: LinkageFeatures, p: Profile, *, explain: bool = False
    ) -> tuple[float, dict[str, int]]:
        w = self.weights
        levels: dict[str, int] = {}
        for kind, token in f.strong:
            if kind is Kind.FISCAL_CODE and p.cfs and token not in p.cfs:
                return -math.inf, {"fiscal_code": -1}
            if kind is Kind.PROVISIONAL_FISCAL_CODE and p.cfp and token not in p.cfp:
                return -math.inf, {"provisional_fiscal_code": -1}
        score = self._name_score(f, p, levels if explain else None)
        # birth date
        if f.births and p.births:
            common = f.births & p.births
            if common:
                tf = self._tf
                freq = max(tf.counts[b] for b in common) / max(tf.records, TF_MIN_POPULATION)
                score += math.log2(w.birth_exact_m / max(freq, w.birth_u_floor))
                levels["birth"] = 3
            elif (f.births_swapped & p.births) or (f.births & p.swapped):
                score += w.birth_swapped
                levels["birth"] = 2
            elif f.years & p.years:
                score += w.birth_year
                levels["birth"] = 1
            else:
                score += w.birth_none
                levels["birth"] = 0
        if f.sexes and p.sexes:
            agree = not f.sexes.isdisjoint(p.sexes)
            score += w.sex_agree if agree else w.sex_disagree
            levels["sex"] = int(agree)
        if f.countries and p.countries:
            agree = not f.countries.isdisjoint(p.countries)
            score += w.country_agree if agree else w.country_disagree
            levels["country"] = int(agree)
        agree = f.city in p.cities
        score += w.city_agree if agree else w.city_disagree
        levels["city"] = int(agree)
        if p.locals:
            for kind, token in f.strong:
                if kind is Kind.LOCAL:
                    known = [t for c, s, t in p.locals if c == f.city and s == f.source]
                    if known and token not in known:
                        score += w.local_conflict
                        levels["local_id"] = -1
        return score, levels

    def _name_score(self, f: LinkageFeatures, p: Profile, levels: dict[str, int] | None) -> float:
        if f.family is None and f.given is None:
            return 0.0
        w = self.weights
        family_letters = not f.family_letters.isdisjoint(p.family_letters)
        given_letters = not f.given_letters.isdisjoint(p.given_letters)
        best = -math.inf
        best_levels = (0, 0, 0)
        for family, given in p.names:
            fl, fw = self._name_level(f.family, family, family_letters)
            gl, gw = self._name_level(f.given, given, given_letters)
            if fw + gw > best:
                best, best_levels = fw + gw, (fl, gl, 0)
            if fl >= 3 and gl >= 3:
                continue  # both agree closely: crossing them cannot do better
            sfl, sfw = self._name_level(f.family, given, False)
            sgl, sgw = self._name_level(f.given, family, False)
            if sfw + sgw + w.names_swapped > best:
                best, best_levels = sfw + sgw + w.names_swapped, (sfl, sgl, 1)
        if levels is not None:
            levels["family_name"], levels["given_names"], levels["names_swapped"] = best_levels
        return best if best > -math.inf else 0.0

    def _name_level(
        self, a: NameFeature | None, b: NameFeature | None, letters: bool
    ) -> tuple[int, float]:
        """Agreement level (4 exact ... 0 none, -1 missing) and its weight."""
        if a is None or b is None:
            return -1, 0.0
        w = self.weights
        if a.key == b.key:
            freq = self._tf.counts[a.key] / max(self._tf.names, TF_MIN_POPULATION)
            return 4, math.log2(w.name_exact_m / max(freq, w.name_u_floor))
        pair = (a.key, b.key)
        level = self._levels.get(pair)
        if level is None:  # the same two names meet again and again: remember how they compare
            if len(self._levels) > LEVEL_CACHE:
                self._levels.clear()
            level = self._levels[pair] = self._compare(a, b)
        if level < 2 and letters:
            level = 2
        return level, self._level_weights[level]

    def _compare(self, a: NameFeature, b: NameFeature) -> int:
        w = self.weights
        total = a.bits + b.bits
        dice = 2 * (a.bloom & b.bloom).bit_count() / total if total else 0.0
        if dice >= w.dice_high or a.tokens <= b.tokens or b.tokens <= a.tokens:
            return 3
        if (
            dice >= w.dice_medium
            or a.sounds <= b.sounds
            or b.sounds <= a.sounds
            or (a.metaphones and (a.metaphones <= b.metaphones or b.metaphones <= a.metaphones))
        ):
            return 2
        return 1 if dice >= w.dice_low else 0


def _index(
    blocks: dict[bytes, int | list[int] | None], keys: Iterable[bytes], person_id: int
) -> None:
    """Add ``person_id`` to the blocks of ``keys``; a block past :data:`MAX_BLOCK` is dropped."""
    for key in keys:
        members = blocks.get(key, 0)
        if members is None or members == person_id:
            continue
        if members == 0:
            blocks[key] = person_id
        elif isinstance(members, int):
            blocks[key] = [members, person_id]
        elif person_id in members:
            continue
        elif len(members) >= MAX_BLOCK:
            blocks[key] = None
        else:
            members.append(person_id)


_RANK = {Kind.FISCAL_CODE: 5, Kind.PROVISIONAL_FISCAL_CODE: 4, Kind.STP: 3, Kind.ENI: 3,
         Kind.LOCAL: 2}  # fmt: skip
