"""HTTP plumbing shared by the adapters that speak HTTP (REST, FHIR R4, ANPR).

This is the one place where httpx errors enter the error taxonomy of :mod:`adapters.errors`,
in the manner of httpx's own ``map_httpcore_exceptions()``:

- timeouts, connection and protocol errors (a truncated body included) -> ``RetriableSourceError``;
- HTTP 408, 425, 429 and 5xx -> ``RetriableSourceError`` carrying ``Retry-After`` in seconds;
- other 4xx (bad credentials, missing resource, bad request), an invalid URL, redirect loops
  -> ``FatalSourceError``.

Messages name the source, the HTTP status and a redacted URL (no user info, no query string),
never a header, a body or a credential.
"""

from __future__ import annotations

import email.utils
import importlib
import json
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import httpx
from pydantic import Field

from adapters.base import AdapterOptions
from adapters.errors import FatalSourceError, RetriableSourceError

__all__ = [
    "HttpOptions",
    "build_client",
    "json_body",
    "map_httpx_errors",
    "parse_retry_after",
    "raise_for_status",
    "redact_url",
    "send",
]

#: Statuses that a later identical request may see succeed.
RETRIABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})

USER_AGENT = "lgnet-gateway-adapter"


class HttpOptions(AdapterOptions):
    """Transport options common to every HTTP adapter (subclass it and add your own)."""

    timeout: float = Field(default=30.0, gt=0, description="Read/write/pool timeout, seconds.")
    connect_timeout: float = Field(default=10.0, gt=0, description="Connect timeout, seconds.")
    verify_tls: bool = True
    ca_file: str | None = Field(default=None, description="PEM bundle of trusted CAs.")
    headers: dict[str, str] = Field(default_factory=dict, description="Extra request headers.")


def redact_url(url: httpx.URL | str) -> str:
    """``scheme://host[:port]/path`` without user info or query (both may hold secrets)."""
    u = httpx.URL(str(url))
    port = f":{u.port}" if u.port is not None else ""
    return f"{u.scheme}://{u.host}{port}{u.path}"


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from ``Retry-After``: delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    delay = when.timestamp() - (time.time() if now is None else now)
    return max(0.0, delay)


def _families(name: str) -> tuple[type[BaseException], ...]:
    """``httpx.<name>`` and, when installed, ``httpx2.<name>``.

    Authlib's httpx integration runs on the ``httpx2`` fork when that is installed (the dev
    extra brings it for Starlette's test client), so token-endpoint errors may come from
    either library.
    """
    classes: list[type[BaseException]] = [getattr(httpx, name)]
    try:
        fork = importlib.import_module("httpx2")
    except ImportError:
        return tuple(classes)
    if hasattr(fork, name):
        classes.append(getattr(fork, name))
    return tuple(classes)


_STATUS_ERRORS = _families("HTTPStatusError")
_TIMEOUTS = _families("TimeoutException")
_HOPELESS = (
    *_families("UnsupportedProtocol"),
    *_families("TooManyRedirects"),
    *_families("InvalidURL"),
)
_TRANSPORT = (*_families("TransportError"), *_families("DecodingError"))
_ANY_HTTP = _families("HTTPError")


@contextmanager
def map_httpx_errors(source: str, *, url: httpx.URL | str | None = None) -> Iterator[None]:
    """Turn httpx exceptions raised inside the block into Fatal/Retriable source errors."""
    where = f" ({redact_url(url)})" if url is not None else ""
    try:
        yield
    except _STATUS_ERRORS as exc:
        raise_for_status(exc.response, source)  # type: ignore[attr-defined]
        raise  # pragma: no cover - raise_for_status raised for every error status
    except _TIMEOUTS as exc:
        raise RetriableSourceError(
            f"request timed out: {type(exc).__name__}{where}", source=source
        ) from exc
    except _HOPELESS as exc:
        raise FatalSourceError(
            f"request cannot succeed: {type(exc).__name__}{where}", source=source
        ) from exc
    except _TRANSPORT as exc:
        # ConnectError, ReadError, RemoteProtocolError (a truncated body), ProxyError...
        raise RetriableSourceError(
            f"transport failure: {type(exc).__name__}{where}", source=source
        ) from exc
    except _ANY_HTTP as exc:
        raise RetriableSourceError(
            f"HTTP failure: {type(exc).__name__}{where}", source=source
        ) from exc


def raise_for_status(response: httpx.Response | Any, source: str) -> None:
    """Raise the source error matching an HTTP error status; return quietly on 1xx-3xx."""
    status = response.status_code
    if status < 400:
        return
    where = f"HTTP {status} from {redact_url(response.request.url)}"
    if status in RETRIABLE_STATUSES or (status >= 500 and status not in (501, 505)):
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        raise RetriableSourceError(
            f"{where}; try again later", source=source, retry_after=retry_after
        )
    if status in (401, 403):
        raise FatalSourceError(f"{where}: credentials rejected", source=source)
    raise FatalSourceError(f"{where}: request refused", source=source)


def build_client(
    options: HttpOptions | None = None,
    *,
    base_url: str = "",
    auth: httpx.Auth | None = None,
    headers: Mapping[str, str] | None = None,
    transport: httpx.BaseTransport | None = None,
    follow_redirects: bool = True,
) -> httpx.Client:
    """An ``httpx.Client`` configured from :class:`HttpOptions` (timeouts, TLS, headers)."""
    opts = options or HttpOptions()
    verify: bool | str = opts.ca_file if opts.ca_file else opts.verify_tls
    merged = {"User-Agent": USER_AGENT, **opts.headers, **(headers or {})}
    kwargs: dict[str, Any] = {}
    if transport is not None:
        kwargs["transport"] = transport
    return httpx.Client(
        base_url=base_url,
        auth=auth,
        headers=merged,
        timeout=httpx.Timeout(opts.timeout, connect=opts.connect_timeout),
        verify=verify,
        follow_redirects=follow_redirects,
        **kwargs,
    )


def send(
    client: httpx.Client,
    method: str,
    url: httpx.URL | str,
    *,
    source: str,
    **kwargs: Any,
) -> httpx.Response:
    """``client.request(...)`` with errors mapped and the status checked; the body is read."""
    with map_httpx_errors(source, url=client.base_url.join(str(url)) if url else client.base_url):
        response = client.request(method, url, **kwargs)
    raise_for_status(response, source)
    return response


def json_body(response: httpx.Response, source: str) -> Any:
    """The decoded JSON body; a body that is not JSON is a ``FatalSourceError``.

    A 2xx answer with a body that does not parse means the source speaks another protocol
    than configured (or a proxy answers for it): retrying the same request will not help.
    """
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FatalSourceError(
            f"HTTP {response.status_code} from {redact_url(response.request.url)}: "
            "body is not valid JSON",
            source=source,
        ) from exc
