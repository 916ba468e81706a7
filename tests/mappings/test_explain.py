"""``explain``: one record field by field, failures included, the others going on."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from mappings import explain, explain_result, load_source, read_samples

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def torino() -> tuple[object, list[object]]:
    definition = load_source(FIXTURES / "torino" / "welfare-csv.yaml", resolve_env=False)
    return definition, read_samples(
        FIXTURES / "torino" / "golden" / "welfare-csv.input.csv", definition
    )


def test_rows_follow_each_value_through_its_rules(torino: tuple) -> None:
    definition, samples = torino
    rows = explain(definition, samples, 0)
    family = [r for r in rows if r.target == "subject.family_name"]
    assert [(r.rule, r.source_value, r.result) for r in family] == [
        ("column COGNOME", "  EL  AMRANI ", "  EL  AMRANI "),
        ("trim (collapse)", "  EL  AMRANI ", "EL AMRANI"),
        ("case title", "EL AMRANI", "El Amrani"),
    ]
    born = [r for r in rows if r.target == "subject.birth_date"]
    assert born[-1].rule == "date %d/%m/%Y | %d-%m-%Y"
    assert born[-1].result == dt.date(1990, 5, 1)
    assert {r.target for r in rows} >= {"services[1].type", "referrals[0].target"}


def test_failures_are_rows_and_the_rest_goes_on(torino: tuple) -> None:
    definition, samples = torino
    rows = explain(definition, samples, 2)  # the 31st of February
    (failed,) = [r for r in rows if r.error]
    assert failed.target == "subject.birth_date" and failed.rule == "date %d/%m/%Y | %d-%m-%Y"
    assert failed.source_value == "31/02/1988"  # explain shows values: it is for the author
    assert "31/02/1988" not in failed.error
    assert any(r.target == "case.opened_on" for r in rows)
    result, errors = explain_result(definition, samples[2])
    assert result["subject"]["family_name"] == "Khan"
    assert errors == [
        "subject.birth_date (from DATA_NASCITA): rule date failed: matches none of "
        "the formats %d/%m/%Y, %d-%m-%Y"
    ]


def test_index_out_of_range(torino: tuple) -> None:
    definition, samples = torino
    with pytest.raises(IndexError, match="record 6 asked for; the sample has 5"):
        explain(definition, samples, 5)
