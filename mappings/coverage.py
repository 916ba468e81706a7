"""``coverage``: the local codes of a sample that no code map covers, with their counts.

Codes that fall to a map's ``default`` are counted too: a default hides drift from the
pipeline (records keep flowing) but not from this report.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from mappings.definition import SourceDefinition
from mappings.interpreter import Run
from mappings.plan import build_plan
from mappings.samples import Sample


def coverage(
    definition: SourceDefinition, records: Sequence[Sample | Mapping[str, Any]]
) -> dict[str, Counter[str]]:
    """Code map name -> Counter of the local codes it did not cover, for every map."""
    misses: dict[str, Counter[str]] = {name: Counter() for name in definition.nodes.code_maps}

    def count(name: str, code: str) -> None:
        misses[name][code] += 1

    plan = build_plan(definition, on_miss=count)
    for record in records:
        if isinstance(record, Sample):
            if record.problem is not None:
                continue
            Run(plan, keep_going=True).record(
                record.data, record.record_id, record.updated_at, record.deleted
            )
        else:
            Run(plan, keep_going=True).record(record)
    return misses
