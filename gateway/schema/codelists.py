"""Code lists of the common case schema, loaded once from ``specs/codelists/*.yaml``.

The YAML files are the single source of truth: the pydantic models validate codes against
them, the JSON Schemas list them as enums, mappings check their targets against them.
Each file holds ``name``, ``description`` and ``codes: {code: {it: ..., en: ..., de: ...}}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from gateway.paths import specs_dir


@dataclass(frozen=True)
class CodeList:
    name: str
    description: str
    codes: Mapping[str, Mapping[str, Any]]

    def label(self, code: str, language: str = "it") -> str:
        entry = self.codes[code]
        return str(entry.get(language) or entry.get("it") or code)

    def __contains__(self, code: object) -> bool:
        return code in self.codes


def _load(path: Path) -> CodeList:
    with path.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    if data.get("name") != path.stem:
        raise ValueError(f"{path}: 'name' must be {path.stem!r}")
    codes = {str(code): dict(entry or {}) for code, entry in data["codes"].items()}
    return CodeList(name=data["name"], description=data.get("description", ""), codes=codes)


@cache
def codelists() -> dict[str, CodeList]:
    """Every code list, by name."""
    folder = specs_dir() / "codelists"
    return {path.stem: _load(path) for path in sorted(folder.glob("*.yaml"))}


def codelist(name: str) -> CodeList:
    try:
        return codelists()[name]
    except KeyError:
        raise KeyError(f"no code list {name!r} in {specs_dir() / 'codelists'}") from None


@dataclass(frozen=True)
class InCodeList:
    """Annotation metadata: the string must be a code of list ``name``.

    Use as ``Annotated[str, InCodeList("service_type")]``. The JSON Schema lists the codes as
    an enum; the error names the list, never the rejected value (it may be free text).
    """

    name: str

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        codes = codelist(self.name).codes
        list_name = self.name

        def check(value: str) -> str:
            if value not in codes:
                raise PydanticCustomError(
                    "code", "not a code of the {codelist} code list", {"codelist": list_name}
                )
            return value

        return core_schema.no_info_after_validator_function(check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {
            "type": "string",
            "enum": sorted(codelist(self.name).codes),
            "x-codelist": self.name,
        }
