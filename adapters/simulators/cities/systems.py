"""What each simulated system holds: which ground-truth records, under which ids, how written.

One entry point per question, whatever the kind of the source::

    served(spec, truth)        # does this system hold the record?
    record_id(spec, truth)     # the id the system gives it (what the gateway sees)
    carried(spec, truth)       # the identifiers the system writes for the person
    render(spec, truth)        # the record as the system serves it
    sample(spec, records)      # (suffix, bytes): a sample file for `lgnet mapping ...`
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from adapters.simulators.cities import anpr, csv, fhir, rest, soap
from adapters.simulators.cities.catalogue import SourceSpec
from adapters.simulators.cities.formats import identifiers
from adapters.simulators.truth import SourceRecordTruth

__all__ = ["carried", "record_id", "render", "sample", "served"]

SAMPLE_DAY = "2025-12-31"


def served(spec: SourceSpec, truth: SourceRecordTruth) -> bool:
    """Whether ``spec``'s system holds ``truth`` (its city and system, and something to ask)."""
    if truth.city != spec.city or truth.system != spec.system:
        return False
    return spec.kind != "anpr" or anpr.code_of(truth) is not None


def record_id(spec: SourceSpec, truth: SourceRecordTruth) -> str:
    """The id under which the system serves ``truth`` (the fiscal code for a registry check)."""
    if spec.kind == "anpr":
        code = anpr.code_of(truth)
        if code is None:
            raise ValueError("the registry check holds no record without a code")
        return code
    return truth.record_id


def carried(spec: SourceSpec, truth: SourceRecordTruth) -> dict[str, str | None]:
    """The identifiers of ``truth`` as the system carries them (the check: just its code)."""
    ids = identifiers(truth.subject)
    if spec.kind != "anpr":
        return ids
    code = anpr.code_of(truth)
    only = dict.fromkeys(ids)
    only["fiscal_code" if code and len(code) == 16 else "provisional_fiscal_code"] = code
    return only


def render(spec: SourceSpec, truth: SourceRecordTruth) -> Any:
    """The record as served: a dict (SOAP, REST), a row (CSV), resources (FHIR), a code."""
    if spec.kind == "soap":
        return soap.render(spec, truth)
    if spec.kind == "rest":
        return rest.render(spec, truth)
    if spec.kind == "csv":
        return csv.render(spec, truth)
    if spec.kind == "fhir_r4":
        return fhir.render(spec, truth)
    return anpr.code_of(truth)


def sample(spec: SourceSpec, records: Iterable[SourceRecordTruth]) -> tuple[str, bytes]:
    """A sample of ``records`` as ``lgnet mapping explain|coverage`` reads them for ``spec``:
    the export file (CSV), a page of the API (REST), the SOAP answer, a FHIR Bundle, or the
    registry check's answers (JSON)."""
    chosen = [t for t in records if served(spec, t)]
    if spec.kind == "csv":
        rows = [csv.render(spec, t) for t in chosen]
        header = list(rows[0]) if rows else []
        return ".csv", csv.encode(spec, rows, header=header)
    if spec.kind == "rest":
        layout = rest.LAYOUTS[str(spec.layout)]
        page = {layout.records_path: [rest.render(spec, t) for t in chosen]}
        return ".json", _json(page)
    if spec.kind == "soap":
        return ".xml", soap.answer_xml(soap.render(spec, t) for t in chosen)
    if spec.kind == "fhir_r4":
        return ".json", fhir.bundle(r for t in chosen for r in fhir.render(spec, t))
    return ".json", _json([anpr.record(t, spec.city, SAMPLE_DAY) for t in chosen])


def _json(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8") + b"\n"
