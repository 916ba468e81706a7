"""Pushes from a city's systems (scope ``records:write``, token bound to the city):

- ``POST /v1/cities/{city}/records``: intake records, a JSON array or NDJSON;
- ``POST /v1/cities/{city}/fhir``: a FHIR R4 Bundle, through the default FHIR mapping;
- ``POST /v1/cities/{city}/files/{source}``: a CSV file, through that source's mapping.

Each answers per record (index, accepted / duplicate / rejected with field path and rule)
and honours ``Idempotency-Key``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import APIRouter, Header, Path, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response

from adapters.errors import FatalSourceError
from adapters.fhir_r4_bundle import parse_bundle
from gateway.api.deps import RecordsWriter, State
from gateway.api.idempotency import HEADER, StoredResponse, check_key, fingerprint
from gateway.api.limits import depth_exceeds, parse_records
from gateway.api.models import Problem, PushReport
from gateway.api.problems import FixTheRequest, NotFound, SendLess, UseAnotherMediaType
from gateway.api.push import REPLAYED_HEADER, Push, run_push
from gateway.api.sources import csv_source, fhir_source
from gateway.cities import is_city

router = APIRouter(prefix="/v1/cities/{city}", tags=["records"])

SLUG = r"^[a-z][a-z0-9-]{1,40}$"
PUSH_SOURCE = "push"
JSON_TYPES = ("application/json", "application/x-ndjson", "application/ndjson", "application/jsonl")
FHIR_TYPES = ("application/fhir+json", "application/json")
CSV_TYPES = ("text/csv", "application/csv", "application/octet-stream", "text/plain")

City = Annotated[str, Path(pattern=SLUG, description="The city's slug, e.g. 'roma'.")]
Source = Annotated[str, Path(pattern=SLUG, description="The source's name in the city.")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=HEADER,
        description="Retry-safe key: the same key and body return the first response.",
    ),
]
RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "Malformed body."},
    401: {"model": Problem, "description": "Missing or invalid token."},
    403: {"model": Problem, "description": "Scope missing or token bound to another city."},
    404: {"model": Problem, "description": "Unknown city or source."},
    413: {"model": Problem, "description": "Body or record count over the limit."},
    415: {"model": Problem, "description": "Unsupported media type."},
    422: {"model": Problem, "description": "Idempotency-Key reused for another request."},
    429: {"model": Problem, "description": "Rate limited; see Retry-After."},
}

T = TypeVar("T")


def _body_doc(content: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": content}}


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _check_city(city: str) -> None:
    if not is_city(city):
        raise NotFound("no such city in the network")


def _at_most(items: Iterable[T], limit: int) -> Iterator[T]:
    for count, item in enumerate(items, start=1):
        if count > limit:
            raise SendLess(f"more than {limit} records in one request: split the file")
        yield item


def _respond(stored: StoredResponse, replayed: bool) -> Response:
    headers = {REPLAYED_HEADER: "true"} if replayed else None
    return Response(stored.body, stored.status_code, headers=headers, media_type=stored.media_type)


@router.post(
    "/records",
    response_model=PushReport,
    responses=RESPONSES,
    openapi_extra=_body_doc(
        {
            "application/json": {
                "schema": {"type": "array", "items": {"$ref": "#/components/schemas/IntakeRecord"}}
            },
            "application/x-ndjson": {"schema": {"type": "string"}},
        }
    ),
    summary="Push intake records (JSON array or NDJSON)",
)
async def push_records(
    city: City,
    request: Request,
    principal: RecordsWriter,
    state: State,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    _check_city(city)
    key = check_key(idempotency_key)
    media = _media_type(request)
    if media not in JSON_TYPES:
        raise UseAnotherMediaType("send application/json (an array) or application/x-ndjson")
    body = await request.body()
    settings = state.settings
    push = Push(
        city=city,
        source=PUSH_SOURCE,
        action="POST /v1/cities/{city}/records",
        key=key,
        fingerprint=fingerprint("POST", request.url.path, media, body),
    )

    def work() -> tuple[StoredResponse, bool]:
        records = parse_records(
            body,
            media,
            max_records=settings.max_records_per_request,
            max_depth=settings.max_json_depth,
        )
        return run_push(state, principal, push, records)

    return _respond(*await run_in_threadpool(work))


@router.post(
    "/fhir",
    response_model=PushReport,
    responses=RESPONSES,
    openapi_extra=_body_doc(
        {
            "application/fhir+json": {"schema": {"type": "object"}},
            "application/json": {"schema": {"type": "object"}},
        }
    ),
    summary="Push a FHIR R4 Bundle",
)
async def push_fhir(
    city: City,
    request: Request,
    principal: RecordsWriter,
    state: State,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """One record per Patient with its EpisodeOfCare, Encounter, ServiceRequest and Condition
    resources; resources of other types are ignored and counted."""
    _check_city(city)
    key = check_key(idempotency_key)
    media = _media_type(request)
    if media not in FHIR_TYPES:
        raise UseAnotherMediaType("send application/fhir+json")
    body = await request.body()
    settings = state.settings

    def work() -> tuple[StoredResponse, bool]:
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise FixTheRequest(
                f"the body is not valid JSON at line {exc.lineno}, column {exc.colno}"
            ) from None
        if depth_exceeds(document, settings.max_json_depth):
            raise FixTheRequest(f"the Bundle nests deeper than {settings.max_json_depth} levels")
        compiled = fhir_source(settings, city)
        try:
            parsed = parse_bundle(document, source=compiled.source)
        except FatalSourceError as exc:
            raise FixTheRequest(f"not a usable FHIR Bundle: {exc}") from None
        if len(parsed.records) > settings.max_records_per_request:
            raise SendLess(
                f"more than {settings.max_records_per_request} patients in one Bundle: split it"
            )
        push = Push(
            city=city,
            source=compiled.source,
            action="POST /v1/cities/{city}/fhir",
            system=compiled.system,
            mapper=compiled.mapper,
            ignored=sum(parsed.stats.skipped.values()),
            key=key,
            fingerprint=fingerprint("POST", request.url.path, media, body),
        )
        return run_push(state, principal, push, parsed.records)

    return _respond(*await run_in_threadpool(work))


@router.post(
    "/files/{source}",
    response_model=PushReport,
    responses=RESPONSES,
    openapi_extra=_body_doc({"text/csv": {"schema": {"type": "string"}}}),
    summary="Push a CSV file through the source's mapping",
)
async def push_file(
    city: City,
    source: Source,
    request: Request,
    principal: RecordsWriter,
    state: State,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """The file is read with the source's CSV options (encoding, delimiter, preamble) and
    mapped with its mapping; ``position`` in a result is the line in the file."""
    _check_city(city)
    key = check_key(idempotency_key)
    media = _media_type(request)
    if media not in CSV_TYPES:
        raise UseAnotherMediaType("send the file as text/csv")
    body = await request.body()
    settings = state.settings

    def work() -> tuple[StoredResponse, bool]:
        compiled = csv_source(settings, city, source)
        records = compiled.csv_adapter().read_stream(body, name="upload")
        push = Push(
            city=city,
            source=compiled.source,
            action="POST /v1/cities/{city}/files/{source}",
            system=compiled.system,
            mapper=compiled.mapper,
            key=key,
            fingerprint=fingerprint("POST", request.url.path, media, body),
        )
        try:
            return run_push(
                state, principal, push, _at_most(records, settings.max_records_per_request)
            )
        except FatalSourceError as exc:
            raise FixTheRequest(f"the file cannot be read: {exc}") from None

    return _respond(*await run_in_threadpool(work))
