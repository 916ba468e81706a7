"""The common case schema: codes from the code lists, exported JSON Schemas kept fresh."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from gateway.paths import specs_dir
from gateway.schema import SCHEMA_VERSION, Case, IntakeRecord, codelist, codelists
from gateway.schema.export import export, json_schemas, stale

SOURCE = {"city": "milano", "source": "welfare-rest", "system": "welfare", "record_id": "R1"}


def test_every_code_list_has_italian_labels_and_bolzano_german_ones() -> None:
    lists = codelists()
    for required in (
        "intake_channel",
        "service_type",
        "vulnerability",
        "permit_category",
        "case_status",
        "referral_target",
        "country",
        "citizenship_area",
    ):
        assert required in lists
    for code_list in lists.values():
        assert code_list.codes, code_list.name
        for code in code_list.codes:
            assert code_list.label(code, "it")
            assert code_list.label(code, "de")
    assert codelist("service_type").label("housing_support", "de") == "Wohnungshilfe"


def test_country_areas_are_codes_of_the_area_list() -> None:
    areas = codelist("citizenship_area").codes
    for code, entry in codelist("country").codes.items():
        assert entry["area"] in areas, code


def test_intake_record_accepts_codes_and_rejects_unknown_ones_without_echoing_them() -> None:
    record = IntakeRecord.model_validate(
        {
            "source": SOURCE,
            "case": {"intake_channel": "mobile_unit"},
            "services": [{"type": "housing_support", "start": "2026-01-02"}],
        }
    )
    assert record.services[0].start == date(2026, 1, 2)
    with pytest.raises(ValidationError) as info:
        IntakeRecord.model_validate(
            {"source": SOURCE, "services": [{"type": "Secret Free Text 123"}]}
        )
    error = info.value.errors(include_input=False)[0]
    assert error["loc"] == ("services", 0, "type")
    assert "service_type" in error["msg"]
    assert "Secret Free Text" not in error["msg"]


def test_intake_record_rejects_unknown_fields_and_closed_before_opened() -> None:
    with pytest.raises(ValidationError):
        IntakeRecord.model_validate({"source": SOURCE, "notes": "free text"})
    with pytest.raises(ValidationError, match="closed_on is before opened_on"):
        IntakeRecord.model_validate(
            {"source": SOURCE, "case": {"opened_on": "2026-02-01", "closed_on": "2026-01-01"}}
        )


def test_case_carries_the_schema_version_and_no_identifier_fields() -> None:
    case = Case(
        case_id="c_abcdefgh",
        pid="n1_abcdefghij",
        key_version=1,
        city="roma",
        updated_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert case.schema_version == SCHEMA_VERSION
    forbidden = {"family_name", "given_names", "fiscal_code", "identifiers", "birth_date"}
    assert not forbidden & set(Case.model_fields)


def test_checked_in_json_schemas_are_fresh() -> None:
    assert stale() == [], "run `lgnet schema export` and commit specs/schemas/"


def test_staleness_check_detects_an_edited_schema(tmp_path) -> None:
    export(tmp_path)
    assert stale(tmp_path) == []
    path = tmp_path / "case.schema.json"
    schema = json.loads(path.read_text())
    schema["properties"]["city"]["pattern"] = "^.*$"
    path.write_text(json.dumps(schema))
    assert stale(tmp_path) == ["case.schema.json"]


def test_json_schema_lists_codes_as_enums() -> None:
    schema = json_schemas()["intake_record.schema.json"]
    service = schema["$defs"]["Service"]["properties"]["type"]
    assert "housing_support" in service["enum"]
    assert (specs_dir() / "schemas" / "intake_record.schema.json").exists()
