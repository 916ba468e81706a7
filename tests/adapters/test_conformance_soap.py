"""The SOAP adapter passes the adapter conformance kit (page and index paging)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from codicefiscale import codicefiscale

from adapters.circuit import CircuitBreakers
from adapters.simulators.soap_server import SoapCaseFileServer
from adapters.soap import SoapAdapter, SoapOptions
from adapters.testing import AdapterConformance, simulator_faults

FAST_RETRY = {"attempts": 2, "initial_wait": 0.01, "jitter": 0.0, "max_retry_after": 1.0}
USER, PASSWORD = "ws-conformance", "ws-very-secret-pw"
# Invented people; fiscal codes computed, syntactically valid, belonging to nobody.
NAMES = [
    ("Prova", "Leila", "F", "Iran"),
    ("Esempio", "Omar", "M", "Somalia"),
    ("Modello", "Mariam", "F", "Eritrea"),
]


def case_file(i: int) -> dict[str, Any]:
    surname, name, sex, place = NAMES[i % len(NAMES)]
    born = f"19{70 + i % 30}-0{1 + i % 9}-1{i % 10}"
    return {
        "idCartella": f"K-{i:03d}",
        "aggiornatoIl": f"2024-04-{1 + i // 5:02d}T08:00:00Z",  # five files share each instant
        "Assistito": {
            "codiceFiscale": codicefiscale.encode(
                lastname=surname, firstname=name, gender=sex, birthdate=born, birthplace=place
            ),
            "cognome": surname,
            "nome": name,
            "sesso": sex,
            "dataNascita": born,
        },
        "PresaInCarico": {
            "dataApertura": "2024-03-01",
            "canale": "SPORT",
            "stato": "APE",
            "vulnerabilita": ["V0" + str(i % 3)],
        },
    }


RECORDS = [case_file(i) for i in range(23)]


def soap_adapter(server: SoapCaseFileServer, **options: Any) -> SoapAdapter:
    opts = SoapOptions(
        wsdl="welfare_case_service.wsdl",
        endpoint=server.endpoint,
        username=USER,
        password=PASSWORD,  # type: ignore[arg-type]
        timeout=0.5,
        retry=FAST_RETRY,  # type: ignore[arg-type]
        **options,
    )
    return SoapAdapter(opts, source="conformance-soap", circuit=CircuitBreakers())


class TestSoapPageNumbers(AdapterConformance):
    resume_every = 2

    @pytest.fixture
    def server(self) -> Iterator[SoapCaseFileServer]:
        with SoapCaseFileServer(RECORDS, username=USER, password=PASSWORD) as server:
            yield server  # type: ignore[misc]

    @pytest.fixture
    def adapter(self, server: SoapCaseFileServer) -> SoapAdapter:
        return soap_adapter(server, page_size=6)

    @pytest.fixture
    def make_faulty(self, server: SoapCaseFileServer, adapter: SoapAdapter):  # type: ignore[no-untyped-def]
        return simulator_faults(server, adapter, slow=1.0)


class TestSoapFirstIndexDigest(AdapterConformance):
    resume_every = 3

    @pytest.fixture
    def server(self) -> Iterator[SoapCaseFileServer]:
        with SoapCaseFileServer(RECORDS, username=USER, password=PASSWORD) as server:
            yield server  # type: ignore[misc]

    @pytest.fixture
    def adapter(self, server: SoapCaseFileServer) -> SoapAdapter:
        return soap_adapter(
            server,
            paging="index",
            page_field="daIndice",
            first_page=0,
            page_size=5,
            password_digest=True,
        )
