"""Content negotiation for CSV."""

from __future__ import annotations

import pytest

from gateway.summaries.render import wants_csv


@pytest.mark.parametrize(
    ("accept", "csv"),
    [
        (None, False),
        ("", False),
        ("application/json", False),
        ("text/csv", True),
        ("text/csv; charset=utf-8", True),
        ("application/json;q=0.5, text/csv", True),
        ("text/csv;q=0.2, application/json", False),
        ("*/*", False),
    ],
)
def test_csv_only_when_preferred(accept: str | None, csv: bool) -> None:
    assert wants_csv(accept) is csv
