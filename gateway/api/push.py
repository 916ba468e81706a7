"""One push, whatever its format: the sync pipeline, the audit entry and the idempotency
record in ONE transaction, then the per-record report.

The records go through :func:`gateway.sync.pipeline.ingest` — the same function scheduled
pulls use — so a pushed record is mapped, validated, pseudonymised, linked, stored (or
quarantined) exactly like a pulled one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.exc import IntegrityError

from gateway import audit
from gateway.api.idempotency import StoredResponse, lookup, remember
from gateway.api.problems import UseAnotherKey
from gateway.api.state import AppState
from gateway.auth.rfc6750 import Principal
from gateway.sync.pipeline import IngestReport, ingest
from mappings.compiler import Mapper

JSON = "application/json"
REPLAYED_HEADER = "Idempotency-Replayed"


@dataclass(frozen=True)
class Push:
    """Where the records go and how to tell a retry."""

    city: str
    source: str
    action: str  # the route template, for the audit log
    system: str | None = None
    mapper: Mapper | None = None
    ignored: int = 0
    key: str | None = None
    fingerprint: str | None = None


def report_body(report: IngestReport, ignored: int = 0) -> bytes:
    results: list[dict[str, Any]] = []
    for result in report.results:
        item: dict[str, Any] = {"index": result.index, "outcome": result.outcome}
        if result.outcome == "rejected":
            item.update(
                field=result.field,
                rule=result.rule,
                reason=result.reason,
                position=result.position,
            )
        results.append(item)
    return orjson.dumps(
        {
            "received": report.read,
            "accepted": report.accepted,
            "duplicate": report.duplicate,
            "rejected": report.rejected,
            "quarantined": report.quarantined,
            "ignored": ignored,
            "results": results,
        }
    )


def replay(state: AppState, principal: Principal, push: Push) -> StoredResponse | None:
    """The stored response of an earlier identical request; 422 for a reused key."""
    if push.key is None:
        return None
    with state.engine.connect() as connection:
        found = lookup(connection, principal.actor, push.key, state.idempotency_ttl)
    if found is None:
        return None
    fingerprint, response = found
    if fingerprint != push.fingerprint:
        raise UseAnotherKey("this Idempotency-Key was used for a different request: use a new key")
    return response


def run_push(
    state: AppState,
    principal: Principal,
    push: Push,
    records: Iterable[Mapping[str, Any] | Any],
) -> tuple[StoredResponse, bool]:
    """Apply the push; return the response and whether it is a replay of an earlier one."""
    stored = replay(state, principal, push)
    if stored is not None:
        return stored, True
    try:
        with audit.transaction(state.engine) as connection:
            report = ingest(
                connection,
                city=push.city,
                source=push.source,
                records=records,
                mapper=push.mapper,
                settings=state.settings,
                system=push.system,
            )
            response = StoredResponse(200, JSON, report_body(report, push.ignored))
            audit.append(
                connection,
                actor=principal.actor,
                action=push.action,
                city=push.city,
                count=report.read,
                detail={
                    "source": push.source,
                    "accepted": report.accepted,
                    "duplicate": report.duplicate,
                    "rejected": report.rejected,
                },
            )
            if push.key is not None and push.fingerprint is not None:
                remember(
                    connection,
                    actor=principal.actor,
                    key=push.key,
                    request_hash=push.fingerprint,
                    response=response,
                    ttl=state.idempotency_ttl,
                )
    except IntegrityError:
        # A concurrent request with the same key won; answer with what it stored.
        stored = replay(state, principal, push)
        if stored is None:
            raise
        return stored, True
    state.metrics.count_records(
        push.city,
        push.source,
        {"accepted": report.accepted, "duplicate": report.duplicate, "rejected": report.rejected},
    )
    return response, False
