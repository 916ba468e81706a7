"""Sample files read as the adapters shape records: CSV, JSON, NDJSON, XML, FHIR Bundles."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mappings import SampleError, load_source, read_samples

FIXTURES = Path(__file__).parent / "fixtures"


def test_csv_sample_through_the_csv_adapter_with_the_sources_options() -> None:
    definition = load_source(FIXTURES / "torino" / "welfare-csv.yaml", resolve_env=False)
    samples = read_samples(FIXTURES / "torino" / "golden" / "welfare-csv.input.csv", definition)
    assert len(samples) == 5  # preamble skipped, BOM removed
    first = samples[0]
    assert first.record_id == "TO-2024-0001"  # id_column
    assert first.data["COGNOME"] == "  EL  AMRANI "
    assert samples[1].data["INVII"] == "SAN;CPI"  # quoted cell with the delimiter


def test_csv_sample_without_a_definition(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes("ID,NOME\n1,Zoë\n2,Ada\n".encode("cp1252"))
    samples = read_samples(path)
    assert [s.data["NOME"] for s in samples] == ["Zoë", "Ada"]
    assert [s.record_id for s in samples] == ["1", "2"]


def test_json_samples(tmp_path: Path) -> None:
    definition = load_source(FIXTURES / "bologna" / "social-rest.yaml", resolve_env=False)
    samples = read_samples(FIXTURES / "bologna" / "golden" / "social-rest.input.json", definition)
    assert [s.record_id for s in samples] == ["48213", "48214", "48215", "48216"]
    assert samples[0].updated_at == "2024-03-01T10:15:00+01:00"
    array = tmp_path / "a.json"
    array.write_text(json.dumps([{"id": "x"}, {"id": "y"}, 3]))
    found = read_samples(array)
    assert [s.record_id for s in found[:2]] == ["1", "2"]  # no hints: positions
    assert found[2].problem == "not an object"
    lines = tmp_path / "a.ndjson"
    lines.write_text('{"a": 1}\n\n{"a": 2}\n')
    assert [s.data for s in read_samples(lines)] == [{"a": 1}, {"a": 2}]
    lines.write_text('{"a": 1}\n{oops\n')
    with pytest.raises(SampleError, match="line 2 is not JSON"):
        read_samples(lines)


def test_xml_samples(tmp_path: Path) -> None:
    definition = load_source(FIXTURES / "bolzano" / "sozialdienst-soap.yaml", resolve_env=False)
    samples = read_samples(
        FIXTURES / "bolzano" / "golden" / "sozialdienst-soap.input.xml", definition
    )
    assert [s.record_id for s in samples] == ["BZ-7781", "BZ-7782", "BZ-7783", "BZ-7784"]
    assert samples[0].data["Assistito"]["@idLocale"] == "A-501"
    assert samples[0].data["Assistito"]["lingua"] == ["sq", "de"]
    plain = tmp_path / "x.xml"
    plain.write_text("<Elenco><Voce><a>1</a></Voce><Voce><a>2</a></Voce></Elenco>")
    assert [s.data for s in read_samples(plain)] == [{"a": "1"}, {"a": "2"}]
    plain.write_text('<!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>')
    with pytest.raises(SampleError, match="DTD"):
        read_samples(plain)


def test_fhir_bundle_sample(tmp_path: Path) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "fullUrl": "urn:uuid:1",
                "resource": {
                    "resourceType": "Patient",
                    "id": "p1",
                    "identifier": [
                        {"system": "http://hl7.it/sid/codiceFiscale", "value": "ZZZMNA90E41Z330X"}
                    ],
                    "name": [{"family": "El Amrani", "given": ["Amina"]}],
                    "gender": "female",
                    "birthDate": "1990-05-01",
                },
            }
        ],
    }
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    (sample,) = read_samples(path)
    assert sample.data["patient"]["identifiers"]["codiceFiscale"] == "ZZZMNA90E41Z330X"
    assert sample.data["patient"]["family"] == "El Amrani"


def test_unknown_sample_type(tmp_path: Path) -> None:
    path = tmp_path / "x.parquet"
    path.write_bytes(b"PAR1")
    with pytest.raises(SampleError, match="unknown sample type"):
        read_samples(path)
