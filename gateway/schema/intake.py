"""Intake record: what arrives from a city's system, in the common schema (BRIEF §4).

An intake record still holds identifiers and names. It is never stored as such: the privacy
layer turns the subject into pseudonyms and generalised demographics, and the record into a
:class:`gateway.schema.case.Case`.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from gateway.schema.codelists import InCodeList
from gateway.schema.version import SCHEMA_VERSION

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{1,40}$")]
Identifier = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False, str_strip_whitespace=True)


class SourceRef(_Model):
    """Where a record comes from: the city's system and its own record id."""

    city: Slug
    source: Slug = Field(description="Name of the source definition, e.g. 'welfare-soap'.")
    system: Annotated[str, InCodeList("source_system")]
    record_id: Identifier
    updated_at: dt.datetime | None = None


class Identifiers(_Model):
    """Identifiers of a person, strongest first (BRIEF §5). All optional."""

    fiscal_code: Identifier | None = Field(None, description="Codice fiscale (16 characters).")
    provisional_fiscal_code: Identifier | None = Field(
        None, description="Provisional 11-digit numeric fiscal code."
    )
    stp_code: Identifier | None = Field(None, description="STP code (16 characters).")
    eni_code: Identifier | None = Field(None, description="ENI code (16 characters).")
    local_id: Identifier | None = Field(None, description="The source system's person id.")


class Subject(_Model):
    """The person, as the source knows them."""

    identifiers: Identifiers = Field(default_factory=Identifiers)
    family_name: Name | None = None
    given_names: Name | None = None
    sex: Annotated[str, InCodeList("sex")] | None = None
    birth_date: dt.date | None = None
    country_of_birth: Annotated[str, InCodeList("country")] | None = None
    citizenship: Annotated[str, InCodeList("country")] | None = None
    arrival_date: dt.date | None = None
    permit_type: Annotated[str, InCodeList("permit_category")] | None = None
    permit_expiry: dt.date | None = None
    languages: list[Language] = Field(default_factory=list, max_length=10)
    resident_in_city: bool | None = Field(
        None, description="Registry residence check: true, false, or null when unknown."
    )


class CaseInfo(_Model):
    """The taking in charge (presa in carico)."""

    opened_on: dt.date | None = None
    closed_on: dt.date | None = None
    intake_channel: Annotated[str, InCodeList("intake_channel")] | None = None
    status: Annotated[str, InCodeList("case_status")] | None = None
    vulnerabilities: list[Annotated[str, InCodeList("vulnerability")]] = Field(
        default_factory=list, max_length=30
    )
    needs: list[Annotated[str, InCodeList("service_type")]] = Field(
        default_factory=list, max_length=30
    )

    @model_validator(mode="after")
    def _closed_after_opened(self) -> CaseInfo:
        if self.opened_on and self.closed_on and self.closed_on < self.opened_on:
            raise ValueError("closed_on is before opened_on")
        return self


class Service(_Model):
    type: Annotated[str, InCodeList("service_type")]
    start: dt.date | None = None
    end: dt.date | None = None
    status: Annotated[str, InCodeList("service_status")] | None = None


class Referral(_Model):
    target: Annotated[str, InCodeList("referral_target")]
    date: dt.date | None = None
    outcome: Annotated[str, InCodeList("referral_outcome")] | None = None


class IntakeRecord(_Model):
    """One record from a city's system in the common schema, identifiers included."""

    schema_version: str = SCHEMA_VERSION
    source: SourceRef
    subject: Subject = Field(default_factory=Subject)
    case: CaseInfo | None = None
    services: list[Service] = Field(default_factory=list, max_length=200)
    referrals: list[Referral] = Field(default_factory=list, max_length=200)
    deleted: bool = Field(False, description="Tombstone: the source deleted this record.")
