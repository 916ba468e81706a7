"""The sources the gateway syncs: source definitions, their adapters and compiled mappings.

A source is ``mappings/<city>/<source>.yaml`` (or under ``LGNET_MAPPINGS_DIR``): which adapter
reads it and with which options, how often (``schedule: {every: 15m}``), and the field mapping,
compiled once into a fast function (:mod:`mappings.compiler`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import ValidationError

import adapters
from adapters.base import Adapter
from adapters.errors import FatalSourceError
from gateway.settings import Settings
from mappings.compiler import Mapper, compile_mapping
from mappings.definition import SourceDefinition, load_source
from mappings.errors import MappingError
from mappings.paths import mappings_dir, source_files

log = logging.getLogger(__name__)


class UnknownSource(LookupError):
    """No definition for this city and source: check the name or ``LGNET_MAPPINGS_DIR``."""


@dataclass(eq=False)
class Source:
    """One loaded source definition."""

    definition: SourceDefinition = field(repr=False)

    @property
    def city(self) -> str:
        return self.definition.city

    @property
    def name(self) -> str:
        return self.definition.source

    @property
    def system(self) -> str:
        return self.definition.system

    @property
    def kind(self) -> str:
        return self.definition.adapter_kind

    @property
    def interval(self) -> timedelta | None:
        return self.definition.schedule

    @property
    def key(self) -> str:
        return f"{self.city}/{self.name}"

    def __repr__(self) -> str:
        return f"Source({self.key}, kind={self.kind!r})"

    @cached_property
    def mapper(self) -> Mapper:
        """The compiled mapping (compiled on first use, then kept)."""
        return compile_mapping(self.definition)

    def adapter(self, **overrides: Any) -> Adapter[Any]:
        """A fresh adapter for this source (close it when done; it is a context manager)."""
        cls = adapters.get(self.kind)
        options: Mapping[str, Any] = {**self.definition.adapter_options, **overrides}
        try:
            parsed = cls.Options.model_validate(options)
        except ValidationError as exc:
            # pydantic messages may quote the input (a URL, a secret): name the fields only.
            fields = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()})
            raise FatalSourceError(
                f"invalid adapter options in {self.definition.file.name}: {', '.join(fields)}",
                source=self.key,
            ) from None
        return cls(parsed, source=self.key)


def root_of(settings: Settings) -> Path:
    """The folder holding one sub-folder of definitions per city."""
    return settings.mappings_dir or mappings_dir()


def find(settings: Settings, city: str, source: str) -> Source:
    """Load the definition of ``city``/``source``; raise :class:`UnknownSource` if absent."""
    root = root_of(settings)
    for suffix in (".yaml", ".yml"):
        path = root / city / f"{source}{suffix}"
        if path.is_file():
            return Source(load_source(path))
    raise UnknownSource(f"no source definition {city}/{source} under {root}")


def discover(settings: Settings, *, city: str | None = None) -> list[Source]:
    """Every loadable source (of ``city``), sorted by city and name.

    A definition that does not load (a mistake in the file, a missing environment variable)
    is logged and left out, so one broken source does not stop the others.
    """
    root = root_of(settings)
    folder = root / city if city else root
    found: list[Source] = []
    if not folder.is_dir():
        return found
    for path in source_files(folder):
        if city is None and path.parent == root:
            continue  # definitions live one level down: <city>/<source>.yaml
        if path.parent.name.startswith("_"):
            continue  # shared definitions (_default/fhir.yaml) are for pushes, never pulled
        try:
            found.append(Source(load_source(path)))
        except MappingError as exc:
            log.warning(
                "source definition skipped: %s",
                path.relative_to(root),
                extra={"problems": len(exc.problems), "first": str(exc.problems[0])},
            )
    return sorted(found, key=lambda s: (s.city, s.name))
