"""httpx errors and statuses enter the source error taxonomy in adapters.http."""

from __future__ import annotations

import email.utils

import httpx
import pytest

from adapters.errors import FatalSourceError, RetriableSourceError
from adapters.http import (
    HttpOptions,
    build_client,
    json_body,
    map_httpx_errors,
    parse_retry_after,
    raise_for_status,
    redact_url,
    send,
)
from adapters.simulators import Fault, SimRequest, SimResponse, SimulatorServer, json_response


def response(
    status: int, headers: dict[str, str] | None = None, body: bytes = b""
) -> httpx.Response:
    request = httpx.Request("GET", "https://user:pw@api.example/x?api_key=SECRET")
    return httpx.Response(status, headers=headers, content=body, request=request)


@pytest.mark.parametrize(
    ("status", "error", "retry_after"),
    [
        (400, FatalSourceError, None),
        (401, FatalSourceError, None),
        (403, FatalSourceError, None),
        (404, FatalSourceError, None),
        (422, FatalSourceError, None),
        (501, FatalSourceError, None),
        (408, RetriableSourceError, None),
        (429, RetriableSourceError, 12.0),
        (500, RetriableSourceError, 12.0),
        (503, RetriableSourceError, 12.0),
        (599, RetriableSourceError, 12.0),
    ],
)
def test_status_mapping(status: int, error: type[Exception], retry_after: float | None) -> None:
    with pytest.raises(error) as info:
        raise_for_status(response(status, {"Retry-After": "12"}), "src")
    assert type(info.value) is error
    if retry_after is not None:
        assert info.value.retry_after == retry_after  # type: ignore[attr-defined]
    message = str(info.value)
    assert message.startswith(f"src: HTTP {status} from https://api.example/x")
    assert "SECRET" not in message and "pw" not in message


def test_success_statuses_pass() -> None:
    for status in (200, 204, 304):
        raise_for_status(response(status), "src")


def test_retry_after_forms() -> None:
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    date = email.utils.formatdate(1_000_030, usegmt=True)
    assert parse_retry_after(date, now=1_000_000) == pytest.approx(30)
    assert parse_retry_after(date, now=2_000_000) == 0.0


def test_redact_url() -> None:
    assert redact_url("https://u:p@h.example:8443/a/b?token=x#f") == "https://h.example:8443/a/b"


class Echo(SimulatorServer):
    def handle(self, request: SimRequest) -> SimResponse:
        return json_response({"path": request.path, "ua": request.headers.get("User-Agent")})


def test_transport_errors_are_mapped_on_a_real_server() -> None:
    with Echo() as server, build_client(HttpOptions(timeout=0.2, headers={"X-A": "1"})) as client:
        body = json_body(send(client, "GET", server.url + "/p", source="s"), "s")
        assert body == {"path": "/p", "ua": "lgnet-gateway-adapter"}
        for fault, match in [
            (Fault("slow", delay=0.5), "timed out"),
            (Fault("truncate"), "RemoteProtocolError"),
            (Fault("reset"), "RemoteProtocolError"),
        ]:
            server.inject(fault)
            with pytest.raises(RetriableSourceError, match=match):
                send(client, "GET", server.url + "/p", source="s")
        server.inject(Fault("garbage"))
        with pytest.raises(FatalSourceError, match="body is not valid JSON"):
            json_body(send(client, "GET", server.url + "/p", source="s"), "s")


def test_hopeless_requests_are_fatal() -> None:
    with (
        build_client() as client,
        pytest.raises(FatalSourceError, match="UnsupportedProtocol"),
        map_httpx_errors("s", url="ftp://x/"),
    ):
        client.get("ftp://x/")


def test_status_error_raised_by_httpx_is_mapped() -> None:
    with pytest.raises(RetriableSourceError, match="HTTP 503"), map_httpx_errors("s"):
        response(503).raise_for_status()
