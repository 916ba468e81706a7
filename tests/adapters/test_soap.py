"""adapters.soap against the CartellaSociale SOAP service simulator on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from codicefiscale import codicefiscale
from pydantic import ValidationError

import adapters
from adapters.circuit import CircuitBreakers, CircuitOpenError
from adapters.errors import FatalSourceError, RecordProblem, RetriableSourceError
from adapters.simulators import Fault
from adapters.simulators.soap_server import SoapCaseFileServer
from adapters.soap import SoapAdapter, SoapOptions
from adapters.wsdl import WSDL_DIR

WSDL = "welfare_case_service.wsdl"
USER, PASSWORD = "ws-comune", "pw-Synthetic-42"

# Invented people; fiscal codes computed, syntactically valid, belonging to nobody.
PEOPLE = [
    ("Testa", "Amina", "F", "1991-03-14", "Marocco"),
    ("Prova", "Yusuf", "M", "1987-11-02", "Tunisia"),
    ("Esempio", "Grace", "F", "1995-06-30", "Nigeria"),
    ("Fittizio", "Bilal", "M", "2001-01-09", "Pakistan"),
    ("Campione", "Oksana", "F", "1979-08-21", "Ucraina"),
]


def case_file(index: int, updated: str) -> dict[str, Any]:
    surname, name, sex, born, place = PEOPLE[index % len(PEOPLE)]
    fiscal = codicefiscale.encode(
        lastname=surname, firstname=name, gender=sex, birthdate=born, birthplace=place
    )
    return {
        "@versione": 1,
        "idCartella": f"CS-{index:04d}",
        "aggiornatoIl": updated,
        "Assistito": {
            "codiceFiscale": fiscal,
            "cognome": surname,
            "nome": name,
            "sesso": sex,
            "dataNascita": born,
            "statoNascita": place[:3].upper(),
            "cittadinanza": [place[:3].upper()],
            "lingua": ["it", "fr"],
        },
        "PresaInCarico": {
            "dataApertura": "2024-02-01",
            "canale": "UM",
            "stato": "APE",
            "vulnerabilita": ["SD", "DISOCC"],
        },
        "Interventi": {
            "Intervento": [
                {
                    "@id": f"I-{index}",
                    "tipo": "SOST_ABIT",
                    "dataInizio": "2024-02-05",
                    "stato": "INCORSO",
                }
            ]
        },
        "Invii": {"Invio": [{"servizio": "ASL", "data": "2024-02-03", "esito": "PRESO"}]},
    }


RECORDS = [case_file(i, f"2024-03-0{1 + i % 4}T09:00:00Z") for i in range(9)]


@pytest.fixture
def server() -> Iterator[SoapCaseFileServer]:
    with SoapCaseFileServer(RECORDS, username=USER, password=PASSWORD) as srv:
        yield srv  # type: ignore[misc]


def make(options: SoapOptions, **kwargs: Any) -> SoapAdapter:
    """An adapter with a circuit breaker of its own (the process-wide one is shared)."""
    return SoapAdapter(options, circuit=CircuitBreakers(), sleep=lambda _: None, **kwargs)


def options(server: SoapCaseFileServer, **extra: Any) -> SoapOptions:
    values: dict[str, Any] = {
        "retry": {"attempts": 1},
        "wsdl": WSDL,
        "endpoint": server.endpoint,
        "username": USER,
        "password": PASSWORD,
        "page_size": 4,
        "timeout": 5,
    }
    values.update(extra)
    return SoapOptions(**values)


def ids(records: list[adapters.RawRecord]) -> list[str | None]:
    return [r.record_id for r in records]


EXPECTED_ORDER = [
    r["idCartella"] for r in sorted(RECORDS, key=lambda r: (r["aggiornatoIl"], r["idCartella"]))
]


def test_registered_kind() -> None:
    assert adapters.get("soap") is SoapAdapter


def test_reads_every_page_in_order(server: SoapCaseFileServer) -> None:
    with make(options(server), source="bologna-welfare") as adapter:
        records = list(adapter.fetch(None))
    assert ids(records) == EXPECTED_ORDER
    assert [r.position for r in records[:5]] == [
        "page 1 item 1",
        "page 1 item 2",
        "page 1 item 3",
        "page 1 item 4",
        "page 2 item 1",
    ]
    assert all(r.problem is None and not r.deleted for r in records)
    assert records[0].raw is not None and b"Cartella" in records[0].raw


def test_record_data_shape(server: SoapCaseFileServer) -> None:
    with make(options(server)) as adapter:
        first = next(iter(adapter.fetch(None)))
    source = RECORDS[0]
    assert first.data == {
        "@versione": 1,
        "idCartella": "CS-0000",
        "aggiornatoIl": "2024-03-01T09:00:00+00:00",
        "annullata": None,
        "Assistito": {
            "idLocale": None,
            "codiceFiscale": source["Assistito"]["codiceFiscale"],
            "codiceFiscaleProvvisorio": None,
            "codiceSTP": None,
            "codiceENI": None,
            "cognome": "Testa",
            "nome": "Amina",
            "sesso": "F",
            "dataNascita": "1991-03-14",
            "comuneNascita": None,
            "statoNascita": "MAR",
            "cittadinanza": ["MAR"],
            "dataArrivoItalia": None,
            "PermessoSoggiorno": None,
            "lingua": ["it", "fr"],
        },
        "PresaInCarico": {
            "dataApertura": "2024-02-01",
            "dataChiusura": None,
            "canale": "UM",
            "stato": "APE",
            "vulnerabilita": ["SD", "DISOCC"],
            "bisogno": [],
        },
        "Interventi": {
            "Intervento": [
                {
                    "@id": "I-0",
                    "tipo": "SOST_ABIT",
                    "dataInizio": "2024-02-05",
                    "dataFine": None,
                    "stato": "INCORSO",
                }
            ]
        },
        "Invii": {
            "Invio": [{"@id": None, "servizio": "ASL", "data": "2024-02-03", "esito": "PRESO"}]
        },
    }
    json.dumps(first.data)  # plain JSON values only


def test_resumes_mid_page_and_then_only_sends_changes(server: SoapCaseFileServer) -> None:
    with make(options(server)) as adapter:
        records = list(adapter.fetch(None))
        assert ids(list(adapter.fetch(records[5].cursor))) == EXPECTED_ORDER[6:]
        assert list(adapter.fetch(records[-1].cursor)) == []

        changed = case_file(2, "2024-03-09T10:00:00Z")
        changed["PresaInCarico"]["stato"] = "CHI"
        server.upsert(changed)
        server.upsert(case_file(20, "2024-03-09T10:00:00Z"))
        # The changed file moved behind the resumed position: it comes with the next run,
        # not lost and not twice.
        again = list(adapter.fetch(records[-1].cursor))
        assert sorted(ids(again)) == ["CS-0002", "CS-0020"]
        changed_record = next(r for r in again if r.record_id == "CS-0002")
        assert changed_record.data["PresaInCarico"]["stato"] == "CHI"
        assert list(adapter.fetch(again[-1].cursor)) == []


def test_incremental_request_carries_updated_since(server: SoapCaseFileServer) -> None:
    with make(options(server)) as adapter:
        last = list(adapter.fetch(None))[-1]
        server.requests.clear()
        list(adapter.fetch(last.cursor))
    bodies = [r.body for r in server.requests]
    assert any(b"aggiornatoDal>2024-03-04T09:00:00+00:00<" in body for body in bodies)


def test_paging_by_first_index(server: SoapCaseFileServer) -> None:
    opts = options(server, paging="index", page_field="daIndice", first_page=0, page_size=3)
    with make(opts) as adapter:
        records = list(adapter.fetch(None))
        assert ids(records) == EXPECTED_ORDER
        assert records[4].position == "item 4"
        assert ids(list(adapter.fetch(records[4].cursor))) == EXPECTED_ORDER[5:]


def test_password_digest(server: SoapCaseFileServer) -> None:
    with make(options(server, password_digest=True)) as adapter:
        assert len(list(adapter.fetch(None))) == len(RECORDS)


def test_wrong_password_is_fatal_and_secret_free(server: SoapCaseFileServer) -> None:
    adapter = make(options(server, password="wrong-Secret-99"), source="w")
    with pytest.raises(FatalSourceError, match="FailedAuthentication") as info:
        list(adapter.fetch(None))
    assert "wrong-Secret-99" not in str(info.value)
    assert "wrong-Secret-99" not in repr(adapter)


def test_missing_credentials_is_fatal(server: SoapCaseFileServer) -> None:
    with pytest.raises(FatalSourceError, match="InvalidSecurity"):
        list(make(options(server, username=None, password=None)).fetch(None))


def test_a_malformed_record_is_a_problem_and_the_others_go_on(
    server: SoapCaseFileServer,
) -> None:
    server.inject(Fault("malformed"))
    with make(options(server), source="w") as adapter:
        records = list(adapter.fetch(None))
    assert ids(records)[1:] == EXPECTED_ORDER[1:]
    problem = records[0].problem
    assert isinstance(problem, RecordProblem)
    assert problem.position == "page 1 item 1"
    assert problem.field == "Assistito.dataNascita"
    assert "31/02" not in str(problem)
    assert records[0].cursor  # a problem record still moves the cursor


def test_rate_limit_is_retriable_with_retry_after(server: SoapCaseFileServer) -> None:
    server.inject(Fault("rate_limit", retry_after="7"))
    with pytest.raises(RetriableSourceError) as info:
        list(make(options(server)).fetch(None))
    assert info.value.retry_after == 7.0


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault("status", status=503), RetriableSourceError),
        (Fault("truncate"), RetriableSourceError),
        (Fault("reset"), RetriableSourceError),
        (Fault("garbage"), FatalSourceError),
        (Fault("status", status=404), FatalSourceError),
    ],
)
def test_transport_faults(server: SoapCaseFileServer, fault: Fault, error: type[Exception]) -> None:
    server.inject(fault)
    with pytest.raises(error):
        list(make(options(server)).fetch(None))


def test_slow_server_times_out_as_retriable(server: SoapCaseFileServer) -> None:
    server.inject(Fault("slow", delay=0.6))
    with pytest.raises(RetriableSourceError, match="Timeout"):
        list(make(options(server, timeout=0.2)).fetch(None))


def test_bad_request_fault_is_fatal(server: SoapCaseFileServer) -> None:
    with pytest.raises(FatalSourceError, match="Client"):
        list(make(options(server, page_size=900)).fetch(None))


def test_server_serves_its_wsdl_with_its_own_address(server: SoapCaseFileServer) -> None:
    answer = httpx.get(server.endpoint + "?wsdl")
    assert answer.status_code == 200
    assert f'location="{server.endpoint}"'.encode() in answer.content


def test_dtd_in_an_answer_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("NOT-FOR-YOU")

    class HostileServer(SoapCaseFileServer):
        def handle(self, request):  # type: ignore[no-untyped-def]
            from adapters.simulators.http import SimResponse

            body = (
                f'<!DOCTYPE x [<!ENTITY e SYSTEM "{secret.as_uri()}">]>'
                '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
                "<soap:Body><soap:Fault><faultcode>soap:Server</faultcode>"
                "<faultstring>&e;</faultstring></soap:Fault></soap:Body></soap:Envelope>"
            )
            return SimResponse(500, body.encode(), {"Content-Type": "text/xml"})

    with HostileServer() as hostile, pytest.raises(FatalSourceError, match="DTD") as info:
        list(make(options(hostile)).fetch(None))
    assert "NOT-FOR-YOU" not in str(info.value)


def write_wsdl(tmp_path: Path, transform: Any) -> str:
    text = (WSDL_DIR / WSDL).read_text(encoding="utf-8")
    path = tmp_path / "service.wsdl"
    path.write_text(transform(text), encoding="utf-8")
    return str(path)


def test_wsdl_with_a_remote_import_is_refused(tmp_path: Path) -> None:
    wsdl = write_wsdl(
        tmp_path,
        lambda t: t.replace(
            "<xsd:schema targetNamespace",
            '<xsd:schema xmlns:r="urn:remote"><xsd:import namespace="urn:remote" '
            'schemaLocation="http://192.0.2.1/remote.xsd"/></xsd:schema>\n'
            "      <xsd:schema targetNamespace",
            1,
        ),
    )
    with pytest.raises(FatalSourceError, match="remote documents are refused"):
        list(make(SoapOptions(wsdl=wsdl, endpoint="http://127.0.0.1:9/")).fetch(None))


def test_wsdl_importing_a_file_outside_its_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "outside.xsd").write_text(
        '<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:o"/>'
    )
    inner = tmp_path / "wsdl"
    inner.mkdir()
    wsdl = write_wsdl(
        inner,
        lambda t: t.replace(
            "<xsd:schema targetNamespace",
            '<xsd:schema><xsd:import namespace="urn:o" schemaLocation="../outside.xsd"/>'
            "</xsd:schema>\n      <xsd:schema targetNamespace",
            1,
        ),
    )
    with pytest.raises(FatalSourceError, match="outside its own directory"):
        list(make(SoapOptions(wsdl=wsdl, endpoint="http://127.0.0.1:9/")).fetch(None))


def test_wsdl_with_a_dtd_is_refused(tmp_path: Path) -> None:
    wsdl = write_wsdl(
        tmp_path,
        lambda t: t.replace("<wsdl:definitions", '<!DOCTYPE d SYSTEM "x.dtd">\n<wsdl:definitions'),
    )
    with pytest.raises(FatalSourceError, match="DTD"):
        list(make(SoapOptions(wsdl=wsdl, endpoint="http://127.0.0.1:9/")).fetch(None))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"wsdl": "no_such_service.wsdl"}, "not found"),
        ({"operation": "Inesistente"}, "not in the WSDL"),
        ({"records_path": "cartelle.Fascicolo"}, "records_path"),
    ],
)
def test_configuration_errors_are_fatal(
    server: SoapCaseFileServer, extra: dict[str, Any], message: str
) -> None:
    with pytest.raises(FatalSourceError, match=message):
        list(make(options(server, **extra)).fetch(None))


def test_username_needs_a_password() -> None:
    with pytest.raises(ValidationError, match="together"):
        SoapOptions(wsdl=WSDL, username="someone")


def test_bad_cursor_is_fatal(server: SoapCaseFileServer) -> None:
    with pytest.raises(FatalSourceError, match="cursor"):
        list(make(options(server)).fetch("not json"))


def test_tombstones(server: SoapCaseFileServer) -> None:
    gone = case_file(30, "2024-03-09T10:00:00Z")
    gone["annullata"] = True
    server.set_records([gone])
    with make(options(server)) as adapter:
        (record,) = list(adapter.fetch(None))
    assert record.deleted and record.record_id == "CS-0030"


def test_errors_never_carry_identifiers(server: SoapCaseFileServer) -> None:
    server.inject(Fault("malformed"))
    with make(options(server)) as adapter:
        problems = [str(r.problem) for r in adapter.fetch(None) if r.problem]
    fiscal = RECORDS[0]["Assistito"]["codiceFiscale"]
    assert problems and all(fiscal not in p and "Testa" not in p for p in problems)


def test_transient_failures_are_retried(server: SoapCaseFileServer) -> None:
    server.inject(Fault("status", status=503, times=2))
    waits: list[float] = []
    opts = options(server, retry={"attempts": 3, "initial_wait": 0.01, "jitter": 0})
    adapter = SoapAdapter(opts, circuit=CircuitBreakers(), sleep=waits.append)
    assert len(list(adapter.fetch(None))) == len(RECORDS)
    assert len(waits) == 2


def test_circuit_opens_after_repeated_failures(server: SoapCaseFileServer) -> None:
    server.inject(Fault("status", status=503, times=None))
    adapter = make(options(server, circuit_failures=2, circuit_cooldown=60))
    for _ in range(2):
        with pytest.raises(RetriableSourceError):
            list(adapter.fetch(None))
    calls = len(server.requests)
    with pytest.raises(CircuitOpenError):
        list(adapter.fetch(None))
    assert len(server.requests) == calls  # failing fast, the server is left alone


@pytest.mark.parametrize(
    "body",
    [
        b"not xml at all",
        b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
        b'<x:Altro xmlns:x="urn:it:lgnet:cartellasociale:1"/></soap:Body></soap:Envelope>',
    ],
)
def test_server_answers_bad_requests_with_client_faults(body: bytes) -> None:
    with SoapCaseFileServer(RECORDS) as server:
        answer = httpx.post(server.endpoint, content=body, headers={"Content-Type": "text/xml"})
    assert answer.status_code == 500
    assert b"<faultcode>soap:Client</faultcode>" in answer.content
    assert b"ErroreServizio" in answer.content
