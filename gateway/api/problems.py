"""Errors as ``application/problem+json`` (RFC 9457), mapped in one place.

Routes and the layers below raise domain errors — :class:`Problem` subclasses, OAuth errors
of :mod:`gateway.auth` — and :func:`install` maps every one of them, plus FastAPI's own
validation and routing errors, to a problem document. A problem names what went wrong and
where (record index, field path, parameter), never a value that was sent: FastAPI's default
422 body echoes the input, so it is replaced here.

The token endpoint is the one exception: RFC 6749 §5.2 fixes its error format
(``{"error": ..., "error_description": ...}`` as ``application/json``).
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from gateway.auth.errors import InvalidClient, MissingToken, OAuthError
from gateway.auth.rfc6749 import TOKEN_PATH
from gateway.auth.rfc6750 import www_authenticate

logger = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "urn:lgnet:problem:"


class Problem(Exception):
    """A request the gateway refuses; subclasses are named by what the caller should do."""

    status = 400
    slug = "bad-request"
    title = "The request is malformed"

    def __init__(
        self,
        detail: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}


class FixTheRequest(Problem):
    """Malformed body, parameter or header: fix it, retrying as is fails again."""


class NotFound(Problem):
    status = 404
    slug = "not-found"
    title = "No such resource"


class SendLess(Problem):
    """The body or the number of records is over the limit: split it."""

    status = 413
    slug = "too-large"
    title = "The request is too large"


class UseAnotherMediaType(Problem):
    status = 415
    slug = "unsupported-media-type"
    title = "Unsupported media type"


class UseAnotherKey(Problem):
    """The ``Idempotency-Key`` was used for a different request: pick a new key."""

    status = 422
    slug = "idempotency-key-reused"
    title = "The Idempotency-Key was used for another request"


class RetryLater(Problem):
    """Rate limited or temporarily unavailable: retry after ``Retry-After`` seconds."""

    status = 429
    slug = "rate-limited"
    title = "Too many requests"


class NotReady(Problem):
    status = 503
    slug = "not-ready"
    title = "The gateway is not ready"


def problem_response(
    status: int,
    slug: str,
    title: str,
    detail: str | None = None,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {"type": TYPE_PREFIX + slug, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    return Response(orjson.dumps(body), status, headers=headers, media_type=PROBLEM_JSON)


def _is_token_endpoint(request: Request) -> bool:
    return request.url.path == TOKEN_PATH


async def _problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return problem_response(
        exc.status, exc.slug, exc.title, exc.detail, errors=exc.errors, headers=exc.headers
    )


async def _oauth(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, OAuthError)
    if _is_token_endpoint(request):
        headers = {"Cache-Control": "no-store"}
        if isinstance(exc, InvalidClient) and request.headers.get("authorization"):
            headers["WWW-Authenticate"] = 'Basic realm="lgnet"'
        body = {"error": exc.error, "error_description": exc.description}
        return Response(
            orjson.dumps(body), exc.status, headers=headers, media_type="application/json"
        )
    scope = getattr(exc, "scope", None)
    if isinstance(exc, MissingToken):
        challenge = www_authenticate("")
        slug, title = "missing-token", "A bearer token is required"
    else:
        challenge = www_authenticate(exc.error, exc.description, scope)
        slug = exc.error.replace("_", "-")
        title = {
            "invalid_token": "The access token is not valid",
            "insufficient_scope": "The access token does not allow this request",
        }.get(exc.error, "The request is malformed")
    headers = {"WWW-Authenticate": challenge} if exc.status in (401, 403) else {}
    return problem_response(exc.status, slug, title, exc.description, headers=headers)


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc)


async def _validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"field": _location(error.get("loc", ())), "rule": error.get("type", "invalid")}
        for error in exc.errors()
    ]
    return problem_response(
        422,
        "invalid-parameters",
        "A parameter of the request is invalid",
        "see errors: each names the parameter and the rule it breaks",
        errors=errors,
    )


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    titles = {404: "No such resource", 405: "Method not allowed"}
    title = titles.get(exc.status_code, "The request cannot be served")
    return problem_response(
        exc.status_code, f"http-{exc.status_code}", title, headers=dict(exc.headers or {})
    )


async def _database(request: Request, exc: Exception) -> Response:
    # Connection lost, lock timeout, database restarting: transient, and nothing was applied
    # (the transaction rolled back). The driver's message may quote SQL: log the class only.
    logger.warning("database unavailable", extra={"error": type(exc).__name__})
    return problem_response(
        503,
        "database-unavailable",
        "The database is unavailable",
        "nothing was applied: retry after the delay",
        headers={"Retry-After": "5"},
    )


async def _gone(request: Request, exc: Exception) -> Response:
    # The client hung up while sending: nothing was applied and nobody is listening.
    logger.info("client disconnected before its request was read")
    return problem_response(400, "client-disconnected", "The client disconnected")


async def _unexpected(request: Request, exc: Exception) -> Response:
    # The traceback goes to the (redacting) log; the client learns nothing about internals.
    logger.error("unhandled error", exc_info=exc, extra={"error": type(exc).__name__})
    return problem_response(500, "internal-error", "Internal error")


def install(app: FastAPI) -> None:
    """Register the one mapping from errors to responses."""
    app.add_exception_handler(Problem, _problem)
    app.add_exception_handler(OAuthError, _oauth)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(OperationalError, _database)
    app.add_exception_handler(ClientDisconnect, _gone)
    app.add_exception_handler(Exception, _unexpected)
