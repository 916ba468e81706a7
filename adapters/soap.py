"""SOAP adapter (kind ``"soap"``): pages through one operation of a WSDL service with zeep.

WSDL 1.1 (https://www.w3.org/TR/wsdl) document/literal services, SOAP 1.1 or 1.2, optional
WS-Security UsernameToken (OASIS WSS UsernameToken Profile 1.1, PasswordText or
PasswordDigest). The WSDL is a local file (``wsdl``: absolute, or relative to
``specs/wsdl``); zeep never fetches anything from the network: WSDL and schema imports load
only from the WSDL's own directory, and DTDs, entities and external references are forbidden.

A source definition for the case-file service of ``specs/wsdl/welfare_case_service.wsdl``::

    adapter: soap
    options:
      wsdl: welfare_case_service.wsdl
      endpoint: ${CITY_WELFARE_URL}
      username: ${CITY_WELFARE_USER}
      password: ${CITY_WELFARE_PASSWORD}
      operation: ElencoCartelle          # the defaults below fit this WSDL
      paging: page                       # or "index" (first record's index), or "none"
      page_field: paginaNumero
      page_size_field: dimensionePagina
      updated_since_field: aggiornatoDal
      records_path: cartelle.Cartella
      has_more_path: altrePagine

Each record is one element found at ``records_path`` (local names, dotted) under the answer's
body element, converted with its schema type by :mod:`adapters.xsd`: child elements by local
name, lists where the schema allows repetition, attributes as ``"@name"``, typed values as
JSON (dates ISO 8601, booleans, integers; decimals as strings). For the case-file service::

    {"@versione": 3, "idCartella": "C-0001", "aggiornatoIl": "2024-03-01T09:00:00+00:00",
     "annullata": None,
     "Assistito": {"idLocale": ..., "codiceFiscale": ..., "codiceFiscaleProvvisorio": ...,
                   "codiceSTP": ..., "codiceENI": ..., "cognome": ..., "nome": ...,
                   "sesso": ..., "dataNascita": "1990-05-01", "comuneNascita": ...,
                   "statoNascita": ..., "cittadinanza": [...], "dataArrivoItalia": ...,
                   "PermessoSoggiorno": {"tipo": ..., "scadenza": ...} | None, "lingua": [...]},
     "PresaInCarico": {"dataApertura": ..., "dataChiusura": ..., "canale": ..., "stato": ...,
                       "vulnerabilita": [...], "bisogno": [...]} | None,
     "Interventi": {"Intervento": [{"@id": ..., "tipo": ..., "dataInizio": ...,
                                    "dataFine": ..., "stato": ...}]} | None,
     "Invii": {"Invio": [{"@id": ..., "servizio": ..., "data": ..., "esito": ...}]} | None}

Cursors: an incremental run asks for records updated since the previous run's highest
``updated_path`` value (inclusive on the server, so the boundary records come again: the
gateway's idempotent upserts absorb them), page after page. Each record's cursor holds that
run's ``since``, the page and how many records of it are done, and the highest update seen;
resuming re-asks that page and skips what is done, and once the run's last page is read the
next run starts from the highest update seen. A record the schema cannot read becomes a
``RawRecord`` with a :class:`~adapters.errors.RecordProblem` naming its page, item and field.

Errors are converted here, where zeep is called: SOAP faults ``Client``/``Sender`` and the
WS-Security faults are fatal (the request or the credentials must be fixed), ``Server``/
``Receiver`` faults, 429, 5xx, timeouts and broken connections are retriable.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

import requests
import zeep.exceptions
from lxml import etree
from pydantic import Field, SecretStr, model_validator
from zeep.wsse.username import UsernameToken

from adapters.base import Adapter, AdapterOptions, RawRecord
from adapters.circuit import CircuitBreakers, breakers
from adapters.errors import FatalSourceError, RecordProblem, RetriableSourceError
from adapters.http import RETRIABLE_STATUSES, parse_retry_after
from adapters.retry import RetryOptions, RetryPolicy
from adapters.wsdl import load_wsdl, resolve_wsdl
from adapters.xml import declares_dtd, local_name, parse_xml
from adapters.xsd import XsdValueError, find_child_element, to_data

__all__ = ["SoapAdapter", "SoapOptions"]

_SOAP_ENVELOPES = (
    "http://schemas.xmlsoap.org/soap/envelope/",
    "http://www.w3.org/2003/05/soap-envelope",
)
#: Fault codes (local part) that a retry cannot fix: the request or the credentials are wrong.
# fmt: off
_FATAL_FAULTS = frozenset({
    "Client", "Sender", "VersionMismatch", "MustUnderstand", "DataEncodingUnknown",
    "FailedAuthentication", "InvalidSecurity", "InvalidSecurityToken", "FailedCheck",
    "UnsupportedSecurityToken", "SecurityTokenUnavailable", "MessageExpired",
})
# fmt: on


class SoapOptions(AdapterOptions):
    """Options of the SOAP adapter; the defaults fit ``welfare_case_service.wsdl``."""

    wsdl: str = Field(description="WSDL file: absolute, or relative to specs/wsdl.")
    endpoint: str | None = Field(default=None, description="Overrides the WSDL soap:address.")
    binding: str | None = Field(default=None, description="Binding QName, if several.")
    operation: str = "ElencoCartelle"
    request: dict[str, Any] = Field(default_factory=dict, description="Fixed request fields.")
    paging: Literal["page", "index", "none"] = "page"
    page_field: str = "paginaNumero"
    first_page: int = Field(default=1, ge=0)
    page_size_field: str | None = "dimensionePagina"
    page_size: int = Field(default=100, ge=1, le=10_000)
    updated_since_field: str | None = "aggiornatoDal"
    records_path: str = "cartelle.Cartella"
    has_more_path: str | None = "altrePagine"
    id_path: str | None = "idCartella"
    updated_path: str | None = "aggiornatoIl"
    deleted_path: str | None = "annullata"
    username: str | None = None
    password: SecretStr | None = None
    password_digest: bool = False
    timeout: float = Field(default=30.0, gt=0)
    verify_tls: bool = True
    ca_file: str | None = None
    retry: RetryOptions = Field(default_factory=RetryOptions)
    circuit_failures: int = Field(default=5, ge=1)
    circuit_cooldown: float = Field(default=60.0, ge=0)

    @model_validator(mode="after")
    def _credentials_come_in_pairs(self) -> SoapOptions:
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password must be given together")
        return self


@dataclass
class _Cursor:
    since: str | None = None  # this run's updated-since (None: everything)
    skip: list[str] = field(default_factory=list)  # ids already read at exactly ``since``
    page: int | None = None  # page number or first index of the page being read
    done: int = 0  # records of that page already read
    high: str | None = None  # highest update seen in this run
    high_ids: list[str] = field(default_factory=list)  # ids read at exactly ``high``

    @classmethod
    def decode(cls, text: str | None, source: str) -> _Cursor:
        if not text:
            return cls()
        try:
            return cls(**json.loads(text))
        except (ValueError, TypeError):
            raise FatalSourceError(
                "cursor was not made by the SOAP adapter", source=source
            ) from None

    def encode(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    def saw(self, record_id: str | None, updated: str | None) -> None:
        """Advance the high-water mark with a record just read."""
        if updated is None:
            return
        order = _compare(updated, self.high)
        if order > 0:
            self.high, self.high_ids = updated, []
        if order >= 0 and record_id is not None:
            self.high_ids.append(record_id)

    def next_run(self, first_page: int) -> _Cursor:
        return _Cursor(
            since=self.high,
            skip=list(self.high_ids),
            page=first_page,
            high=self.high,
            high_ids=list(self.high_ids),
        )


class SoapAdapter(Adapter[SoapOptions]):
    """Reads a paged SOAP list operation; see the module docstring."""

    kind = "soap"
    Options = SoapOptions

    def __init__(
        self,
        options: SoapOptions,
        *,
        source: str = "",
        circuit: CircuitBreakers | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(options, source=source)
        self.retry = RetryPolicy(options.retry, sleep=sleep)
        self.breaker = (circuit or breakers).get(
            self.source,
            failure_threshold=options.circuit_failures,
            reset_timeout=options.circuit_cooldown,
        )
        self._client: Any = None
        self._service: Any = None
        self._record_element: Any = None
        self._session: requests.Session | None = None

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
        self._client = self._service = self._session = None

    # -- setup -----------------------------------------------------------------------------
    def _connect(self) -> None:
        if self._client is not None:
            return
        opts = self.options
        path = resolve_wsdl(opts.wsdl)
        if not path.is_file():
            raise FatalSourceError(f"WSDL file {path.name!r} not found", source=self.source)
        session = requests.Session()
        session.verify = opts.ca_file or opts.verify_tls
        wsse = None
        if opts.username is not None and opts.password is not None:
            wsse = UsernameToken(  # type: ignore[no-untyped-call]
                opts.username, opts.password.get_secret_value(), use_digest=opts.password_digest
            )
        try:
            with self._zeep_errors("loading the WSDL"):
                client = load_wsdl(
                    path, session=session, timeout=opts.timeout, wsse=wsse, raw_response=True
                )
                binding_name = opts.binding or next(iter(client.wsdl.bindings))
                address = opts.endpoint or _wsdl_address(client, binding_name, self.source)
                service = client.create_service(binding_name, address)
                operations = service._binding._operations
            operation = operations.get(opts.operation)
            if operation is None:
                raise FatalSourceError(
                    f"operation {opts.operation!r} is not in the WSDL", source=self.source
                )
            element = operation.output.body
            for step in opts.records_path.split("."):
                element = find_child_element(element, step) if element is not None else None
            if element is None:
                raise FatalSourceError(
                    f"records_path {opts.records_path!r} is not in the answer of {opts.operation}",
                    source=self.source,
                )
        except BaseException:
            session.close()
            raise
        self._client, self._service, self._session = client, service, session
        self._record_element = element

    @contextmanager
    def _zeep_errors(self, doing: str) -> Iterator[None]:
        """Map zeep and requests exceptions to the error taxonomy (never their text)."""
        try:
            yield
        except zeep.exceptions.Fault as exc:
            code = local_name(str(exc.code or "")).rpartition(":")[2] or "unknown"
            if code in _FATAL_FAULTS:
                raise FatalSourceError(
                    f"SOAP fault {code} while {doing}: request or credentials refused",
                    source=self.source,
                ) from exc
            raise RetriableSourceError(
                f"SOAP fault {code} while {doing}", source=self.source
            ) from exc
        except zeep.exceptions.TransportError as exc:
            self._raise_for_status(exc.status_code or 0, None, doing, exc)
            raise
        except (
            zeep.exceptions.DTDForbidden,
            zeep.exceptions.EntitiesForbidden,
            zeep.exceptions.ExternalReferenceForbidden,
        ) as exc:
            raise FatalSourceError(
                f"{type(exc).__name__} while {doing}: "
                "DTDs, entities and remote documents are refused",
                source=self.source,
            ) from exc
        except (zeep.exceptions.XMLSyntaxError, etree.XMLSyntaxError) as exc:
            raise RetriableSourceError(
                f"XML that is not well-formed while {doing}", source=self.source
            ) from exc
        except (
            requests.exceptions.InvalidURL,
            requests.exceptions.MissingSchema,
            requests.exceptions.InvalidSchema,
        ) as exc:
            raise FatalSourceError(
                f"invalid endpoint URL while {doing}", source=self.source
            ) from exc
        except requests.exceptions.RequestException as exc:
            # Timeouts, refused or reset connections, a body cut short.
            raise RetriableSourceError(
                f"{type(exc).__name__} while {doing}", source=self.source
            ) from exc
        except (zeep.exceptions.Error, LookupError, ValueError, TypeError, OSError) as exc:
            # WsdlSyntaxError, ValidationError (a request field the schema rejects), an
            # unknown binding or element: a configuration to fix.
            raise FatalSourceError(
                f"{type(exc).__name__} while {doing}", source=self.source
            ) from exc

    def _raise_for_status(
        self, status: int, retry_after: str | None, doing: str, cause: BaseException | None
    ) -> None:
        if status in RETRIABLE_STATUSES or status >= 500:
            raise RetriableSourceError(
                f"HTTP {status} while {doing}; try again later",
                source=self.source,
                retry_after=parse_retry_after(retry_after),
            ) from cause
        raise FatalSourceError(
            f"HTTP {status} while {doing}: refused", source=self.source
        ) from cause

    # -- calls -----------------------------------------------------------------------------
    def _call(self, cursor: _Cursor) -> etree._Element:
        """Call the operation for ``cursor``'s page, through the circuit breaker, retrying
        transient failures; return the answer's body element."""

        def once() -> etree._Element:
            with self.breaker.guard():
                return self._call_once(cursor)

        return self.retry.call(once)

    def _call_once(self, cursor: _Cursor) -> etree._Element:
        opts = self.options
        fields: dict[str, Any] = dict(opts.request)
        if opts.updated_since_field and cursor.since is not None:
            fields[opts.updated_since_field] = cursor.since
        if opts.paging != "none":
            fields[opts.page_field] = cursor.page
            if opts.page_size_field:
                fields[opts.page_size_field] = opts.page_size
        doing = f"calling {opts.operation}"
        with self._zeep_errors(doing):
            response = getattr(self._service, opts.operation)(**fields)
        content_type = response.headers.get("Content-Type", "")
        if response.status_code != 200 and "xml" not in content_type:
            self._raise_for_status(
                response.status_code, response.headers.get("Retry-After"), doing, None
            )
        if response.status_code == 200:
            root = parse_xml(response.content, source=self.source)
            body = _soap_body(root)
            if body is None or not len(body):
                raise FatalSourceError(
                    f"answer of {opts.operation} is not a SOAP envelope with a body",
                    source=self.source,
                )
            if local_name(body[0].tag) != "Fault":
                return body[0]
        # A fault (or an error status with an XML body): let zeep read it, and map its error.
        # zeep's parser opens external DTD subsets before refusing them; ours never does.
        if declares_dtd(response.content):
            parse_xml(response.content, source=self.source)
        with self._zeep_errors(doing):
            operation = self._service._binding.get(opts.operation)
            self._service._binding.process_reply(self._client, operation, response)
        raise FatalSourceError(f"answer of {opts.operation} has no body", source=self.source)

    # -- records ---------------------------------------------------------------------------
    def fetch(self, cursor: str | None) -> Iterator[RawRecord]:
        self._connect()
        state = _Cursor.decode(cursor, self.source)
        fresh = state.page is None
        if state.page is None:
            state.page = self.options.first_page
        while True:
            body = self._call(state)
            elements = _find_path(body, self.options.records_path)
            for index, element in enumerate(elements):
                if index < state.done:
                    continue
                state.done = index + 1
                record = self._record(element, state, index)
                if record is None:
                    continue
                yield replace(record, cursor=state.encode())
            if self._has_more(body, len(elements)):
                state.page += len(elements) if self.options.paging == "index" else 1
                state.done = 0
                continue
            if fresh:
                return
            # The run the cursor belonged to is complete: go on with the next one.
            fresh = True
            state = state.next_run(self.options.first_page)

    def _has_more(self, body: etree._Element, count: int) -> bool:
        if self.options.paging == "none" or count == 0:
            return False
        if self.options.has_more_path:
            flags = _find_path(body, self.options.has_more_path)
            if flags:
                return (flags[0].text or "").strip() in ("true", "1")
        return count >= self.options.page_size

    def _record(self, element: etree._Element, state: _Cursor, index: int) -> RawRecord | None:
        """The record of ``element``; None for one already read at the previous run's end."""
        opts = self.options
        assert state.page is not None
        position = (
            f"item {state.page + index}"
            if opts.paging == "index"
            else f"page {state.page} item {index + 1}"
        )
        raw = etree.tostring(element)
        try:
            data = to_data(element, self._record_element)
        except XsdValueError as exc:
            problem = RecordProblem(
                exc.reason, source=self.source, position=position, field=exc.path
            )
            return RawRecord(data={}, cursor="", position=position, problem=problem, raw=raw)
        record_id = _text_at(data, opts.id_path)
        updated = _text_at(data, opts.updated_path)
        if (
            record_id is not None
            and record_id in state.skip
            and updated is not None
            and _compare(updated, state.since) == 0
        ):
            return None
        state.saw(record_id, updated)
        return RawRecord(
            data=data,
            cursor="",
            record_id=record_id,
            position=position,
            deleted=bool(_value_at(data, opts.deleted_path)),
            raw=raw,
        )


def _wsdl_address(client: Any, binding_name: str, source: str) -> str:
    for service in client.wsdl.services.values():
        for port in service.ports.values():
            if port.binding.name.text == binding_name or str(port.binding.name) == binding_name:
                return str(port.binding_options["address"])
    raise FatalSourceError(
        "no soap:address for the binding; set the endpoint option", source=source
    )


def _soap_body(root: etree._Element) -> etree._Element | None:
    for namespace in _SOAP_ENVELOPES:
        body = root.find(f"{{{namespace}}}Body")
        if body is not None:
            return body
    return None


def _find_path(element: etree._Element, path: str) -> list[etree._Element]:
    nodes = [element]
    for step in path.split("."):
        nodes = [
            child
            for node in nodes
            for child in node
            if isinstance(child.tag, str) and local_name(child.tag) == step
        ]
    return nodes


def _value_at(data: Any, path: str | None) -> Any:
    if not path:
        return None
    for step in path.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(step)
    return data


def _text_at(data: Any, path: str | None) -> str | None:
    value = _value_at(data, path)
    return None if value is None or isinstance(value, dict | list) else str(value)


def _compare(a: str, b: str | None) -> int:
    """Order two update stamps (ISO 8601 instants; other text compares as text)."""
    if b is None:
        return 1
    try:
        x, y = _instant(a), _instant(b)
    except ValueError:
        return (a > b) - (a < b)
    return (x > y) - (x < y)


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
