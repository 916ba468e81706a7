"""Case assembly from generalised contributions."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from gateway.schema.intake import IntakeRecord
from gateway.sync.cases import assemble, contribution_of, years_in_italy_band
from tests.gateway.sync.synthetic import intake

NOW = datetime(2025, 6, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("arrival", "band"),
    [
        (None, "unknown"),
        (date(2025, 1, 11), "unknown"),  # after the reference date
        (date(2024, 6, 1), "lt1"),
        (date(2024, 1, 10), "1-2"),
        (date(2022, 1, 10), "3-5"),
        (date(2019, 1, 11), "3-5"),  # one day short of six years
        (date(2019, 1, 10), "6-10"),
        (date(2014, 1, 10), "gt10"),
    ],
)
def test_years_in_italy_band_counts_full_years(arrival, band) -> None:
    assert years_in_italy_band(arrival, date(2025, 1, 10)) == band


def test_a_contribution_holds_no_identifier_name_or_full_date() -> None:
    record = IntakeRecord.model_validate(intake(5))
    contribution = contribution_of(record, NOW)
    text = repr(contribution)
    assert record.subject.family_name not in text and record.subject.given_names not in text
    assert record.subject.identifiers.fiscal_code not in text
    assert record.subject.birth_date.isoformat() not in text
    assert contribution["birth_year"] == record.subject.birth_date.year
    assert contribution["years_in_italy"] == "3-5"  # arrival 2019-05-03, opened 2025-01-10


def _c(updated: str, **fields) -> dict:
    return {"source": "s", "system": "welfare", "updated_at": updated, "has_case": True, **fields}


def test_assembly_rules_and_order_independence() -> None:
    a = _c(
        "2025-01-01",
        sex="F",
        opened_on="2024-03-01",
        intake_channel="mobile_unit",
        status="open",
        vulnerabilities=["homelessness"],
        years_in_italy="1-2",
    )
    b = _c(
        "2025-02-01",
        opened_on="2024-05-01",
        intake_channel="one_stop_shop",
        status="closed_goal_met",
        closed_on="2025-01-30",
        vulnerabilities=["pregnancy"],
    )
    b["source"] = "t"
    one = assemble([("k1", a), ("k2", b)])
    two = assemble([("k2", b), ("k1", a)])
    assert one == two
    assert one["sex"] == "F"  # only the older record says it
    assert one["status"] == "closed_goal_met" and one["closed_on"] == date(2025, 1, 30)
    assert one["opened_on"] == date(2024, 3, 1) and one["intake_channel"] == "mobile_unit"
    assert one["vulnerabilities"] == ["homelessness", "pregnancy"]
    assert one["years_in_italy"] == "1-2"
    assert [p["source"] for p in one["provenance"]] == ["s", "t"]


def test_an_empty_case_is_cleared() -> None:
    empty = assemble([])
    assert empty["provenance"] == [] and empty["status"] is None
    assert empty["years_in_italy"] == "unknown"
