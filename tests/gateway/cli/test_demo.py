"""``lgnet demo``: every simulated city end to end, then the KPI table and linkage figures."""

from __future__ import annotations

from typer.testing import CliRunner

from gateway.cli import app
from gateway.cli.demo import linkage_quality


def test_linkage_quality_counts_pairs() -> None:
    # Person 1 has three records, two linked together; person 2's record was wrongly joined.
    labelled = [("p1", 1), ("p1", 1), ("p9", 1), ("p1", 2)]
    quality = linkage_quality(labelled)
    assert (quality.true_pairs, quality.found_pairs, quality.correct_pairs) == (3, 3, 1)
    assert quality.precision == 1 / 3 and quality.recall == 1 / 3
    assert (quality.records, quality.people, quality.pids) == (4, 2, 2)


def test_demo_syncs_every_city_and_prints_kpis_and_linkage(tmp_path) -> None:
    database = tmp_path / "demo.db"
    result = CliRunner().invoke(
        app, ["demo", "--people", "200", "--database", str(database)], terminal_width=200
    )
    assert result.exit_code == 0, result.output
    assert database.exists()
    output = result.output
    assert "Progress toward the targets" in output
    assert "Linkage against the ground truth" in output
    assert "lgnet serve" in output
    for city in ("agrigento", "bolzano", "roma", "trieste"):
        assert city in output
