"""Pushes of FHIR R4 Bundles and CSV files, through the same pipeline as JSON records."""

from __future__ import annotations

import pytest

from tests.gateway.api.conftest import person

CF_SYSTEM = "http://hl7.it/sid/codiceFiscale"


@pytest.fixture(scope="module")
def roma(gateway) -> dict[str, str]:
    return gateway.auth("records:write", city="roma")


def patient(n: int, pid: str, **changes) -> dict:
    p = person(n)
    resource = {
        "resourceType": "Patient",
        "id": pid,
        "identifier": [{"system": CF_SYSTEM, "value": p["identifiers"]["fiscal_code"]}],
        "name": [{"family": p["family_name"], "given": [p["given_names"]]}],
        "gender": "female" if p["sex"] == "F" else "male",
        "birthDate": p["birth_date"],
        **changes,
    }
    return {"fullUrl": f"urn:uuid:{pid}", "resource": resource}


def bundle(*entries: dict) -> dict:
    return {"resourceType": "Bundle", "type": "collection", "entry": list(entries)}


def episode(pid: str) -> dict:
    return {
        "resource": {
            "resourceType": "EpisodeOfCare",
            "id": f"ep-{pid}",
            "status": "active",
            "patient": {"reference": f"Patient/{pid}"},
            "period": {"start": "2025-02-01"},
        }
    }


def test_a_bundle_gives_one_record_per_patient(gateway, roma) -> None:
    observation = {
        "resource": {
            "resourceType": "Observation",
            "status": "final",
            "code": {"text": "x"},
            "subject": {"reference": "Patient/p1"},
        }
    }
    body = bundle(patient(6000, "p1"), episode("p1"), observation, patient(6001, "p2"))
    headers = {**roma, "Content-Type": "application/fhir+json"}
    response = gateway.client.post("/v1/cities/roma/fhir", json=body, headers=headers)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["accepted"] == 2 and report["ignored"] == 1
    again = gateway.client.post("/v1/cities/roma/fhir", json=body, headers=headers).json()
    assert again["duplicate"] == 2
    assert person(6000)["family_name"] not in response.text


def test_an_invalid_resource_is_rejected_naming_the_entry_and_field(gateway, roma) -> None:
    body = bundle(patient(6010, "p10"), patient(6011, "p11", birthDate="31/12/1990"))
    headers = {**roma, "Content-Type": "application/fhir+json"}
    report = gateway.client.post("/v1/cities/roma/fhir", json=body, headers=headers).json()
    assert report["accepted"] == 1 and report["rejected"] == 1
    (rejected,) = [r for r in report["results"] if r["outcome"] == "rejected"]
    assert "birthDate" in (rejected["field"] or "") + (rejected["reason"] or "")
    assert "31/12/1990" not in str(report)


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"resourceType": "Patient"}', "not a Bundle"),
        (b'{"resourceType": "Bundle", "type": "document", "entry": []}', "Bundle type"),
    ],
)
def test_what_is_not_a_bundle_is_400(gateway, roma, body, detail) -> None:
    headers = {**roma, "Content-Type": "application/fhir+json"}
    response = gateway.client.post("/v1/cities/roma/fhir", content=body, headers=headers)
    assert response.status_code == 400 and detail in response.json()["detail"]


CSV_HEAD = "ID;CF;COGNOME;NOME;SESSO;DATA_NASCITA;DATA_APERTURA;CANALE\n"


def csv_row(n: int, record_id: str, birth: str | None = None) -> str:
    p = person(n)
    y, m, d = p["birth_date"].split("-")
    birth = birth or f"{d}/{m}/{y}"
    fields = [record_id, p["identifiers"]["fiscal_code"], p["family_name"], p["given_names"]]
    return ";".join([*fields, p["sex"], birth, "01/03/2025", "UM"]) + "\n"


def test_a_csv_file_goes_through_the_sources_mapping(gateway, roma) -> None:
    text = CSV_HEAD + csv_row(6100, "A1") + csv_row(6101, "A2", birth="31/02/1991")
    headers = {**roma, "Content-Type": "text/csv; charset=utf-8"}
    response = gateway.client.post(
        "/v1/cities/roma/files/welfare-csv", content=text.encode(), headers=headers
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["accepted"] == 1 and report["rejected"] == 1
    (rejected,) = [r for r in report["results"] if r["outcome"] == "rejected"]
    assert rejected["index"] == 1 and rejected["field"] == "subject.birth_date"
    assert rejected["position"]  # the line of the file
    assert "31/02/1991" not in response.text and person(6101)["family_name"] not in response.text


def test_unknown_sources_and_media_types(gateway, roma) -> None:
    headers = {**roma, "Content-Type": "text/csv"}
    missing = gateway.client.post("/v1/cities/roma/files/nothing", content=b"a\n", headers=headers)
    assert missing.status_code == 404
    wrong = gateway.client.post(
        "/v1/cities/roma/files/welfare-csv",
        content=b"{}",
        headers={**roma, "Content-Type": "application/json"},
    )
    assert wrong.status_code == 415


def test_a_file_over_the_record_limit_is_413_and_nothing_is_kept(gateway) -> None:
    client = gateway.app_with(max_records_per_request=2)
    headers = {**gateway.auth("records:write", city="roma"), "Content-Type": "text/csv"}
    text = CSV_HEAD + "".join(csv_row(6200 + i, f"B{i}") for i in range(3))
    with client:
        response = client.post("/v1/cities/roma/files/welfare-csv", content=text, headers=headers)
        assert response.status_code == 413
        fewer = CSV_HEAD + "".join(csv_row(6200 + i, f"B{i}") for i in range(2))
        accepted = client.post("/v1/cities/roma/files/welfare-csv", content=fewer, headers=headers)
        assert accepted.json()["accepted"] == 2  # the refused file left nothing behind
