"""The shipped default FHIR mapping serves ``POST /v1/cities/{city}/fhir`` for any city."""

from __future__ import annotations

from pathlib import Path

from mappings.paths import mappings_dir

BUNDLE = Path(mappings_dir()) / "_default" / "golden" / "fhir.input.json"


def test_a_city_without_its_own_fhir_mapping_uses_the_default(gateway) -> None:
    client = gateway.app_with(mappings_dir=None)
    headers = {
        **gateway.auth("records:write", city="latina"),
        "Content-Type": "application/fhir+json",
    }
    response = client.post("/v1/cities/latina/fhir", content=BUNDLE.read_bytes(), headers=headers)
    assert response.status_code in (200, 207), response.text
    results = response.json()["results"]
    assert results and all(r["outcome"] in ("accepted", "duplicate") for r in results)
