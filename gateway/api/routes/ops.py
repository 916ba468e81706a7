"""``/healthz`` (the process answers), ``/readyz`` (database and migrations), ``/metrics``."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse
from starlette.responses import Response

from gateway.api.deps import State
from gateway.api.models import Health
from gateway.api.operations import readiness
from gateway.api.problems import problem_response

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health, summary="Liveness")
def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Health,
    responses={503: {"description": "Database unreachable or migrations not applied."}},
    summary="Readiness",
)
def readyz(state: State) -> Response:
    checks = readiness(state.engine)
    if all(checks.values()):
        return Response(
            Health(status="ready", checks=checks).model_dump_json(),
            200,
            media_type="application/json",
        )
    failed = ", ".join(name for name, ok in checks.items() if not ok)
    return problem_response(503, "not-ready", "The gateway is not ready", f"failed: {failed}")


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    summary="Prometheus metrics",
)
def metrics(state: State) -> Response:
    body, content_type = state.metrics.render()
    return Response(body, media_type=content_type)
