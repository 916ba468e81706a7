"""Golden files: every source definition's sample input gives exactly its expected records.

Runs for the example definitions in ``tests/mappings/fixtures/<city>/`` and for every city's
definitions in ``mappings/<city>/`` (a new source is covered by adding
``golden/<source>.input.*`` and ``golden/<source>.expected.json`` beside it). Regenerate after
an intended change with ``LGNET_UPDATE_GOLDEN=1 pytest tests/mappings/test_golden.py`` and
review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from gateway.schema.intake import IntakeRecord
from mappings import RecordError, load_source, mappings_dir, read_samples
from mappings.golden import UPDATE_ENV, GoldenCase, golden_cases, jsonable, render, run_golden
from mappings.interpreter import Run
from mappings.plan import build_plan

FIXTURES = Path(__file__).parent / "fixtures"
# Read at import: the autouse clean_env fixture removes LGNET_* variables before each test.
UPDATE = bool(os.environ.get(UPDATE_ENV))
CASES = golden_cases(FIXTURES) + golden_cases(mappings_dir())


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_golden_output(case: GoldenCase) -> None:
    if case.input is None:
        pytest.skip(f"{case.name}: no golden/{case.definition.stem}.input.* sample yet")
    results = run_golden(case)
    if UPDATE:
        case.expected.write_text(render(results), encoding="utf-8")
    if not case.expected.exists():
        pytest.fail(f"{case.expected} is missing: create it with {UPDATE_ENV}=1 and review it")
    expected = json.loads(case.expected.read_text(encoding="utf-8"))
    assert results == expected


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_golden_records_are_valid_intake_records(case: GoldenCase) -> None:
    if case.input is None:
        pytest.skip("no golden sample")
    for result in run_golden(case):
        if "source" in result:
            if result["source"]["city"].startswith("_"):
                # A shared definition (_default/fhir.yaml) is read as the pushing city's.
                result["source"]["city"] = "roma"
            IntakeRecord.model_validate(result)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_interpreter_agrees_with_compiled_code(case: GoldenCase) -> None:
    """explain and coverage walk the plan; the pipeline runs generated code: same results."""
    if case.input is None:
        pytest.skip("no golden sample")
    definition = load_source(case.definition, resolve_env=False)
    plan = build_plan(definition)
    compiled = run_golden(case)
    interpreted = []
    for sample in read_samples(case.input, definition):
        if sample.problem is not None:
            interpreted.append({"read_error": sample.problem})
            continue
        run = Run(plan)
        try:
            interpreted.append(
                run.record(sample.data, sample.record_id, sample.updated_at, sample.deleted)
            )
        except RecordError as error:
            interpreted.append({"record_error": {"field": error.field, "rule": error.rule}})
    assert [jsonable(r) for r in interpreted] == compiled


def test_every_fixture_has_golden_files() -> None:
    assert len([case for case in golden_cases(FIXTURES) if case.input is not None]) >= 3
    for case in golden_cases(FIXTURES):
        assert case.input is not None and case.expected.exists(), case.name
