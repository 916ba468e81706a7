"""Response models of the API: what the OpenAPI document promises.

Routes build the JSON themselves (with orjson, for speed and so that a stored idempotent
response is byte-identical); these models describe it, and tests validate responses with them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gateway.schema.case import Case


class ProblemError(BaseModel):
    """Where a problem is: a record index and/or a field path, and the rule broken."""

    index: int | None = None
    field: str = ""
    rule: str


class Problem(BaseModel):
    """An error, as ``application/problem+json`` (RFC 9457)."""

    type: str = Field(examples=["urn:lgnet:problem:too-large"])
    title: str
    status: int
    detail: str | None = None
    errors: list[ProblemError] | None = None


class OAuthErrorBody(BaseModel):
    """A token endpoint error (RFC 6749 §5.2)."""

    error: str
    error_description: str | None = None


class TokenBody(BaseModel):
    """A token response (RFC 6749 §5.1)."""

    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int
    scope: str


class RecordOutcome(BaseModel):
    """What happened to one record of a push; ``index`` counts from 0 in the body."""

    index: int
    outcome: Literal["accepted", "duplicate", "rejected"]
    field: str | None = Field(None, description="Field path of the problem (rejected only).")
    rule: str | None = Field(None, description="The rule the record broke (rejected only).")
    reason: str | None = Field(None, description="What is wrong, never the value sent.")
    position: str | None = Field(None, description="Where in a file the record was.")


class PushReport(BaseModel):
    """Counts and per-record outcomes of a push."""

    model_config = ConfigDict(extra="forbid")

    received: int
    accepted: int
    duplicate: int
    rejected: int
    quarantined: int
    ignored: int = Field(0, description="Parts of the input that are not records (FHIR).")
    results: list[RecordOutcome]


class CasePage(BaseModel):
    """A page of the case feed; pass ``next`` as ``after`` to read on."""

    items: list[Case]
    next: str


class Jwks(BaseModel):
    keys: list[dict[str, Any]]


class Health(BaseModel):
    status: Literal["ok", "ready", "not ready"]
    checks: dict[str, bool] = Field(default_factory=dict)


class SourceStatus(BaseModel):
    city: str
    source: str
    cursor_updated_at: dt.datetime | None = None
    last_run: dict[str, Any] | None = None


class QuarantineCount(BaseModel):
    city: str
    source: str
    waiting: int


class SigningKeyStatus(BaseModel):
    kid: str
    active: bool


class PseudonymKeyStatus(BaseModel):
    domain: str
    current_version: int
    rotated_at: dt.datetime | None = None


class StatusReport(BaseModel):
    """Operators' view: sources, quarantine, keys, database."""

    sources: list[SourceStatus]
    quarantine: list[QuarantineCount]
    signing_keys: list[SigningKeyStatus]
    pseudonym_keys: list[PseudonymKeyStatus]
    database: dict[str, Any]
