"""``lgnet simulate`` (gateway/cli/simulate.py), and ``lgnet mapping coverage`` on its data."""

from __future__ import annotations

import stat
from pathlib import Path

from typer.testing import CliRunner

from adapters.simulators.cities import catalogue, systems
from adapters.simulators.population import Population
from gateway.cli import app as lgnet
from gateway.cli.mapping import app as mapping_app
from gateway.cli.simulate import app

runner = CliRunner()


def test_simulate_is_a_top_level_command() -> None:
    result = runner.invoke(lgnet, ["simulate", "--help"])
    assert result.exit_code == 0, result.output
    assert "--people" in result.output and "--seed" in result.output


def test_simulate_one_city_prints_where_each_system_listens(tmp_path: Path) -> None:
    env_file = tmp_path / "sim.env"
    result = runner.invoke(
        app,
        [
            "roma", "--people", "60", "--seed", "3", "--exit-after", "0",
            "--drop-dir", str(tmp_path / "drops"), "--env-file", str(env_file),
            "--samples", str(tmp_path / "samples"), "--secret", "s",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    for name in ("welfare-soap", "health-fhir", "registry-anpr"):
        assert name in result.output
    assert "export LGNET_ROMA_WELFARE_SOAP_URL=http://127.0.0.1:" in result.output
    assert "export LGNET_ROMA_REGISTRY_ANPR_TOKEN=" in result.output
    exported = env_file.read_text(encoding="utf-8")
    assert "LGNET_ROMA_REGISTRY_ANPR_CODES=" in exported
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert (tmp_path / "drops" / "roma" / "registry-anpr" / "codici_da_verificare.txt").is_file()
    samples = sorted(p.name for p in (tmp_path / "samples" / "roma").iterdir())
    assert samples == ["health-fhir.json", "registry-anpr.json", "welfare-soap.xml"]

    coverage = runner.invoke(
        mapping_app,
        ["coverage", "roma/welfare-soap", str(tmp_path / "samples" / "roma" / "welfare-soap.xml")],
    )
    assert coverage.exit_code == 0, coverage.output
    assert "0 unmapped local code(s)" in coverage.output


def test_simulate_refuses_an_unknown_city() -> None:
    result = runner.invoke(app, ["atlantide", "--exit-after", "0"])
    assert result.exit_code == 2
    assert "unknown city 'atlantide'" in result.output


def test_coverage_shows_a_local_code_the_simulator_starts_writing(tmp_path: Path) -> None:
    spec = catalogue.source("roma", "welfare-soap")
    drifted = spec.with_overrides("referral_target", {"legal_aid": "SPORT_LEG_NUOVO"})
    population = Population(8, 60, cities=("roma",))
    records = [
        t
        for person in population.people()
        for t in population.records_of(person)
        if systems.served(spec, t)
    ]
    assert any(r["target"] == "legal_aid" for t in records for r in t.referrals)
    _, body = systems.sample(drifted, records)
    sample = tmp_path / "drifted.xml"
    sample.write_bytes(body)
    result = runner.invoke(
        mapping_app, ["coverage", "roma/welfare-soap", str(sample), "--fail-on-unmapped"]
    )
    assert result.exit_code == 1, result.output
    assert "SPORT_LEG_NUOVO" in result.output
    assert "1 unmapped local code(s)" in result.output
