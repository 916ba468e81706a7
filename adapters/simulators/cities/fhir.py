"""FHIR R4 resources of the health authorities' servers (HL7 Italia base profile).

Each ground-truth health record becomes a ``Patient`` (id: the record id; identifiers: fiscal
code under ``http://hl7.it/sid/codiceFiscale`` or the MEF OID, the provisional code under the
same system, STP/ENI under the national or a regional system, the authority's own patient
number under a local system; nationality and birth place extensions), one ``Encounter`` per
service (``serviceType``: the authority's local code) and one ``ServiceRequest`` per referral
(``code``: local code of the receiving service). Statuses follow FHIR, read with these
conventions of the authorities: a service interrupted is a ``cancelled`` Encounter; a referral
not attended is an ``on-hold`` ServiceRequest, one refused ``revoked``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from adapters.simulators.cities.catalogue import SourceSpec
from adapters.simulators.cities.formats import date_text, identifiers, instant_text
from adapters.simulators.truth import SourceRecordTruth

__all__ = [
    "CF_SYSTEMS",
    "ENCOUNTER_STATUS",
    "REQUEST_STATUS",
    "bundle",
    "local_system",
    "render",
]

CF_SYSTEMS = {
    "hl7": "http://hl7.it/sid/codiceFiscale",
    "oid": "urn:oid:2.16.840.1.113883.2.9.4.3.2",
}
ENCOUNTER_STATUS = {
    "planned": "planned",
    "active": "in-progress",
    "completed": "finished",
    "interrupted": "cancelled",
}
REQUEST_STATUS = {
    "pending": "active",
    "taken_up": "completed",
    "refused": "revoked",
    "not_attended": "on-hold",
}
_NATIONALITY = "http://hl7.org/fhir/StructureDefinition/patient-nationality"
_BIRTH_PLACE = "http://hl7.org/fhir/StructureDefinition/patient-birthPlace"
_ISO_3166 = "urn:iso:std:iso:3166"


def local_system(spec: SourceSpec, what: str) -> str:
    """The URI of one of the authority's local code systems (``prestazioni``, ``invii``...)."""
    return f"urn:lgnet:sim:{spec.city}:{what}"


def _stp_eni_system(spec: SourceSpec, kind: str) -> str:
    if spec.option("stp_system") == "regional":
        return f"http://hl7.it/sid/{spec.option('region')}/{kind}"
    return f"http://hl7.it/sid/{kind}"


def _patient(spec: SourceSpec, t: SourceRecordTruth, stamp: str) -> dict[str, Any]:
    v, s = spec.vocabulary, t.subject
    ids = identifiers(s)
    cf_system = CF_SYSTEMS[str(spec.option("cf_system", "hl7"))]
    identifier = [
        {"system": system, "value": value}
        for system, value in (
            (cf_system, ids["fiscal_code"]),
            (cf_system, ids["provisional_fiscal_code"]),
            (_stp_eni_system(spec, "stp"), ids["stp_code"]),
            (_stp_eni_system(spec, "eni"), ids["eni_code"]),
            (local_system(spec, "paziente"), ids["local_id"]),
        )
        if value is not None
    ]
    extension: list[dict[str, Any]] = []
    citizenship = v.local("country", s.get("citizenship"))
    if citizenship:
        concept = {"coding": [{"system": _ISO_3166, "code": citizenship}]}
        extension.append(
            {"url": _NATIONALITY, "extension": [{"url": "code", "valueCodeableConcept": concept}]}
        )
    born = v.local("country", s.get("country_of_birth"))
    if born:
        extension.append({"url": _BIRTH_PLACE, "valueAddress": {"country": born}})
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "id": t.record_id,
        "meta": {"lastUpdated": stamp},
        "identifier": identifier,
        "active": True,
        "name": [
            {"use": "official", "family": s["family_name"], "given": s["given_names"].split()}
        ],
    }
    if extension:
        patient["extension"] = extension
    gender = v.local("sex", s.get("sex"))
    if gender:
        patient["gender"] = gender
    if s.get("birth_date") is not None:
        patient["birthDate"] = date_text(s["birth_date"])
    return patient


def render(spec: SourceSpec, t: SourceRecordTruth) -> list[dict[str, Any]]:
    """The resources of ``truth``: its Patient, then Encounters and ServiceRequests."""
    v = spec.vocabulary
    stamp = instant_text(t.updated_at)
    subject = {"reference": f"Patient/{t.record_id}"}
    resources = [_patient(spec, t, stamp)]
    for n, x in enumerate(t.services, start=1):
        period = {"start": date_text(x["start"])}
        if x["end"] is not None:
            period["end"] = date_text(x["end"])
        resources.append(
            {
                "resourceType": "Encounter",
                "id": f"{t.record_id}-s{n}",
                "meta": {"lastUpdated": stamp},
                "status": ENCOUNTER_STATUS[x["status"]],
                "class": {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                    "code": "AMB",
                },
                "serviceType": {
                    "coding": [
                        {
                            "system": local_system(spec, "prestazioni"),
                            "code": v.local("service_type", x["type"]),
                        }
                    ]
                },
                "subject": subject,
                "period": period,
            }
        )
    for n, r in enumerate(t.referrals, start=1):
        day = date_text(r["date"])
        resources.append(
            {
                "resourceType": "ServiceRequest",
                "id": f"{t.record_id}-r{n}",
                "meta": {"lastUpdated": stamp},
                "status": REQUEST_STATUS[r["outcome"]],
                "intent": "order",
                "code": {
                    "coding": [
                        {
                            "system": local_system(spec, "invii"),
                            "code": v.local("referral_target", r["target"]),
                        }
                    ]
                },
                "subject": subject,
                "authoredOn": day,
                "occurrenceDateTime": day,
            }
        )
    return resources


def bundle(resources: Iterable[dict[str, Any]], base: str = "http://127.0.0.1/fhir") -> bytes:
    """A ``collection`` Bundle of ``resources`` (the sample file the mapping tools read)."""
    entries = [
        {"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r} for r in resources
    ]
    document = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")
