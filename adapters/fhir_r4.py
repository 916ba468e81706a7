"""FHIR R4 adapter (kind ``"fhir_r4"``): incremental search over a FHIR REST API.

Records are patients, shaped as documented in :mod:`adapters.fhir_r4_bundle` (which also
reads pushed Bundles: :func:`parse_bundle` is re-exported here). The approach
(https://hl7.org/fhir/R4/search.html):

1. **Changes.** For each watched type in turn (Patient, EpisodeOfCare, Encounter,
   ServiceRequest, Condition), ``GET {type}?_lastUpdated=ge{mark}&_sort=_lastUpdated&_count=N``,
   following ``Bundle.link[next]``. A change to any of a patient's resources is a change of
   that patient's record, so an Encounter updated yesterday re-sends its patient even if the
   Patient resource did not change.
2. **Follow-up searches**, per page of changed patients (``batch_size`` at a time):
   ``Patient?_id=a,b`` (when the page was not of Patients) and, for each of the four care
   types, ``{type}?patient=Patient/a,Patient/b&_count=N`` with its next links. We do not use
   ``_revinclude``: its included resources are not paged by ``_count`` (a patient with many
   encounters makes one unbounded page) and servers differ on whether it follows
   ``Encounter.subject``; searching by ``patient`` is paged, bounded and supported by every
   R4 server for these four types.
3. **Cursor**: per watched type, the ``meta.lastUpdated`` mark reached and the ids already
   read at exactly that instant. ``ge`` plus those ids means nothing is skipped when several
   resources share an instant and nothing already read is sent again. The first sync reads
   every Patient, having first set the care types' marks to their newest resource (their
   patients are all among the Patients read); ``since`` starts later instead. A patient is
   sent once per ``fetch``; one changed in several types may come again in the next fetch
   (the gateway's idempotent upserts make that harmless).

Next links must stay on ``base_url`` (a link elsewhere would carry our credentials there).
The server must support ``_sort=_lastUpdated``, ``_lastUpdated``, ``_id`` and ``patient``.
Authentication: ``token`` (a static bearer token) or ``auth`` (:mod:`adapters.auth.schemes`:
OAuth2 client credentials, API key, Basic). Transient failures are retried (``retry``)
behind a per-source circuit breaker, as in :mod:`adapters.rest`.

A source definition::

    adapter: fhir_r4
    options:
      base_url: ${ASL_FHIR_URL}
      auth: {type: client_secret, token_url: ..., client_id: lgnet, client_secret: ${...}}
      page_size: 100
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import httpx
from pydantic import Field, SecretStr, model_validator

from adapters.auth.schemes import ApiKeyAuth, AuthOptions, AuthSession, NoAuth
from adapters.base import Adapter, RawRecord
from adapters.circuit import CircuitBreakers, breakers
from adapters.errors import FatalSourceError
from adapters.fhir_r4_bundle import (
    MODELS,
    BundleStats,
    Index,
    ParsedBundle,
    add_resource,
    group_records,
    parse_bundle,
)
from adapters.fhir_r4_flatten import patient_reference
from adapters.http import HttpOptions, json_body
from adapters.retry import RetryOptions, RetryPolicy

__all__ = ["FhirR4Adapter", "FhirR4Options", "ParsedBundle", "parse_bundle"]

CARE_TYPES = ("EpisodeOfCare", "Encounter", "ServiceRequest", "Condition")
_ACCEPT = {"Accept": "application/fhir+json"}


class FhirR4Options(HttpOptions):
    """Options of the FHIR R4 adapter."""

    base_url: str = Field(description="FHIR base, e.g. https://fhir.asl.example/fhir")
    page_size: int = Field(default=100, ge=1, le=1000, description="_count of every search.")
    batch_size: int = Field(default=50, ge=1, le=200, description="Patients per follow-up.")
    watch: tuple[str, ...] = ("Patient", *CARE_TYPES)
    since: str | None = Field(default=None, description="First sync starts at this instant.")
    token: SecretStr | None = Field(default=None, description="Static bearer token.")
    auth: AuthOptions = Field(default_factory=NoAuth, description="Or OAuth2, API key...")
    retry: RetryOptions = Field(default_factory=RetryOptions)
    circuit_failures: int = Field(default=5, ge=1)
    circuit_cooldown: float = Field(default=60.0, ge=0)

    @model_validator(mode="after")
    def _one_auth(self) -> FhirR4Options:
        if self.token is not None and not isinstance(self.auth, NoAuth):
            raise ValueError("set either token or auth, not both")
        unknown = set(self.watch) - set(MODELS)
        if unknown:
            raise ValueError(f"watch: unsupported resource types {sorted(unknown)}")
        return self

    def auth_scheme(self) -> Any:
        """``auth``, or a bearer ``Authorization`` header for ``token``."""
        if self.token is not None:
            return ApiKeyAuth(header="Authorization", prefix="Bearer ", key=self.token)
        return self.auth


@dataclass
class _Mark:
    at: str
    ids: list[str] = field(default_factory=list)

    def advance(self, at: str | None, rid: str | None) -> None:
        if at is None or rid is None:
            return
        order = _compare(at, self.at)
        if order > 0:
            self.at, self.ids = at, []
        if order >= 0:
            self.ids.append(rid)


@dataclass
class _Cursor:
    marks: dict[str, _Mark] = field(default_factory=dict)

    @classmethod
    def decode(cls, text: str | None, source: str) -> _Cursor:
        if not text:
            return cls()
        try:
            raw = json.loads(text)
            return cls({t: _Mark(m[0], list(m[1])) for t, m in raw["marks"].items()})
        except (ValueError, TypeError, KeyError, IndexError):
            raise FatalSourceError(
                "cursor was not made by the FHIR adapter", source=source
            ) from None

    def encode(self) -> str:
        marks = {t: [m.at, m.ids] for t, m in self.marks.items()}
        return json.dumps({"marks": marks}, separators=(",", ":"))


class FhirR4Adapter(Adapter[FhirR4Options]):
    """Reads patients and their care resources from a FHIR R4 server; see the module doc."""

    kind = "fhir_r4"
    Options = FhirR4Options

    def __init__(
        self,
        options: FhirR4Options,
        *,
        source: str = "",
        transport: httpx.BaseTransport | None = None,
        circuit: CircuitBreakers | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(options, source=source)
        self._transport = transport
        self._session: AuthSession | None = None
        self.retry = RetryPolicy(options.retry, sleep=sleep)
        self.breaker = (circuit or breakers).get(
            self.source,
            failure_threshold=options.circuit_failures,
            reset_timeout=options.circuit_cooldown,
        )
        #: Resources read so far, by type, and those skipped or invalid.
        self.stats = BundleStats()

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def _get(self, url: str, params: dict[str, Any] | None) -> Any:
        """GET a JSON body, through the circuit breaker, retrying transient failures."""
        if self._session is None:
            self._session = AuthSession(
                self.options.auth_scheme(),
                self.options,
                source=self.source,
                transport=self._transport,
            )
        session = self._session

        def once() -> Any:
            with self.breaker.guard():
                response = session.request("GET", url, params=params, headers=_ACCEPT)
                return json_body(response, self.source)

        return self.retry.call(once)

    # -- searching ----------------------------------------------------------------------
    def _search(self, rtype: str, params: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
        """The entries of each page of a search (``Bundle.link[next]`` followed)."""
        base = self.options.base_url.rstrip("/") + "/"
        url: str | None = base + rtype
        query: dict[str, Any] | None = params
        while url is not None:
            bundle = self._get(url, query)
            if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
                raise FatalSourceError(
                    f"search of {rtype} did not answer a Bundle", source=self.source
                )
            entries = [e for e in bundle.get("entry") or [] if isinstance(e, dict)]
            yield entries
            url, query = None, None
            for link in bundle.get("link") or []:
                if isinstance(link, dict) and link.get("relation") == "next":
                    url = str(link.get("url"))
                    if not url.startswith(base):
                        raise FatalSourceError(
                            f"next link of a {rtype} search leaves base_url", source=self.source
                        )

    def _newest(self, rtype: str) -> _Mark | None:
        """The mark of the newest ``rtype`` resources (all ids at that instant)."""
        newest: str | None = None
        for entries in self._search(rtype, {"_sort": "-_lastUpdated", "_count": 1}):
            at = [_stamp(e.get("resource")) for e in entries]
            newest = next((a for a in at if a is not None), None)
            break
        if newest is None:
            return None
        mark = _Mark(newest)
        params = {"_lastUpdated": f"ge{newest}", "_count": self.options.page_size}
        for entries in self._search(rtype, params):
            for entry in entries:
                resource = entry.get("resource")
                if isinstance(resource, dict) and isinstance(resource.get("id"), str):
                    mark.advance(_stamp(resource), resource["id"])
        return mark

    # -- records ------------------------------------------------------------------------
    def fetch(self, cursor: str | None) -> Iterator[RawRecord]:
        state = _Cursor.decode(cursor, self.source)
        if cursor is None:
            for rtype in self.options.watch:
                if self.options.since is not None:
                    state.marks[rtype] = _Mark(self.options.since)
                elif rtype != "Patient" and "Patient" in self.options.watch:
                    newest = self._newest(rtype)
                    if newest is not None:
                        state.marks[rtype] = newest
        sent: set[str] = set()
        for rtype in self.options.watch:
            yield from self._changes(rtype, state, sent)

    def _changes(self, rtype: str, state: _Cursor, sent: set[str]) -> Iterator[RawRecord]:
        mark = state.marks.get(rtype)
        params: dict[str, Any] = {"_sort": "_lastUpdated", "_count": self.options.page_size}
        if mark is not None:
            params["_lastUpdated"] = f"ge{mark.at}"
        for entries in self._search(rtype, params):
            changes: list[tuple[str | None, str | None, str | None]] = []
            patients: dict[str, dict[str, Any]] = {}
            for entry in entries:
                resource = entry.get("resource")
                if not isinstance(resource, dict) or resource.get("resourceType") != rtype:
                    continue
                rid = resource.get("id") if isinstance(resource.get("id"), str) else None
                at = (resource.get("meta") or {}).get("lastUpdated")
                if mark is not None and at == mark.at and rid in mark.ids:
                    continue
                pid = rid if rtype == "Patient" else _patient_id(rtype, resource)
                if rtype == "Patient" and rid is not None:
                    patients[rid] = resource
                changes.append((at if isinstance(at, str) else None, rid, pid))
            wanted = list(dict.fromkeys(p for _, _, p in changes if p and p not in sent))
            records = self._records(wanted, patients)
            for at, rid, pid in changes:
                if mark is None and at is not None:
                    mark = state.marks[rtype] = _Mark(at)
                if mark is not None:
                    mark.advance(at, rid)
                if pid is None or pid in sent:
                    continue
                sent.add(pid)
                for record in records.pop(pid, []):
                    yield replace(record, cursor=state.encode())
            for leftovers in records.values():  # records no change led to (orphans)
                for record in leftovers:
                    yield replace(record, cursor=state.encode())

    def _records(
        self, wanted: list[str], known: dict[str, dict[str, Any]]
    ) -> dict[str, list[RawRecord]]:
        """The records of the patients ``wanted``, keyed by patient id."""
        result: dict[str, list[RawRecord]] = {}
        size = self.options.batch_size
        for start in range(0, len(wanted), size):
            batch = wanted[start : start + size]
            index, stats = Index(), self.stats
            missing = [pid for pid in batch if pid not in known]
            resources = [known[pid] for pid in batch if pid in known]
            if missing:
                params = {"_id": ",".join(missing), "_count": len(missing)}
                for entries in self._search("Patient", params):
                    resources += [
                        e["resource"] for e in entries if isinstance(e.get("resource"), dict)
                    ]
            refs = ",".join(f"Patient/{pid}" for pid in batch)
            for rtype in CARE_TYPES:
                params = {"patient": refs, "_count": self.options.page_size}
                for entries in self._search(rtype, params):
                    resources += [
                        e["resource"] for e in entries if isinstance(e.get("resource"), dict)
                    ]
            base = self.options.base_url.rstrip("/")
            for resource in resources:
                kind, rid = resource.get("resourceType"), resource.get("id")
                if not isinstance(kind, str) or not isinstance(rid, str):
                    continue
                add_resource(
                    index, stats, resource, f"{kind}/{rid}", f"{base}/{kind}/{rid}", self.source
                )
            for record in group_records(index, stats, self.source):
                key = record.record_id if record.record_id in batch else ""
                result.setdefault(key or "", []).append(record)
        return result


def _stamp(resource: Any) -> str | None:
    meta = resource.get("meta") if isinstance(resource, dict) else None
    at = meta.get("lastUpdated") if isinstance(meta, dict) else None
    return at if isinstance(at, str) else None


def _patient_id(rtype: str, resource: dict[str, Any]) -> str | None:
    reference = patient_reference(rtype, resource)
    if not isinstance(reference, str):
        return None
    head, _, rid = reference.rstrip("/").rpartition("/")
    return rid if head.endswith("Patient") and rid else None


def _compare(a: str, b: str) -> int:
    """Order two ``meta.lastUpdated`` instants (text order if one does not parse)."""
    try:
        x, y = datetime.fromisoformat(a), datetime.fromisoformat(b)
        if (x.tzinfo is None) != (y.tzinfo is None):
            raise ValueError("naive and aware instants")
        return (x > y) - (x < y)
    except ValueError:
        return (a > b) - (a < b)
