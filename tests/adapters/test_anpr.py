"""adapters.anpr: the ANPR-style residence check against its simulator on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from codicefiscale import codicefiscale
from pydantic import ValidationError

import adapters
from adapters.anpr import AnprAdapter, AnprOptions, ResidenceCheck
from adapters.circuit import CircuitBreakers
from adapters.errors import FatalSourceError, RetriableSourceError
from adapters.simulators import Fault
from adapters.simulators.anpr_server import AnprServer
from adapters.simulators.http import SimRequest, SimResponse, SimulatorServer, json_response

ROMA_ISTAT, ROMA_BELFIORE = "058091", "H501"
MILANO_ISTAT = "015146"
TOKEN = "voucher-synthetic-7"


def fiscal(surname: str, name: str, sex: str, born: str, place: str) -> str:
    return codicefiscale.encode(
        lastname=surname, firstname=name, gender=sex, birthdate=born, birthplace=place
    )


# Invented people; fiscal codes computed, syntactically valid, belonging to nobody.
IN_ROMA = fiscal("Provetta", "Samira", "F", "1990-02-11", "Algeria")
IN_MILANO = fiscal("Modello", "Kwame", "M", "1986-09-23", "Ghana")
DECEASED = fiscal("Fantasia", "Lidia", "F", "1950-05-05", "Roma")
UNKNOWN_TO_ANPR = fiscal("Nessuno", "Ivan", "M", "1999-12-01", "Romania")


def c020(code: str) -> dict[str, Any]:
    return {
        "idOperazioneClient": "1",
        "criteriRicerca": {"codiceFiscale": code},
        "datiRichiesta": {
            "dataRiferimentoRichiesta": "2024-01-01",
            "motivoRichiesta": "x",
            "casoUso": "C020",
        },
    }


@pytest.fixture
def anpr() -> Iterator[AnprServer]:
    residents = {IN_ROMA: ROMA_ISTAT, IN_MILANO: "F205", DECEASED: ROMA_ISTAT}
    with AnprServer(residents, token=TOKEN, deceased=[DECEASED]) as server:
        yield server  # type: ignore[misc]


def make(server: AnprServer, **extra: Any) -> AnprAdapter:
    values: dict[str, Any] = {
        "url": server.endpoint,
        "municipality": ROMA_ISTAT,
        "token": TOKEN,
        "retry": {"attempts": 1},
        "timeout": 5,
    }
    values.update(extra)
    return AnprAdapter(
        AnprOptions(**values), source="roma-anpr", circuit=CircuitBreakers(), sleep=lambda _: None
    )


def test_registered_kind() -> None:
    assert adapters.get("anpr") is AnprAdapter


@pytest.mark.parametrize(
    ("code", "municipality", "answer"),
    [
        (IN_ROMA, ROMA_ISTAT, ResidenceCheck.YES),
        (IN_ROMA, ROMA_BELFIORE, ResidenceCheck.YES),
        (IN_ROMA.lower(), ROMA_ISTAT, ResidenceCheck.YES),
        (IN_MILANO, ROMA_ISTAT, ResidenceCheck.NO),
        (IN_MILANO, MILANO_ISTAT, ResidenceCheck.YES),
        (DECEASED, ROMA_ISTAT, ResidenceCheck.NO),
        (UNKNOWN_TO_ANPR, ROMA_ISTAT, ResidenceCheck.NO),
    ],
)
def test_lookup(anpr: AnprServer, code: str, municipality: str, answer: ResidenceCheck) -> None:
    with make(anpr, municipality=municipality) as adapter:
        assert adapter.lookup(code) is answer


def test_request_follows_the_c020_shape(anpr: AnprServer) -> None:
    with make(anpr, reason="Verifica residenza LGNet") as adapter:
        adapter.lookup(IN_ROMA, reference_date=date(2024, 5, 1))
    body = anpr.requests[-1].json()
    assert body["criteriRicerca"] == {"codiceFiscale": IN_ROMA}
    assert body["datiRichiesta"] == {
        "dataRiferimentoRichiesta": "2024-05-01",
        "motivoRichiesta": "Verifica residenza LGNet",
        "casoUso": "C020",
    }
    assert body["idOperazioneClient"]
    assert anpr.requests[-1].headers["Authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize("code", ["12345678901", "STP0800010001234", "not-a-code", ""])
def test_codes_anpr_cannot_hold_are_unknown_without_a_call(anpr: AnprServer, code: str) -> None:
    with make(anpr) as adapter:
        assert adapter.lookup(code) is ResidenceCheck.UNKNOWN
    assert anpr.requests == []


def test_code_rejected_by_the_registry(anpr: AnprServer) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    response = httpx.post(anpr.endpoint, headers=headers, json=c020("ABC"))
    assert response.status_code == 400
    error = response.json()["listaErrori"][0]
    assert error["campoErroreAnomalia"] == "criteriRicerca.codiceFiscale"
    assert "ABC" not in response.text


def test_registry_refusing_the_code_is_unknown(anpr: AnprServer) -> None:
    # A registry stricter than our syntax check (say, on the check character).
    class Strict(AnprServer):
        def handle(self, request: SimRequest) -> SimResponse:
            return self._error(
                400, "EN124", "codice fiscale errato", "criteriRicerca.codiceFiscale"
            )

    with Strict(token=TOKEN) as strict, make(strict) as adapter:
        assert adapter.lookup(IN_ROMA) is ResidenceCheck.UNKNOWN


def test_unknown_code_gets_an_anpr_error_body(anpr: AnprServer) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    response = httpx.post(anpr.endpoint, headers=headers, json=c020(UNKNOWN_TO_ANPR))
    assert response.status_code == 404
    assert response.json()["listaErrori"][0]["codiceErroreAnomalia"] == "EN122"
    assert UNKNOWN_TO_ANPR not in response.text


def test_wrong_token_is_fatal(anpr: AnprServer) -> None:
    with make(anpr, token="expired") as adapter, pytest.raises(FatalSourceError, match="401") as e:
        adapter.lookup(IN_ROMA)
    assert "expired" not in str(e.value)


def test_bad_request_configuration_is_fatal(anpr: AnprServer) -> None:
    with make(anpr, use_case="C999") as adapter, pytest.raises(FatalSourceError, match="400"):
        adapter.lookup(IN_ROMA)


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault("status", status=503), RetriableSourceError),
        (Fault("rate_limit", retry_after="5"), RetriableSourceError),
        (Fault("reset"), RetriableSourceError),
        (Fault("garbage"), FatalSourceError),
    ],
)
def test_transport_faults(anpr: AnprServer, fault: Fault, error: type[Exception]) -> None:
    anpr.inject(fault)
    with make(anpr) as adapter, pytest.raises(error):
        adapter.lookup(IN_ROMA)


def test_transient_failures_are_retried(anpr: AnprServer) -> None:
    anpr.inject(Fault("status", status=503, times=1))
    with make(anpr, retry={"attempts": 2, "initial_wait": 0, "jitter": 0}) as adapter:
        assert adapter.lookup(IN_ROMA) is ResidenceCheck.YES


class TokenServer(SimulatorServer):
    """A token endpoint on loopback issuing the voucher the e-service expects."""

    def handle(self, request: SimRequest) -> SimResponse:
        if b"grant_type=client_credentials" not in request.body:
            return json_response({"error": "unsupported_grant_type"}, status=400)
        return json_response({"access_token": TOKEN, "token_type": "Bearer", "expires_in": 300})


def test_oauth2_client_credentials(anpr: AnprServer) -> None:
    with TokenServer() as issuer:
        auth = {
            "type": "client_secret",
            "token_url": issuer.url + "/token",
            "client_id": "lgnet-roma",
            "client_secret": "s3cret-synthetic",
        }
        with make(anpr, token=None, auth=auth) as adapter:
            assert adapter.lookup(IN_ROMA) is ResidenceCheck.YES
            assert adapter.lookup(IN_MILANO) is ResidenceCheck.NO
        assert len(issuer.requests) == 1


def test_fetch_needs_a_list(anpr: AnprServer) -> None:
    with make(anpr) as adapter, pytest.raises(FatalSourceError, match="lookup source"):
        list(adapter.fetch(None))


def test_fetch_checks_a_file_of_codes_and_resumes(anpr: AnprServer, tmp_path: Path) -> None:
    codes = tmp_path / "codes.txt"
    codes.write_text(f"{IN_ROMA}\n\n{IN_MILANO}\nbad\n12345678901\n", encoding="utf-8")
    with make(anpr, fiscal_codes_file=codes) as adapter:
        records = list(adapter.fetch(None))
        assert [r.position for r in records] == ["line 1", "line 3", "line 4", "line 5"]
        assert [r.data.get("resident") for r in records] == ["yes", "no", None, "unknown"]
        assert records[2].problem is not None and "bad" not in str(records[2].problem)
        assert records[0].data["municipality"] == ROMA_ISTAT
        assert [r.position for r in adapter.fetch(records[1].cursor)] == ["line 4", "line 5"]


def test_options_validation() -> None:
    with pytest.raises(ValidationError, match="ISTAT"):
        AnprOptions(url="http://x", municipality="Roma")
    with pytest.raises(ValidationError, match="either token or auth"):
        AnprOptions(
            url="http://x",
            municipality="H501",
            token="t",
            auth={"type": "basic", "username": "u", "password": "p"},
        )
    assert AnprOptions(url="http://x", municipality=" h501 ").municipality == "H501"
    assert TOKEN not in repr(AnprOptions(url="http://x", municipality="H501", token=TOKEN))
