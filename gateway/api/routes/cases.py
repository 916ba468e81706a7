"""``GET /v1/cases``: the pseudonymised case feed (scope ``cases:read``)."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from gateway import audit
from gateway.api.deps import CasesReader, State
from gateway.api.feed import decode_cursor, encode_cursor, read_page
from gateway.api.models import CasePage, Problem

router = APIRouter(tags=["cases"])

NDJSON = "application/x-ndjson"
ACTION = "GET /v1/cases"


def wants_ndjson(accept: str | None) -> bool:
    return accept is not None and ("ndjson" in accept or "jsonl" in accept)


@router.get(
    "/v1/cases",
    response_model=CasePage,
    responses={
        200: {
            "content": {NDJSON: {"schema": {"type": "string"}}},
            "description": "A page of cases: JSON, or NDJSON (one case a line) when asked by "
            "Accept; the next cursor is in 'next' and in the Link header.",
        },
        400: {"model": Problem},
        401: {"model": Problem},
        403: {"model": Problem},
    },
    summary="Read the case feed from a cursor",
)
def cases(
    principal: CasesReader,
    state: State,
    request: Request,
    after: Annotated[
        str | None, Query(max_length=200, description="The 'next' of the previous page.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Cases per page.")] = 100,
) -> Response:
    """Cases in change order after ``after``. A case changed since reappears further on; a
    token bound to a city reads only that city's cases."""
    position = decode_cursor(after)
    with audit.transaction(state.engine) as connection:
        items, last = read_page(connection, after=position, limit=limit, city=principal.city)
        audit.append(
            connection, actor=principal.actor, action=ACTION, city=principal.city, count=len(items)
        )
    cursor = encode_cursor(last)
    headers = {"Link": f'</v1/cases?after={cursor}&limit={limit}>; rel="next"'}
    if wants_ndjson(request.headers.get("accept")):
        body = b"".join(orjson.dumps(item) + b"\n" for item in items)
        return Response(body, headers=headers, media_type=NDJSON)
    return Response(
        orjson.dumps({"items": items, "next": cursor}),
        headers=headers,
        media_type="application/json",
    )
