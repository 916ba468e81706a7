"""Flattening of validated FHIR R4 resources into the record shape of :mod:`fhir_r4_bundle`.

Each function reads a resource as JSON (already validated by the ``fhir.resources`` model)
and returns the flat mapping documented in :mod:`adapters.fhir_r4_bundle`. Identifier systems
are those of the HL7 Italia base profile (https://hl7.it/fhir/base, "Patient-it").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

__all__ = [
    "CF_SYSTEMS",
    "ENI_SYSTEMS",
    "STP_SYSTEMS",
    "classify_identifier",
    "flatten",
    "patient_reference",
]

#: Fiscal code (codice fiscale): HL7 Italia naming system and the Italian MEF OID.
CF_SYSTEMS = frozenset({"http://hl7.it/sid/codiceFiscale", "urn:oid:2.16.840.1.113883.2.9.4.3.2"})
#: STP (Straniero Temporaneamente Presente): national, and the Veneto regional OID.
STP_SYSTEMS = frozenset({"http://hl7.it/sid/stp", "urn:oid:2.16.840.1.113883.2.9.2.50.4.1.1"})
#: ENI (Europeo Non Iscritto): national, and the Veneto regional OID.
ENI_SYSTEMS = frozenset({"http://hl7.it/sid/eni", "urn:oid:2.16.840.1.113883.2.9.2.50.4.1.4"})
ANPR_SYSTEM = "http://hl7.it/sid/anpr"
_REGIONAL = re.compile(r"^http://hl7\.it/sid/[a-z\-]+/(stp|eni)$")

_PATIENT_FIELD = {
    "EpisodeOfCare": "patient",
    "Encounter": "subject",
    "ServiceRequest": "subject",
    "Condition": "subject",
}
KeyOf = Callable[[Any, Any], "str | None"]


def patient_reference(rtype: str, resource: Mapping[str, Any]) -> Any:
    """The reference string a resource of ``rtype`` names its patient with (or None)."""
    ref = resource.get(_PATIENT_FIELD.get(rtype, ""))
    return ref.get("reference") if isinstance(ref, dict) else None


def classify_identifier(identifier: Mapping[str, Any]) -> tuple[str, str] | None:
    """``(kind, normalised value)`` for the identifiers of the brief's §5, else None."""
    value = identifier.get("value")
    if not isinstance(value, str) or not value.strip():
        return None
    value = value.strip().upper()
    system = identifier.get("system") or ""
    type_codes = {c.get("code") for c in _codings(identifier.get("type"))}
    regional = _REGIONAL.match(system)
    if system in STP_SYSTEMS or "STP" in type_codes or (regional and regional[1] == "stp"):
        return "stp", value
    if system in ENI_SYSTEMS or "ENI" in type_codes or (regional and regional[1] == "eni"):
        return "eni", value
    if system in CF_SYSTEMS:
        if value.startswith(("STP", "ENI")) and len(value) == 16:
            return value[:3].lower(), value
        if len(value) == 11 and value.isdigit():
            return "codiceFiscaleProvvisorio", value
        return "codiceFiscale", value
    if system == ANPR_SYSTEM:
        return "anpr", value
    return None


def flatten(resource: Mapping[str, Any], key: str, holder: Any, key_of: KeyOf) -> dict[str, Any]:
    """The flat mapping of one resource (``key_of(reference, holder)`` resolves references)."""
    rtype = resource["resourceType"]
    head = {
        "id": resource.get("id"),
        "key": key,
        "lastUpdated": (resource.get("meta") or {}).get("lastUpdated"),
    }

    def ref(name: str) -> str | None:
        value = resource.get(name)
        return key_of(value.get("reference"), holder) if isinstance(value, dict) else None

    def refs(name: str) -> list[str]:
        found = (key_of(v.get("reference"), holder) for v in resource.get(name) or [])
        return [k for k in found if k is not None]

    def concepts(name: str) -> list[dict[str, Any]]:
        found = (_concept(c) for c in resource.get(name) or [])
        return [c for c in found if c is not None]

    period = resource.get("period") or {}
    if rtype == "Patient":
        return head | _patient(resource)
    if rtype == "EpisodeOfCare":
        return head | {
            "status": resource.get("status"),
            "type": concepts("type"),
            "periodStart": period.get("start"),
            "periodEnd": period.get("end"),
        }
    if rtype == "Encounter":
        return head | {
            "status": resource.get("status"),
            "class": _coding(resource.get("class")),
            "type": concepts("type"),
            "serviceType": _concept(resource.get("serviceType")),
            "periodStart": period.get("start"),
            "periodEnd": period.get("end"),
            "episodeOfCare": refs("episodeOfCare"),
            "reasonCode": concepts("reasonCode"),
        }
    if rtype == "ServiceRequest":
        occurrence = resource.get("occurrenceDateTime") or (
            resource.get("occurrencePeriod") or {}
        ).get("start")
        return head | {
            "status": resource.get("status"),
            "intent": resource.get("intent"),
            "category": concepts("category"),
            "code": _concept(resource.get("code")),
            "priority": resource.get("priority"),
            "authoredOn": resource.get("authoredOn"),
            "occurrence": occurrence,
            "performerType": _concept(resource.get("performerType")),
            "encounter": ref("encounter"),
            "reasonCode": concepts("reasonCode"),
        }
    # Condition
    return head | {
        "clinicalStatus": _concept(resource.get("clinicalStatus")),
        "verificationStatus": _concept(resource.get("verificationStatus")),
        "category": concepts("category"),
        "code": _concept(resource.get("code")),
        "severity": _concept(resource.get("severity")),
        "onsetDateTime": resource.get("onsetDateTime"),
        "abatementDateTime": resource.get("abatementDateTime"),
        "recordedDate": resource.get("recordedDate"),
        "encounter": ref("encounter"),
    }


def _patient(resource: Mapping[str, Any]) -> dict[str, Any]:
    identifiers: dict[str, Any] = {
        "codiceFiscale": None,
        "codiceFiscaleProvvisorio": None,
        "stp": None,
        "eni": None,
        "anpr": None,
        "other": [],
    }
    for identifier in resource.get("identifier") or []:
        found = classify_identifier(identifier)
        if found is not None and identifiers[found[0]] is None:
            identifiers[found[0]] = found[1]
        elif identifier.get("value"):
            identifiers["other"].append(
                {"system": identifier.get("system"), "value": identifier.get("value")}
            )
    names = resource.get("name") or []
    name = next((n for n in names if n.get("use") == "official"), names[0] if names else {})
    nationalities: list[str] = []
    birth_place = None
    for ext in resource.get("extension") or []:
        url = ext.get("url") or ""
        if url.endswith("patient-birthPlace") and isinstance(ext.get("valueAddress"), dict):
            address = ext["valueAddress"]
            birth_place = {k: address.get(k) for k in ("city", "district", "country")}
        elif url.endswith(("patient-nationality", "cittadinanza")):
            inner = [e.get("valueCodeableConcept") for e in ext.get("extension") or []]
            for concept in [ext.get("valueCodeableConcept"), *inner]:
                code = _concept(concept)
                if code and code["code"]:
                    nationalities.append(code["code"])
    languages = [
        c["code"]
        for comm in resource.get("communication") or []
        if (c := _concept(comm.get("language"))) and c["code"]
    ]
    return {
        "identifiers": identifiers,
        "family": name.get("family"),
        "given": " ".join(name.get("given") or []) or None,
        "gender": resource.get("gender"),
        "birthDate": resource.get("birthDate"),
        "active": resource.get("active"),
        "birthPlace": birth_place,
        "nationality": nationalities[0] if nationalities else None,
        "nationalities": nationalities,
        "languages": languages,
    }


def _codings(concept: Any) -> list[Mapping[str, Any]]:
    if not isinstance(concept, dict):
        return []
    return [c for c in concept.get("coding") or [] if isinstance(c, dict)]


def _coding(coding: Any) -> dict[str, Any] | None:
    if not isinstance(coding, dict):
        return None
    return {
        "system": coding.get("system"),
        "code": coding.get("code"),
        "display": coding.get("display"),
    }


def _concept(concept: Any) -> dict[str, Any] | None:
    codings = [c for c in (_coding(c) for c in _codings(concept)) if c is not None]
    if not isinstance(concept, dict):
        return None
    first = codings[0] if codings else {"system": None, "code": None, "display": None}
    return {**first, "codings": codings}
