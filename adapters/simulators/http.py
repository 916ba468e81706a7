"""A small HTTP server on loopback for simulating a city's system, with fault injection.

Subclass :class:`SimulatorServer` and write ``handle(request) -> SimResponse``::

    class HelloServer(SimulatorServer):
        def handle(self, request: SimRequest) -> SimResponse:
            return json_response({"hello": request.query_one("name")})

    with HelloServer() as server:
        httpx.get(server.url + "/?name=x")

The server runs a stdlib ``ThreadingHTTPServer`` on ``127.0.0.1`` with an ephemeral port in a
background thread. Faults are injected on demand and consumed by the next matching requests::

    server.inject(Fault("status", status=503, times=2))
    server.inject(Fault("rate_limit", retry_after="2"))
    server.inject(Fault("slow", delay=1.0))
    server.inject(Fault("truncate"))     # Content-Length promises more than is sent
    server.inject(Fault("garbage"))      # 200 with a body that is not what the client expects
    server.inject(Fault("malformed"))    # the subclass corrupts one record (request.malformed)
    server.inject(Fault("reset"))        # the connection closes without an answer
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

__all__ = ["Fault", "FaultKind", "SimRequest", "SimResponse", "SimulatorServer", "json_response"]

FaultKind = Literal["slow", "status", "rate_limit", "truncate", "garbage", "malformed", "reset"]


@dataclass
class Fault:
    """One injected failure, applied to the next ``times`` requests whose path starts with
    ``path`` (``times=None``: every request until :meth:`SimulatorServer.clear_faults`)."""

    kind: FaultKind
    status: int = 500
    delay: float = 0.0
    retry_after: str | None = None
    times: int | None = 1
    path: str = ""


@dataclass
class SimRequest:
    """What a simulator handler sees of an HTTP request."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: Mapping[str, str]
    body: bytes
    base_url: str
    malformed: bool = False

    def query_one(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class SimResponse:
    """An answer: status, headers and body bytes (``Content-Length`` is added)."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def json_response(
    payload: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> SimResponse:
    """A JSON answer (``application/json``, or the ``Content-Type`` given in ``headers``)."""
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    return SimResponse(status, json.dumps(payload).encode(), all_headers)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; without TCP_NODELAY the body waits for the
    # client's delayed ACK (~40 ms a request on keep-alive connections).
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        # Simulated requests may carry synthetic identifiers in their URLs; stay quiet.
        return

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        sim = self.server.simulator
        request = SimRequest(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k: v for k, v in self.headers.items()},
            body=body,
            base_url=sim.url,
        )
        fault = sim._take_fault(request.path)
        sim._record(request)
        if fault is not None and fault.kind == "reset":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.delay)
        if fault is not None and fault.kind == "malformed":
            request.malformed = True
        response = self._answer(request, fault)
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if fault is not None and fault.kind == "truncate":
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(response.body[: len(response.body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def _answer(self, request: SimRequest, fault: Fault | None) -> SimResponse:
        if fault is not None and fault.kind == "status":
            return json_response({"error": "injected failure"}, status=fault.status)
        if fault is not None and fault.kind == "rate_limit":
            return json_response(
                {"error": "too many requests"},
                status=429,
                headers={"Retry-After": fault.retry_after or "1"},
            )
        if fault is not None and fault.kind == "garbage":
            return SimResponse(200, b"<html><body>gateway error", {"Content-Type": "text/html"})
        try:
            return self.server.simulator.handle(request)
        except Exception:  # a simulator bug must answer 500, not hang the client
            return json_response({"error": "simulator failure"}, status=500)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    simulator: SimulatorServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out and hung up is an expected event in fault tests.
        return


class SimulatorServer:
    """Base of every simulator: a threaded HTTP server on loopback, used as a context manager."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host = host
        self._port = port
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self.requests: list[SimRequest] = []

    # -- to override -------------------------------------------------------------------
    def handle(self, request: SimRequest) -> SimResponse:
        """Answer one request; subclasses implement their protocol here."""
        return json_response({"error": "not found"}, status=404)

    # -- lifecycle ---------------------------------------------------------------------
    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321`` (no trailing slash)."""
        if self._httpd is None:
            raise RuntimeError("simulator not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> SimulatorServer:
        httpd = _Server((self._host, self._port), _Handler)
        httpd.simulator = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- faults ------------------------------------------------------------------------
    def inject(self, fault: Fault) -> None:
        """Apply ``fault`` to the next matching requests (see :class:`Fault`)."""
        with self._lock:
            self._faults.append(fault)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if path.startswith(fault.path):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def _record(self, request: SimRequest) -> None:
        with self._lock:
            self.requests.append(request)
