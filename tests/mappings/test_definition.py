"""Loading a source definition: city and name, schedule, adapter options and their secrets."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from mappings import MappingError, load_source, parse_source
from mappings.paths import find_source

FIXTURES = Path(__file__).parent / "fixtures"
SOAP = FIXTURES / "bolzano" / "sozialdienst-soap.yaml"


def test_fixture_definition() -> None:
    definition = load_source(
        SOAP,
        environ={
            "LGNET_BOLZANO_SOZIALDIENST_USER": "svc-lgnet",
            "LGNET_BOLZANO_SOZIALDIENST_PASSWORD": "pw-9f3k",
        },
    )
    assert (definition.city, definition.source, definition.system) == (
        "bolzano",
        "sozialdienst-soap",
        "welfare",
    )
    assert definition.adapter_kind == "soap"
    assert definition.schedule == timedelta(minutes=30)
    assert definition.adapter_options["endpoint"] == "http://127.0.0.1:8083/soap"
    assert definition.adapter_options["password"] == "pw-9f3k"
    assert definition.line_of("fields", "subject.sex") == 31
    # secrets never show in a repr
    assert "pw-9f3k" not in repr(definition)
    assert "svc-lgnet" not in repr(definition)


def test_placeholders_stay_unresolved_for_tools() -> None:
    definition = load_source(SOAP, resolve_env=False)
    assert definition.adapter_options["password"] == "${LGNET_BOLZANO_SOZIALDIENST_PASSWORD}"


def test_city_comes_from_the_folder_or_the_file(tmp_path: Path) -> None:
    text = "source: anpr\nsystem: registry\nadapter: {kind: anpr}\n"
    assert parse_source(text, tmp_path / "palermo" / "anpr.yaml").city == "palermo"
    assert parse_source("city: genova\n" + text, tmp_path / "x" / "anpr.yaml").city == "genova"


def test_problems_are_all_reported_in_line_order(tmp_path: Path) -> None:
    text = (
        "source: anpr\nsystem: registry\nadapter: {kind: anpr}\n"
        "fields:\n  subject.nme: {column: A}\n  case.status: {value: aperto}\n"
        "required: [subject.family_name]\n"
    )
    with pytest.raises(MappingError) as caught:
        parse_source(text, tmp_path / "roma" / "anpr.yaml", label="anpr.yaml")
    assert [(p.line, p.path) for p in caught.value.problems] == [
        (5, "fields.subject.nme"),
        (6, "fields.case.status.value"),
        (7, "required[0]"),
    ]


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="cannot read"):
        load_source(tmp_path / "nope.yaml")
    bad = tmp_path / "roma" / "x.yaml"
    bad.parent.mkdir()
    bad.write_bytes(b"source: \xff\xfe\n")
    with pytest.raises(MappingError, match="not UTF-8 text"):
        load_source(bad)


def test_find_source(tmp_path: Path) -> None:
    (tmp_path / "roma").mkdir()
    (tmp_path / "roma" / "welfare-soap.yaml").write_text("x: 1\n")
    assert find_source("roma/welfare-soap", tmp_path) == tmp_path / "roma" / "welfare-soap.yaml"
    assert find_source(SOAP) == SOAP
    with pytest.raises(FileNotFoundError, match="no source definition 'roma/health-fhir'"):
        find_source("roma/health-fhir", tmp_path)
