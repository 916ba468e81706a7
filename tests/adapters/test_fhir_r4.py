"""adapters.fhir_r4: pushed Bundles (adapters.fhir_r4_bundle) and REST search on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from codicefiscale import codicefiscale
from pydantic import ValidationError

import adapters
from adapters.circuit import CircuitBreakers
from adapters.errors import FatalSourceError, RecordProblem, RetriableSourceError
from adapters.fhir_r4 import FhirR4Adapter, FhirR4Options, parse_bundle
from adapters.fhir_r4_bundle import BundleError
from adapters.simulators import Fault
from adapters.simulators.fhir_server import FhirServer

CF_SYSTEM = "http://hl7.it/sid/codiceFiscale"
CF_OID = "urn:oid:2.16.840.1.113883.2.9.4.3.2"
NATIONALITY = "http://hl7.org/fhir/StructureDefinition/patient-nationality"

# Invented people; fiscal codes computed, syntactically valid, belonging to nobody.
CF_A = codicefiscale.encode(
    lastname="Sintetica",
    firstname="Fatou",
    gender="F",
    birthdate="1993-04-12",
    birthplace="Senegal",
)
CF_B = codicefiscale.encode(
    lastname="Inventato",
    firstname="Ahmed",
    gender="M",
    birthdate="1984-10-05",
    birthplace="Egitto",
)
STP_CODE = "STP0800010001234"
ENI_CODE = "ENI0500020004321"


def patient(
    pid: str | None, *, cf: str | None = CF_A, system: str = CF_SYSTEM, **extra: Any
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "identifier": [{"system": system, "value": cf}] if cf else [],
        "name": [{"use": "official", "family": "Sintetica", "given": ["Fatou", "Awa"]}],
        "gender": "female",
        "birthDate": "1993-04-12",
        "extension": [
            {
                "url": NATIONALITY,
                "extension": [
                    {
                        "url": "code",
                        "valueCodeableConcept": {
                            "coding": [{"system": "urn:iso:std:iso:3166", "code": "SN"}]
                        },
                    }
                ],
            }
        ],
        "communication": [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "wo"}]}}],
    }
    if pid is not None:
        resource["id"] = pid
    resource.update(extra)
    return resource


def episode(ref: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "EpisodeOfCare",
        "status": "active",
        "patient": {"reference": ref},
        "type": [{"coding": [{"system": "urn:asl:presa", "code": "PIC", "display": "PIC"}]}],
        "period": {"start": "2024-02-01"},
        **extra,
    }


def encounter(ref: str, **extra: Any) -> dict[str, Any]:
    # Plain R4: Encounter.class is a Coding (it became a list of CodeableConcept in R5).
    return {
        "resourceType": "Encounter",
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "subject": {"reference": ref},
        "period": {"start": "2024-02-03T10:00:00+01:00"},
        **extra,
    }


def service_request(ref: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "ServiceRequest",
        "status": "active",
        "intent": "order",
        "code": {"coding": [{"system": "urn:asl:servizi", "code": "CSM"}]},
        "subject": {"reference": ref},
        "authoredOn": "2024-02-04",
        **extra,
    }


def condition(ref: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "subject": {"reference": ref},
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": "active",
                }
            ]
        },
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "Z59.0"}]},
        "recordedDate": "2024-02-03",
        **extra,
    }


def bundle(kind: str, *resources: tuple[str | None, dict[str, Any]]) -> dict[str, Any]:
    entries = []
    for full_url, resource in resources:
        entry: dict[str, Any] = {"resource": resource}
        if full_url:
            entry["fullUrl"] = full_url
        if kind in ("transaction", "batch"):
            entry["request"] = {"method": "POST", "url": resource["resourceType"]}
        if kind == "searchset":
            entry["search"] = {"mode": "match"}
        entries.append(entry)
    return {"resourceType": "Bundle", "type": kind, "entry": entries}


def uuid_bundle(kind: str) -> dict[str, Any]:
    return bundle(
        kind,
        ("urn:uuid:6f1c1c9e-0000-4000-8000-000000000001", patient(None)),
        (
            "urn:uuid:6f1c1c9e-0000-4000-8000-000000000002",
            episode("urn:uuid:6f1c1c9e-0000-4000-8000-000000000001"),
        ),
        (
            "urn:uuid:6f1c1c9e-0000-4000-8000-000000000003",
            encounter(
                "urn:uuid:6f1c1c9e-0000-4000-8000-000000000001",
                episodeOfCare=[{"reference": "urn:uuid:6f1c1c9e-0000-4000-8000-000000000002"}],
            ),
        ),
        (
            "urn:uuid:6f1c1c9e-0000-4000-8000-000000000004",
            service_request(
                "urn:uuid:6f1c1c9e-0000-4000-8000-000000000001",
                encounter={"reference": "urn:uuid:6f1c1c9e-0000-4000-8000-000000000003"},
            ),
        ),
        (
            "urn:uuid:6f1c1c9e-0000-4000-8000-000000000005",
            condition("urn:uuid:6f1c1c9e-0000-4000-8000-000000000001"),
        ),
    )


# -- pushed bundles ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["transaction", "batch", "collection", "searchset"])
def test_each_bundle_type_gives_one_record_per_patient(kind: str) -> None:
    parsed = parse_bundle(json.dumps(uuid_bundle(kind)).encode(), source="asl")
    (record,) = parsed.records
    assert record.problem is None and record.position == "entry 0"
    data = record.data
    assert data["patient"]["identifiers"]["codiceFiscale"] == CF_A
    assert [len(data[k]) for k in ("episodes", "encounters", "service_requests", "conditions")] == [
        1,
        1,
        1,
        1,
    ]
    assert parsed.stats.patients == 1
    assert dict(parsed.stats.resources) == {
        "Patient": 1,
        "EpisodeOfCare": 1,
        "Encounter": 1,
        "ServiceRequest": 1,
        "Condition": 1,
    }


def test_record_shape() -> None:
    (record,) = parse_bundle(uuid_bundle("transaction")).records
    episode_key = "urn:uuid:6f1c1c9e-0000-4000-8000-000000000002"
    encounter_key = "urn:uuid:6f1c1c9e-0000-4000-8000-000000000003"
    assert record.record_id is None  # no Patient.id in a transaction of new resources
    assert record.data["patient"] == {
        "id": None,
        "key": "urn:uuid:6f1c1c9e-0000-4000-8000-000000000001",
        "lastUpdated": None,
        "identifiers": {
            "codiceFiscale": CF_A,
            "codiceFiscaleProvvisorio": None,
            "stp": None,
            "eni": None,
            "anpr": None,
            "other": [],
        },
        "family": "Sintetica",
        "given": "Fatou Awa",
        "gender": "female",
        "birthDate": "1993-04-12",
        "active": None,
        "birthPlace": None,
        "nationality": "SN",
        "nationalities": ["SN"],
        "languages": ["wo"],
    }
    pic = {"system": "urn:asl:presa", "code": "PIC", "display": "PIC"}
    assert record.data["episodes"] == [
        {
            "id": None,
            "key": episode_key,
            "lastUpdated": None,
            "status": "active",
            "type": [{**pic, "codings": [pic]}],
            "periodStart": "2024-02-01",
            "periodEnd": None,
        }
    ]
    enc = record.data["encounters"][0]
    assert enc["class"] == {
        "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
        "code": "AMB",
        "display": None,
    }
    assert enc["episodeOfCare"] == [episode_key]
    assert record.data["service_requests"][0]["encounter"] == encounter_key
    assert record.data["service_requests"][0]["code"]["code"] == "CSM"
    assert record.data["conditions"][0]["code"]["code"] == "Z59.0"
    assert record.data["conditions"][0]["clinicalStatus"]["code"] == "active"
    json.dumps(record.data)


@pytest.mark.parametrize("system", [CF_SYSTEM, CF_OID])
def test_both_fiscal_code_systems(system: str) -> None:
    parsed = parse_bundle(
        bundle("collection", (None, patient("p1", cf=CF_B.lower(), system=system)))
    )
    assert parsed.records[0].data["patient"]["identifiers"]["codiceFiscale"] == CF_B
    assert parsed.records[0].record_id == "p1"


@pytest.mark.parametrize(
    ("identifier", "kind", "value"),
    [
        ({"system": "http://hl7.it/sid/stp", "value": STP_CODE}, "stp", STP_CODE),
        ({"system": "http://hl7.it/sid/lazio/stp", "value": STP_CODE}, "stp", STP_CODE),
        (
            {"system": "urn:oid:2.16.840.1.113883.2.9.2.50.4.1.1", "value": STP_CODE},
            "stp",
            STP_CODE,
        ),
        ({"system": "http://hl7.it/sid/eni", "value": ENI_CODE}, "eni", ENI_CODE),
        (
            {"system": "urn:oid:2.16.840.1.113883.2.9.2.50.4.1.4", "value": ENI_CODE},
            "eni",
            ENI_CODE,
        ),
        (
            {
                "system": "urn:asl:anagrafe",
                "value": ENI_CODE,
                "type": {"coding": [{"code": "ENI"}]},
            },
            "eni",
            ENI_CODE,
        ),
        ({"system": CF_SYSTEM, "value": STP_CODE}, "stp", STP_CODE),
        ({"system": CF_OID, "value": "12345678901"}, "codiceFiscaleProvvisorio", "12345678901"),
        ({"system": "http://hl7.it/sid/anpr", "value": "AB12345CD"}, "anpr", "AB12345CD"),
    ],
)
def test_identifier_slices(identifier: dict[str, Any], kind: str, value: str) -> None:
    resource = patient("p1", cf=None, identifier=[identifier])
    ids = (
        parse_bundle(bundle("collection", (None, resource)))
        .records[0]
        .data["patient"]["identifiers"]
    )
    assert ids[kind] == value
    assert ids["other"] == []


def test_unrecognised_identifiers_are_kept_under_other() -> None:
    resource = patient("p1", identifier=[{"system": "urn:comune:id", "value": "L-77"}])
    ids = (
        parse_bundle(bundle("collection", (None, resource)))
        .records[0]
        .data["patient"]["identifiers"]
    )
    assert ids["other"] == [{"system": "urn:comune:id", "value": "L-77"}]


def test_relative_and_absolute_references() -> None:
    parsed = parse_bundle(
        bundle(
            "searchset",
            ("https://fhir.asl.example/fhir/Patient/123", patient("123")),
            ("https://fhir.asl.example/fhir/Encounter/9", encounter("Patient/123", id="9")),
            (
                "https://fhir.asl.example/fhir/Condition/4",
                condition(
                    "https://fhir.asl.example/fhir/Patient/123",
                    id="4",
                    encounter={"reference": "Encounter/9"},
                ),
            ),
            (None, service_request("Patient/123/_history/2", id="7")),
        )
    )
    (record,) = parsed.records
    assert record.record_id == "123"
    assert [e["id"] for e in record.data["encounters"]] == ["9"]
    assert record.data["conditions"][0]["encounter"] == "9"
    assert [s["id"] for s in record.data["service_requests"]] == ["7"]


def test_contained_references() -> None:
    # A referral for someone known only inside it: the patient is a contained resource.
    referral = service_request(
        "#pz",
        id="sr1",
        contained=[patient("pz", cf=CF_B), condition("#pz", id="c1")],
        reasonReference=[{"reference": "#c1"}],
    )
    parsed = parse_bundle(bundle("collection", ("urn:uuid:0000-1", referral)))
    (record,) = parsed.records
    assert record.position == "entry 0 contained #pz"
    assert record.record_id is None  # a contained id is not the source's record id
    assert record.data["patient"]["identifiers"]["codiceFiscale"] == CF_B
    assert [s["id"] for s in record.data["service_requests"]] == ["sr1"]
    assert [c["key"] for c in record.data["conditions"]] == ["#c1"]


def test_reaching_the_patient_through_the_encounter() -> None:
    parsed = parse_bundle(
        bundle(
            "collection",
            ("urn:uuid:p", patient(None)),
            ("urn:uuid:e", encounter("urn:uuid:p")),
            (
                "urn:uuid:c",
                {
                    **condition("urn:uuid:x"),
                    "subject": {"display": "n/a"},
                    "encounter": {"reference": "urn:uuid:e"},
                },
            ),
        )
    )
    assert len(parsed.records[0].data["conditions"]) == 1


def test_unknown_resource_types_are_skipped_and_counted() -> None:
    data = uuid_bundle("transaction")
    data["entry"] += [
        {"resource": {"resourceType": "Observation", "status": "final", "code": {}}},
        {"resource": {"resourceType": "Observation", "status": "final", "code": {}}},
        {"resource": {"resourceType": "Questionnaire", "status": "draft"}},
        {"resource": {"resourceType": "NotAFhirType", "whatever": [1, 2]}},
        {"request": {"method": "GET", "url": "Patient?identifier=x"}},
    ]
    parsed = parse_bundle(data)
    assert len(parsed.records) == 1 and parsed.records[0].problem is None
    assert dict(parsed.stats.skipped) == {
        "Observation": 2,
        "Questionnaire": 1,
        "NotAFhirType": 1,
        "GET": 1,
    }
    assert parsed.stats.entries == 10 and parsed.stats.problems == 0


def test_malformed_resource_is_a_problem_naming_entry_and_path_not_value() -> None:
    data = uuid_bundle("transaction")
    data["entry"][0]["resource"]["birthDate"] = "12/04/1993"
    data["entry"][2]["resource"]["period"] = {"start": "3 feb"}
    other = patient("ok", cf=CF_B)
    data["entry"].append({"fullUrl": "urn:uuid:other", "resource": other})
    parsed = parse_bundle(data, source="asl")
    bad, good = parsed.records
    problem = bad.problem
    assert isinstance(problem, RecordProblem)
    assert (problem.position, problem.field) == ("entry 0", "birthDate")
    assert "12/04/1993" not in str(problem) and CF_A not in str(problem)
    assert bad.data == {} and bad.raw is not None
    assert len(json.loads(bad.raw)["entry"]) == 5  # the patient's entries, for replay
    assert good.problem is None and good.record_id == "ok"
    assert parsed.stats.problems == 1


def test_nested_field_path_of_a_linked_resource() -> None:
    data = uuid_bundle("collection")
    data["entry"][1]["resource"]["type"][0]["coding"][0]["code"] = 42
    (record,) = parse_bundle(data).records
    assert record.problem is not None
    assert (record.problem.position, record.problem.field) == ("entry 1", "type[0].coding[0].code")


def test_reference_to_no_patient_is_a_problem() -> None:
    parsed = parse_bundle(bundle("collection", ("urn:uuid:e", encounter("Patient/elsewhere"))))
    (record,) = parsed.records
    assert record.problem is not None and record.problem.field == "subject"


def test_delete_entry_is_a_tombstone() -> None:
    data = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"request": {"method": "DELETE", "url": "Patient/123"}}],
    }
    (record,) = parse_bundle(data).records
    assert record.deleted and record.record_id == "123"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"resourceType": "Patient"}', "not a Bundle"),
        (b'{"resourceType": "Bundle", "type": "history"}', "type"),
        (b'{"resourceType": "Bundle", "type": "batch", "entry": {}}', "entry"),
        (
            b'{"resourceType": "Bundle", "type": "batch", "entry": [{"resource": 3}]}',
            r"entry\[0\].resource",
        ),
    ],
)
def test_unreadable_bundles(body: bytes, message: str) -> None:
    with pytest.raises(BundleError, match=message):
        parse_bundle(body)


# -- REST search ---------------------------------------------------------------------------

TOKEN = "synthetic-token-1"


def population() -> list[dict[str, Any]]:
    resources: list[dict[str, Any]] = []
    for i in range(6):
        resources.append(patient(f"p{i}", cf=CF_A if i % 2 else CF_B))
        resources.append(episode(f"Patient/p{i}", id=f"eoc{i}"))
        resources.append(encounter(f"Patient/p{i}", id=f"enc{i}"))
        resources.append(condition(f"Patient/p{i}", id=f"con{i}"))
    resources.append(service_request("Patient/p1", id="sr1"))
    resources.append(
        {
            "resourceType": "Observation",
            "id": "o1",
            "status": "final",
            "code": {},
            "subject": {"reference": "Patient/p1"},
        }
    )
    return resources


@pytest.fixture
def fhir() -> Iterator[FhirServer]:
    with FhirServer(population(), token=TOKEN) as server:
        yield server  # type: ignore[misc]


def make(server: FhirServer, **extra: Any) -> FhirR4Adapter:
    values: dict[str, Any] = {
        "base_url": server.base_url,
        "token": TOKEN,
        "page_size": 2,
        "batch_size": 2,
        "retry": {"attempts": 1},
        "timeout": 5,
    }
    values.update(extra)
    return FhirR4Adapter(
        FhirR4Options(**values), source="asl-fhir", circuit=CircuitBreakers(), sleep=lambda _: None
    )


def test_registered_kind() -> None:
    assert adapters.get("fhir_r4") is FhirR4Adapter


def test_full_then_incremental_sync(fhir: FhirServer) -> None:
    with make(fhir) as adapter:
        records = list(adapter.fetch(None))
        assert [r.record_id for r in records] == [f"p{i}" for i in range(6)]
        p1 = records[1].data
        assert [
            len(p1[k]) for k in ("episodes", "encounters", "service_requests", "conditions")
        ] == [1, 1, 1, 1]
        assert records[1].position == "Patient/p1"
        assert list(adapter.fetch(records[-1].cursor)) == []
        # Resuming after the third record sends the rest, once.
        assert [r.record_id for r in adapter.fetch(records[2].cursor)] == ["p3", "p4", "p5"]

        # A new encounter of p4 (the Patient resource untouched) re-sends p4.
        fhir.put(encounter("Patient/p4", id="enc-new"))
        again = list(adapter.fetch(records[-1].cursor))
        assert [r.record_id for r in again] == ["p4"]
        assert len(again[0].data["encounters"]) == 2
        assert list(adapter.fetch(again[-1].cursor)) == []

        fhir.put(patient("p9", cf=CF_B))
        assert [r.record_id for r in adapter.fetch(again[-1].cursor)] == ["p9"]


def test_since_option_starts_later(fhir: FhirServer) -> None:
    fhir.put(patient("late", meta={"lastUpdated": "2030-01-01T00:00:00Z"}))
    with make(fhir, since="2029-12-31T00:00:00Z") as adapter:
        assert [r.record_id for r in adapter.fetch(None)] == ["late"]


def test_same_instant_resources_are_neither_lost_nor_repeated(fhir: FhirServer) -> None:
    fhir.set_instant = None
    for pid in ("t1", "t2", "t3"):
        fhir.put(patient(pid, meta={"lastUpdated": "2031-01-01T00:00:00Z"}))
    with make(fhir, since="2030-12-31T00:00:00Z", page_size=1) as adapter:
        first = list(adapter.fetch(None))
        assert [r.record_id for r in first] == ["t1", "t2", "t3"]
        assert [r.record_id for r in adapter.fetch(first[0].cursor)] == ["t2", "t3"]
        assert list(adapter.fetch(first[-1].cursor)) == []


def test_search_requests_use_sort_lastupdated_and_patient_batches(fhir: FhirServer) -> None:
    with make(fhir) as adapter:
        list(adapter.fetch(None))
    queries = [(r.path, r.query) for r in fhir.requests]
    assert ("/fhir/Patient", {"_sort": ["_lastUpdated"], "_count": ["2"]}) in queries
    assert any(
        path == "/fhir/Encounter" and query.get("patient") == ["Patient/p0,Patient/p1"]
        for path, query in queries
    )


def test_malformed_resource_from_the_server(fhir: FhirServer) -> None:
    fhir.inject(Fault("malformed", path="/fhir/Patient"))
    with make(fhir) as adapter:
        records = list(adapter.fetch(None))
    assert records[0].problem is not None
    assert (records[0].problem.position, records[0].problem.field) == ("Patient/p0", "identifier")
    assert [r.record_id for r in records[1:]] == ["p1", "p2", "p3", "p4", "p5"]


def test_missing_token_is_fatal(fhir: FhirServer) -> None:
    with make(fhir, token="wrong") as adapter, pytest.raises(FatalSourceError, match="401"):
        list(adapter.fetch(None))


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault("status", status=503), RetriableSourceError),
        (Fault("rate_limit", retry_after="3"), RetriableSourceError),
        (Fault("truncate"), RetriableSourceError),
        (Fault("garbage"), FatalSourceError),
    ],
)
def test_transport_faults(fhir: FhirServer, fault: Fault, error: type[Exception]) -> None:
    fhir.inject(fault)
    with make(fhir) as adapter, pytest.raises(error):
        list(adapter.fetch(None))


def test_retries_transient_failures(fhir: FhirServer) -> None:
    fhir.inject(Fault("status", status=502, times=2))
    with make(fhir, retry={"attempts": 3, "initial_wait": 0, "jitter": 0}) as adapter:
        assert len(list(adapter.fetch(None))) == 6


def test_next_link_leaving_the_base_url_is_refused(fhir: FhirServer) -> None:
    class Redirecting(FhirServer):
        def _page_url(self, rtype: str, query: Any, offset: int) -> str:
            return f"http://192.0.2.1/fhir/{rtype}?_offset={offset}"

    with (
        Redirecting(population()) as server,
        make(server, token=None) as adapter,
        pytest.raises(FatalSourceError, match="leaves base_url"),
    ):
        list(adapter.fetch(None))


def test_options_validation() -> None:
    with pytest.raises(ValidationError, match="unsupported"):
        FhirR4Options(base_url="http://x", watch=("Patient", "Observation"))
    with pytest.raises(ValidationError, match="either token or auth"):
        FhirR4Options(
            base_url="http://x", token="t", auth={"type": "basic", "username": "u", "password": "p"}
        )
    assert "synthetic-token-1" not in repr(FhirR4Options(base_url="http://x", token=TOKEN))


def test_bad_cursor(fhir: FhirServer) -> None:
    with make(fhir) as adapter, pytest.raises(FatalSourceError, match="cursor"):
        list(adapter.fetch("{}"))


def test_plain_r4_json_of_every_type_validates() -> None:
    # R4 JSON as an R4 server writes it (R4B models; fields unchanged between R4 and R4B).
    resources = [
        patient("r4", deceasedBoolean=False, maritalStatus={"coding": [{"code": "S"}]}),
        episode(
            "Patient/r4",
            id="e",
            statusHistory=[{"status": "planned", "period": {"start": "2024-01-01"}}],
        ),
        encounter(
            "Patient/r4",
            id="n",
            hospitalization={"admitSource": {"text": "x"}},
            serviceType={"coding": [{"code": "SOC"}]},
        ),
        service_request(
            "Patient/r4",
            id="s",
            occurrenceDateTime="2024-03-01",
            performerType={"coding": [{"code": "PSY"}]},
        ),
        condition(
            "Patient/r4",
            id="c",
            onsetDateTime="2023-11-01",
            verificationStatus={"coding": [{"code": "confirmed"}]},
        ),
    ]
    (record,) = parse_bundle(bundle("collection", *[(None, r) for r in resources])).records
    assert record.problem is None
    assert record.data["service_requests"][0]["occurrence"] == "2024-03-01"
    assert record.data["encounters"][0]["serviceType"]["code"] == "SOC"
    json.dumps(record.data)
