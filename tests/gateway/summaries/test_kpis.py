"""Each KPI against a hand-computed answer on a fixed set of cases (SQLite and PostgreSQL).

The people (programme window 2023-01-01 .. 2025-12-31, ages at the end of the period):

A  Roma 2025-01-15 mobile unit, Milano 2025-04-02 one-stop-shop; F 1990 NGA; homeless;
   housing from 2025-02-01; referred 2025-01-20 (Roma) and 2025-04-10 (Milano)
B  Roma 2025-02-10 one-stop-shop; M 2008 ROU; civic project 2025-03-01 .. 2025-06-30 completed
C  Milano 2025-05-05 self-presented; M 1960 AFG; disability + chronic illness; housing only
   planned; civic project cancelled; referral without a date (→ the case's opening, May)
D  Torino, never opened; nothing recorded; housing without dates; referred 2025-07-01
E  Roma 2022-12-20 mobile unit (before the programme); F 1990 ALB; housing from 2024-01-05;
   civic project signed 2025-01-10 (active)
F  Roma 2025-03-01 and Milano 2025-03-15, both mobile unit; born 2000, Italian; Roma says
   M, Milano (changed later) says F: the person is F everywhere
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from gateway.storage.summaries import SummaryCellRow
from gateway.summaries.kpis import KPI_NAMES
from gateway.summaries.preaggregate import refresh
from gateway.summaries.targets import targets
from tests.gateway.summaries.builders import Case, Service, add_cases

D = dt.date


def people() -> list[Case]:
    return [
        Case("pid-A", "roma", D(2025, 1, 15), "mobile_unit", "F", 1990, "NGA", ["homelessness"],
             [Service("housing_support", D(2025, 2, 1))], [D(2025, 1, 20)]),
        Case("pid-A", "milano", D(2025, 4, 2), "one_stop_shop", "F", 1990, "NGA", [],
             [], [D(2025, 4, 10)]),
        Case("pid-B", "roma", D(2025, 2, 10), "one_stop_shop", "M", 2008, "ROU", [],
             [Service("civic_engagement_project", D(2025, 3, 1), D(2025, 6, 30), "completed")]),
        Case("pid-C", "milano", D(2025, 5, 5), "self_presented", "M", 1960, "AFG",
             ["disability", "chronic_illness"],
             [Service("housing_support", D(2025, 6, 1), status="planned"),
              Service("civic_engagement_project", D(2025, 6, 1), status="cancelled")],
             [None]),
        Case("pid-D", "torino", None, "mobile_unit", None, None, None, [],
             [Service("housing_support", None, None, "active")], [D(2025, 7, 1)]),
        Case("pid-E", "roma", D(2022, 12, 20), "mobile_unit", "F", 1990, "ALB", [],
             [Service("housing_support", D(2024, 1, 5)),
              Service("civic_engagement_project", D(2025, 1, 10), status="active")]),
        Case("pid-F", "roma", D(2025, 3, 1), "mobile_unit", "M", 2000, "ITA"),
        Case("pid-F", "milano", D(2025, 3, 15), "mobile_unit", "F", 2000, "ITA"),
    ]  # fmt: skip


@pytest.fixture
def cube(engine) -> dict[tuple[str, ...], int]:
    add_cases(engine, people())
    refresh(engine)
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                SummaryCellRow.granularity,
                SummaryCellRow.period,
                SummaryCellRow.kpi,
                SummaryCellRow.area,
                SummaryCellRow.dimension,
                SummaryCellRow.category,
                SummaryCellRow.count,
            )
        )
        return {tuple(row[:6]): row[6] for row in rows}


def totals(cube, period: str, kpi: str) -> dict[str, int]:
    granularity = (
        "programme" if period == "programme" else "quarter" if "Q" in period
        else "month" if "-" in period else "year"
    )  # fmt: skip
    return {
        key[3]: n
        for key, n in cube.items()
        if key[:3] == (granularity, period, kpi) and key[4] == "total"
    }


def breakdown(cube, period: str, kpi: str, area: str, dimension: str) -> dict[str, int]:
    return {key[5]: n for key, n in cube.items() if key[1:5] == (period, kpi, area, dimension)}


# (period, kpi) -> counts per area (national counts each person once)
EXPECTED_TOTALS = {
    ("programme", "taken_in_charge"): {"national": 4, "roma": 3, "milano": 3},
    ("programme", "taken_in_charge_mobile_unit"): {"national": 2, "roma": 2, "milano": 1},
    ("programme", "taken_in_charge_one_stop_shop"): {"national": 2, "roma": 1, "milano": 1},
    ("programme", "referred_to_care"): {"national": 3, "roma": 1, "milano": 2, "torino": 1},
    ("programme", "housing_support"): {"national": 2, "roma": 2},
    ("programme", "civic_projects_signed"): {"national": 2, "roma": 2},
    ("programme", "civic_projects_completed"): {"national": 1, "roma": 1},
    ("2025-Q1", "taken_in_charge"): {"national": 3, "roma": 3, "milano": 1},
    ("2025-Q2", "taken_in_charge"): {"national": 2, "milano": 2},
    ("2025-03", "taken_in_charge"): {"national": 1, "roma": 1, "milano": 1},
    ("2025", "taken_in_charge"): {"national": 4, "roma": 3, "milano": 3},
    ("2022", "taken_in_charge"): {"national": 1, "roma": 1},
    ("2022-Q4", "taken_in_charge_mobile_unit"): {"national": 1, "roma": 1},
    ("2024", "housing_support"): {"national": 1, "roma": 1},
    ("2025-Q3", "referred_to_care"): {"national": 1, "torino": 1},
    ("2025-Q2", "referred_to_care"): {"national": 2, "milano": 2},
    ("2025-Q1", "civic_projects_signed"): {"national": 2, "roma": 2},
    ("2025-Q2", "civic_projects_completed"): {"national": 1, "roma": 1},
    ("2025-Q2", "housing_support"): {},
}


def test_each_kpi_counts_distinct_people_per_area_and_period(cube) -> None:
    found = {key: totals(cube, *key) for key in EXPECTED_TOTALS}
    assert found == EXPECTED_TOTALS


def test_every_kpi_is_checked() -> None:
    assert {kpi for _, kpi in EXPECTED_TOTALS} == set(KPI_NAMES)


def test_breakdowns_use_one_set_of_attributes_per_person(cube) -> None:
    # F's latest case says F: F counts as F in Roma too, where her own case said M.
    assert breakdown(cube, "programme", "taken_in_charge", "roma", "sex") == {"F": 2, "M": 1}
    assert breakdown(cube, "programme", "taken_in_charge", "national", "sex") == {"F": 2, "M": 2}
    assert breakdown(cube, "programme", "taken_in_charge", "national", "citizenship_area") == {
        "west_africa": 1,
        "eu": 1,
        "south_asia": 1,
        "italy": 1,
    }
    assert breakdown(cube, "programme", "taken_in_charge", "national", "vulnerability") == {
        "homelessness": 1,
        "disability": 1,
        "chronic_illness": 1,
        "none": 2,
    }
    # D has no attributes at all.
    assert breakdown(cube, "programme", "referred_to_care", "torino", "sex") == {"unknown": 1}
    assert breakdown(cube, "programme", "referred_to_care", "torino", "age_band") == {"unknown": 1}


def test_age_bands_are_taken_at_the_end_of_each_period(cube) -> None:
    # The programme ends in 2025: A 35, B 17, C 65, F 25.
    assert breakdown(cube, "programme", "taken_in_charge", "national", "age_band") == {
        "35_44": 1,
        "under_18": 1,
        "65_plus": 1,
        "25_34": 1,
    }
    # E (born 1990) had housing in 2024, aged 34 at its end, and is 35 when the programme ends.
    assert breakdown(cube, "2024", "housing_support", "national", "age_band") == {"25_34": 1}
    assert breakdown(cube, "programme", "housing_support", "national", "age_band") == {"35_44": 2}


def test_targets_name_existing_kpis() -> None:
    assert set(targets()) <= set(KPI_NAMES)
    assert targets()["taken_in_charge"].value == 3000
    assert targets()["housing_support"].value == 500
    assert targets()["civic_projects_signed"].value == 600
