"""The targets a mapping may write, read from the intake record's JSON Schema in ``specs/``.

``mappings`` never imports ``gateway``: the exported ``specs/schemas/intake_record.schema.json``
is the contract. Each leaf of the schema becomes a :class:`Target` (``subject.birth_date``,
``case.vulnerabilities``, ``services`` with its item fields) with what the checks need: its
shape, JSON type, string format and, for coded fields, the code list (``x-codelist``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

from mappings.paths import specs_dir

SCHEMA_FILE = Path("schemas") / "intake_record.schema.json"

# Set by the source definition and the record, not by field rules.
RESERVED = ("schema_version", "source")

Shape = Literal["scalar", "scalar_list", "object_list"]


@dataclass(frozen=True)
class Target:
    """One place of the intake record a rule can write."""

    path: str
    shape: Shape
    json_type: str | None = None
    format: str | None = None
    codelist: str | None = None
    # object lists: their item fields, and which of them an item cannot lack
    items: dict[str, Target] = field(default_factory=dict)
    required_items: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        """What the target holds, in words: ``date``, ``code of sex``, ``list of objects``."""
        if self.shape == "object_list":
            return "list of objects"
        if self.shape == "scalar_list":
            if self.codelist:
                return f"list of codes of {self.codelist}"
            return f"list of {self.format or self.json_type or 'value'}s"
        return (
            f"code of {self.codelist}"
            if self.codelist
            else self.format or self.json_type or "value"
        )


@dataclass(frozen=True)
class Targets:
    """Every target of the intake record, by dotted path."""

    by_path: dict[str, Target]
    schema_file: Path

    def get(self, path: str) -> Target | None:
        return self.by_path.get(path)

    @property
    def field_paths(self) -> list[str]:
        """Targets a ``fields:`` entry may write (scalars and lists of scalars)."""
        return [p for p, t in self.by_path.items() if t.shape != "object_list"]

    @property
    def list_paths(self) -> list[str]:
        """Targets a ``lists:`` entry may build."""
        return [p for p, t in self.by_path.items() if t.shape != "scalar"]


class SchemaUnavailable(RuntimeError):
    """The intake JSON Schema is missing: export it (``lgnet schema export``)."""


def load_targets(folder: Path | None = None) -> Targets:
    """Targets of the intake record schema in ``folder`` (default: :func:`specs_dir`)."""
    return _load((folder or specs_dir()).resolve())


@cache
def _load(folder: Path) -> Targets:
    path = folder / SCHEMA_FILE
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SchemaUnavailable(
            f"{path} is missing: run 'lgnet schema export' to generate it"
        ) from None
    found: dict[str, Target] = {}
    for name, prop in schema.get("properties", {}).items():
        if name not in RESERVED:
            _collect(schema, name, prop, found)
    return Targets(by_path=found, schema_file=path)


def _resolve(root: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Follow ``$ref`` and drop the ``null`` branch of ``anyOf: [X, null]``."""
    while True:
        if "$ref" in node:
            ref = node["$ref"]
            if not ref.startswith("#/"):
                raise ValueError(f"unsupported $ref {ref!r} in {SCHEMA_FILE}")
            target: Any = root
            for part in ref[2:].split("/"):
                target = target[part]
            node = target
            continue
        options = [o for o in node.get("anyOf", []) if o.get("type") != "null"]
        if len(options) == 1:
            node = options[0]
            continue
        return node


def _leaf(root: dict[str, Any], path: str, node: dict[str, Any], shape: Shape) -> Target:
    node = _resolve(root, node)
    return Target(
        path=path,
        shape=shape,
        json_type=node.get("type"),
        format=node.get("format"),
        codelist=node.get("x-codelist"),
    )


def _collect(root: dict[str, Any], path: str, node: dict[str, Any], out: dict[str, Target]) -> None:
    node = _resolve(root, node)
    if node.get("type") == "object" and "properties" in node:
        for name, prop in node["properties"].items():
            _collect(root, f"{path}.{name}", prop, out)
        return
    if node.get("type") == "array":
        items = _resolve(root, node.get("items", {}))
        if items.get("type") == "object" and "properties" in items:
            sub = {
                name: _leaf(root, name, prop, "scalar")
                for name, prop in items["properties"].items()
            }
            out[path] = Target(
                path=path,
                shape="object_list",
                json_type="array",
                items=sub,
                required_items=tuple(items.get("required", ())),
            )
        else:
            out[path] = _leaf(root, path, items, "scalar_list")
        return
    out[path] = _leaf(root, path, node, "scalar")
