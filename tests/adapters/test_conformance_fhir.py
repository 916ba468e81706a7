"""The FHIR R4 adapter passes the adapter conformance kit."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from codicefiscale import codicefiscale

from adapters.circuit import CircuitBreakers
from adapters.fhir_r4 import FhirR4Adapter, FhirR4Options
from adapters.simulators.fhir_server import FhirServer
from adapters.testing import AdapterConformance, simulator_faults

FAST_RETRY = {"attempts": 2, "initial_wait": 0.01, "jitter": 0.0, "max_retry_after": 1.0}
TOKEN = "fhir-very-secret-token"


def resources() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in range(11):
        born = f"19{80 + i}-0{1 + i % 9}-2{i % 8}"
        # Invented people; fiscal codes computed, syntactically valid, belonging to nobody.
        cf = codicefiscale.encode(
            lastname="Sintetico",
            firstname="Nour",
            gender="F",
            birthdate=born,
            birthplace="Siria",
        )
        pid = f"pt{i:02d}"
        out.append(
            {
                "resourceType": "Patient",
                "id": pid,
                "gender": "female",
                "birthDate": born,
                "identifier": [{"system": "urn:oid:2.16.840.1.113883.2.9.4.3.2", "value": cf}],
            }
        )
        out.append(
            {
                "resourceType": "EpisodeOfCare",
                "id": f"eoc{i}",
                "status": "active",
                "patient": {"reference": f"Patient/{pid}"},
            }
        )
        if i % 2:
            out.append(
                {
                    "resourceType": "Encounter",
                    "id": f"enc{i}",
                    "status": "finished",
                    "class": {"code": "AMB"},
                    "subject": {"reference": f"Patient/{pid}"},
                }
            )
    return out


class TestFhirSearch(AdapterConformance):
    resume_every = 2
    secrets = (TOKEN,)

    @pytest.fixture
    def server(self) -> Iterator[FhirServer]:
        with FhirServer(resources(), token=TOKEN) as server:
            yield server  # type: ignore[misc]

    @pytest.fixture
    def adapter(self, server: FhirServer) -> FhirR4Adapter:
        options = FhirR4Options(
            base_url=server.base_url,
            token=TOKEN,  # type: ignore[arg-type]
            page_size=4,
            batch_size=3,
            timeout=0.5,
            retry=FAST_RETRY,  # type: ignore[arg-type]
        )
        return FhirR4Adapter(options, source="conformance-fhir", circuit=CircuitBreakers())

    @pytest.fixture
    def make_faulty(self, server: FhirServer, adapter: FhirR4Adapter):  # type: ignore[no-untyped-def]
        return simulator_faults(server, adapter, slow=1.0)
