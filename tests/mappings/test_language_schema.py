"""The language's JSON Schema in specs/ is fresh and describes the real files."""

from __future__ import annotations

from pathlib import Path

import pytest

from mappings import language_schema
from mappings.language_schema import FILE_NAME, language_schema_stale, render
from mappings.paths import specs_dir
from mappings.yaml_lines import load_yaml

FIXTURES = Path(__file__).parent / "fixtures"


def test_exported_schema_is_fresh() -> None:
    """Regenerate with: python -c 'import mappings; mappings.export_language_schema()'"""
    assert not language_schema_stale(), f"specs/{FILE_NAME} is stale"


def test_schema_offers_targets_and_transforms() -> None:
    schema = language_schema()
    assert "subject.birth_date" in schema["properties"]["fields"]["propertyNames"]["enum"]
    assert "services" in schema["properties"]["lists"]["propertyNames"]["enum"]
    assert schema["properties"]["system"]["enum"] == ["health", "housing", "registry", "welfare"]
    rendered = render(schema)
    for transform in ("DateNode", "CodeMapNode", "WhenNode"):
        assert transform in rendered


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*/*.yaml")), ids=lambda p: p.stem)
def test_example_definitions_validate_against_the_schema(path: Path) -> None:
    jsonschema_rs = pytest.importorskip("jsonschema_rs")
    document, _ = load_yaml(path.read_text(encoding="utf-8"))
    validator = jsonschema_rs.validator_for(language_schema())
    errors = [str(error) for error in validator.iter_errors(document)]
    assert errors == []


def test_schema_file_location() -> None:
    assert (specs_dir() / FILE_NAME).is_file()
