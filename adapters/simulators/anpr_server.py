"""An ANPR-like residence-check e-service (C020) on loopback.

``POST {path}`` takes the request of :mod:`adapters.anpr` and answers from ``residents``
(fiscal code -> municipality, ISTAT or Belfiore code; the other code is filled in for the 18
LGNet cities from ``specs/cities.yaml``). Answers, after the shape of ANPR's e-services:

- 200 ``{"idOperazioneANPR", "listaSoggetti": {"datiSoggetto": [{"generalita": {...},
  "residenza": [{"tipoIndirizzo": "1", "indirizzo": {"comune": {"codiceIstat",
  "codiceCatastale"}}}], "identificativi": {"idANPR"}}]}}``;
- 404 ``{"idOperazioneANPR", "listaErrori": [{"codiceErroreAnomalia": "EN122",
  "testoErroreAnomalia", "tipoErroreAnomalia": "E"}]}`` for a code it does not know;
- 400 with ``listaErrori`` naming the field (``campoErroreAnomalia``) for a malformed request
  or fiscal code; 401 without the bearer ``token`` when one is set.

Error bodies never echo the values of the request.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from adapters.simulators.http import SimRequest, SimResponse, SimulatorServer, json_response

__all__ = ["DEFAULT_PATH", "AnprServer"]

DEFAULT_PATH = "/C020-servizioAccertamentoResidenza/v1/anpr-service-e002"
_CITIES = Path(__file__).resolve().parents[2] / "specs" / "cities.yaml"
_FISCAL_CODE = re.compile(r"^[A-Z0-9]{16}$")


def _city_codes() -> dict[str, tuple[str, str]]:
    """Code (ISTAT or Belfiore) -> (ISTAT, Belfiore) for the cities of ``specs/cities.yaml``."""
    try:
        cities = yaml.safe_load(_CITIES.read_text(encoding="utf-8"))["cities"]
    except (OSError, KeyError, TypeError):
        return {}
    codes: dict[str, tuple[str, str]] = {}
    for city in cities:
        pair = (str(city["istat"]), str(city["belfiore"]))
        codes[pair[0]] = codes[pair[1]] = pair
    return codes


class AnprServer(SimulatorServer):
    """Residence checks answered from ``residents`` (fiscal code -> municipality code)."""

    def __init__(
        self,
        residents: Mapping[str, str] | Iterable[tuple[str, str]] = (),
        *,
        token: str | None = None,
        path: str = DEFAULT_PATH,
        deceased: Iterable[str] = (),
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host=host, port=port)
        pairs = residents.items() if isinstance(residents, Mapping) else residents
        self._residents = {cf.upper(): code.upper() for cf, code in pairs}
        self._deceased = {cf.upper() for cf in deceased}
        self.token, self.path = token, path
        self._codes = _city_codes()
        self._counter = 0
        self._counter_lock = threading.Lock()

    @property
    def endpoint(self) -> str:
        """URL of the e-service (the ``url`` option of the adapter)."""
        return self.url + self.path

    def _operation_id(self) -> str:
        with self._counter_lock:
            self._counter += 1
            return f"SIM{self._counter:012d}"

    def _error(self, status: int, code: str, text: str, field: str | None = None) -> SimResponse:
        error: dict[str, Any] = {
            "codiceErroreAnomalia": code,
            "testoErroreAnomalia": text,
            "tipoErroreAnomalia": "E",
        }
        if field is not None:
            error["campoErroreAnomalia"] = field
        body = {"idOperazioneANPR": self._operation_id(), "listaErrori": [error]}
        return json_response(body, status=status)

    def handle(self, request: SimRequest) -> SimResponse:
        if request.path != self.path:
            return self._error(404, "EN404", "risorsa inesistente")
        if request.method != "POST":
            return self._error(405, "EN405", "metodo non consentito")
        if self.token is not None:
            given = request.headers.get("Authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {self.token}".encode()):
                return self._error(401, "EN401", "voucher assente o non valido")
        try:
            body = json.loads(request.body)
        except ValueError:
            return self._error(400, "EN400", "richiesta non leggibile")
        problem = _check_request(body)
        if problem is not None:
            return self._error(400, "EN400", "richiesta non valida", problem)
        code = str(body["criteriRicerca"]["codiceFiscale"]).upper()
        if not _FISCAL_CODE.match(code):
            return self._error(
                400, "EN124", "codice fiscale formalmente errato", "criteriRicerca.codiceFiscale"
            )
        municipality = self._residents.get(code)
        if municipality is None:
            return self._error(404, "EN122", "la ricerca non ha prodotto risultati")
        istat, belfiore = self._codes.get(municipality, ("", ""))
        comune = {
            "codiceIstat": istat or (municipality if municipality.isdigit() else None),
            "codiceCatastale": belfiore or (None if municipality.isdigit() else municipality),
        }
        subject: dict[str, Any] = {
            "generalita": {"codiceFiscale": {"codFiscale": code, "validitaCF": "1"}},
            "residenza": [{"tipoIndirizzo": "1", "indirizzo": {"comune": comune}}],
            "identificativi": {"idANPR": "AN" + hashlib.sha256(code.encode()).hexdigest()[:10]},
        }
        if code in self._deceased:
            subject["datiDecesso"] = {"dataEvento": "2024-01-01"}
        return json_response(
            {"idOperazioneANPR": self._operation_id(), "listaSoggetti": {"datiSoggetto": [subject]}}
        )


def _check_request(body: Any) -> str | None:
    """The path of the first missing or invalid request field, or None."""
    if not isinstance(body, dict):
        return "."
    if not isinstance(body.get("idOperazioneClient"), str) or not body["idOperazioneClient"]:
        return "idOperazioneClient"
    criteria = body.get("criteriRicerca")
    if not isinstance(criteria, dict) or not isinstance(criteria.get("codiceFiscale"), str):
        return "criteriRicerca.codiceFiscale"
    request = body.get("datiRichiesta")
    if not isinstance(request, dict):
        return "datiRichiesta"
    try:
        date.fromisoformat(str(request.get("dataRiferimentoRichiesta")))
    except ValueError:
        return "datiRichiesta.dataRiferimentoRichiesta"
    if not isinstance(request.get("motivoRichiesta"), str) or not request["motivoRichiesta"]:
        return "datiRichiesta.motivoRichiesta"
    if request.get("casoUso") != "C020":
        return "datiRichiesta.casoUso"
    return None
