"""``coverage``: local codes that no code map covers, counted per map."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from mappings import coverage, load_source, read_samples

FIXTURES = Path(__file__).parent / "fixtures"


def test_coverage_of_the_golden_samples() -> None:
    definition = load_source(FIXTURES / "torino" / "welfare-csv.yaml", resolve_env=False)
    samples = read_samples(FIXTURES / "torino" / "golden" / "welfare-csv.input.csv", definition)
    report = coverage(definition, samples)
    assert set(report) == set(definition.nodes.code_maps)
    # EVENTO falls to the channel map's default (null), 03 is a record error: both counted
    assert report["channel"] == Counter({"EVENTO": 1})
    assert report["service"] == Counter({"03": 1})
    assert report["country"] == Counter()


def test_coverage_counts_every_record_even_after_a_failure() -> None:
    definition = load_source(FIXTURES / "bolzano" / "sozialdienst-soap.yaml", resolve_env=False)
    records = [
        {
            "idCartella": str(n),
            "Assistito": {"cognome": "X", "sesso": "Q", "cittadinanza": "Atlantis"},
            "PresaInCarico": {"dataApertura": "01.02.2024"},
        }
        for n in range(3)
    ]
    report = coverage(definition, records)
    assert report["sex"] == Counter({"Q": 3})
    assert report["country"] == Counter({"atlantis": 3})  # ignore_case maps fold the code
