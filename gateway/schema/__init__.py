"""The common case schema v1 (BRIEF §4): intake records in, pseudonymised cases out."""

from gateway.schema.case import Case, Provenance
from gateway.schema.codelists import CodeList, InCodeList, codelist, codelists
from gateway.schema.intake import (
    CaseInfo,
    Identifiers,
    IntakeRecord,
    Referral,
    Service,
    SourceRef,
    Subject,
)
from gateway.schema.version import SCHEMA_VERSION

__all__ = [
    "SCHEMA_VERSION",
    "Case",
    "CaseInfo",
    "CodeList",
    "Identifiers",
    "InCodeList",
    "IntakeRecord",
    "Provenance",
    "Referral",
    "Service",
    "SourceRef",
    "Subject",
    "codelist",
    "codelists",
]
