"""Case: what the gateway stores and shares (BRIEF §4). No names, identifiers or free text.

A case is one person's taking in charge in one city, assembled from every source record of
that city that was linked to the person. ``pid`` is the national pseudonym: the same person
has the same ``pid`` in every city, and a different ``case_id`` in each.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from gateway.schema.codelists import InCodeList
from gateway.schema.intake import Referral, Service, Slug
from gateway.schema.version import SCHEMA_VERSION

Pseudonym = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{8,80}$")]


class Provenance(BaseModel):
    """Which system contributed to a case, and when it last did."""

    model_config = ConfigDict(extra="forbid")

    source: Slug
    system: Annotated[str, InCodeList("source_system")]
    updated_at: dt.datetime


class Case(BaseModel):
    """A pseudonymised case, as stored and as served by ``GET /v1/cases``."""

    model_config = ConfigDict(extra="forbid")

    schema_version: str = SCHEMA_VERSION
    case_id: Pseudonym
    pid: Pseudonym = Field(description="National pseudonym of the person.")
    key_version: int = Field(ge=1, description="Key version of the pid.")
    city: Slug
    sex: Annotated[str, InCodeList("sex")] | None = None
    birth_year: int | None = Field(None, ge=1900, le=2100)
    citizenship: Annotated[str, InCodeList("country")] | None = None
    country_of_birth: Annotated[str, InCodeList("country")] | None = None
    years_in_italy: Annotated[str, InCodeList("years_in_italy_band")] = "unknown"
    permit_category: Annotated[str, InCodeList("permit_category")] | None = None
    resident_in_city: bool | None = None
    opened_on: dt.date | None = None
    closed_on: dt.date | None = None
    status: Annotated[str, InCodeList("case_status")] | None = None
    intake_channel: Annotated[str, InCodeList("intake_channel")] | None = None
    vulnerabilities: list[Annotated[str, InCodeList("vulnerability")]] = Field(default_factory=list)
    services: list[Service] = Field(default_factory=list)
    referrals: list[Referral] = Field(default_factory=list)
    provenance: list[Provenance] = Field(default_factory=list)
    updated_at: dt.datetime
