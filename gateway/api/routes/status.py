"""``GET /v1/status``: sources, quarantine and keys, for operators (scope ``admin``)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from gateway.api.deps import Operator, State
from gateway.api.models import Problem, StatusReport
from gateway.api.operations import status_report

router = APIRouter(tags=["operations"])


@router.get(
    "/v1/status",
    response_model=StatusReport,
    responses={401: {"model": Problem}, 403: {"model": Problem}},
    summary="Status of sources, quarantine and keys",
)
async def status(principal: Operator, state: State) -> StatusReport:
    report = await run_in_threadpool(status_report, state.engine, state.keys)
    return StatusReport.model_validate(report)
