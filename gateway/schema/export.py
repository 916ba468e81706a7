"""Export the JSON Schemas of the common schema to ``specs/schemas/``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from gateway.paths import specs_dir
from gateway.schema.case import Case
from gateway.schema.intake import IntakeRecord
from gateway.schema.version import SCHEMA_VERSION

MODELS: dict[str, type[BaseModel]] = {"intake_record": IntakeRecord, "case": Case}


def json_schemas() -> dict[str, dict[str, Any]]:
    """File name -> JSON Schema document, for every exported model."""
    out: dict[str, dict[str, Any]] = {}
    for name, model in MODELS.items():
        schema = model.model_json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"https://lgnet.example/schemas/{name}-{SCHEMA_VERSION}.json"
        schema["x-schema-version"] = SCHEMA_VERSION
        out[f"{name}.schema.json"] = schema
    return out


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def export(folder: Path | None = None) -> list[Path]:
    """Write every schema; return the paths written."""
    folder = folder or specs_dir() / "schemas"
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for filename, schema in json_schemas().items():
        path = folder / filename
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written


def stale(folder: Path | None = None) -> list[str]:
    """File names whose checked-in content differs from what the models produce."""
    folder = folder or specs_dir() / "schemas"
    return [
        filename
        for filename, schema in json_schemas().items()
        if not (folder / filename).exists()
        or (folder / filename).read_text(encoding="utf-8") != render(schema)
    ]
