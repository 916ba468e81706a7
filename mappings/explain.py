"""``explain``: one record, field by field: source value -> rule -> result.

For the person writing a mapping, on their own machine, with their own sample: unlike every
other output of the project, the rows show values. Never log them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mappings.definition import SourceDefinition
from mappings.interpreter import ExplainRow, Run
from mappings.plan import build_plan
from mappings.samples import Sample


def _unpack(record: Sample | Mapping[str, Any]) -> tuple[Mapping[str, Any], Any, Any, bool]:
    if isinstance(record, Sample):
        return record.data, record.record_id, record.updated_at, record.deleted
    return record, None, None, False


def explain(
    definition: SourceDefinition,
    records: Sequence[Sample | Mapping[str, Any]],
    index: int = 0,
) -> list[ExplainRow]:
    """Every step of every rule for ``records[index]`` (0-based), failures included.

    A failing rule gets a row with ``error`` set and the other rules go on, so one run shows
    everything that is wrong with the record.
    """
    if not 0 <= index < len(records):
        raise IndexError(f"record {index + 1} asked for; the sample has {len(records)}")
    data, record_id, updated_at, deleted = _unpack(records[index])
    run = Run(build_plan(definition), trace=True, keep_going=True)
    run.record(data, record_id, updated_at, deleted)
    return list(run.rows or [])


def explain_result(
    definition: SourceDefinition, record: Sample | Mapping[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """The intake record a sample maps to (as far as it maps) and its errors' messages."""
    data, record_id, updated_at, deleted = _unpack(record)
    run = Run(build_plan(definition), keep_going=True)
    result = run.record(data, record_id, updated_at, deleted)
    return result, [str(error) for error in run.errors]


__all__ = ["ExplainRow", "explain", "explain_result"]
