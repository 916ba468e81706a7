"""A FHIR R4 REST server on loopback, answering searches from a given set of resources.

Supports what :mod:`adapters.fhir_r4` uses (https://hl7.org/fhir/R4/search.html):

- ``GET /fhir/{type}`` with ``_id`` (comma-separated), ``patient`` (``Patient/1,Patient/2``
  or bare ids) on EpisodeOfCare, Encounter, ServiceRequest and Condition,
  ``_lastUpdated`` (prefixes ``eq gt ge lt le``; repeatable), ``_sort``
  (``_lastUpdated``, ``-_lastUpdated``, default by type and id), ``_count`` (default 50,
  at most 500) and ``Bundle.link[next]`` paging (``_offset`` in the next link);
- ``GET /fhir/{type}/{id}`` and ``GET /fhir/metadata``.

Unknown search parameters are refused with 400 (as a server under ``Prefer:
handling=strict``) so an adapter bug shows. With ``token`` set, requests need
``Authorization: Bearer <token>``. Errors are ``OperationOutcome`` resources. Resources
without ``meta.lastUpdated`` get one from a simulated clock as they are stored. The
``malformed`` fault of the base class turns ``identifier`` of the first resource of the
answered page into a string (so that resource fails validation).
"""

from __future__ import annotations

import copy
import hmac
import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from adapters.simulators.http import SimRequest, SimResponse, SimulatorServer, json_response

__all__ = ["FhirServer"]

_PATIENT_PARAM = {
    "EpisodeOfCare": "patient",
    "Encounter": "subject",
    "ServiceRequest": "subject",
    "Condition": "subject",
}
_COMMON_PARAMS = {"_id", "_lastUpdated", "_sort", "_count", "_offset", "_format"}
_PREFIXES = ("eq", "gt", "ge", "lt", "le")
_CLOCK_START = datetime(2024, 1, 1, tzinfo=UTC)


def _outcome(status: int, code: str, text: str) -> SimResponse:
    body = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": text}],
    }
    return json_response(body, status=status, headers={"Content-Type": "application/fhir+json"})


class FhirServer(SimulatorServer):
    """A FHIR R4 server holding ``resources`` (any types; each needs ``id``)."""

    def __init__(
        self,
        resources: Iterable[Mapping[str, Any]] = (),
        *,
        token: str | None = None,
        base_path: str = "/fhir",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host=host, port=port)
        self.token, self.base_path = token, base_path.rstrip("/")
        self._store_lock = threading.Lock()
        self._store: dict[tuple[str, str], dict[str, Any]] = {}
        self._tick = 0
        for resource in resources:
            self.put(resource)

    @property
    def base_url(self) -> str:
        """The FHIR base URL (the ``base_url`` option of the adapter)."""
        return self.url + self.base_path

    def put(self, resource: Mapping[str, Any]) -> dict[str, Any]:
        """Store (create or replace) a resource; stamp ``meta.lastUpdated`` if it has none."""
        stored = copy.deepcopy(dict(resource))
        with self._store_lock:
            meta = stored.setdefault("meta", {})
            if "lastUpdated" not in meta:
                self._tick += 1
                moment = _CLOCK_START + timedelta(seconds=self._tick)
                meta["lastUpdated"] = moment.isoformat().replace("+00:00", "Z")
            self._store[(stored["resourceType"], str(stored["id"]))] = stored
        return stored

    def delete(self, rtype: str, rid: str) -> None:
        with self._store_lock:
            self._store.pop((rtype, rid), None)

    # -- HTTP --------------------------------------------------------------------------
    def handle(self, request: SimRequest) -> SimResponse:
        if self.token is not None:
            given = request.headers.get("Authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {self.token}".encode()):
                return _outcome(401, "login", "missing or invalid bearer token")
        if not request.path.startswith(self.base_path + "/") or request.method != "GET":
            return _outcome(404, "not-found", "unknown path or method")
        parts = request.path[len(self.base_path) + 1 :].strip("/").split("/")
        if parts == ["metadata"]:
            return self._json(
                {
                    "resourceType": "CapabilityStatement",
                    "status": "active",
                    "fhirVersion": "4.0.1",
                    "kind": "instance",
                    "format": ["json"],
                }
            )
        if len(parts) == 2:
            with self._store_lock:
                found = self._store.get((parts[0], parts[1]))
            if found is None:
                return _outcome(404, "not-found", "no such resource")
            return self._json(found)
        if len(parts) == 1 and parts[0]:
            return self._search(parts[0], request)
        return _outcome(404, "not-found", "unknown path")

    def _json(self, body: Any) -> SimResponse:
        return json_response(body, headers={"Content-Type": "application/fhir+json"})

    def _search(self, rtype: str, request: SimRequest) -> SimResponse:
        query = request.query
        allowed = _COMMON_PARAMS | ({"patient"} if rtype in _PATIENT_PARAM else set())
        unknown = set(query) - allowed
        if unknown:
            return _outcome(400, "not-supported", f"unknown parameters: {sorted(unknown)}")
        try:
            count = min(int(request.query_one("_count") or 50), 500)
            offset = int(request.query_one("_offset") or 0)
            bounds = [_bound(v) for v in query.get("_lastUpdated", [])]
        except ValueError:
            return _outcome(400, "invalid", "invalid _count, _offset or _lastUpdated")
        if count < 1 or offset < 0:
            return _outcome(400, "invalid", "_count and _offset out of range")
        ids = {i for v in query.get("_id", []) for i in v.split(",") if i}
        patients = {p.rpartition("/")[2] for v in query.get("patient", []) for p in v.split(",")}
        with self._store_lock:
            matches = [
                copy.deepcopy(r)
                for (t, rid), r in self._store.items()
                if t == rtype
                and (not ids or rid in ids)
                and (not patients or _patient_of(r) in patients)
                and all(test(_instant(r["meta"]["lastUpdated"])) for test in bounds)
            ]
        sort = request.query_one("_sort") or ""
        if sort.lstrip("-") == "_lastUpdated":
            matches.sort(
                key=lambda r: (_instant(r["meta"]["lastUpdated"]), r["id"]),
                reverse=sort.startswith("-"),
            )
        elif sort:
            return _outcome(400, "not-supported", "unsupported _sort")
        else:
            matches.sort(key=lambda r: str(r["id"]))
        page = matches[offset : offset + count]
        if request.malformed and page:
            page[0]["identifier"] = "not-a-list"
        links = [{"relation": "self", "url": self._page_url(rtype, query, offset)}]
        if offset + count < len(matches):
            links.append({"relation": "next", "url": self._page_url(rtype, query, offset + count)})
        return self._json(
            {
                "resourceType": "Bundle",
                "type": "searchset",
                "total": len(matches),
                "link": links,
                "entry": [
                    {
                        "fullUrl": f"{self.base_url}/{rtype}/{r['id']}",
                        "resource": r,
                        "search": {"mode": "match"},
                    }
                    for r in page
                ],
            }
        )

    def _page_url(self, rtype: str, query: Mapping[str, list[str]], offset: int) -> str:
        params = [(k, v) for k, values in query.items() if k != "_offset" for v in values]
        params.append(("_offset", str(offset)))
        return f"{self.base_url}/{rtype}?{urlencode(params)}"


def _patient_of(resource: Mapping[str, Any]) -> str | None:
    ref = resource.get(_PATIENT_PARAM.get(str(resource.get("resourceType")), ""))
    if not isinstance(ref, dict) or not isinstance(ref.get("reference"), str):
        return None
    head, _, rid = ref["reference"].rpartition("/")
    return rid if head.endswith("Patient") else None


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _bound(value: str) -> Any:
    prefix = value[:2] if value[:2] in _PREFIXES else "eq"
    moment = _instant(value[2:] if value[:2] in _PREFIXES else value)
    tests = {
        "eq": lambda m: m == moment,
        "gt": lambda m: m > moment,
        "ge": lambda m: m >= moment,
        "lt": lambda m: m < moment,
        "le": lambda m: m <= moment,
    }
    return tests[prefix]
