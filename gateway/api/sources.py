"""Source definitions the push endpoints map records with.

- ``/fhir`` uses the city's ``<city>/fhir.yaml`` if it has one, else the default FHIR R4
  mapping ``_default/fhir.yaml``, read as if it were the city's (``source: fhir``);
- ``/files/{source}`` uses ``<city>/<source>.yaml``, which must be a ``csv`` source;

under ``LGNET_MAPPINGS_DIR`` when set (as for scheduled pulls), else ``mappings/`` (where the
default FHIR mapping ships).

Definitions are loaded and compiled once, and again when their file changes. Placeholders in
adapter options are not resolved: a push needs the CSV dialect, not where the files live.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapters.csv import CsvAdapter, CsvOptions
from gateway.api.problems import NotFound, NotReady
from gateway.settings import Settings
from gateway.sync.sources import root_of
from mappings.compiler import Mapper, compile_mapping
from mappings.definition import SourceDefinition, parse_source
from mappings.errors import MappingError
from mappings.paths import mappings_dir

DEFAULT_FHIR = ("_default", "fhir")


@dataclass(frozen=True)
class CompiledSource:
    definition: SourceDefinition
    mapper: Mapper
    mtime: float

    @property
    def source(self) -> str:
        return self.definition.source

    @property
    def system(self) -> str:
        return self.definition.system

    def csv_adapter(self) -> CsvAdapter:
        """A CSV adapter with the source's dialect, for an uploaded file."""
        options: dict[str, Any] = dict(self.definition.adapter_options)
        options["path"] = "upload"
        return CsvAdapter(CsvOptions.model_validate(options), source=self.source)


_cache: dict[tuple[Path, str], CompiledSource] = {}
_lock = threading.Lock()


def _definition_file(roots: list[Path], folder: str, source: str) -> Path | None:
    for root in dict.fromkeys(roots):
        for suffix in (".yaml", ".yml"):
            path = root / folder / f"{source}{suffix}"
            if path.is_file():
                return path
    return None


def _compiled(path: Path, city: str) -> CompiledSource:
    """The definition at ``path``, read as ``<city>/<name>`` (so a default fits any city)."""
    mtime = path.stat().st_mtime
    with _lock:
        cached = _cache.get((path, city))
        if cached is not None and cached.mtime == mtime:
            return cached
    try:
        text = path.read_text(encoding="utf-8")
        virtual = path.parent.parent / city / path.name
        definition = parse_source(text, virtual, label=str(path), resolve_env=False)
        compiled = CompiledSource(definition, compile_mapping(definition), mtime)
    except (MappingError, OSError, UnicodeDecodeError):
        # The file is the operators' to fix; the client only learns it cannot be used now.
        raise NotReady(
            "the source definition has errors; operators: run `lgnet mapping check`"
        ) from None
    with _lock:
        _cache[(path, city)] = compiled
    return compiled


def fhir_source(settings: Settings, city: str) -> CompiledSource:
    path = _definition_file([root_of(settings)], city, DEFAULT_FHIR[1])
    if path is None:
        # The default ships with the package; a mappings folder of one's own may override it.
        path = _definition_file([root_of(settings), mappings_dir()], *DEFAULT_FHIR)
    if path is None:
        raise NotReady("the default FHIR mapping (mappings/_default/fhir.yaml) is missing")
    return _compiled(path, city)


def csv_source(settings: Settings, city: str, source: str) -> CompiledSource:
    path = _definition_file([root_of(settings)], city, source)
    if path is None:
        raise NotFound("this city has no source of that name")
    compiled = _compiled(path, city)
    if compiled.definition.adapter_kind != "csv":
        raise NotFound("this source does not take CSV files")
    return compiled
