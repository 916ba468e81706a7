"""Golden files: a sample input beside each source definition, and the records it must give.

Convention, for every ``<folder>/<city>/<source>.yaml``::

    <folder>/<city>/golden/<source>.input.csv      (or .json, .ndjson, .xml)
    <folder>/<city>/golden/<source>.expected.json

The expected file is a JSON array with one entry per input record: the intake record (dates
as ISO text), or ``{"record_error": {"field": ..., "rule": ...}}`` for a record that must be
refused. ``LGNET_UPDATE_GOLDEN=1`` makes the test suite rewrite expected files (review the diff).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from mappings.compiler import compile_mapping
from mappings.definition import load_source
from mappings.errors import RecordError
from mappings.paths import source_files
from mappings.samples import read_samples

UPDATE_ENV = "LGNET_UPDATE_GOLDEN"


@dataclass(frozen=True)
class GoldenCase:
    definition: Path
    input: Path | None
    expected: Path

    @property
    def name(self) -> str:
        return f"{self.definition.parent.name}/{self.definition.stem}"


def golden_cases(root: Path) -> list[GoldenCase]:
    """One case per source definition under ``root`` (``input`` is None without a sample)."""
    cases = []
    for definition in source_files(root):
        folder = definition.parent / "golden"
        inputs = sorted(folder.glob(f"{definition.stem}.input.*"))
        cases.append(
            GoldenCase(
                definition,
                inputs[0] if inputs else None,
                folder / f"{definition.stem}.expected.json",
            )
        )
    return cases


def jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [jsonable(item) for item in value]
    return value


def run_golden(case: GoldenCase) -> list[Any]:
    """What the compiled mapping gives for the case's input, in the expected file's shape."""
    if case.input is None:
        raise FileNotFoundError(f"{case.name}: no golden input")
    definition = load_source(case.definition, resolve_env=False)
    mapper = compile_mapping(definition)
    results: list[Any] = []
    for sample in read_samples(case.input, definition):
        if sample.problem is not None:
            results.append({"read_error": sample.problem})
            continue
        try:
            results.append(
                jsonable(mapper(sample.data, sample.record_id, sample.updated_at, sample.deleted))
            )
        except RecordError as error:
            results.append({"record_error": {"field": error.field, "rule": error.rule}})
    return results


def render(results: list[Any]) -> str:
    return json.dumps(results, indent=2, ensure_ascii=False) + "\n"
