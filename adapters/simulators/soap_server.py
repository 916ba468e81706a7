"""A SOAP 1.1 case-file service on loopback, serving ``specs/wsdl/welfare_case_service.wsdl``.

``GET {path}?wsdl`` returns the WSDL with its ``soap:address`` pointing at this server;
``POST {path}`` answers ``ElencoCartelle`` (paged by ``paginaNumero`` or ``daIndice``,
filtered by ``aggiornatoDal`` inclusive, ordered by ``aggiornatoIl`` then ``idCartella``) and
``DettaglioCartella`` from a list of case files given in the record-data shape the SOAP
adapter yields (``"@versione"`` for attributes, lists for repeated elements)::

    with SoapCaseFileServer(records, username="ws-user", password="s3cret") as server:
        adapter = SoapAdapter(SoapOptions(wsdl="welfare_case_service.wsdl",
                                          endpoint=server.endpoint, ...))

With ``username``/``password`` set, every call must carry a WS-Security UsernameToken
(PasswordText or PasswordDigest); otherwise the answer is a ``wsse:InvalidSecurity`` or
``wsse:FailedAuthentication`` fault. Bad requests get ``soap:Client`` faults with an
``ErroreServizio`` detail. The ``malformed`` fault of the base class makes the first case
file of the answer carry a birth date that is not a date.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lxml import etree

from adapters.errors import SourceError
from adapters.simulators.http import SimRequest, SimResponse, SimulatorServer
from adapters.wsdl import WSDL_DIR, load_wsdl
from adapters.xml import parse_xml

__all__ = ["SoapCaseFileServer"]

NS = "urn:it:lgnet:cartellasociale:1"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
USERNAME_PROFILE = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
)
MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 50


class _SoapFault(Exception):
    def __init__(self, code: str, codice: str, message: str) -> None:
        super().__init__(message)
        self.code, self.codice, self.message = code, codice, message


class SoapCaseFileServer(SimulatorServer):
    """The CartellaSociale service of one city, answering from ``records``."""

    def __init__(
        self,
        records: Iterable[Mapping[str, Any]] = (),
        *,
        username: str | None = None,
        password: str | None = None,
        path: str = "/cartellasociale",
        wsdl: Path = WSDL_DIR / "welfare_case_service.wsdl",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host=host, port=port)
        self.username, self.password, self.path = username, password, path
        self._wsdl_path = wsdl
        self._client: Any = load_wsdl(wsdl)
        self._records_lock = threading.Lock()
        self._records: dict[str, dict[str, Any]] = {}
        self.set_records(records)

    @property
    def endpoint(self) -> str:
        """The service address (the ``endpoint`` option of the SOAP adapter)."""
        return self.url + self.path

    def set_records(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Replace every case file."""
        with self._records_lock:
            self._records = {str(r["idCartella"]): dict(r) for r in records}

    def upsert(self, record: Mapping[str, Any]) -> None:
        """Add or replace one case file (keyed by ``idCartella``)."""
        with self._records_lock:
            self._records[str(record["idCartella"])] = dict(record)

    # -- HTTP --------------------------------------------------------------------------
    def handle(self, request: SimRequest) -> SimResponse:
        if request.path != self.path:
            return SimResponse(404, b"not found", {"Content-Type": "text/plain"})
        if request.method == "GET" and "wsdl" in {k.lower() for k in request.query}:
            return SimResponse(200, self._wsdl_text(), {"Content-Type": "text/xml"})
        if request.method != "POST":
            return SimResponse(405, b"method not allowed", {"Content-Type": "text/plain"})
        try:
            envelope = parse_xml(request.body)
            self._check_security(envelope)
            operation = _body_element(envelope)
            answer = self._dispatch(operation, request.malformed)
        except SourceError:
            return _fault("soap:Client", "RICHIESTA_NON_VALIDA", "Richiesta non leggibile")
        except _SoapFault as fault:
            return _fault(fault.code, fault.codice, fault.message)
        return _envelope(answer, 200)

    def _wsdl_text(self) -> bytes:
        root = etree.fromstring(self._wsdl_path.read_bytes())
        for address in root.iter("{http://schemas.xmlsoap.org/wsdl/soap/}address"):
            address.set("location", self.endpoint)
        return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))

    # -- WS-Security -------------------------------------------------------------------
    def _check_security(self, envelope: etree._Element) -> None:
        if self.username is None or self.password is None:
            return
        token = envelope.find(f"{{{SOAP_ENV}}}Header/{{{WSSE}}}Security/{{{WSSE}}}UsernameToken")
        if token is None:
            raise _SoapFault("wsse:InvalidSecurity", "SICUREZZA", "UsernameToken mancante")
        username = token.findtext(f"{{{WSSE}}}Username")
        password = token.find(f"{{{WSSE}}}Password")
        if username is None or password is None:
            raise _SoapFault("wsse:InvalidSecurity", "SICUREZZA", "UsernameToken incompleto")
        given = password.text or ""
        if password.get("Type") == f"{USERNAME_PROFILE}#PasswordDigest":
            nonce = base64.b64decode(token.findtext(f"{{{WSSE}}}Nonce") or "")
            created = (token.findtext(f"{{{WSU}}}Created") or "").encode()
            expected = base64.b64encode(
                hashlib.sha1(nonce + created + self.password.encode()).digest()  # noqa: S324
            ).decode()
        else:
            expected = self.password
        user_ok = hmac.compare_digest(username.encode(), self.username.encode())
        if not (hmac.compare_digest(given.encode(), expected.encode()) and user_ok):
            raise _SoapFault(
                "wsse:FailedAuthentication", "AUTENTICAZIONE", "Credenziali non valide"
            )

    # -- operations --------------------------------------------------------------------
    def _dispatch(self, operation: etree._Element, malformed: bool) -> etree._Element:
        name = etree.QName(operation).localname
        if etree.QName(operation).namespace != NS:
            raise _SoapFault("soap:Client", "OPERAZIONE", "Operazione sconosciuta")
        if name == "ElencoCartelle":
            return self._list(operation, malformed)
        if name == "DettaglioCartella":
            wanted = _text(operation, "idCartella")
            with self._records_lock:
                record = self._records.get(wanted or "")
            if record is None:
                raise _SoapFault("soap:Client", "CARTELLA_NON_TROVATA", "Cartella inesistente")
            return self._render("DettaglioCartellaRisposta", {"Cartella": _kwargs(record)})
        raise _SoapFault("soap:Client", "OPERAZIONE", "Operazione sconosciuta")

    def _list(self, request: etree._Element, malformed: bool) -> etree._Element:
        since_text, page_text = _text(request, "aggiornatoDal"), _text(request, "paginaNumero")
        index_text, size_text = _text(request, "daIndice"), _text(request, "dimensionePagina")
        try:
            since = _instant(since_text) if since_text else None
            size = int(size_text) if size_text else DEFAULT_PAGE_SIZE
            page = int(page_text) if page_text else None
            start = int(index_text) if index_text else ((page or 1) - 1) * size
        except ValueError:
            raise _SoapFault("soap:Client", "PARAMETRI", "Parametri non validi") from None
        if not 1 <= size <= MAX_PAGE_SIZE or start < 0 or (page is not None and page < 1):
            raise _SoapFault("soap:Client", "PARAMETRI", "Parametri fuori intervallo")
        with self._records_lock:
            selected = sorted(
                (
                    r
                    for r in self._records.values()
                    if since is None or _instant(str(r["aggiornatoIl"])) >= since
                ),
                key=lambda r: (_instant(str(r["aggiornatoIl"])), str(r["idCartella"])),
            )
        chunk = selected[start : start + size]
        answer: dict[str, Any] = {
            "totaleCartelle": len(selected),
            "altrePagine": start + size < len(selected),
            "cartelle": {"Cartella": [_kwargs(r) for r in chunk]},
        }
        if index_text:
            answer["daIndice"] = start
        else:
            answer["paginaNumero"] = page or 1
        element = self._render("ElencoCartelleRisposta", answer)
        if malformed and chunk:
            birth = element.find(f".//{{{NS}}}Cartella/{{{NS}}}Assistito/{{{NS}}}dataNascita")
            if birth is not None:
                birth.text = "31/02/19xx"
        return element

    def _render(self, name: str, values: dict[str, Any]) -> etree._Element:
        element = self._client.get_element(f"{{{NS}}}{name}")
        holder = etree.Element("holder")
        element.render(holder, element(**values))
        return holder[0]


def _kwargs(data: Mapping[str, Any]) -> dict[str, Any]:
    """Record data -> zeep keyword arguments: ``@name`` -> ``name``, ``None`` dropped."""
    result: dict[str, Any] = {}
    for key, value in data.items():
        if value is None:
            continue
        name = key[1:] if key.startswith("@") else key
        if isinstance(value, Mapping):
            result[name] = _kwargs(value)
        elif isinstance(value, list):
            result[name] = [_kwargs(v) if isinstance(v, Mapping) else v for v in value]
        else:
            result[name] = value
    return result


def _text(element: etree._Element, name: str) -> str | None:
    text = element.findtext(f"{{{NS}}}{name}")
    return text.strip() if text is not None else None


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _body_element(envelope: etree._Element) -> etree._Element:
    body = envelope.find(f"{{{SOAP_ENV}}}Body")
    children = [c for c in body if isinstance(c.tag, str)] if body is not None else []
    if len(children) != 1:
        raise _SoapFault("soap:Client", "RICHIESTA_NON_VALIDA", "Body SOAP non valido")
    return children[0]


def _envelope(payload: etree._Element, status: int) -> SimResponse:
    envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV})
    etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body").append(payload)
    body = etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")
    return SimResponse(status, bytes(body), {"Content-Type": "text/xml; charset=utf-8"})


def _fault(code: str, codice: str, message: str) -> SimResponse:
    """A SOAP 1.1 fault (HTTP 500) with an ``ErroreServizio`` detail."""
    nsmap = {"soap": SOAP_ENV, "wsse": WSSE, "cs": NS}
    fault = etree.Element(f"{{{SOAP_ENV}}}Fault", nsmap=nsmap)
    etree.SubElement(fault, "faultcode").text = code
    etree.SubElement(fault, "faultstring").text = message
    detail = etree.SubElement(etree.SubElement(fault, "detail"), f"{{{NS}}}ErroreServizio")
    etree.SubElement(detail, f"{{{NS}}}codice").text = codice
    etree.SubElement(detail, f"{{{NS}}}descrizione").text = message
    return _envelope(fault, 500)
