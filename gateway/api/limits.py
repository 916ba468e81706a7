"""Limits on what one request may cost (BRIEF §13), all from settings.

- body size: ``LGNET_MAX_BODY_BYTES`` — 413 from the ``Content-Length`` header before any byte
  is read, and 413 as soon as a chunked body grows past it;
- records per request: ``LGNET_MAX_RECORDS_PER_REQUEST`` — 413;
- JSON nesting: ``LGNET_MAX_JSON_DEPTH`` — 400 naming the record;
- calls per client: ``LGNET_RATE_LIMIT_PER_MINUTE`` — 429 with ``Retry-After``. The budget is
  per process: with N replicas behind a balancer a client gets at most N times it.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.api.problems import FixTheRequest, RetryLater, SendLess, problem_response


class BodyLimitMiddleware:
    """ASGI middleware refusing bodies over ``max_bytes`` with 413."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared < 0 or declared > self.max_bytes:
                    response = _too_large(self.max_bytes)
                    await response(scope, receive, send)
                    return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise SendLess(_too_large_detail(self.max_bytes))
            return message

        await self.app(scope, limited, send)


def _too_large_detail(max_bytes: int) -> str:
    return f"the body is larger than {max_bytes} bytes: send it in smaller parts"


def _too_large(max_bytes: int) -> Any:
    return problem_response(413, SendLess.slug, SendLess.title, _too_large_detail(max_bytes))


def depth_exceeds(value: Any, limit: int) -> bool:
    """True when ``value`` nests containers deeper than ``limit`` (iterative, no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children: Iterable[Any]
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        for child in children:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
    return False


def _json_error(exc: orjson.JSONDecodeError, line: int | None = None) -> FixTheRequest:
    where = f"line {line}" if line is not None else f"line {exc.lineno}, column {exc.colno}"
    return FixTheRequest(f"the body is not valid JSON at {where}")


def parse_records(
    body: bytes, media_type: str, *, max_records: int, max_depth: int
) -> list[dict[str, Any]]:
    """Records of a JSON array or NDJSON body, checked against the limits.

    A record that is not a JSON object is refused with its index; so is one nested too deep.
    """
    if media_type in ("application/x-ndjson", "application/ndjson", "application/jsonl"):
        records: list[Any] = []
        for number, line in enumerate(body.splitlines(), start=1):
            if not line.strip():
                continue
            if len(records) >= max_records:
                raise _too_many(max_records)
            try:
                records.append(orjson.loads(line))
            except orjson.JSONDecodeError as exc:
                raise _json_error(exc, number) from None
    else:
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise _json_error(exc) from None
        if not isinstance(parsed, list):
            raise FixTheRequest("the body must be a JSON array of intake records (or NDJSON)")
        if len(parsed) > max_records:
            raise _too_many(max_records)
        records = parsed
    if not records:
        raise FixTheRequest("the body holds no record")
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            raise FixTheRequest(
                f"record {index} is not a JSON object",
                errors=[{"index": index, "field": "", "rule": "object"}],
            )
        if depth_exceeds(record, max_depth):
            raise FixTheRequest(
                f"record {index} nests deeper than {max_depth} levels",
                errors=[{"index": index, "field": "", "rule": "max_depth"}],
            )
    return records


def _too_many(max_records: int) -> SendLess:
    return SendLess(f"more than {max_records} records in one request: split the batch")


class RateLimiter:
    """Token bucket per caller: ``per_minute`` calls, refilled continuously, burst the same."""

    def __init__(self, per_minute: int) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def check(self, caller: str) -> None:
        """Take one token for ``caller`` or raise :class:`RetryLater` with ``Retry-After``."""
        now = time.monotonic()
        with self._lock:
            tokens, stamp = self._buckets.get(caller, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - stamp) * self.rate)
            if tokens < 1.0:
                self._buckets[caller] = (tokens, now)
                wait = max(1, math.ceil((1.0 - tokens) / self.rate))
                raise RetryLater(
                    "the client's request rate is over its limit",
                    headers={"Retry-After": str(wait)},
                )
            self._buckets[caller] = (tokens - 1.0, now)
            if len(self._buckets) > 10_000:
                self._forget_full(now)

    def _forget_full(self, now: float) -> None:
        full = [
            caller
            for caller, (tokens, stamp) in self._buckets.items()
            if tokens + (now - stamp) * self.rate >= self.capacity
        ]
        for caller in full:
            del self._buckets[caller]
