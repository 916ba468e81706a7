"""The JSON Schema of the mapping language, for editor completion and validation as you type.

Exported to ``specs/mapping-language.schema.json`` (a test keeps it fresh). With the YAML
language server (VS Code's YAML extension and others), start a definition with::

    # yaml-language-server: $schema=../../specs/mapping-language.schema.json

The schema comes from the node models, with the targets of the intake record and the source
systems added as enumerations so that editors complete them too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mappings.codelists import load_codelists
from mappings.nodes import SourceFile
from mappings.paths import specs_dir
from mappings.targets import load_targets

FILE_NAME = "mapping-language.schema.json"


def language_schema(specs: Path | None = None) -> dict[str, Any]:
    """The JSON Schema (2020-12) of a source-definition file."""
    schema = SourceFile.model_json_schema(by_alias=True)
    targets = load_targets(specs)
    properties = schema["properties"]
    properties["fields"]["propertyNames"] = {"enum": sorted(targets.field_paths)}
    properties["lists"]["propertyNames"] = {"enum": sorted(targets.list_paths)}
    properties["required"]["items"] = {"enum": sorted(targets.by_path)}
    systems = load_codelists(specs).get("source_system")
    if systems:
        properties["system"]["enum"] = sorted(systems)
    item_fields = sorted({name for t in targets.by_path.values() for name in t.items})
    schema["$defs"]["Items"]["properties"]["fields"]["propertyNames"] = {"enum": item_fields}
    schema.update(
        {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "https://lgnet.example/schemas/mapping-language.json",
            "title": "LGNet source definition (mappings/<city>/<source>.yaml)",
            "description": "A city's source: its adapter, and how its records become intake "
            "records. Reference: the docstrings of mappings/nodes.py and mappings/transforms/.",
        }
    )
    return schema


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def export_language_schema(path: Path | None = None) -> Path:
    """Write the schema (default: ``specs/mapping-language.schema.json``); return its path."""
    path = path or specs_dir() / FILE_NAME
    path.write_text(render(language_schema()), encoding="utf-8")
    return path


def language_schema_stale(path: Path | None = None) -> bool:
    """Does the checked-in schema differ from what the models produce?"""
    path = path or specs_dir() / FILE_NAME
    return not path.is_file() or path.read_text(encoding="utf-8") != render(language_schema())
