"""``GET /v1/summaries``: programme KPIs with disclosure control (scope ``summaries:read``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from gateway import audit
from gateway.api.deps import State, SummariesReader
from gateway.api.models import Problem
from gateway.api.problems import FixTheRequest, RetryLater
from gateway.auth.rfc6750 import require
from gateway.auth.scopes import SUMMARIES_READ
from gateway.summaries.preaggregate import RefreshConflictError
from gateway.summaries.render import CSV_MEDIA_TYPE, to_csv, to_json, wants_csv
from gateway.summaries.report import Summary, SummaryRequest, SummaryRequestError, summarise

router = APIRouter(tags=["summaries"])

ACTION = "GET /v1/summaries"


@router.get(
    "/v1/summaries",
    response_model=Summary,
    responses={
        200: {
            "content": {CSV_MEDIA_TYPE: {"schema": {"type": "string"}}},
            "description": "The protected tables: JSON, or CSV (one row per cell) when asked "
            "by Accept. Withheld cells have a null value and say why: primary (1..k−1 "
            "people) or secondary (withheld so that no primary cell can be recomputed).",
        },
        400: {"model": Problem},
        401: {"model": Problem},
        403: {"model": Problem},
        429: {"model": Problem},
    },
    summary="Read the programme KPIs by city and period",
)
def summaries(
    principal: SummariesReader,
    state: State,
    request: Request,
    start: Annotated[
        dt.date | None,
        Query(alias="from", description="First day: selects the periods that overlap it."),
    ] = None,
    end: Annotated[dt.date | None, Query(alias="to", description="Last day.")] = None,
    city: Annotated[
        list[str] | None,
        Query(description="City slugs or 'national' (repeated or comma-separated); default all."),
    ] = None,
    by: Annotated[
        list[str] | None,
        Query(
            description="month, quarter or year (default: the whole programme) and any of "
            "sex, age_band, citizenship_area, vulnerability."
        ),
    ] = None,
) -> Response:
    """Distinct people per KPI, city and period, with breakdowns and progress to targets."""
    asked = SummaryRequest.parse(start=start, end=end, city=city or [], by=by or [])
    if principal.city is not None:
        # A token bound to a city reads that city's figures only.
        for area in asked.areas or (principal.city,):
            require(principal, SUMMARIES_READ, city=area)
        asked = SummaryRequest(asked.start, asked.end, (principal.city,), asked.by)
    try:
        summary = summarise(state.engine, asked, k=state.settings.k_threshold)
    except SummaryRequestError as exc:
        raise FixTheRequest(
            str(exc), errors=[{"field": f"query.{exc.parameter}", "rule": "invalid"}]
        ) from None
    except RefreshConflictError:
        raise RetryLater(
            "the summaries are being refreshed; retry shortly", headers={"Retry-After": "2"}
        ) from None
    with state.engine.begin() as connection:
        audit.append(
            connection,
            actor=principal.actor,
            action=ACTION,
            city=principal.city,
            count=len(summary.cells),
            detail={"withheld": str(summary.suppressed_primary + summary.suppressed_secondary)},
        )
    if wants_csv(request.headers.get("accept")):
        return Response(to_csv(summary), media_type=f"{CSV_MEDIA_TYPE}; charset=utf-8")
    return Response(to_json(summary), media_type="application/json")
