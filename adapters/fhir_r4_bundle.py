"""FHIR R4 Bundles -> one record per Patient, with the patient's care resources attached.

Bundles of type ``transaction``, ``batch``, ``collection`` and ``searchset``
(https://hl7.org/fhir/R4/bundle.html) are read; each resource of the five types below is
validated with the ``fhir.resources.R4B`` models (R4B changed none of them, so plain R4 JSON
validates) and grouped under the Patient it refers to. Resources of any other type are
skipped and counted in :class:`BundleStats` (never an error). References are followed in
the three forms FHIR allows: ``urn:uuid:``/``urn:oid:`` full URLs of other entries, relative
(``Patient/123``, also matched against absolute full URLs ending so) and contained
(``#id``, inside the same resource). A resource reaches its patient through
``EpisodeOfCare.patient``, ``Encounter.subject``, ``ServiceRequest.subject`` or
``Condition.subject``, or failing that through the Encounter (``encounter``) or the
EpisodeOfCare (``Encounter.episodeOfCare``) it refers to.

``RawRecord.data`` of a patient (the paths mapping files are written against)::

    {"patient": {
        "id": "123" | None, "key": "123" or the entry fullUrl, "lastUpdated": "2024-...",
        "identifiers": {"codiceFiscale": "RSSMRA80A01H501U", "codiceFiscaleProvvisorio": None,
                        "stp": "STP...", "eni": None, "anpr": None,
                        "other": [{"system": "...", "value": "..."}]},
        "family": "Rossi", "given": "Ada Maria",       # official (else first) name
        "gender": "female", "birthDate": "1990-05-01", "active": True,
        "birthPlace": {"city": ..., "district": ..., "country": ...} | None,
        "nationality": "MA", "nationalities": ["MA"],  # patient-nationality extension codes
        "languages": ["ar", "fr"]},                    # communication.language codes
     "episodes": [{"id", "key", "lastUpdated", "status", "type": [CONCEPT],
                   "periodStart", "periodEnd"}],
     "encounters": [{"id", "key", "lastUpdated", "status", "class": CODING, "type": [CONCEPT],
                     "serviceType": CONCEPT, "periodStart", "periodEnd",
                     "episodeOfCare": [KEY], "reasonCode": [CONCEPT]}],
     "service_requests": [{"id", "key", "lastUpdated", "status", "intent",
                           "category": [CONCEPT], "code": CONCEPT, "priority", "authoredOn",
                           "occurrence", "performerType": CONCEPT, "encounter": KEY,
                           "reasonCode": [CONCEPT]}],
     "conditions": [{"id", "key", "lastUpdated", "clinicalStatus": CONCEPT,
                     "verificationStatus": CONCEPT, "category": [CONCEPT], "code": CONCEPT,
                     "severity": CONCEPT, "onsetDateTime", "abatementDateTime",
                     "recordedDate", "encounter": KEY}]}

    CODING  = {"system", "code", "display"}
    CONCEPT = {"system", "code", "display", "codings": [CODING]}   # first coding on top
    KEY     = the referenced resource's "key" (its id, or its fullUrl when it has none)

Absent values are ``None`` (lists ``[]``); free text (``text``, ``note``) is not carried.
Identifier systems (HL7 Italia base profile, https://hl7.it/fhir/base): fiscal code
``http://hl7.it/sid/codiceFiscale`` or ``urn:oid:2.16.840.1.113883.2.9.4.3.2`` (an 11-digit
value is the provisional code; a value starting ``STP``/``ENI`` is that code); STP
``http://hl7.it/sid/stp``, regional ``http://hl7.it/sid/<region>/stp``, Veneto
``urn:oid:2.16.840.1.113883.2.9.2.50.4.1.1``; ENI likewise with ``eni`` and ``...50.4.1.4``;
or any system when ``identifier.type`` has the code ``STP``/``ENI``; ANPR
``http://hl7.it/sid/anpr``.

A patient whose Patient or linked resource is invalid becomes a record with a
:class:`RecordProblem` (entry index and field path from the validation error, never the
value) and, as ``raw``, a collection Bundle of that patient's entries for replay. A
``DELETE Patient/<id>`` entry of a transaction or batch becomes a tombstone record.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
import pydantic
from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.episodeofcare import EpisodeOfCare
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.servicerequest import ServiceRequest

from adapters.base import RawRecord
from adapters.errors import FatalSourceError, RecordProblem
from adapters.fhir_r4_flatten import flatten, patient_reference

__all__ = ["BUNDLE_TYPES", "MODELS", "BundleError", "BundleStats", "ParsedBundle", "parse_bundle"]

BUNDLE_TYPES = frozenset({"transaction", "batch", "collection", "searchset"})
MODELS: dict[str, type[Any]] = {
    "Patient": Patient,
    "EpisodeOfCare": EpisodeOfCare,
    "Encounter": Encounter,
    "ServiceRequest": ServiceRequest,
    "Condition": Condition,
}
_LIST_KEYS = {
    "EpisodeOfCare": "episodes",
    "Encounter": "encounters",
    "ServiceRequest": "service_requests",
    "Condition": "conditions",
}
_TYPE_ID = re.compile(r"([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")


class BundleError(FatalSourceError):
    """The body is not a readable FHIR Bundle at all (nothing in it can be used)."""


@dataclass
class BundleStats:
    """What a Bundle held: entries, patients, accepted resources, skipped ones, problems."""

    entries: int = 0
    patients: int = 0
    resources: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    problems: int = 0


@dataclass
class ParsedBundle:
    records: list[RawRecord]
    stats: BundleStats


@dataclass(eq=False)
class _Item:
    resource: dict[str, Any]
    type: str
    position: str
    full_url: str | None = None
    container: _Item | None = None
    contained: dict[str, _Item] = field(default_factory=dict)
    problem: RecordProblem | None = None

    @property
    def key(self) -> str:
        rid = self.resource.get("id")
        if isinstance(rid, str):
            return f"#{rid}" if self.container is not None else rid
        return self.full_url or self.position


class Index:
    """The resources of one Bundle, findable by every kind of reference."""

    def __init__(self) -> None:
        self.items: list[_Item] = []
        self.by_url: dict[str, _Item] = {}
        self.by_type_id: dict[tuple[str, str], _Item] = {}

    def add(self, item: _Item) -> None:
        self.items.append(item)
        if item.container is not None:
            return
        if item.full_url:
            self.by_url[item.full_url] = item
            match = _TYPE_ID.search(item.full_url)
            if match:
                self.by_type_id.setdefault((match[1], match[2]), item)
        rid = item.resource.get("id")
        if isinstance(rid, str):
            self.by_type_id[(item.type, rid)] = item

    def resolve(self, reference: Any, holder: _Item) -> _Item | None:
        if not isinstance(reference, str) or not reference:
            return None
        if reference.startswith("#"):
            scope = holder.container or holder
            return scope if reference == "#" else scope.contained.get(reference[1:])
        if reference in self.by_url:
            return self.by_url[reference]
        match = _TYPE_ID.search(reference)
        return self.by_type_id.get((match[1], match[2])) if match else None

    def patient_of(self, item: _Item, depth: int = 0) -> _Item | None:
        if item.type == "Patient":
            return item
        if depth > 3:
            return None
        target = self.resolve(patient_reference(item.type, item.resource), item)
        if target is not None and target.type == "Patient":
            return target
        for via in ("encounter", "episodeOfCare"):
            refs = item.resource.get(via)
            for ref in refs if isinstance(refs, list) else [refs]:
                linked = self.resolve(ref.get("reference") if isinstance(ref, dict) else None, item)
                if linked is not None and linked is not item:
                    found = self.patient_of(linked, depth + 1)
                    if found is not None:
                        return found
        return None


def parse_bundle(body: bytes | str | Mapping[str, Any], *, source: str = "fhir_r4") -> ParsedBundle:
    """Read a Bundle into one :class:`RawRecord` per Patient (see the module docstring)."""
    bundle = _load(body, source)
    stats = BundleStats()
    index = Index()
    tombstones: list[RawRecord] = []
    entries = bundle.get("entry")
    entries = [] if entries is None else entries
    if not isinstance(entries, list):
        raise BundleError("entry: not a list", source=source)
    stats.entries = len(entries)
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise BundleError(f"entry[{i}]: not an object", source=source)
        resource = entry.get("resource")
        request = entry.get("request")
        if not isinstance(request, dict):
            request = {}
        if resource is None:
            tombstone = _tombstone(request, i, source)
            if tombstone is not None:
                tombstones.append(tombstone)
            else:
                stats.skipped[str(request.get("method") or "entry without resource")] += 1
            continue
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            raise BundleError(f"entry[{i}].resource: not a FHIR resource", source=source)
        full_url = entry.get("fullUrl")
        url = full_url if isinstance(full_url, str) else None
        add_resource(index, stats, resource, f"entry {i}", url, source)
    records = group_records(index, stats, source) + tombstones
    return ParsedBundle(records, stats)


def _load(body: bytes | str | Mapping[str, Any], source: str) -> dict[str, Any]:
    if isinstance(body, Mapping):
        bundle: Any = dict(body)
    else:
        try:
            bundle = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise BundleError("body is not valid JSON", source=source) from None
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise BundleError("resourceType: not a Bundle", source=source)
    if bundle.get("type") not in BUNDLE_TYPES:
        raise BundleError(
            f"type: Bundle type must be one of {', '.join(sorted(BUNDLE_TYPES))}", source=source
        )
    return bundle


def _tombstone(request: Mapping[str, Any], i: int, source: str) -> RawRecord | None:
    url = request.get("url")
    if request.get("method") != "DELETE" or not isinstance(url, str):
        return None
    match = _TYPE_ID.fullmatch(url.lstrip("/"))
    if not match or match[1] != "Patient":
        return None
    return RawRecord(
        data={"patient": {"id": match[2]}},
        cursor="",
        record_id=match[2],
        position=f"entry {i}",
        deleted=True,
    )


def add_resource(
    index: Index,
    stats: BundleStats,
    resource: dict[str, Any],
    position: str,
    full_url: str | None,
    source: str,
) -> None:
    """Validate one resource of the five types (and its contained ones) and index it."""
    rtype = resource["resourceType"]
    if rtype not in MODELS:
        stats.skipped[rtype] += 1
        return
    item = _Item(resource, rtype, position, full_url)
    item.problem = _validate(item, source)
    index.add(item)
    stats.resources[rtype] += 1
    contained = resource.get("contained")
    for inner in contained if isinstance(contained, list) else []:
        if not isinstance(inner, dict):
            continue
        inner_type, inner_id = inner.get("resourceType"), inner.get("id")
        if inner_type not in MODELS or not isinstance(inner_id, str):
            stats.skipped[str(inner_type)] += 1
            continue
        child = _Item(inner, inner_type, f"{position} contained #{inner_id}", None, item)
        child.problem = item.problem
        item.contained[inner_id] = child
        index.add(child)
        stats.resources[inner_type] += 1


def _validate(item: _Item, source: str) -> RecordProblem | None:
    try:
        MODELS[item.type].model_validate(item.resource)
    except pydantic.ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return RecordProblem(
            f"invalid {item.type}: {_describe(first)}{more}",
            source=source,
            position=item.position,
            field=_loc_path(first["loc"]),
        )
    return None


def _describe(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "field is not defined for this resource type"
    message = str(error.get("msg", ""))
    value = error.get("input")
    # Validators may quote the value; messages must never carry one.
    if isinstance(value, str | int | float) and str(value) in message:
        return f"invalid value ({kind})"
    return f"{message.rstrip('.')} ({kind})"


def _loc_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "."


def group_records(index: Index, stats: BundleStats, source: str) -> list[RawRecord]:
    """One record per Patient of ``index``; problems for resources no patient claims."""
    groups: dict[int, list[_Item]] = {}
    patients: list[_Item] = []
    orphans: list[RawRecord] = []
    for item in index.items:
        owner = index.patient_of(item)
        if owner is None:
            problem = item.problem or RecordProblem(
                "reference does not lead to a Patient of the bundle",
                source=source,
                position=item.position,
                field="patient" if item.type == "EpisodeOfCare" else "subject",
            )
            orphans.append(_problem_record(problem, item.position, None, [item]))
            continue
        if owner is item:
            patients.append(item)
        groups.setdefault(id(owner), []).append(item)
    stats.patients = len(patients)
    records = [_patient_record(p, groups[id(p)], index, source) for p in patients] + orphans
    stats.problems = sum(1 for r in records if r.problem is not None)
    return records


def _patient_record(patient: _Item, items: list[_Item], index: Index, source: str) -> RawRecord:
    record_id = patient.resource.get("id") if patient.container is None else None
    record_id = record_id if isinstance(record_id, str) else None
    problem = next((i.problem for i in items if i.problem is not None), None)
    if problem is not None:
        return _problem_record(problem, patient.position, record_id, items)

    def key_of(reference: Any, holder: _Item) -> str | None:
        if not isinstance(reference, str):
            return None
        target = index.resolve(reference, holder)
        return target.key if target is not None else reference

    data: dict[str, Any] = {"patient": flatten(patient.resource, patient.key, patient, key_of)}
    for name in _LIST_KEYS.values():
        data[name] = []
    for item in items:
        if item is not patient:
            data[_LIST_KEYS[item.type]].append(flatten(item.resource, item.key, item, key_of))
    return RawRecord(data=data, cursor="", record_id=record_id, position=patient.position)


def _problem_record(
    problem: RecordProblem, position: str, record_id: str | None, items: list[_Item]
) -> RawRecord:
    entries = [
        {"fullUrl": i.full_url, "resource": i.resource} if i.full_url else {"resource": i.resource}
        for i in items
        if i.container is None
    ]
    raw = orjson.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries})
    return RawRecord(
        data={}, cursor="", record_id=record_id, position=position, problem=problem, raw=raw
    )
