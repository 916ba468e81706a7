"""Residence check against the civil registry, modelled on ANPR's C020 e-service (kind ``"anpr"``).

ANPR (Anagrafe Nazionale della Popolazione Residente) answers "is this person resident, and
where?" through its e-service for *accertamento residenza* (use case C020, service E002),
reached through PDND. One call::

    POST {url}
    {"idOperazioneClient": "…unique per call…",
     "criteriRicerca": {"codiceFiscale": "RSSMRA80A01H501U"},
     "datiRichiesta": {"dataRiferimentoRichiesta": "2024-05-01",
                       "motivoRichiesta": "…", "casoUso": "C020"}}

    200 {"idOperazioneANPR": "…", "listaSoggetti": {"datiSoggetto": [
           {"residenza": [{"indirizzo": {"comune": {"codiceIstat": "058091",
                                                    "codiceCatastale": "H501", …}}}], …}]}}
    404 {"idOperazioneANPR": "…", "listaErrori": [{"codiceErroreAnomalia": "EN122", …}]}

:meth:`AnprAdapter.lookup` turns that into :class:`ResidenceCheck` for ``municipality``
(ISTAT or Belfiore code):

- ``YES``: a subject is found whose residence is in the municipality;
- ``NO``: the subject lives elsewhere (in Italy or abroad), is deceased, or is unknown to
  the registry (404): whoever is not in ANPR is not resident in any Italian municipality;
- ``UNKNOWN``: the question cannot be answered: the code is not a 16-character fiscal code
  (a provisional 11-digit code or an STP/ENI code is never in ANPR, so it is not sent), the
  registry rejects the code itself (400 naming ``codiceFiscale``), or several subjects match.

Failures are raised, not answered: 401/403 and other refusals as ``FatalSourceError``;
timeouts, 429 and 5xx as ``RetriableSourceError`` (see :mod:`adapters.http`).

``fetch`` checks a list of fiscal codes, one per line of ``fiscal_codes_file`` (the codes are
identifiers, so they live in a file, not in options that get printed), yielding
``{"codiceFiscale", "municipality", "referenceDate", "resident": "yes"|"no"|"unknown"}``
with the line number as cursor; without that file it raises ``FatalSourceError``: the
registry is a lookup, not a feed. Authentication: ``token``, a static bearer token (e.g. a
PDND voucher obtained elsewhere), or ``auth`` (:mod:`adapters.auth.schemes`), e.g. OAuth2
client credentials with ``private_key_jwt`` and a ``purpose_id`` as PDND issues vouchers.
Transient failures are retried (``retry``) behind a per-source circuit breaker. The ModI
signature headers
(``Agid-JWT-Signature``) that the production e-service also requires are out of scope.
"""

from __future__ import annotations

import enum
import re
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from pydantic import Field, SecretStr, field_validator, model_validator

from adapters.auth.schemes import ApiKeyAuth, AuthOptions, AuthSession, NoAuth
from adapters.base import Adapter, RawRecord
from adapters.circuit import CircuitBreakers, breakers
from adapters.errors import FatalSourceError, RecordProblem
from adapters.http import HttpOptions, json_body, map_httpx_errors, raise_for_status
from adapters.retry import RetryOptions, RetryPolicy

__all__ = ["AnprAdapter", "AnprOptions", "ResidenceCheck"]

_FISCAL_CODE = re.compile(
    r"^[A-Z]{6}[0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]$"
)
_ISTAT = re.compile(r"^\d{6}$")
_BELFIORE = re.compile(r"^[A-Z]\d{3}$")
#: ANPR error codes that mean "no subject with these criteria".
NOT_FOUND_CODES = frozenset({"EN122"})


class ResidenceCheck(enum.StrEnum):
    """Answer of a residence check."""

    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


class AnprOptions(HttpOptions):
    """Options of the residence check."""

    url: str = Field(description="Full URL of the C020 e-service endpoint.")
    municipality: str = Field(description="ISTAT (6 digits) or Belfiore (A123) code.")
    reason: str = Field(
        default="Verifica residenza per presa in carico",
        max_length=200,
        description="motivoRichiesta sent with every call.",
    )
    use_case: str = "C020"
    token: SecretStr | None = Field(default=None, description="Static bearer token.")
    auth: AuthOptions = Field(default_factory=NoAuth, description="Or OAuth2 (PDND voucher).")
    fiscal_codes_file: Path | None = Field(default=None, description="One code a line.")
    retry: RetryOptions = Field(default_factory=RetryOptions)
    circuit_failures: int = Field(default=5, ge=1)
    circuit_cooldown: float = Field(default=60.0, ge=0)

    @model_validator(mode="after")
    def _one_auth(self) -> AnprOptions:
        if self.token is not None and not isinstance(self.auth, NoAuth):
            raise ValueError("set either token or auth, not both")
        return self

    @field_validator("municipality")
    @classmethod
    def _municipality_code(cls, value: str) -> str:
        value = value.strip().upper()
        if not (_ISTAT.match(value) or _BELFIORE.match(value)):
            raise ValueError("municipality must be an ISTAT (6 digits) or Belfiore (A123) code")
        return value


class AnprAdapter(Adapter[AnprOptions]):
    """ANPR-style residence check; see the module docstring."""

    kind = "anpr"
    Options = AnprOptions

    def __init__(
        self,
        options: AnprOptions,
        *,
        source: str = "",
        transport: httpx.BaseTransport | None = None,
        circuit: CircuitBreakers | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(options, source=source)
        self._transport = transport
        self._session: AuthSession | None = None
        self.retry = RetryPolicy(options.retry, sleep=sleep)
        self.breaker = (circuit or breakers).get(
            self.source,
            failure_threshold=options.circuit_failures,
            reset_timeout=options.circuit_cooldown,
        )
        self._scheme: Any = (
            ApiKeyAuth(header="Authorization", prefix="Bearer ", key=options.token)
            if options.token is not None
            else options.auth
        )

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def _post(self, body: dict[str, Any]) -> httpx.Response:
        """POST ``body``; 400 and 404 come back as answers, other errors are raised."""
        if self._session is None:
            self._session = AuthSession(
                self._scheme, self.options, source=self.source, transport=self._transport
            )
        client, url, source = self._session.client, self.options.url, self.source

        def once() -> httpx.Response:
            with self.breaker.guard():
                with map_httpx_errors(source, url=url):
                    response = client.post(url, json=body)
                if response.status_code not in (400, 404):
                    raise_for_status(response, source)
                return response

        return self.retry.call(once)

    def lookup(self, fiscal_code: str, *, reference_date: date | None = None) -> ResidenceCheck:
        """Is the holder of ``fiscal_code`` resident in ``municipality`` on ``reference_date``?"""
        code = fiscal_code.strip().upper()
        if not _FISCAL_CODE.match(code):
            return ResidenceCheck.UNKNOWN
        body = {
            "idOperazioneClient": uuid.uuid4().hex,
            "criteriRicerca": {"codiceFiscale": code},
            "datiRichiesta": {
                "dataRiferimentoRichiesta": (reference_date or date.today()).isoformat(),
                "motivoRichiesta": self.options.reason,
                "casoUso": self.options.use_case,
            },
        }
        response = self._post(body)
        if response.status_code in (400, 404):
            answer = _errors(response)
            if answer is not None:
                return answer
            raise_for_status(response, self.source)
        payload = json_body(response, self.source)
        return self._judge(payload)

    def _judge(self, payload: Any) -> ResidenceCheck:
        subjects = (
            (payload.get("listaSoggetti") or {}).get("datiSoggetto")
            if isinstance(payload, dict)
            else None
        )
        if not isinstance(subjects, list):
            raise FatalSourceError("answer has no listaSoggetti.datiSoggetto", source=self.source)
        if not subjects:
            return ResidenceCheck.NO
        if len(subjects) > 1:
            return ResidenceCheck.UNKNOWN
        subject = subjects[0] if isinstance(subjects[0], dict) else {}
        if subject.get("datiDecesso"):
            return ResidenceCheck.NO
        key = "codiceIstat" if _ISTAT.match(self.options.municipality) else "codiceCatastale"
        for residence in subject.get("residenza") or []:
            comune = ((residence or {}).get("indirizzo") or {}).get("comune") or {}
            if str(comune.get(key, "")).upper() == self.options.municipality:
                return ResidenceCheck.YES
        return ResidenceCheck.NO

    def fetch(self, cursor: str | None) -> Iterator[RawRecord]:
        path = self.options.fiscal_codes_file
        if path is None:
            raise FatalSourceError(
                "anpr is a lookup source: call lookup(), or set fiscal_codes_file to check a list",
                source=self.source,
            )
        try:
            lines = path.read_text(encoding="utf-8-sig").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise FatalSourceError(
                f"cannot read fiscal_codes_file ({type(exc).__name__})", source=self.source
            ) from exc
        done = int(cursor) if cursor and cursor.isdigit() else 0
        today = date.today()
        for number, line in enumerate(lines, start=1):
            code = line.strip().upper()
            if number <= done or not code:
                continue
            position = f"line {number}"
            if len(code) not in (11, 16):
                problem = RecordProblem(
                    "not a fiscal code",
                    source=self.source,
                    position=position,
                    field="codiceFiscale",
                )
                yield RawRecord(data={}, cursor=str(number), position=position, problem=problem)
                continue
            answer = self.lookup(code, reference_date=today)
            yield RawRecord(
                data={
                    "codiceFiscale": code,
                    "municipality": self.options.municipality,
                    "referenceDate": today.isoformat(),
                    "resident": answer.value,
                },
                cursor=str(number),
                position=position,
            )


def _errors(response: httpx.Response) -> ResidenceCheck | None:
    """The answer an ANPR error body gives (404: not found; 400 on the code: unknown)."""
    try:
        payload = response.json()
    except ValueError:
        return None
    errors = payload.get("listaErrori") if isinstance(payload, dict) else None
    if not isinstance(errors, list):
        return None
    codes = {str(e.get("codiceErroreAnomalia")) for e in errors if isinstance(e, dict)}
    fields = {str(e.get("campoErroreAnomalia") or "") for e in errors if isinstance(e, dict)}
    if response.status_code == 404 or codes & NOT_FOUND_CODES:
        return ResidenceCheck.NO
    if any(f.endswith("codiceFiscale") for f in fields):
        return ResidenceCheck.UNKNOWN
    return None
