"""The FastAPI application: ``create_app(settings=None, engine=None)``.

Routers are included from :mod:`gateway.api.routes`, plus ``gateway.api.routes.summaries``
when that feature is installed. The lifespan makes sure a signing key exists and, with
``LGNET_SCHEDULER=on``, runs the sync scheduler (``gateway.sync.scheduler``) when present.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.openapi.utils import get_openapi
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.api import problems
from gateway.api.limits import BodyLimitMiddleware
from gateway.api.routes import cases, oauth2, ops, records, status
from gateway.api.state import AppState, build_state
from gateway.metrics import Metrics
from gateway.schema.intake import IntakeRecord
from gateway.settings import Settings, get_settings
from gateway.storage.engine import make_engine

logger = logging.getLogger(__name__)


def _version() -> str:
    try:
        return version("lgnet-gateway")
    except PackageNotFoundError:
        return "0.0.0"


DESCRIPTION = (
    "Gateway of the LGNet Emergency Assistance network: cities push records, the national "
    "platform pulls a pseudonymised case feed and aggregated summaries, under OAuth2. "
    "Errors are application/problem+json (RFC 9457), except the token endpoint's (RFC 6749)."
)


class RequestMetricsMiddleware:
    """Counts every request by route template (never the concrete path) and status."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status_code = 500

        async def sending(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")
            self.metrics.observe_request(
                getattr(route, "path", None),
                scope.get("method", "GET"),
                status_code,
                time.perf_counter() - started,
            )


def _optional_module(name: str) -> Any | None:
    """A module another feature provides, or None when it is not there (yet)."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and name.startswith(exc.name):
            return None
        raise


def _optional_routers() -> list[APIRouter]:
    summaries = _optional_module("gateway.api.routes.summaries")
    router = getattr(summaries, "router", None)
    return [router] if isinstance(router, APIRouter) else []


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    state: AppState = app.state.lgnet
    ensure = getattr(state.keys, "ensure", None)
    if ensure is not None:
        try:
            await run_in_threadpool(ensure)
        except SQLAlchemyError as exc:
            # Not migrated yet: /readyz says so; the key is created on first use.
            logger.warning("no signing key yet", extra={"error": type(exc).__name__})
    scheduler = None
    if state.settings.scheduler == "on":
        scheduler = _optional_module("gateway.sync.scheduler")
        if scheduler is not None:
            scheduler.start(state)
    try:
        yield
    finally:
        if scheduler is not None:
            scheduler.stop()


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is None:
        document = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        # The push body is read raw (JSON array or NDJSON); publish the record's schema.
        schema = IntakeRecord.model_json_schema(ref_template="#/components/schemas/{model}")
        components = document.setdefault("components", {}).setdefault("schemas", {})
        components.update(schema.pop("$defs", {}))
        components["IntakeRecord"] = schema
        _problems_for_validation_errors(document)
        app.openapi_schema = document
    return app.openapi_schema


def _problems_for_validation_errors(document: dict[str, Any]) -> None:
    """FastAPI documents its own 422 body; ours is a problem document (gateway.api.problems)."""
    problem = {"$ref": "#/components/schemas/Problem"}
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            response = operation.get("responses", {}).get("422")
            if response is None:
                continue
            content = response.get("content", {})
            if "application/json" in content and "HTTPValidationError" in str(content):
                response["content"] = {problems.PROBLEM_JSON: {"schema": problem}}
                response["description"] = "A parameter is invalid, or a problem as documented."
    schemas = document.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """The gateway's ASGI app. Nothing touches the database before the first request."""
    settings = settings or get_settings()
    engine = engine or make_engine(settings.database_url)
    state = build_state(settings, engine)
    app = FastAPI(
        title="LGNet gateway",
        version=_version(),
        description=DESCRIPTION,
        lifespan=_lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.lgnet = state
    problems.install(app)
    for router in (oauth2.router, records.router, cases.router, status.router, ops.router):
        app.include_router(router)
    for router in _optional_routers():
        app.include_router(router)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestMetricsMiddleware, metrics=state.metrics)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app
